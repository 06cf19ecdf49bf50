"""local_bigquery answers queries about tables only: nothing a query names reaches a file, a URL or DuckDB's
settings, through the real client; and DuckDB itself is locked down for any form the query checks miss."""

from __future__ import annotations

import io

import duckdb
import pytest
from google.api_core.exceptions import BadRequest
from google.cloud import bigquery

from local_bigquery.warehouse import Warehouse

SECRET = "root:x:0:0"  # the first line of /etc/passwd

FILE_READS = [
    "SELECT * FROM read_text('/etc/passwd')",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_csv_auto('/etc/passwd')",
    "SELECT * FROM read_blob('/etc/passwd')",
    "SELECT * FROM read_json_auto('/etc/passwd')",
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM parquet_scan('/etc/passwd')",
    "SELECT * FROM sniff_csv('/etc/passwd')",
    "SELECT * FROM query_table('/etc/passwd')",
    "SELECT * FROM read_csv('https://example.com/data.csv')",
    "SELECT (SELECT content FROM read_text('/etc/passwd')) AS leaked",
    "SELECT * FROM UNNEST([1]) AS x JOIN read_text('/etc/passwd') ON TRUE",
    "WITH leaked AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM leaked",
    "SELECT * FROM duckdb_settings()",
]

OTHER_ESCAPES = [
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM glob('/etc/*')",
    "COPY (SELECT 1) TO '{tmp}/probe.csv'",
    "ATTACH '{tmp}/probe.db' AS probe",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "PRAGMA enable_external_access",
    "EXPORT DATA OPTIONS (uri = '{tmp}/probe_*.csv', format = 'CSV') AS SELECT 1",
    "LOAD DATA INTO d.t FROM FILES (format = 'CSV', uris = ['/etc/passwd'])",
]


@pytest.mark.parametrize("sql", FILE_READS)
def test_table_functions_that_read_files_are_refused_by_name(bq_client, sql):
    with pytest.raises(BadRequest) as failure:
        bq_client.query(sql).result()
    message = failure.value.message
    assert "not supported by local_bigquery: table function" in message
    assert SECRET not in message


@pytest.mark.parametrize("sql", OTHER_ESCAPES)
def test_other_file_network_and_settings_statements_fail_without_effect(bq_client, sql, tmp_path):
    with pytest.raises(BadRequest) as failure:
        bq_client.query(sql.format(tmp=tmp_path)).result()
    assert failure.value.errors[0]["reason"] == "invalidQuery"
    assert SECRET not in failure.value.message
    assert list(tmp_path.iterdir()) == []


def test_a_view_cannot_hide_a_file_read(bq_client, dataset):
    with pytest.raises(BadRequest, match="not supported by local_bigquery: table function read_text"):
        bq_client.query(f"CREATE VIEW {dataset}.leak AS SELECT * FROM read_text('/etc/passwd')").result()
    view = bigquery.Table(f"{bq_client.project}.{dataset}.leak")
    view.view_query = "SELECT * FROM read_text('/etc/passwd')"
    with pytest.raises(BadRequest, match="not supported by local_bigquery"):
        bq_client.create_table(view)


@pytest.fixture(scope="module")
def locked_connection():
    """The warehouse's own DuckDB connection, past every query check."""
    warehouse = Warehouse()
    yield warehouse.con
    warehouse.close()


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM glob('/etc/*')",
        "COPY (SELECT 1) TO '{tmp}/probe.csv'",
        "ATTACH '{tmp}/probe.db' AS probe",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SELECT * FROM read_csv('https://example.com/data.csv')",
    ],
)
def test_duckdb_itself_refuses_file_and_network_access(locked_connection, sql, tmp_path):
    with pytest.raises(duckdb.PermissionException):
        locked_connection.sql(sql.format(tmp=tmp_path)).fetchall()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "setting", ["enable_external_access = true", "allowed_directories = ['/']", "lock_configuration = false"]
)
def test_duckdb_configuration_is_locked(locked_connection, setting):
    with pytest.raises(duckdb.InvalidInputException, match="configuration has been locked"):
        locked_connection.execute(f"SET {setting}")


def test_load_jobs_still_read_their_uploaded_file(bq_client, dataset):
    job = bq_client.load_table_from_file(
        io.BytesIO(b"id,name\n1,a\n2,b\n"),
        f"{dataset}.loaded",
        job_config=bigquery.LoadJobConfig(
            source_format="CSV",
            skip_leading_rows=1,
            schema=[bigquery.SchemaField("id", "INT64"), bigquery.SchemaField("name", "STRING")],
        ),
    )
    job.result()
    rows = bq_client.query(f"SELECT id, name FROM {dataset}.loaded ORDER BY id").result()
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]
