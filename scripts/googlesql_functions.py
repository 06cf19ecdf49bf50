"""Writes local_bigquery/googlesql_functions.json: GoogleSQL's built-in functions and their signatures, as
ZetaSQL's own catalog lists them.

    .venv/bin/python scripts/googlesql_functions.py [--output PATH]

local_bigquery reads the file to tell a built-in function it does not implement (a named refusal) from a
name BigQuery does not know ("Function not found: …"), and to word argument-count errors as BigQuery does
("No matching signature for function …"). The catalog is ZetaSQL's GetBuiltinFunctions (the `zetasql`
package, driven as tests/googlesql.py drives it) with BigQuery's language options, plus the function
groups BigQuery documents that those options leave off, plus BigQuery's few functions ZetaSQL does not have.
Re-run it when the `zetasql` package is upgraded.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "local_bigquery" / "googlesql_functions.json"

# Function groups BigQuery documents (https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-all)
# that the toolkit's BigQuery language options in tests/googlesql.py do not enable.
EXTRA_FEATURES = (
    "FEATURE_JSON_LAX_VALUE_EXTRACTION_FUNCTIONS",  # LAX_BOOL, LAX_INT64, …
    "FEATURE_JSON_CONSTRUCTOR_FUNCTIONS",  # JSON_ARRAY, JSON_OBJECT
    "FEATURE_JSON_MUTATOR_FUNCTIONS",  # JSON_SET, JSON_REMOVE, JSON_ARRAY_INSERT, …
    "FEATURE_JSON_KEYS_FUNCTION",  # JSON_KEYS
    "FEATURE_RANGE_TYPE",  # RANGE, RANGE_START, GENERATE_RANGE_ARRAY, …
    "FEATURE_KLL_FLOAT64_PRIMARY_WITH_DOUBLE_ALIAS",  # KLL_QUANTILES.INIT_FLOAT64, …
    "FEATURE_GROUPING_BUILTIN",  # GROUPING
)
# BigQuery functions outside ZetaSQL's catalog (no signatures recorded):
# https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#contains_substr,
# https://cloud.google.com/bigquery/docs/reference/standard-sql/search_functions,
# https://cloud.google.com/bigquery/docs/reference/standard-sql/text-analysis-functions
BIGQUERY_ONLY = ("contains_substr", "search", "vector_search", "bag_of_words", "text_analyze", "tf_idf")

_TYPE_NAMES = {"DOUBLE": "FLOAT64", "FLOAT": "FLOAT32"}
_TEMPLATED = {
    "ARG_TYPE_ANY_1": "T1",
    "ARG_TYPE_ANY_2": "T2",
    "ARG_TYPE_ANY_3": "T3",
    "ARG_ARRAY_TYPE_ANY_1": "ARRAY<T1>",
    "ARG_ARRAY_TYPE_ANY_2": "ARRAY<T2>",
    "ARG_TYPE_ARBITRARY": "ANY",
    "ARG_TYPE_LAMBDA": "LAMBDA",
    "ARG_TYPE_RELATION": "TABLE",
    "ARG_TYPE_MODEL": "MODEL",
    "ARG_TYPE_CONNECTION": "CONNECTION",
    "ARG_PROTO_MAP_ANY": "PROTO_MAP",
    "ARG_RANGE_TYPE_ANY_1": "RANGE<T1>",
    "ARG_MAP_TYPE_ANY_1_2": "MAP<T1, T2>",
}


def _type_text(type_: dict) -> str:
    kind = type_.get("typeKind", "TYPE_UNKNOWN").removeprefix("TYPE_")
    if kind == "ARRAY":
        return f"ARRAY<{_type_text(type_['arrayType']['elementType'])}>"
    if kind == "ENUM":
        return type_.get("enumType", {}).get("enumName", "ENUM").rsplit(".", 1)[-1].upper()
    if kind == "STRUCT":
        return "STRUCT"
    return _TYPE_NAMES.get(kind, kind)


def _argument_text(argument: dict) -> str:
    kind = argument.get("kind", "")
    text = _type_text(argument["type"]) if kind == "ARG_TYPE_FIXED" else _TEMPLATED.get(kind, "ANY")
    options = argument.get("options", {})
    name = options.get("argumentName")
    if name and options.get("namedArgumentKind") == "NAMED_ONLY":
        text = f"{name} => {text}"
    cardinality = options.get("cardinality", "REQUIRED")
    if cardinality == "OPTIONAL":
        return f"[{text}]"
    if cardinality == "REPEATED":
        return f"[{text}, ...]"
    return text


def _signature(name: str, signature: dict) -> dict:
    arguments = signature.get("argument", [])
    cardinalities = [argument.get("options", {}).get("cardinality", "REQUIRED") for argument in arguments]
    texts = ", ".join(_argument_text(argument) for argument in arguments)
    return {
        "text": f"{name.upper()}({texts})",
        "min": cardinalities.count("REQUIRED"),
        "max": None if "REPEATED" in cardinalities else len(arguments),
    }


def builtin_functions() -> dict:
    sys.path.insert(0, str(ROOT / "tests"))
    import googlesql  # tests/googlesql.py drives the zetasql package

    zetasql = googlesql.ZetaSQL()
    from zetasql.wasi._pb2.zetasql.local_service import local_service_pb2
    from zetasql.wasi._pb2.zetasql.proto import options_pb2

    language = dict(
        googlesql.LANGUAGE_OPTIONS,
        enabled_language_features=[*googlesql.LANGUAGE_FEATURES, *EXTRA_FEATURES],
    )
    request = zetasql._json.ParseDict(
        {"language_options": language}, options_pb2.ZetaSQLBuiltinFunctionOptionsProto()
    )
    response = zetasql._call("GetBuiltinFunctions", request, local_service_pb2.GetBuiltinFunctionsResponse)
    functions: dict[str, dict] = {}
    for function in response.function:
        proto = zetasql._json.MessageToDict(function)
        name = ".".join(proto["namePath"])
        if name.startswith("$"):  # operators and internal functions, not callable by name
            continue
        entry = {
            "mode": proto.get("mode", "SCALAR"),
            "signatures": [_signature(name, signature) for signature in proto.get("signature", [])],
        }
        functions[name] = entry
        alias = proto.get("options", {}).get("aliasName")
        if alias:
            functions[alias] = entry
    for name in BIGQUERY_ONLY:
        functions.setdefault(name, {"mode": "SCALAR", "signatures": []})
    return dict(sorted(functions.items()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--output", type=Path, default=OUTPUT, help=f"default: {OUTPUT.relative_to(ROOT)}")
    args = parser.parse_args(argv)
    functions = builtin_functions()
    args.output.write_text(json.dumps(functions, indent=1, sort_keys=True) + "\n")
    print(f"{len(functions)} functions written to {args.output}")


if __name__ == "__main__":
    main()
