"""GoogleSQL checked by Google's own ZetaSQL analyzer and reference evaluator, in a subprocess.

The PyPI package `zetasql` runs ZetaSQL's C++ local service compiled to WebAssembly under wasmtime. It is
alpha: an internal check failure can poison the process, so everything runs in ONE child process per
request (`python tests/googlesql.py`, JSON on stdin and stdout) and the test process never imports it.
Compiling its 28 MB module takes 40-70 s; the compiled module is cached (see `_cached_module_loader`) so
a warm start takes about 2 s.

The analyzer runs with BigQuery's language options: the feature set and statement kinds of Google's
ZetaSQL toolkit for BigQuery (github.com/GoogleCloudPlatform/zetasql-toolkit,
zetasql-toolkit-bigquery/.../options/BigQueryLanguageOptions.java), product mode EXTERNAL, QUALIFY a
reserved keyword (DROP SEARCH INDEX, unknown to this ZetaSQL, left out).
BigQuery resolves `project.dataset.table` in one pair of backticks as a path; ZetaSQL
reads it as one identifier, so every table and model is registered under both spellings.

Request: {"cases": [{"name", "tables": [{"path", "columns": [[name, type]]}], "models": [{"path"}],
"tvfs": [{"name", "arguments": ["MODEL" | "TABLE" | "OPTIONAL ANY"], "columns": [[name, type]]}],
"functions": [{"name", "arguments": [type], "returns": type}],
"statements": [{"id", "sql", "parameters": {name: type}}]}], "expressions": [{"id", "sql"}]}.
Types are GoogleSQL type names. Response: {"cases": {name: {statement id: [one result per statement of
the script: {"kind", "columns": [[name, type]] or null, "error": message or null, "sql"}]}},
"expressions": {id: {"type", "value"} or {"error"}}}.
"""

from __future__ import annotations

import base64
import ctypes
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

