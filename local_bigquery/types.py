"""BigQuery types in three places: table schemas (REST JSON), DuckDB storage, and REST cell values.

BigQuery → DuckDB storage:
  INT64 BIGINT · FLOAT64 DOUBLE · NUMERIC DECIMAL(38,9) · BIGNUMERIC DECIMAL(38,18) · BOOL BOOLEAN ·
  STRING VARCHAR · BYTES BLOB · DATE DATE · DATETIME TIMESTAMP · TIME TIME · TIMESTAMP TIMESTAMPTZ ·
  JSON JSON · ARRAY<T> T[] · STRUCT<...> STRUCT(...)
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from local_bigquery import picoseconds
from local_bigquery.errors import InvalidQuery, InvalidRequest, Unsupported

BIGNUMERIC_SCALE = 18

_SCALAR_TO_DUCKDB = {
    "INT64": "BIGINT",
    "INTEGER": "BIGINT",
    "FLOAT64": "DOUBLE",
    "FLOAT": "DOUBLE",
    "NUMERIC": "DECIMAL(38, 9)",
    "DECIMAL": "DECIMAL(38, 9)",
    "BIGNUMERIC": f"DECIMAL(38, {BIGNUMERIC_SCALE})",
    "BIGDECIMAL": f"DECIMAL(38, {BIGNUMERIC_SCALE})",
    "BOOL": "BOOLEAN",
    "BOOLEAN": "BOOLEAN",
    "STRING": "VARCHAR",
    "BYTES": "BLOB",
    "DATE": "DATE",
    "DATETIME": "TIMESTAMP",
    "TIME": "TIME",
    "TIMESTAMP": "TIMESTAMPTZ",
    "JSON": "JSON",
}

_DUCKDB_TO_SCALAR = {
    "boolean": "BOOLEAN",
    "tinyint": "INTEGER",
    "smallint": "INTEGER",
    "integer": "INTEGER",
    "bigint": "INTEGER",
    "hugeint": "INTEGER",
    "utinyint": "INTEGER",
    "usmallint": "INTEGER",
    "uinteger": "INTEGER",
    "ubigint": "INTEGER",
    "float": "FLOAT",
    "double": "FLOAT",
    "varchar": "STRING",
    "blob": "BYTES",
    "date": "DATE",
    "timestamp": "DATETIME",
    "timestamp_ms": "DATETIME",
    "timestamp_ns": "DATETIME",
    "timestamp_s": "DATETIME",
    "timestamp with time zone": "TIMESTAMP",
    "time": "TIME",
    "uuid": "STRING",
    # A NULL no operand gives a type to (`SELECT NULL`) is an INT64, as GoogleSQL types an untyped NULL.
    # https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules#literal_coercion
    "null": "INTEGER",
}


# Parameterized decimals: NUMERIC(P[, S]) has max(1, S) <= P <= S + 29 and S <= 9, BIGNUMERIC(P[, S])
# max(1, S) <= P <= S + 38 and S <= 38, stored as DuckDB's DECIMAL(P, S), which rounds and bounds values as
# BigQuery does. https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#parameterized_decimal_type
PARAMETERIZED_DECIMALS = {
    "NUMERIC": "NUMERIC",
    "DECIMAL": "NUMERIC",
    "BIGNUMERIC": "BIGNUMERIC",
    "BIGDECIMAL": "BIGNUMERIC",
}
_DECIMAL_LIMITS = {"NUMERIC": (29, 9), "BIGNUMERIC": (38, 38)}
_DUCKDB_MAX_DIGITS = 38


def decimal_parameters(
    bq_type: str, precision: Any, scale: Any, name: str, error: type[Exception] = InvalidRequest
) -> tuple[int, int]:
    """The (precision, scale) of NUMERIC(P[, S]) or BIGNUMERIC(P[, S]), checked as BigQuery checks them."""
    kind = PARAMETERIZED_DECIMALS[bq_type.upper()]
    digits, most_scale = _DECIMAL_LIMITS[kind]
    p, s = int(precision), int(scale or 0)
    if not (0 <= s <= most_scale and max(1, s) <= p <= s + digits):
        raise error(
            f"Invalid {kind}({p}, {s}) for field {name}: {kind} takes max(1, S) <= P <= S + {digits} "
            f"and 0 <= S <= {most_scale}."
        )
    if p > _DUCKDB_MAX_DIGITS:
        raise Unsupported(f"{kind}({p}, {s}) (field {name}): at most {_DUCKDB_MAX_DIGITS} digits here")
    return p, s


# The values each decimal type holds: NUMERIC 29 digits before the point and 9 after, BIGNUMERIC 38 after
# and up to about 5.79e38 (2^255 / 10^38). https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#decimal_types
_DECIMAL_RANGES = {
    "NUMERIC": (
        decimal.Decimal("-99999999999999999999999999999.999999999"),
        decimal.Decimal("99999999999999999999999999999.999999999"),
        9,
    ),
    "BIGNUMERIC": (
        decimal.Decimal("-578960446186580977117854925043439539266.34992332820282019728792003956564819968"),
        decimal.Decimal("578960446186580977117854925043439539266.34992332820282019728792003956564819967"),
        38,
    ),
}
# BIGNUMERIC is stored as DuckDB's widest decimal, DECIMAL(38, BIGNUMERIC_SCALE).
_BIGNUMERIC_HELD = decimal.Decimal(10) ** (_DUCKDB_MAX_DIGITS - BIGNUMERIC_SCALE)
_DECIMAL_TEXT = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")
_EXACT = decimal.Context(prec=200)


def decimal_value(kind: str, text: str) -> decimal.Decimal | None:
    """The NUMERIC or BIGNUMERIC value a text writes exactly, or None where it writes none (not a number, out
    of the type's range or more fractional digits than it keeps). A BIGNUMERIC DuckDB's DECIMAL(38, 18)
    cannot hold (more than 20 digits before the point or 18 after) is refused by name."""
    if not _DECIMAL_TEXT.fullmatch(text):
        return None
    value = decimal.Decimal(text.strip())
    lowest, highest, scale = _DECIMAL_RANGES[kind]
    fraction_digits = -value.normalize(_EXACT).as_tuple().exponent
    if not lowest <= value <= highest or fraction_digits > scale:
        return None
    if kind == "BIGNUMERIC" and (abs(value) >= _BIGNUMERIC_HELD or fraction_digits > BIGNUMERIC_SCALE):
        raise Unsupported(
            f"BIGNUMERIC values beyond 38 digits (DuckDB's DECIMAL(38, {BIGNUMERIC_SCALE}): "
            f"{_DUCKDB_MAX_DIGITS - BIGNUMERIC_SCALE} digits before the point, {BIGNUMERIC_SCALE} after)"
        )
    return value


def _bignumeric(value: Any) -> decimal.Decimal:
    held = decimal_value("BIGNUMERIC", str(value))
    if held is None:
        raise ValueError("not a BIGNUMERIC: a number of up to 38 fractional digits, below 5.79e38")
    return held


def length_check(field: dict) -> str:
    """STRING(L) / BYTES(L) (`maxLength`): a CHECK on the column, as DuckDB's VARCHAR(L) checks nothing."""
    length, bq_type = field.get("maxLength"), str(field.get("type", "")).upper()
    if length is None or bq_type not in ("STRING", "BYTES") or field.get("mode") == "REPEATED":
        return ""
    if not str(length).isdigit() or int(length) < 1:
        raise InvalidRequest(
            f"Invalid maxLength {length!r} for field {field.get('name')}: a positive integer."
        )
    function = "length" if bq_type == "STRING" else "octet_length"
    return f" CHECK ({function}({quote_identifier(field['name'])}) <= {int(length)})"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# ---- table schema (REST) → DuckDB column types ---------------------------------------------------------


def duckdb_type_for_field(field: dict) -> str:
    """The DuckDB column type for a REST TableFieldSchema, honouring mode REPEATED."""
    bq_type = str(field.get("type", "")).upper()
    if bq_type in ("RECORD", "STRUCT"):
        subfields = field.get("fields") or []
        if not subfields:
            raise InvalidRequest(f"Field {field.get('name')} is type RECORD but has no schema.")
        members = ", ".join(f"{quote_identifier(f['name'])} {duckdb_type_for_field(f)}" for f in subfields)
        column_type = f"STRUCT({members})"
    elif picoseconds.is_picosecond_field(field):
        column_type = picoseconds.DUCKDB_TYPE
    elif bq_type in PARAMETERIZED_DECIMALS and field.get("precision") is not None:
        precision, scale = decimal_parameters(
            bq_type, field["precision"], field.get("scale"), field.get("name")
        )
        column_type = f"DECIMAL({precision}, {scale})"
    elif bq_type == "TIMESTAMP" and str(field.get("timestampPrecision") or "6") != "6":
        raise InvalidRequest(
            f"Invalid timestampPrecision {field['timestampPrecision']} for field {field.get('name')}: "
            "6 (microseconds) or 12 (picoseconds)."
        )
    elif bq_type in _SCALAR_TO_DUCKDB:
        column_type = _SCALAR_TO_DUCKDB[bq_type]
    elif bq_type in ("GEOGRAPHY", "INTERVAL", "RANGE"):
        raise Unsupported(f"column type {bq_type} (field {field.get('name')})")
    else:
        raise InvalidRequest(f"Invalid field type {bq_type or '(missing)'} for field {field.get('name')}.")
    if str(field.get("mode", "NULLABLE")).upper() == "REPEATED":
        return f"{column_type}[]"
    return column_type


def duckdb_type_for_sql_type(bq_type: str) -> str:
    """A GoogleSQL type name such as `INT64` or `ARRAY<STRING>` (query parameters) in DuckDB's spelling."""
    return _SCALAR_TO_DUCKDB.get(bq_type.upper(), bq_type)


def _is_required(field: dict) -> bool:
    return str(field.get("mode", "")).upper() == "REQUIRED"


def required_subfields(field: dict, path: tuple[str, ...] | None = None) -> list[tuple[str, ...]]:
    """The paths of the REQUIRED fields inside a RECORD field (not under a REPEATED one), which DuckDB's
    struct types cannot mark NOT NULL."""
    path = (field["name"],) if path is None else path
    if str(field.get("type", "")).upper() not in ("RECORD", "STRUCT") or field.get("mode") == "REPEATED":
        return []
    paths = []
    for member in field.get("fields") or []:
        member_path = (*path, member["name"])
        if _is_required(member):
            paths.append(member_path)
        paths += required_subfields(member, member_path)
    return paths


def column_definitions(schema_fields: Iterable[dict]) -> str:
    """Columns for CREATE TABLE; a REQUIRED field inside a RECORD is a CHECK that it is set wherever its
    RECORD is."""
    definitions = []
    for field in schema_fields:
        not_null = " NOT NULL" if _is_required(field) else ""
        definitions.append(
            f"{quote_identifier(field['name'])} {duckdb_type_for_field(field)}{not_null}{length_check(field)}"
        )
        for path in required_subfields(field):
            parent = _struct_path(path[:-1])
            definitions.append(f"CHECK ({parent} IS NULL OR {_struct_path(path)} IS NOT NULL)")
    return ", ".join(definitions)


def _struct_path(path: tuple[str, ...]) -> str:
    expression = quote_identifier(path[0])
    for name in path[1:]:
        expression = f"struct_extract({expression}, '{name.replace(chr(39), chr(39) * 2)}')"
    return expression


# ---- DuckDB result types → table schema (REST) ---------------------------------------------------------


def field_for_duckdb_type(name: str, duck_type: duckdb.typing.DuckDBPyType, nullable: bool = True) -> dict:
    """The REST TableFieldSchema describing a DuckDB column."""
    if duck_type.id == "list":
        element = field_for_duckdb_type(name, duck_type.children[0][1])
        return {**element, "mode": "REPEATED"}
    field: dict[str, Any] = {"name": name, "mode": "NULLABLE" if nullable else "REQUIRED"}
    if picoseconds.is_picosecond_type(duck_type):
        field |= {"type": "TIMESTAMP", "timestampPrecision": picoseconds.PRECISION}
    elif duck_type.id == "struct":
        field["type"] = "RECORD"
        field["fields"] = [
            field_for_duckdb_type(child, child_type) for child, child_type in duck_type.children
        ]
    elif duck_type.id == "tuple":
        # A struct of unnamed fields (`(1, 'a')`): BigQuery names them _field_1, _field_2, … in the schema,
        # as the official client's system tests record (test_query.py, the hitchhiker parameter).
        field["type"] = "RECORD"
        field["fields"] = [
            field_for_duckdb_type(f"_field_{index}", child_type)
            for index, (_, child_type) in enumerate(duck_type.children, start=1)
        ]
    elif duck_type.id == "decimal":
        scale = dict(duck_type.children)["scale"]
        field["type"] = "NUMERIC" if scale <= 9 else "BIGNUMERIC"
    elif str(duck_type) == "JSON":
        field["type"] = "JSON"
    elif duck_type.id in _DUCKDB_TO_SCALAR:
        field["type"] = _DUCKDB_TO_SCALAR[duck_type.id]
    elif duck_type.id == "interval":
        raise Unsupported(f"INTERVAL values (result column {name})")
    else:
        raise Unsupported(f"result column {name} of DuckDB type {duck_type}")
    return field


def schema_for_relation(columns: list[str], types: list, not_null: Iterable[str] = ()) -> dict:
    required = set(not_null)
    return {
        "fields": [
            field_for_duckdb_type(name, duck_type, nullable=name not in required)
            for name, duck_type in zip(columns, types, strict=True)
        ]
    }


def _null_element_path(column: pa.Array | pa.ChunkedArray, arrow_type: pa.DataType) -> bool:
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        elements = pc.list_flatten(column)
        return elements.null_count > 0 or _null_element_path(elements, arrow_type.value_type)
    if pa.types.is_struct(arrow_type):
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        return any(
            _null_element_path(
                pa.chunked_array([chunk.field(i) for chunk in chunks], arrow_type.field(i).type),
                arrow_type.field(i).type,
            )
            for i in range(arrow_type.num_fields)
        )
    return False


def refuse_null_array_elements(table: pa.Table, schema: dict) -> None:
    """BigQuery cannot return an ARRAY with a NULL element: the query fails.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#array_nulls
    """
    for field, column in zip(schema["fields"], table.columns, strict=True):
        nested = field.get("mode") == "REPEATED" or field["type"] == "RECORD"
        if nested and _null_element_path(column, column.type):
            raise InvalidQuery(f"Array cannot have a null element; error in writing field {field['name']}")


# ---- Arrow results (jobs.query with queryResultsFormat=ARROW) -------------------------------------------

_ARROW_TYPES = {
    "INTEGER": pa.int64(),
    "FLOAT": pa.float64(),
    "NUMERIC": pa.decimal128(38, 9),
    "BIGNUMERIC": pa.decimal256(76, 38),
    "BOOLEAN": pa.bool_(),
    "STRING": pa.string(),
    "JSON": pa.string(),
    "BYTES": pa.binary(),
    "DATE": pa.date32(),
    "DATETIME": pa.timestamp("us"),
    "TIME": pa.time64("us"),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}


_JSON_ARROW_METADATA = {b"ARROW:extension:name": b"google:sqlType:json"}


def _arrow_field(field: dict, picos: bool) -> pa.Field:
    if field["type"] == "RECORD":
        arrow_type = pa.struct([_arrow_field(member, picos) for member in field["fields"]])
    elif picos and picoseconds.is_picosecond_field(field):
        arrow_type = pa.string()  # the ISO 8601 text of all twelve digits
    else:
        arrow_type = _ARROW_TYPES[field["type"]]
    if field.get("mode") == "REPEATED":
        arrow_type = pa.list_(arrow_type)
    # JSON is text marked as JSON, so that a reader can tell it from STRING.
    metadata = _JSON_ARROW_METADATA if field["type"] == "JSON" else None
    return pa.field(field["name"], arrow_type, nullable=field.get("mode") != "REQUIRED", metadata=metadata)


def arrow_schema(schema: dict, picos: bool = False) -> pa.Schema:
    """The Arrow schema BigQuery sends a result of this REST schema in; `picos`: TIMESTAMP(12) columns as
    text (arrowSerializationOptions.picosTimestampPrecision TIMESTAMP_PRECISION_PICOS).

    https://cloud.google.com/bigquery/docs/reference/storage#arrow_schema_details
    """
    return pa.schema([_arrow_field(field, picos) for field in schema["fields"]])


def _by_position(array: pa.Array, target: pa.DataType) -> pa.Array:
    """`array` cast to `target`, struct fields matched by position (DuckDB names an unnamed struct's fields
    its own way; Arrow's cast matches them by name and would leave them NULL)."""
    if picoseconds.is_picosecond_arrow(array.type):
        micros, picos = picoseconds.parts(array)
        if pa.types.is_string(target):
            return pa.array(picoseconds.iso_texts(micros, picos), pa.string())
        return micros.cast(target)
    if pa.types.is_struct(target):
        children = [_by_position(array.field(i), target.field(i).type) for i in range(target.num_fields)]
        return pa.StructArray.from_arrays(children, fields=list(target), mask=array.is_null())
    if pa.types.is_list(target) and pa.types.is_list(array.type):
        values = _by_position(array.values, target.value_type)
        return pa.ListArray.from_arrays(array.offsets, values, type=target, mask=array.is_null())
    return array.cast(target)


def table_in_schema(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Result rows in the Arrow schema BigQuery sends them in."""
    columns = [
        pa.chunked_array([_by_position(chunk, field.type) for chunk in column.chunks], field.type)
        for column, field in zip(table.columns, schema, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=schema)


# ---- REST cell encoding (tabledata.list / getQueryResults rows) ----------------------------------------


def _timestamp_seconds(value: dt.datetime) -> str:
    micros = _epoch_micros(value)
    seconds, fraction = divmod(micros, 1_000_000)
    return f"{seconds}.{fraction:06d}".rstrip("0").rstrip(".") if fraction else f"{seconds}.0"


def _epoch_micros(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _float_text(value: float) -> Any:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(float(value))


def _numeric_text(value: decimal.Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _timestamp_encoder(timestamp_format: str) -> Callable[[dt.datetime, int], str]:
    """A TIMESTAMP's text in the format asked for, from its microsecond timestamp and extra picoseconds."""
    if timestamp_format == "INT64":
        return lambda moment, _: str(_epoch_micros(moment))
    if timestamp_format == "ISO8601_STRING":
        return picoseconds.iso_text
    return lambda moment, _: _timestamp_seconds(moment)


def _scalar_encoder(field: dict, timestamp_format: str) -> Callable[[Any], Any]:
    bq_type = field["type"]
    if bq_type == "TIMESTAMP":
        encode = _timestamp_encoder(timestamp_format)
        if picoseconds.is_picosecond_field(field):
            return lambda v: encode(v[picoseconds.MICROS_FIELD], v[picoseconds.PICOS_FIELD])
        return lambda v: encode(v, 0)
    return {
        "INTEGER": str,
        "FLOAT": _float_text,
        "NUMERIC": _numeric_text,
        "BIGNUMERIC": _numeric_text,
        "BOOLEAN": lambda v: "true" if v else "false",
        "STRING": str,
        "JSON": str,
        "BYTES": lambda v: base64.b64encode(v).decode("ascii"),
        "DATE": lambda v: v.isoformat(),
        "DATETIME": lambda v: v.isoformat(timespec="microseconds"),
        "TIME": lambda v: v.isoformat(timespec="microseconds"),
    }[bq_type]


def cell_encoder(field: dict, timestamp_format: str = "FLOAT64") -> Callable[[Any], Any]:
    """A function turning a Python value of this field into BigQuery's `{"v": ...}` payload value."""
    if field["type"] == "RECORD":
        # A NULL array in a struct is an empty one, as BigQuery has no NULL arrays.
        members = [
            (f["name"], cell_encoder(f, timestamp_format), f.get("mode") == "REPEATED")
            for f in field["fields"]
        ]

        def encode_record(value):
            # By position: an unnamed struct's values come from DuckDB under names of its own.
            return {
                "f": [
                    {"v": ([] if repeated else None) if member is None else enc(member)}
                    for (_, enc, repeated), member in zip(members, value.values(), strict=True)
                ]
            }

        element = encode_record
    else:
        scalar = _scalar_encoder(field, timestamp_format)
        element = scalar
    if field.get("mode") == "REPEATED":
        return lambda values: [{"v": None if v is None else element(v)} for v in values]
    return element


def _float_texts(column: pa.ChunkedArray, timestamp_format: str) -> list:
    values = column.to_pylist()
    texts = list(map(repr, values))
    for index in np.flatnonzero(pc.invert(pc.is_finite(column).fill_null(False))):  # NULL, NaN, ±inf
        texts[index] = None if values[index] is None else _float_text(values[index])
    return texts


def _timestamp_texts(column: pa.ChunkedArray, timestamp_format: str) -> list:
    if timestamp_format == "ISO8601_STRING":
        return picoseconds.iso_texts(column)
    micros = column.cast(pa.int64())
    if timestamp_format == "INT64":
        return micros.cast(pa.string()).to_pylist()
    seconds, fractions = np.divmod(micros.fill_null(0).to_numpy(), 1_000_000)
    texts = [
        f"{second}.{fraction:06d}".rstrip("0") if fraction else f"{second}.0"
        for second, fraction in zip(seconds.tolist(), fractions.tolist(), strict=True)
    ]
    for index in np.flatnonzero(micros.is_null()):
        texts[index] = None
    return texts


def _is_string(arrow_type: pa.DataType) -> bool:
    return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)


def _microsecond_timestamp(arrow_type: pa.DataType, *, zoned: bool) -> bool:
    return (
        pa.types.is_timestamp(arrow_type) and arrow_type.unit == "us" and (arrow_type.tz is not None) == zoned
    )


# Whole-column encoders for the common scalar types and the Arrow types DuckDB returns them as; each gives
# exactly what the per-value encoder would, without a Python object per value on the way.
_COLUMN_ENCODERS: dict[str, tuple[Callable[[pa.DataType], bool], Callable[[pa.ChunkedArray, bool], list]]] = {
    "INTEGER": (pa.types.is_integer, lambda column, _: column.cast(pa.string()).to_pylist()),
    "STRING": (_is_string, lambda column, _: column.to_pylist()),
    "BOOLEAN": (pa.types.is_boolean, lambda column, _: pc.if_else(column, "true", "false").to_pylist()),
    "FLOAT": (pa.types.is_floating, _float_texts),
    "DATE": (pa.types.is_date32, lambda column, _: column.cast(pa.string()).to_pylist()),
    "TIME": (lambda t: t == pa.time64("us"), lambda column, _: column.cast(pa.string()).to_pylist()),
    "DATETIME": (
        lambda t: _microsecond_timestamp(t, zoned=False),
        lambda column, _: pc.strftime(column, format="%Y-%m-%dT%H:%M:%S").to_pylist(),
    ),
    "TIMESTAMP": (lambda t: _microsecond_timestamp(t, zoned=True), _timestamp_texts),
}


def _column_cells(field: dict, column: pa.ChunkedArray, timestamp_format: str) -> list:
    """The REST cell values of one column."""
    if field.get("mode") != "REPEATED" and field["type"] in _COLUMN_ENCODERS:
        applies, encode_column = _COLUMN_ENCODERS[field["type"]]
        if applies(column.type):
            return encode_column(column, timestamp_format)
    encode = cell_encoder(field, timestamp_format)
    empty = [] if field.get("mode") == "REPEATED" else None
    return [empty if v is None else encode(v) for v in column.to_pylist()]


def encode_rows(table: pa.Table, schema: dict, timestamp_format: str = "FLOAT64") -> list[dict]:
    """Arrow rows as REST `rows`: `[{"f": [{"v": ...}, ...]}, ...]`, column by column."""
    cells = [
        [{"v": value} for value in _column_cells(field, column, timestamp_format)]
        for field, column in zip(schema["fields"], table.columns, strict=True)
    ]
    return [{"f": list(row)} for row in zip(*cells, strict=True)]


# ---- REST values → Python values (query parameters, insertAll rows) ------------------------------------


def _parse_timestamp(value: Any) -> dt.datetime:
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    text = str(value).strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    if "T" not in text and " " in text:
        text = text.replace(" ", "T", 1)
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text not in ("true", "false"):
        raise ValueError(f"{value!r} is not a BOOL")
    return text == "true"


_SCALAR_DECODERS: dict[str, Callable[[Any], Any]] = {
    "INT64": int,
    "INTEGER": int,
    "FLOAT64": float,
    "FLOAT": float,
    "NUMERIC": lambda v: decimal.Decimal(str(v)),
    "BIGNUMERIC": _bignumeric,
    "BOOL": _parse_bool,
    "BOOLEAN": _parse_bool,
    "STRING": str,
    "BYTES": lambda v: base64.b64decode(v),
    "DATE": lambda v: dt.date.fromisoformat(str(v)),
    "DATETIME": lambda v: dt.datetime.fromisoformat(str(v).replace(" ", "T", 1)),
    "TIME": lambda v: dt.time.fromisoformat(str(v)),
    "TIMESTAMP": _parse_timestamp,
    "JSON": lambda v: v if isinstance(v, str) else json.dumps(v),
}


def decode_scalar(bq_type: str, value: Any, what: str) -> Any:
    if value is None:
        return None
    decoder = _SCALAR_DECODERS.get(bq_type.upper())
    if decoder is None:
        raise Unsupported(f"type {bq_type} for {what}")
    try:
        return decoder(value)
    except (ValueError, TypeError, decimal.InvalidOperation, base64.binascii.Error) as error:
        raise InvalidRequest(f"Invalid {bq_type.upper()} value {value!r} for {what}: {error}") from None


def decode_json_value(field: dict, value: Any, what: str) -> Any:
    """An insertAll JSON value of a schema field as the Python value DuckDB stores."""
    name = f"{what}.{field['name']}"
    if value is None:
        return None
    if field.get("mode") == "REPEATED":
        if not isinstance(value, list):
            raise InvalidRequest(f"Field {name} is REPEATED but the value is not an array.")
        element = {**field, "mode": "NULLABLE"}
        return [decode_json_value(element, v, what) for v in value]
    if field["type"] in ("RECORD", "STRUCT"):
        if not isinstance(value, dict):
            raise InvalidRequest(f"Field {name} is a RECORD but the value is not an object.")
        unknown = set(value) - {f["name"] for f in field["fields"]}
        if unknown:
            raise InvalidRequest(f"no such field: {', '.join(sorted(unknown))} in {name}.")
        return {f["name"]: decode_json_value(f, value.get(f["name"]), name) for f in field["fields"]}
    if picoseconds.is_picosecond_field(field):
        try:
            return picoseconds.parse(value)
        except ValueError as error:
            raise InvalidRequest(f"Invalid TIMESTAMP value {value!r} for {name}: {error}") from None
    return decode_scalar(field["type"], value, name)


def query_parameter_sql_type(parameter_type: dict) -> str:
    """A REST QueryParameterType in DuckDB's spelling, e.g. `{"type": "ARRAY", "arrayType": ...}` → `BIGINT[]`."""
    kind = parameter_type["type"].upper()
    if kind == "ARRAY":
        return f"{query_parameter_sql_type(parameter_type['arrayType'])}[]"
    if kind == "STRUCT":
        members = ", ".join(
            f"{quote_identifier(m['name'])} {query_parameter_sql_type(m['type'])}"
            for m in parameter_type["structTypes"]
        )
        return f"STRUCT({members})"
    if kind not in _SCALAR_TO_DUCKDB:
        raise Unsupported(f"query parameter type {kind}")
    return _SCALAR_TO_DUCKDB[kind]


def query_parameter_value(parameter_type: dict, parameter_value: dict | None, name: str) -> Any:
    """A REST QueryParameterValue as a Python value."""
    if parameter_value is None:
        return None
    kind = parameter_type["type"].upper()
    if kind == "ARRAY":
        values = parameter_value.get("arrayValues") or []
        return [query_parameter_value(parameter_type["arrayType"], v, name) for v in values]
    if kind == "STRUCT":
        members = parameter_value.get("structValues") or {}
        return {
            m["name"]: query_parameter_value(m["type"], members.get(m["name"]), name)
            for m in parameter_type["structTypes"]
        }
    return decode_scalar(kind, parameter_value.get("value"), f"query parameter {name}")
