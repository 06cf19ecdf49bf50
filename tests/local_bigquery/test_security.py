"""local_bigquery answers queries about tables only: nothing a query names reaches a file, a URL or DuckDB's
settings, through the real client; and DuckDB itself is locked down for any form the query checks miss."""

from __future__ import annotations

import io
import json

import duckdb
import pytest
import requests
from google.api_core.exceptions import BadRequest
from google.cloud import bigquery

from local_bigquery.server import BackgroundServer
from local_bigquery.warehouse import Warehouse
from tests.conftest import PROJECT

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


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("SELECT current_setting('threads')", "current_setting"),
        ("SELECT (SELECT current_setting('enable_external_access')) AS s", "current_setting"),
        ("SELECT version()", "version"),
        ("SELECT current_database()", "current_database"),
        ("SELECT getvariable('x')", "getvariable"),
    ],
)
def test_scalar_functions_reading_duckdb_state_are_not_found_as_on_bigquery(bq_client, sql, function):
    with pytest.raises(BadRequest, match=rf"Function not found: {function} at \["):
        bq_client.query(sql).result()


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


# ---- who may send requests: loopback hosts, same-origin browsers, JSON bodies ----------------------------


def _post_query(server, sql: str, **headers) -> requests.Response:
    return requests.post(
        f"{server.url}/bigquery/v2/projects/{PROJECT}/queries",
        data=json.dumps({"query": sql, "useLegacySql": False}),
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


def _assert_refused(response: requests.Response, status: int, reason: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == status
    assert error["errors"][0]["reason"] == reason
    return error["message"]


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:9050", "10.0.0.5:9050", ""])
def test_a_host_header_that_is_not_loopback_is_refused(bigquery_server, host):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name."""
    message = _assert_refused(_post_query(bigquery_server, "SELECT 1", Host=host), 403, "accessDenied")
    assert "not a loopback address" in message
    response = requests.get(f"{bigquery_server.url}/healthz", headers={"Host": host}, timeout=30)
    assert response.status_code == 403


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "LOCALHOST"])
def test_loopback_host_headers_are_answered(bigquery_server, host):
    response = _post_query(bigquery_server, "SELECT 1 AS one", Host=f"{host}:{bigquery_server.port}")
    assert response.status_code == 200, response.text
    assert response.json()["rows"] == [{"f": [{"v": "1"}]}]


def test_a_configured_host_is_answered_and_others_still_refused():
    with BackgroundServer(Warehouse(), allowed_hosts=("local-bigquery",)) as server:
        assert _post_query(server, "SELECT 1", Host="local-bigquery:9050").status_code == 200
        _assert_refused(_post_query(server, "SELECT 1", Host="attacker.example"), 403, "accessDenied")


@pytest.mark.parametrize("origin", ["https://attacker.example", "http://localhost.attacker.example", "null"])
def test_cross_origin_browser_requests_are_refused_before_running(
    bigquery_server, bq_client, dataset, origin
):
    response = _post_query(bigquery_server, f"CREATE TABLE {dataset}.planted (x INT64)", Origin=origin)
    message = _assert_refused(response, 403, "accessDenied")
    assert "cross-origin" in message
    assert [table.table_id for table in bq_client.list_tables(dataset)] == []


def test_cross_site_fetch_metadata_without_origin_is_refused(bigquery_server):
    response = requests.get(
        f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/jobs",
        headers={"Sec-Fetch-Site": "cross-site"},
        timeout=30,
    )
    _assert_refused(response, 403, "accessDenied")


@pytest.mark.parametrize("origin", ["http://localhost:8080", "http://127.0.0.1:3000", "same"])
def test_loopback_and_same_origin_requests_are_answered(bigquery_server, origin):
    origin = bigquery_server.url if origin == "same" else origin
    assert _post_query(bigquery_server, "SELECT 1", Origin=origin).status_code == 200


@pytest.mark.parametrize(
    "content_type", ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", None]
)
def test_a_body_that_is_not_json_is_refused_before_running(bigquery_server, bq_client, dataset, content_type):
    """HTML forms and `fetch` with `text/plain` post without a CORS preflight."""
    response = _post_query(
        bigquery_server, f"CREATE TABLE {dataset}.planted (x INT64)", **{"Content-Type": content_type}
    )
    message = _assert_refused(response, 415, "invalid")
    assert "application/json" in message
    assert [table.table_id for table in bq_client.list_tables(dataset)] == []


def test_json_with_a_charset_is_a_json_body(bigquery_server):
    response = _post_query(bigquery_server, "SELECT 1", **{"Content-Type": "application/json; charset=UTF-8"})
    assert response.status_code == 200, response.text


def test_uploads_take_multipart_related_or_a_json_job_only(bigquery_server):
    response = requests.post(
        f"{bigquery_server.url}/upload/bigquery/v2/projects/{PROJECT}/jobs?uploadType=multipart",
        data=b"--b\r\n\r\n{}\r\n--b--",
        headers={"Content-Type": "multipart/form-data; boundary=b"},
        timeout=30,
    )
    message = _assert_refused(response, 415, "invalid")
    assert "multipart/related" in message


def test_the_client_still_uploads_by_multipart_and_resumable(bq_client, dataset, monkeypatch):
    from google.cloud.bigquery import client as client_module

    config = bigquery.LoadJobConfig(
        source_format="CSV", schema=[bigquery.SchemaField("id", "INT64")], write_disposition="WRITE_APPEND"
    )
    bq_client.load_table_from_file(io.BytesIO(b"1\n"), f"{dataset}.ids", job_config=config).result()
    # Files larger than this go resumable (in one chunk here).
    monkeypatch.setattr(client_module, "_MAX_MULTIPART_SIZE", 1)
    bq_client.load_table_from_file(io.BytesIO(b"2\n"), f"{dataset}.ids", job_config=config).result()
    rows = bq_client.query(f"SELECT id FROM {dataset}.ids ORDER BY id").result()
    assert [row.id for row in rows] == [1, 2]