LANGUAGE_FEATURES = (
    "FEATURE_ALLOW_MISSING_PATH_EXPRESSION_IN_ALTER_DDL",
    "FEATURE_ALTER_COLUMN_SET_DATA_TYPE",
    "FEATURE_ALTER_TABLE_RENAME_COLUMN",
    "FEATURE_ANALYTIC_FUNCTIONS",
    "FEATURE_ANONYMIZATION",
    "FEATURE_BIGNUMERIC_TYPE",
    "FEATURE_CBRT_FUNCTIONS",
    "FEATURE_CREATE_EXTERNAL_TABLE_WITH_CONNECTION",
    "FEATURE_CREATE_EXTERNAL_TABLE_WITH_PARTITION_COLUMNS",
    "FEATURE_CREATE_EXTERNAL_TABLE_WITH_TABLE_ELEMENT_LIST",
    "FEATURE_CREATE_MATERIALIZED_VIEW_CLUSTER_BY",
    "FEATURE_CREATE_MATERIALIZED_VIEW_PARTITION_BY",
    "FEATURE_CREATE_SNAPSHOT_TABLE",
    "FEATURE_CREATE_TABLE_AS_SELECT_COLUMN_LIST",
    "FEATURE_CREATE_TABLE_CLONE",
    "FEATURE_CREATE_TABLE_CLUSTER_BY",
    "FEATURE_CREATE_TABLE_COPY",
    "FEATURE_CREATE_TABLE_FIELD_ANNOTATIONS",
    "FEATURE_CREATE_TABLE_FUNCTION",
    "FEATURE_CREATE_TABLE_LIKE",
    "FEATURE_CREATE_TABLE_NOT_NULL",
    "FEATURE_CREATE_TABLE_PARTITION_BY",
    "FEATURE_CREATE_VIEW_WITH_COLUMN_LIST",
    # Not in the toolkit's list, but BigQuery's view column list takes OPTIONS (description = ...) per
    # column ("view_column := column_name [OPTIONS(view_column_option_list)]":
    # https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#view_column_name_list).
    "FEATURE_CREATE_VIEWS_WITH_COLUMN_OPTIONS",
    "FEATURE_DML_UPDATE_WITH_JOIN",
    "FEATURE_ENCRYPTION",
    "FEATURE_FOREIGN_KEYS",
    "FEATURE_GEOGRAPHY",
    "FEATURE_GROUP_BY_ROLLUP",
    "FEATURE_INTERVAL_TYPE",
    "FEATURE_INVERSE_TRIG_FUNCTIONS",
    "FEATURE_JSON_ARRAY_FUNCTIONS",
    "FEATURE_JSON_TYPE",
    "FEATURE_JSON_VALUE_EXTRACTION_FUNCTIONS",
    "FEATURE_NAMED_ARGUMENTS",
    "FEATURE_NUMERIC_TYPE",
    "FEATURE_PARAMETERIZED_TYPES",
    "FEATURE_PARAMETERS_IN_GRANTEE_LIST",
    "FEATURE_ROUND_WITH_ROUNDING_MODE",
    "FEATURE_TABLESAMPLE",
    "FEATURE_TABLE_VALUED_FUNCTIONS",
    "FEATURE_TEMPLATE_FUNCTIONS",
    "FEATURE_TIMESTAMP_NANOS",
    "FEATURE_TIME_BUCKET_FUNCTIONS",
    "FEATURE_UNENFORCED_PRIMARY_KEYS",
    "FEATURE_V_1_1_HAVING_IN_AGGREGATE",
    "FEATURE_V_1_1_LIMIT_IN_AGGREGATE",
    "FEATURE_V_1_1_NULL_HANDLING_MODIFIER_IN_AGGREGATE",
    "FEATURE_V_1_1_NULL_HANDLING_MODIFIER_IN_ANALYTIC",
    "FEATURE_V_1_1_ORDER_BY_IN_AGGREGATE",
    "FEATURE_V_1_1_SELECT_STAR_EXCEPT_REPLACE",
    # Not in the toolkit's list, but BigQuery allows a WITH clause in a subquery ("A WITH clause can be
    # used in a subquery": https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#with_clause).
    "FEATURE_V_1_1_WITH_ON_SUBQUERY",
    "FEATURE_V_1_2_CIVIL_TIME",
    "FEATURE_V_1_2_SAFE_FUNCTION_CALL",
    "FEATURE_V_1_2_WEEK_WITH_WEEKDAY",
    "FEATURE_V_1_3_ADDITIONAL_STRING_FUNCTIONS",
    "FEATURE_V_1_3_ALLOW_DASHES_IN_TABLE_NAME",
    "FEATURE_V_1_3_ALLOW_REGEXP_EXTRACT_OPTIONALS",
    "FEATURE_V_1_3_ANNOTATION_FRAMEWORK",
    "FEATURE_V_1_3_CASE_STMT",
    "FEATURE_V_1_3_COLLATION_SUPPORT",
    "FEATURE_V_1_3_COLUMN_DEFAULT_VALUE",
    "FEATURE_V_1_3_CONCAT_MIXED_TYPES",
    "FEATURE_V_1_3_DATE_ARITHMETICS",
    "FEATURE_V_1_3_DATE_TIME_CONSTRUCTORS",
    "FEATURE_V_1_3_DECIMAL_ALIAS",
    "FEATURE_V_1_3_EXTENDED_DATE_TIME_SIGNATURES",
    "FEATURE_V_1_3_EXTENDED_GEOGRAPHY_PARSERS",
    "FEATURE_V_1_3_FORMAT_IN_CAST",
    "FEATURE_V_1_3_FOR_IN",
    "FEATURE_V_1_3_IS_DISTINCT",
    "FEATURE_V_1_3_LIKE_ANY_SOME_ALL",
    "FEATURE_V_1_3_NULLS_FIRST_LAST_IN_ORDER_BY",
    "FEATURE_V_1_3_OMIT_INSERT_COLUMN_LIST",
    "FEATURE_V_1_3_PIVOT",
    "FEATURE_V_1_3_QUALIFY",
    "FEATURE_V_1_3_REMOTE_FUNCTION",
    "FEATURE_V_1_3_REPEAT",
    "FEATURE_V_1_3_SCRIPT_LABEL",
    "FEATURE_V_1_3_UNNEST_AND_FLATTEN_ARRAYS",
    "FEATURE_V_1_3_UNPIVOT",
    "FEATURE_V_1_3_WITH_GROUP_ROWS",
    "FEATURE_V_1_3_WITH_RECURSIVE",
)
STATEMENT_KINDS = (
    "RESOLVED_ADD_CONSTRAINT_ACTION",
    "RESOLVED_ALTER_ENTITY_STMT",
    "RESOLVED_ALTER_MATERIALIZED_VIEW_STMT",
    "RESOLVED_ALTER_MODEL_STMT",
    "RESOLVED_ALTER_SCHEMA_STMT",
    "RESOLVED_ALTER_TABLE_STMT",
    "RESOLVED_ALTER_VIEW_STMT",
    "RESOLVED_ASSERT_STMT",
    "RESOLVED_ASSIGNMENT_STMT",
    "RESOLVED_AUX_LOAD_DATA_STMT",
    "RESOLVED_BEGIN_STMT",
    "RESOLVED_CALL_STMT",
    "RESOLVED_COMMIT_STMT",
    "RESOLVED_CREATE_ENTITY_STMT",
    "RESOLVED_CREATE_EXTERNAL_TABLE_STMT",
    "RESOLVED_CREATE_FUNCTION_STMT",
    "RESOLVED_CREATE_INDEX_STMT",
    "RESOLVED_CREATE_MATERIALIZED_VIEW_STMT",
    "RESOLVED_CREATE_MODEL_STMT",
    "RESOLVED_CREATE_PROCEDURE_STMT",
    "RESOLVED_CREATE_ROW_ACCESS_POLICY_STMT",
    "RESOLVED_CREATE_SCHEMA_STMT",
    "RESOLVED_CREATE_SNAPSHOT_TABLE_STMT",
    "RESOLVED_CREATE_TABLE_AS_SELECT_STMT",
    "RESOLVED_CREATE_TABLE_FUNCTION_STMT",
    "RESOLVED_CREATE_TABLE_STMT",
    "RESOLVED_CREATE_VIEW_STMT",
    "RESOLVED_DELETE_STMT",
    "RESOLVED_DROP_CONSTRAINT_ACTION",
    "RESOLVED_DROP_FUNCTION_STMT",
    "RESOLVED_DROP_MATERIALIZED_VIEW_STMT",
    "RESOLVED_DROP_ROW_ACCESS_POLICY_STMT",
    "RESOLVED_DROP_SNAPSHOT_TABLE_STMT",
    "RESOLVED_DROP_STMT",
    "RESOLVED_DROP_TABLE_FUNCTION_STMT",
    "RESOLVED_EXECUTE_IMMEDIATE_STMT",
    "RESOLVED_EXPORT_DATA_STMT",
    "RESOLVED_EXPORT_MODEL_STMT",
    "RESOLVED_GRANT_STMT",
    "RESOLVED_INSERT_STMT",
    "RESOLVED_MERGE_STMT",
    "RESOLVED_QUERY_STMT",
    "RESOLVED_REVOKE_STMT",
    "RESOLVED_ROLLBACK_STMT",
    "RESOLVED_TRUNCATE_STMT",
    "RESOLVED_UPDATE_STMT",
)
LANGUAGE_OPTIONS = {
    "name_resolution_mode": "NAME_RESOLUTION_DEFAULT",
    "product_mode": "PRODUCT_EXTERNAL",
    "enabled_language_features": list(LANGUAGE_FEATURES),
    "supported_statement_kinds": list(STATEMENT_KINDS),
    "reserved_keywords": ["QUALIFY"],
}
# Resolved statements whose output columns are a table's or a query's schema.
_SCHEMA_STATEMENTS = {"query_stmt", "create_table_as_select_stmt", "create_view_stmt"}
_TYPE_NAMES = {"DOUBLE": "FLOAT64", "FLOAT": "FLOAT32"}
TIMEOUT_SECONDS = 600


