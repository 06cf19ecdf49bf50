"""local_bigquery agrees with ZetaSQL's reference evaluator on the expressions the DAG's SQL relies on.

ZetaSQL's reference implementation defines GoogleSQL's semantics (BigQuery's dialect); each expression
is evaluated by it (all of them in one process, tests/googlesql.py) and by local_bigquery over HTTP as
`SELECT <expression> AS value`, and both must give the same type and value, or both an error.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import math
from typing import Any

import pytest

from segmentation.sources import googlesql_type
from tests import googlesql

pytestmark = pytest.mark.slow

# (expression, where the DAG uses it)
EXPRESSIONS = {
    # Gates and profiles divide counts; BigQuery's `/` is FLOAT64 division that fails on zero.
    "divide-counts": "7 / 2",
    "divide-by-zero": "1 / 0",
    "divide-zero-by-zero": "0 / 0",
    "float-divide-by-zero": "1.5 / 0",
    "safe-divide": "SAFE_DIVIDE(10, 4)",
    "safe-divide-by-zero": "SAFE_DIVIDE(10, 0)",
    "ieee-divide-by-zero": "IEEE_DIVIDE(1, 0)",
    "ieee-divide-zero-by-zero": "IEEE_DIVIDE(0, 0)",
    "row-drop": "100 * (1 - 40 / 50)",
    # The gates' messages.
    "format-null-t": "FORMAT('%t', NULL)",
    "format-null-timestamp-t": "FORMAT('%t', CAST(NULL AS TIMESTAMP))",
    "format-date-t": "FORMAT('%t', DATE '2024-03-01')",
    "format-timestamp-t": "FORMAT('%t', TIMESTAMP '2024-03-01 00:00:00+00')",
    "format-d-s": "FORMAT('%d rows with %s', 12, 'negative monetary')",
    "format-percent": "FORMAT('%.1f%%', 12.345)",
    "format-g": "FORMAT('%g', 50.0)",
    "format-nested": "FORMAT('latest: %s', IFNULL(FORMAT('%t', CAST(NULL AS TIMESTAMP)), 'none'))",
    "format-nested-value": "FORMAT('%s', FORMAT('%t', TIMESTAMP '2024-02-28 12:30:00+00'))",
    # Features: recency and tenure in whole days, spend windows, the cut-off.
    "timestamp-diff-days": "TIMESTAMP_DIFF(TIMESTAMP '2024-03-01 00:00:00+00', TIMESTAMP '2024-02-28 12:00:00+00', DAY)",
    "timestamp-diff-negative": "TIMESTAMP_DIFF(TIMESTAMP '2024-02-28 12:00:00+00', TIMESTAMP '2024-03-01 00:00:00+00', DAY)",
    "date-diff-days": "DATE_DIFF(DATE '2024-03-01', DATE '2024-02-01', DAY)",
    "date-diff-months": "DATE_DIFF(DATE '2024-03-01', DATE '2024-01-31', MONTH)",
    "timestamp-sub-days": "TIMESTAMP_SUB(TIMESTAMP '2024-03-01 00:00:00+00', INTERVAL 3 DAY)",
    "months-before-cut-off": (
        "TIMESTAMP(DATETIME_SUB(DATETIME(TIMESTAMP '2024-03-31 00:00:00+00'), INTERVAL 1 MONTH))"
    ),
    "datetime-as-timestamp": "CAST(DATETIME '2024-03-01 10:00:00' AS TIMESTAMP)",
    "date-as-timestamp": "CAST(DATE '2024-03-01' AS TIMESTAMP)",
    # CAST rounds half away from zero.
    "cast-half-up": "CAST(2.5 AS INT64)",
    "cast-half-down": "CAST(-2.5 AS INT64)",
    "cast-one-and-a-half": "CAST(1.5 AS INT64)",
    "numeric-as-float": "CAST(NUMERIC '2.25' AS FLOAT64)",
    "int-as-float": "CAST(3 AS FLOAT64)",
    # Order lines and the log transform.
    "status-in": "IFNULL(LOWER('CANCELED') IN ('cancelled', 'canceled'), FALSE)",
    "null-status": "IFNULL(LOWER(CAST(NULL AS STRING)) = 'returned', FALSE)",
    "kept-value": "IF(TRUE, 0, 12.5)",
    "log-monetary": "LN(1 + 0.0)",
    "log-zero": "LN(0)",
    "generate-array": "GENERATE_ARRAY(1, 3)",
    "md5-sample-order": "MD5(CAST(42 AS STRING))",
    "gate-error": "IF(FALSE, 'ok', ERROR('gate failed'))",
}
# Where local_bigquery is known to differ today; strict, so each flips to a failure once it is fixed.
KNOWN_DIFFERENCES: dict[str, str] = {}


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    request = {"expressions": [{"id": name, "sql": sql} for name, sql in EXPRESSIONS.items()]}
    return googlesql.run(request)["expressions"]


def local(client, sql: str) -> dict:
    try:
        job = client.query(f"SELECT {sql} AS value")
        rows = list(job.result())
    except Exception as error:  # the API's error, whatever its class
        return {"error": str(error)}
    (field,) = job.result().schema
    kind = googlesql_type(field.field_type)
    if field.mode == "REPEATED":
        kind = f"ARRAY<{kind}>"
    return {"type": kind, "value": normalized(rows[0]["value"])}


def normalized(value: Any) -> Any:
    """A client value as tests/googlesql.py writes ZetaSQL's: ISO dates, base64 bytes, named NaN/Inf."""
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, decimal.Decimal):
        return str(value.normalize())
    return value


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[name]))
        if name in KNOWN_DIFFERENCES
        else name
        for name in EXPRESSIONS
    ],
)
def test_local_bigquery_agrees_with_the_reference_evaluator(bq_client, reference, name):
    expected, got = reference[name], local(bq_client, EXPRESSIONS[name])
    if "error" in expected:
        assert "error" in got, (EXPRESSIONS[name], expected["error"], got)
    else:
        assert got == expected, EXPRESSIONS[name]


def test_the_reference_evaluator_answers(reference):
    """The comparison means something only if ZetaSQL evaluates, and refuses what BigQuery refuses."""
    assert reference["divide-counts"] == {"type": "FLOAT64", "value": 3.5}
    assert "division by zero" in reference["divide-by-zero"]["error"]
