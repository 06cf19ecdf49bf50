"""TIMESTAMP(12), timestamps of picosecond precision, through the official client over HTTP: in schemas,
loads, insertAll, queries and every result format (JSON cells as microseconds, float seconds or ISO
8601 text; Arrow as timestamps or text)."""

import datetime as dt
import io

import pyarrow
import pytest
from google.api_core import exceptions
from google.cloud import bigquery
from google.cloud.bigquery import enums

from tests.conftest import PROJECT

PICOSECOND = enums.TimestampPrecision.PICOSECOND
TEXTS = ["2025-01-03T00:00:00.123456789012Z", "2025-01-01T00:00:00.999999999999Z", "2025-01-02T00:00:00.5Z"]
FULL = [
    "2025-01-01T00:00:00.999999999999Z",
    "2025-01-02T00:00:00.500000000000Z",
    "2025-01-03T00:00:00.123456789012Z",
]


@pytest.fixture
def pico_table(bq_client, dataset):
    schema = [
        bigquery.SchemaField("id", "INTEGER"),
        bigquery.SchemaField("at", "TIMESTAMP", timestamp_precision=PICOSECOND),
    ]
    table = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.pico", schema=schema))
    assert bq_client.get_table(table).schema == schema
    csv = "".join(f"{index},{text}\n" for index, text in enumerate(TEXTS))
    bq_client.load_table_from_file(io.BytesIO(csv.encode()), table).result()
    return f"{dataset}.pico"


def test_every_digit_is_kept_and_ordered(bq_client, pico_table):
    rows = list(bq_client.list_rows(pico_table, timestamp_precision=PICOSECOND))
    assert sorted(row["at"] for row in rows) == FULL
    query = f"SELECT at FROM {pico_table} WHERE at > (SELECT MIN(at) FROM {pico_table}) ORDER BY at DESC"
    ordered = bq_client.query(query, api_method="QUERY", timestamp_precision=PICOSECOND).result()
    assert [row["at"] for row in ordered] == FULL[:0:-1]


def test_without_picoseconds_asked_the_client_gets_microseconds(bq_client, pico_table):
    # The client keeps a TIMESTAMP(12) cell as the text it got: microseconds since the epoch by default.
    rows = sorted(bq_client.list_rows(pico_table), key=lambda row: row["id"])
    assert rows[0]["at"] == "1735862400123456"


def test_casts_and_insert_all(bq_client, pico_table):
    job = bq_client.query(
        "SELECT CAST('2025-10-20' AS TIMESTAMP(12)) AS a, "
        "CAST('2025-10-20 01:02:03.000000000007+01:00' AS TIMESTAMP(12)) AS b",
        api_method="QUERY",
        timestamp_precision=PICOSECOND,
    )
    (row,) = job.result()
    assert row.values() == (
        "2025-10-20T00:00:00.000000000000Z",
        "2025-10-20T00:02:03.000000000007Z",
    )
    assert (
        bq_client.insert_rows_json(pico_table, [{"id": 9, "at": "2026-01-01T00:00:00.000000000001Z"}]) == []
    )
    (row,) = bq_client.query(
        f"SELECT at FROM {pico_table} WHERE id = 9", api_method="QUERY", timestamp_precision=PICOSECOND
    ).result()
    assert row["at"] == "2026-01-01T00:00:00.000000000001Z"


@pytest.mark.parametrize(("precision", "as_text"), [(PICOSECOND, True), (None, False)])
def test_arrow_results_as_text_or_microsecond_timestamps(bq_client, pico_table, precision, as_text):
    rows = bq_client.query_and_wait(
        f"SELECT at FROM {pico_table} ORDER BY at",
        query_results_format=enums.QueryResultsFormat.ARROW,
        timestamp_precision=precision,
    )
    values = pyarrow.Table.from_batches(list(rows.to_arrow_iterable())).column("at").to_pylist()
    if as_text:
        assert values == FULL
    else:
        assert values[0] == dt.datetime(2025, 1, 1, 0, 0, 0, 999999, tzinfo=dt.UTC)


def test_a_timestamp_precision_other_than_6_or_12_is_refused(bq_client, dataset):
    field = bigquery.SchemaField("at", "TIMESTAMP")
    field._properties["timestampPrecision"] = "9"
    with pytest.raises(exceptions.BadRequest, match="Invalid timestampPrecision 9"):
        bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.nano", schema=[field]))


def test_text_that_is_no_timestamp_fails_as_on_bigquery(bq_client, dataset):
    with pytest.raises(exceptions.BadRequest, match="Invalid timestamp: 'soon'"):
        bq_client.query_and_wait("SELECT CAST('soon' AS TIMESTAMP(12))")
    with pytest.raises(exceptions.BadRequest, match="Invalid timestamp"):
        bq_client.query_and_wait("SELECT CAST('2025-01-01 00:00:00.1234567890123' AS TIMESTAMP(12))")
    (row,) = bq_client.query_and_wait("SELECT SAFE_CAST('soon' AS TIMESTAMP(12)) AS t")
    assert row["t"] is None
    field = bigquery.SchemaField("at", "TIMESTAMP", timestamp_precision=PICOSECOND)
    table = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.pico_bad", schema=[field]))
    with pytest.raises(exceptions.BadRequest, match="Invalid timestamp: 'soon'"):
        bq_client.load_table_from_file(io.BytesIO(b"soon\n"), table).result()
    assert bq_client.get_table(table).num_rows == 0