def cache_dir() -> Path:
    """Where the compiled module is kept between runs: $ZETASQL_CACHE_DIR, else the user's cache."""
    if override := os.environ.get("ZETASQL_CACHE_DIR"):
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "customer-segmentation" / "zetasql"


def run(request: dict[str, Any]) -> dict[str, Any]:
    """The response of one child process to `request` (see the module docstring)."""
    completed = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"the ZetaSQL process failed ({completed.returncode}):\n{completed.stderr[-4000:]}"
        )
    return json.loads(completed.stdout)


# ---- the child process -----------------------------------------------------------------------------------


def _cached_module_loader(module_class: type) -> type:
    """wasmtime's Module, compiling zetasql.wasm once per (module bytes, wasmtime version) into cache_dir.

    A compiled module is native code for this machine; it is only ever read back from our own cache.
    """
    from importlib.metadata import version

    class CachedModule:
        @staticmethod
        def from_file(engine: Any, path: str) -> Any:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
            compiled = cache_dir() / f"zetasql-{digest}-wasmtime-{version('wasmtime')}.cwasm"
            if compiled.is_file():
                return module_class.deserialize_file(engine, str(compiled))
            module = module_class.from_file(engine, path)
            compiled.parent.mkdir(parents=True, exist_ok=True)
            partial = compiled.with_suffix(f".{os.getpid()}.partial")
            partial.write_bytes(module.serialize())
            partial.replace(compiled)  # atomic: a concurrent run reads a whole file or none
            return module

    return CachedModule


