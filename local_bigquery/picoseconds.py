"""TIMESTAMP(12): timestamps of picosecond precision, which DuckDB's microsecond TIMESTAMPTZ cannot hold.

A column or value of TIMESTAMP(12) (`timestampPrecision: 12` in a REST schema, `CAST(… AS TIMESTAMP(12))` in
a query) is a DuckDB struct of its microsecond timestamp and the picoseconds within that microsecond, so it
keeps all twelve digits, sorts, groups and compares in time order, and is known for what it is in every
result schema. Results give it as BigQuery does: microseconds (`useInt64Timestamp`), float seconds, or
the ISO 8601 text of all twelve digits (`timestampOutputFormat: ISO8601_STRING`; in Arrow results with
`picosTimestampPrecision: TIMESTAMP_PRECISION_PICOS`).
https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema (timestampPrecision),
https://cloud.google.com/bigquery/docs/reference/rest/v2/DataFormatOptions
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

PRECISION = "12"
MICROS_FIELD = "__local_bigquery_timestamp"
PICOS_FIELD = "__local_bigquery_picoseconds"
DUCKDB_TYPE = f'STRUCT("{MICROS_FIELD}" TIMESTAMPTZ, "{PICOS_FIELD}" BIGINT)'
PARSE_FUNCTION = "bq_timestamp_picos"

# The seconds' fraction of a timestamp's text: up to twelve digits.
_FRACTION = re.compile(r"(?<=:\d\d)\.(\d+)")


def is_picosecond_field(field: dict) -> bool:
    return (
        str(field.get("type", "")).upper() == "TIMESTAMP"
        and str(field.get("timestampPrecision")) == PRECISION
    )


def is_picosecond_type(duck_type: duckdb.typing.DuckDBPyType) -> bool:
    return duck_type.id == "struct" and [name for name, _ in duck_type.children] == [
        MICROS_FIELD,
        PICOS_FIELD,
    ]


def is_picosecond_arrow(arrow_type: pa.DataType) -> bool:
    return pa.types.is_struct(arrow_type) and [f.name for f in arrow_type] == [MICROS_FIELD, PICOS_FIELD]


def parse(value: Any) -> dict | None:
    """A timestamp's text (or a datetime) as the stored struct; ValueError if it is none."""
    from local_bigquery.types import _parse_timestamp

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return {MICROS_FIELD: value, PICOS_FIELD: 0}
    text = str(value).strip()
    match = _FRACTION.search(text)
    if match and len(match.group(1)) > 12:
        raise ValueError(f"Invalid timestamp: {text!r} has more than twelve digits of fraction")
    digits = (match.group(1) if match else "").ljust(12, "0")
    if match:
        text = text[: match.start()] + "." + digits[:6] + text[match.end() :]
    return {MICROS_FIELD: _parse_timestamp(text), PICOS_FIELD: int(digits[6:])}


def _parsed_or_null(value: str | None) -> dict | None:
    try:
        return parse(value)
    except ValueError:
        return None


def register(con: duckdb.DuckDBPyConnection) -> None:
    """`bq_timestamp_picos(text)`: the stored form of a timestamp's text (NULL if it is none), for CASTs and
    loads; a CAST turns the NULL of a text that is no timestamp into BigQuery's error."""
    con.create_function(
        PARSE_FUNCTION,
        _parsed_or_null,
        [duckdb.sqltype("VARCHAR")],
        duckdb.sqltype(DUCKDB_TYPE),
        null_handling="special",
        side_effects=False,
    )


def iso_text(moment: dt.datetime, picos: int = 0) -> str:
    """ "YYYY-MM-DDTHH:MM:SS.FFFFFFFFFFFFZ": twelve digits of fraction, in UTC."""
    moment = moment.astimezone(dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}{picos:06d}Z"


def iso_texts(micros: pa.ChunkedArray | pa.Array, picos: pa.Array | None = None) -> list:
    moments = micros.to_pylist()
    extra = picos.to_pylist() if picos is not None else [0] * len(moments)
    return [None if m is None else iso_text(m, p or 0) for m, p in zip(moments, extra, strict=True)]


def parts(column: pa.ChunkedArray | pa.Array) -> tuple[pa.Array, pa.Array]:
    """The microsecond timestamps and the picoseconds of a stored TIMESTAMP(12) column, NULLs kept."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    valid = column.is_valid()
    micros = pc.if_else(valid, column.field(MICROS_FIELD), pa.scalar(None, column.type.field(0).type))
    return micros, column.field(PICOS_FIELD)
