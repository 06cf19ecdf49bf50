"""Every BigQuery type round-trips through table storage and the REST encoding, both timestamp formats."""

import datetime as dt
import decimal

import pyarrow as pa
import pytest
from google.cloud import bigquery

from local_bigquery.types import encode_rows
from tests.conftest import PROJECT

VALUES = {
    "i": ("INT64", -9007199254740993),
    "f": ("FLOAT64", 0.1),
    "n": ("NUMERIC", decimal.Decimal("12345.123456789")),
    "bn": ("BIGNUMERIC", decimal.Decimal("0.123456789012345678")),
    "b": ("BOOL", True),
    "s": ("STRING", "naïve - ü"),
    "y": ("BYTES", b"\x00\xffbytes"),
    "d": ("DATE", dt.date(2024, 2, 29)),
    "dt": ("DATETIME", dt.datetime(2024, 2, 29, 23, 59, 58, 123456)),
    "t": ("TIME", dt.time(7, 8, 9, 10)),
    "ts": ("TIMESTAMP", dt.datetime(2024, 2, 29, 23, 59, 58, 654321, tzinfo=dt.UTC)),
}


@pytest.fixture
def typed_table(bq_client, dataset):
    schema = [bigquery.SchemaField(name, kind) for name, (kind, _) in VALUES.items()]
    schema += [
        bigquery.SchemaField("j", "JSON"),
        bigquery.SchemaField("a", "INT64", mode="REPEATED"),
        bigquery.SchemaField(
            "st",
            "RECORD",
            fields=[bigquery.SchemaField("x", "STRING"), bigquery.SchemaField("when", "TIMESTAMP")],
        ),
    ]
    table = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.typed", schema=schema))
    row = {name: value for name, (_, value) in VALUES.items()}
    row |= {"j": {"k": [1, 2]}, "a": [3, 1, 2], "st": {"x": "inner", "when": VALUES["ts"][1]}}
    assert bq_client.insert_rows(table, [row, {}]) == []
    return f"{dataset}.typed", row


def _expected_null_row():
    return {**{name: None for name in VALUES}, "j": None, "a": [], "st": None}


def test_insert_and_list_rows_round_trip_every_type(bq_client, typed_table):
    table_id, row = typed_table
    got = sorted((dict(r) for r in bq_client.list_rows(table_id)), key=lambda r: r["i"] is None)
    assert got == [row, _expected_null_row()]


@pytest.mark.parametrize(
    ("timestamp_format", "expected"),
    [
        ("INT64", "1709251198654321"),
        ("FLOAT64", "1709251198.654321"),
        ("ISO8601_STRING", "2024-02-29T23:59:58.654321000000Z"),
    ],
)
def test_timestamp_cells_in_every_rest_encoding(timestamp_format, expected):
    table = pa.table({"ts": pa.array([VALUES["ts"][1]], pa.timestamp("us", tz="UTC"))})
    schema = {"fields": [{"name": "ts", "type": "TIMESTAMP", "mode": "NULLABLE"}]}
    assert encode_rows(table, schema, timestamp_format) == [{"f": [{"v": expected}]}]


def test_query_results_round_trip_every_type(bq_client, typed_table):
    table_id, row = typed_table
    got = [dict(r) for r in bq_client.query(f"SELECT * FROM {table_id} WHERE i IS NOT NULL").result()]
    assert got == [row]
    (via_jobs_query,) = bq_client.query_and_wait(f"SELECT * FROM {table_id} WHERE i IS NOT NULL")
    assert dict(via_jobs_query) == row


def test_query_parameters_round_trip_every_scalar_type(bq_client):
    parameters = [bigquery.ScalarQueryParameter(name, kind, value) for name, (kind, value) in VALUES.items()]
    select = ", ".join(f"@{name} AS {name}" for name in VALUES)
    (got,) = bq_client.query_and_wait(
        f"SELECT {select}", job_config=bigquery.QueryJobConfig(query_parameters=parameters)
    )
    assert dict(got) == {name: value for name, (_, value) in VALUES.items()}


def test_result_schema_names_bigquery_types(bq_client):
    job = bq_client.query(
        "SELECT 1 AS i, 1.5 AS f, NUMERIC '1' AS n, TRUE AS b, 'x' AS s, DATE '2024-01-01' AS d, "
        "DATETIME '2024-01-01 00:00:00' AS dt, TIMESTAMP '2024-01-01 00:00:00+00' AS ts, [1] AS a, "
        "STRUCT(1 AS x) AS st, JSON '{}' AS j"
    )
    schema = job.result().schema
    assert [(f.name, f.field_type, f.mode) for f in schema] == [
        ("i", "INTEGER", "NULLABLE"),
        ("f", "FLOAT", "NULLABLE"),
        ("n", "NUMERIC", "NULLABLE"),
        ("b", "BOOLEAN", "NULLABLE"),
        ("s", "STRING", "NULLABLE"),
        ("d", "DATE", "NULLABLE"),
        ("dt", "DATETIME", "NULLABLE"),
        ("ts", "TIMESTAMP", "NULLABLE"),
        ("a", "INTEGER", "REPEATED"),
        ("st", "RECORD", "NULLABLE"),
        ("j", "JSON", "NULLABLE"),
    ]