def _write_bytes(client: Any, address: int, data: bytes) -> None:
    """Copies a request into wasm memory at once (the package copies byte by byte, seconds per run)."""
    ctypes.memmove(ctypes.addressof(client.memory.data_ptr().contents) + address, data, len(data))


def _read_bytes(client: Any, address: int, size: int) -> bytes:
    return ctypes.string_at(ctypes.addressof(client.memory.data_ptr().contents) + address, size)


class ZetaSQL:
    def __init__(self) -> None:
        import wasmtime
        from google.protobuf import json_format
        from zetasql.core import wasm_client

        wasm_client.Module = _cached_module_loader(wasmtime.Module)
        wasm_client.WasmClient.write_bytes = _write_bytes
        wasm_client.WasmClient.read_bytes = _read_bytes
        from zetasql.core import ZetaSqlLocalService
        from zetasql.wasi._pb2.zetasql.local_service import local_service_pb2
        from zetasql.wasi._pb2.zetasql.proto import options_pb2, simple_catalog_pb2

        self._json = json_format
        self._service = ZetaSqlLocalService.get_instance().wasm_client
        self._messages = local_service_pb2
        self._options_class = options_pb2.AnalyzerOptionsProto
        self._catalog_class = simple_catalog_pb2.SimpleCatalogProto
        self._types: dict[str, dict] = {}

    def _call(self, method: str, request: Any, response_class: type) -> Any:
        return self._service.call_grpc_func(f"ZetaSqlLocalService_{method}", request, response_class)

    def options(self, parameters: dict[str, str] | None = None) -> Any:
        options = {
            "language_options": LANGUAGE_OPTIONS,
            "error_message_mode": "ERROR_MESSAGE_ONE_LINE",
            "default_timezone": "UTC",
            "query_parameters": [
                {"name": name, "type": self.type_proto(kind)} for name, kind in (parameters or {}).items()
            ],
        }
        return self._json.ParseDict(options, self._options_class())

    def type_proto(self, name: str) -> dict:
        """A GoogleSQL type name as a TypeProto (as a dict), resolved by the analyzer itself."""
        if name not in self._types:
            request = self._messages.AnalyzeRequest(
                options=self._json.ParseDict({"language_options": LANGUAGE_OPTIONS}, self._options_class()),
                simple_catalog=self._catalog_class(name="types"),
                sql_expression=f"CAST(NULL AS {name})",
            )
            response = self._call("Analyze", request, self._messages.AnalyzeResponse)
            expression = response.resolved_expression
            node = getattr(expression, expression.WhichOneof("node"))
            self._types[name] = self._json.MessageToDict(node.parent.type, preserving_proto_field_name=True)
        return self._types[name]

    def register_catalog(self, case: dict) -> int:
        """Registers the case's catalog once: sent with every request, it would be rebuilt every time."""
        catalog = self._json.ParseDict(_catalog(case, self.type_proto), self._catalog_class())
        request = self._messages.RegisterCatalogRequest(simple_catalog=catalog)
        return self._call("RegisterCatalog", request, self._messages.RegisterResponse).registered_id

    def analyze_script(self, sql: str, options: Any, catalog_id: int) -> list[dict]:
        """Each statement of the script as BigQuery splits it (ZetaSQL's parser resuming after each)."""
        results, position = [], 0
        encoded = sql.encode()
        while encoded[position:].strip():
            request = self._messages.AnalyzeRequest(
                options=options,
                registered_catalog_id=catalog_id,
                parse_resume_location={"input": sql, "byte_position": position},
            )
            try:
                response = self._call("Analyze", request, self._messages.AnalyzeResponse)
            except Exception as error:  # the service reports analysis errors as exceptions
                results.append({"kind": None, "columns": None, "error": _message(error), "sql": sql})
                break
            end = response.resume_byte_position
            text = encoded[position:end].decode().strip()
            results.append({**_statement_result(response.resolved_statement), "error": None, "sql": text})
            position = end
        return results

    def evaluate(self, sql: str) -> dict:
        request = self._messages.EvaluateRequest(sql=sql, options=self.options())
        try:
            response = self._call("Evaluate", request, self._messages.EvaluateResponse)
        except Exception as error:
            return {"error": _message(error)}
        output_type = self._json.MessageToDict(
            response.prepared.output_type, preserving_proto_field_name=True
        )
        return {"type": type_name(output_type), "value": _value(response.value, output_type)}


def _message(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _catalog(case: dict, type_proto: Any) -> dict:
    """The case's tables, models and table-valued functions as a SimpleCatalogProto (as a dict)."""

    def columns(declared: list) -> list[dict]:
        return [{"name": name, "type": type_proto(kind)} for name, kind in declared]

    root: dict = {
        "name": case["name"],
        "builtin_function_options": {"language_options": LANGUAGE_OPTIONS},
        **_empty_catalog(case["name"]),
    }

    def nested(path: list[str]) -> dict:
        catalog = root
        for part in path[:-1]:
            catalog = next((c for c in catalog["catalog"] if c["name"] == part), None) or _add(catalog, part)
        return catalog

    for index, table in enumerate(case.get("tables", ())):
        entry = {"name": table["path"][-1], "column": columns(table["columns"]), "serialization_id": index}
        nested(table["path"])["table"].append(entry)
        if len(table["path"]) > 1:
            root["table"].append({**entry, "name": ".".join(table["path"])})
    for index, model in enumerate(case.get("models", ()), start=1):
        entry = {"name": model["path"][-1], "id": index}
        nested(model["path"])["model"].append(entry)
        if len(model["path"]) > 1:
            root["model"].append({**entry, "id": 1000 + index, "name": ".".join(model["path"])})
    for function in case.get("functions", ()):
        root["custom_function"].append(_function(function, type_proto))
    for tvf in case.get("tvfs", ()):
        # Found by its whole path, from the catalog of its prefix (ML for ML.PREDICT).
        nested(tvf["name"].split("."))["custom_tvf"].append(_tvf(tvf, columns))
    return root


def _function(function: dict, type_proto: Any) -> dict:
    """A scalar function of fixed argument and return types."""

    def fixed(kind: str) -> dict:
        return {"kind": "ARG_TYPE_FIXED", "type": type_proto(kind), "num_occurrences": 1}

    return {
        "name_path": [function["name"]],
        "group": "BigQuery",
        "mode": "SCALAR",
        "signature": [
            {
                "argument": [fixed(kind) for kind in function["arguments"]],
                "return_type": fixed(function["returns"]),
            }
        ],
    }


def _empty_catalog(name: str) -> dict:
    return {"name": name, "table": [], "model": [], "catalog": [], "custom_tvf": [], "custom_function": []}


def _add(catalog: dict, name: str) -> dict:
    child = _empty_catalog(name)
    catalog["catalog"].append(child)
    return child


_ARGUMENTS = {
    "MODEL": {"kind": "ARG_TYPE_MODEL", "num_occurrences": 1},
    "TABLE": {"kind": "ARG_TYPE_RELATION", "num_occurrences": 1},
    # An optional STRUCT of settings, e.g. ML.EVALUATE's STRUCT(trial_id AS trial_id).
    "OPTIONAL ANY": {"kind": "ARG_TYPE_ARBITRARY", "options": {"cardinality": "OPTIONAL"}},
}


def _tvf(tvf: dict, columns: Any) -> dict:
    """A table-valued function with a fixed output schema, as BigQuery ML documents its functions."""
    return {
        "name_path": tvf["name"].split("."),
        "type": "FIXED_OUTPUT_SCHEMA_TVF",
        "signature": {
            "argument": [_ARGUMENTS[kind] for kind in tvf["arguments"]],
            "return_type": {
                "kind": "ARG_TYPE_RELATION",
                "num_occurrences": 1,
                "options": {"relation_input_schema": {"column": columns(tvf["columns"])}},
            },
        },
    }


def _statement_result(statement: Any) -> dict:
    """The resolved statement's kind and, for a query, CTAS or view, its output columns and their types."""
    node, kind = statement, None
    while node.DESCRIPTOR.oneofs_by_name.get("node"):
        kind = node.WhichOneof("node")
        node = getattr(node, kind)
    kind = kind.removeprefix("resolved_").removesuffix("_node")
    if kind not in _SCHEMA_STATEMENTS:
        return {"kind": kind, "columns": None}
    from google.protobuf import json_format

    output = [
        (column.name, json_format.MessageToDict(column.column.type, preserving_proto_field_name=True))
        for column in _field(node, "output_column_list")
    ]
    return {"kind": kind, "columns": [[name, type_name(kind_)] for name, kind_ in output]}


def _field(node: Any, name: str) -> Any:
    """A field of a resolved node, looked up through the `parent` chain of its proto."""
    while name not in node.DESCRIPTOR.fields_by_name:
        node = node.parent
    return getattr(node, name)


def type_name(proto: dict) -> str:
    """A TypeProto (as a dict) as its GoogleSQL name: INT64, ARRAY<STRUCT<a INT64, b STRING>>, ..."""
    kind = proto["type_kind"].removeprefix("TYPE_")
    if kind == "ARRAY":
        return f"ARRAY<{type_name(proto['array_type']['element_type'])}>"
    if kind == "STRUCT":
        fields = proto.get("struct_type", {}).get("field", [])
        return "STRUCT<" + ", ".join(f"{f['field_name']} {type_name(f['field_type'])}" for f in fields) + ">"
    return _TYPE_NAMES.get(kind, kind)


def _value(value: Any, proto_type: dict) -> Any:
    """A ValueProto as JSON: numbers, strings, booleans; dates and timestamps in ISO form; NaN/Inf named."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "double_value":
        number = value.double_value
        return number if number == number and abs(number) != float("inf") else str(number)
    if kind == "date_value":
        return (dt.date(1970, 1, 1) + dt.timedelta(days=value.date_value)).isoformat()
    if kind == "timestamp_value":
        return value.timestamp_value.ToDatetime(tzinfo=dt.UTC).isoformat()
    if kind == "array_value":
        element = proto_type["array_type"]["element_type"]
        return [_value(item, element) for item in value.array_value.element]
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    if kind in {"numeric_value", "bignumeric_value"}:
        return str(_decimal(getattr(value, kind), 9 if kind == "numeric_value" else 38))
    return getattr(value, kind)


def _decimal(encoded: bytes, scale: int) -> Any:
    """NUMERIC / BIGNUMERIC as ZetaSQL encodes them: little-endian two's complement of value * 10^scale."""
    from decimal import Decimal

    return Decimal(int.from_bytes(encoded, "little", signed=True)).scaleb(-scale).normalize()


def main() -> None:
    request = json.load(sys.stdin)
    zetasql = ZetaSQL()
    cases = {}
    for case in request.get("cases", ()):
        catalog_id = zetasql.register_catalog(case)
        cases[case["name"]] = {
            statement["id"]: zetasql.analyze_script(
                statement["sql"], zetasql.options(statement.get("parameters")), catalog_id
            )
            for statement in case["statements"]
        }
    expressions = {item["id"]: zetasql.evaluate(item["sql"]) for item in request.get("expressions", ())}
    json.dump({"cases": cases, "expressions": expressions}, sys.stdout)


if __name__ == "__main__":
    main()
