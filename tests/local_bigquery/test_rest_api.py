"""The REST surface through the official google-cloud-bigquery client: shapes, paging, errors."""

import json
import urllib.request

import pytest
from google.api_core import exceptions
from google.cloud import bigquery

from tests.conftest import PROJECT


def _post(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_healthz(bigquery_server):
    with urllib.request.urlopen(f"{bigquery_server.url}/healthz") as response:
        assert json.loads(response.read())["status"] == "ok"


def test_dataset_lifecycle(bq_client):
    dataset = bigquery.Dataset(f"{PROJECT}.lifecycle_ds")
    dataset.description = "made by a test"
    dataset.labels = {"team": "data"}
    bq_client.create_dataset(dataset)
    try:
        fetched = bq_client.get_dataset("lifecycle_ds")
        assert (fetched.description, fetched.labels) == ("made by a test", {"team": "data"})
        assert "lifecycle_ds" in [d.dataset_id for d in bq_client.list_datasets()]
        with pytest.raises(exceptions.Conflict, match="Already Exists: Dataset local-project:lifecycle_ds"):
            bq_client.create_dataset("lifecycle_ds")
        bq_client.query_and_wait("CREATE TABLE lifecycle_ds.t (a INT64)")
        with pytest.raises(exceptions.BadRequest, match="still in use"):
            bq_client.delete_dataset("lifecycle_ds")
    finally:
        bq_client.delete_dataset("lifecycle_ds", delete_contents=True)
    with pytest.raises(exceptions.NotFound, match="Dataset local-project:lifecycle_ds was not found"):
        bq_client.get_dataset("lifecycle_ds")


def test_table_insert_get_list_delete_with_schema(bq_client, dataset):
    schema = [
        bigquery.SchemaField("id", "INT64", mode="REQUIRED", description="the key"),
        bigquery.SchemaField("tags", "STRING", mode="REPEATED"),
        bigquery.SchemaField("address", "RECORD", fields=[bigquery.SchemaField("city", "STRING")]),
        bigquery.SchemaField("day", "DATE"),
    ]
    table = bigquery.Table(f"{PROJECT}.{dataset}.people", schema=schema)
    table.time_partitioning = bigquery.TimePartitioning(field="day")
    table.clustering_fields = ["id"]
    bq_client.create_table(table)

    fetched = bq_client.get_table(f"{dataset}.people")
    assert [(f.name, f.field_type, f.mode) for f in fetched.schema] == [
        ("id", "INTEGER", "REQUIRED"),
        ("tags", "STRING", "REPEATED"),
        ("address", "RECORD", "NULLABLE"),
        ("day", "DATE", "NULLABLE"),
    ]
    assert fetched.schema[0].description == "the key"
    assert fetched.time_partitioning.field == "day"
    assert fetched.clustering_fields == ["id"]
    assert [t.table_id for t in bq_client.list_tables(dataset)] == ["people"]
    bq_client.delete_table(f"{dataset}.people")
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.people")


def test_insert_all_and_list_rows_page_through_everything(bq_client, dataset):
    table = bigquery.Table(
        f"{PROJECT}.{dataset}.events",
        schema=[bigquery.SchemaField("n", "INT64"), bigquery.SchemaField("label", "STRING")],
    )
    bq_client.create_table(table)
    rows = [{"n": n, "label": f"row {n}"} for n in range(250)]
    assert bq_client.insert_rows_json(f"{dataset}.events", rows) == []

    listed = bq_client.list_rows(f"{dataset}.events", page_size=100)
    pages = list(listed.pages)
    assert [page.num_items for page in pages] == [100, 100, 50]
    assert sorted(row["n"] for page in pages for row in page) == list(range(250))


def test_insert_all_rejects_bad_rows_and_writes_none(bq_client, dataset):
    bq_client.create_table(
        bigquery.Table(f"{PROJECT}.{dataset}.strict", schema=[bigquery.SchemaField("n", "INT64")])
    )
    errors = bq_client.insert_rows_json(f"{dataset}.strict", [{"n": 1}, {"n": "not a number"}, {"m": 3}])
    by_index = {error["index"]: error["errors"][0] for error in errors}
    assert "not a number" in by_index[1]["message"]
    assert "no such field: m" in by_index[2]["message"]
    assert by_index[0]["reason"] == "stopped"
    assert bq_client.get_table(f"{dataset}.strict").num_rows == 0


def test_query_results_page_over_more_than_one_page(bq_client):
    job = bq_client.query("SELECT n FROM UNNEST(GENERATE_ARRAY(1, 2500)) AS n ORDER BY n")
    result = job.result(page_size=1000)
    pages = list(result.pages)
    assert [page.num_items for page in pages] == [1000, 1000, 500]
    assert [row.n for page in pages for row in page] == list(range(1, 2501))
    assert result.total_rows == 2500


def test_job_get_and_list(bq_client):
    job = bq_client.query("SELECT 1 AS x", job_id_prefix="listed_")
    job.result()
    fetched = bq_client.get_job(job.job_id)
    assert fetched.state == "DONE"
    assert fetched.statement_type == "SELECT"
    assert job.job_id in [j.job_id for j in bq_client.list_jobs(max_results=50)]
    with pytest.raises(exceptions.NotFound, match="Not found: Job"):
        bq_client.get_job("no_such_job")


def test_duplicate_job_id_conflicts(bq_client):
    bq_client.query("SELECT 1", job_id="fixed_job_id", job_retry=None).result()
    with pytest.raises(exceptions.Conflict, match="Already Exists: Job"):
        bq_client.query("SELECT 2", job_id="fixed_job_id", job_retry=None).result()


def test_dry_run_validates_without_writing(bq_client, dataset):
    config = bigquery.QueryJobConfig(dry_run=True)
    bq_client.query(f"CREATE TABLE {dataset}.never AS SELECT 1 AS a", job_config=config)
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.never")


def test_malformed_json_body_is_a_400_in_bigquery_shape(bigquery_server):
    status, body = _post(f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/jobs", b"{not json")
    assert status == 400
    assert body["error"]["code"] == 400
    assert body["error"]["status"] == "INVALID_ARGUMENT"
    assert body["error"]["message"].startswith("Invalid JSON payload received.")
    assert body["error"]["errors"][0]["reason"] == "invalid"


def test_failed_job_carries_error_result(bigquery_server):
    job = {"configuration": {"query": {"query": "SELEC 1", "useLegacySql": False}}}
    status, body = _post(
        f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/jobs", json.dumps(job).encode()
    )
    assert status == 200
    assert body["status"]["state"] == "DONE"
    assert body["status"]["errorResult"]["reason"] == "invalidQuery"
    assert "Syntax error" in body["status"]["errorResult"]["message"]


def test_unknown_route_is_404_in_bigquery_shape(bigquery_server):
    status, body = _post(f"{bigquery_server.url}/bigquery/v2/nowhere", b"{}")
    assert status == 404
    assert body["error"]["errors"][0]["reason"] == "notFound"


def test_row_access_policies_are_refused_by_name(bigquery_server, bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.orders (country STRING)")
    policies = f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/datasets/{dataset}/tables/orders/rowAccessPolicies"
    policy = {"rowAccessPolicyReference": {"policyId": "us_only"}, "filterPredicate": "country = 'US'"}
    status, body = _post(policies, json.dumps(policy).encode())
    assert status == 400
    assert body["error"]["message"] == "not supported by local_bigquery: row access policies"
    with urllib.request.urlopen(policies) as listed:
        assert json.loads(listed.read()) == {"rowAccessPolicies": []}


def test_unknown_project_dataset_and_table(bq_client, dataset):
    with pytest.raises(exceptions.NotFound, match="Dataset other-project:nothing was not found"):
        bq_client.get_dataset("other-project.nothing")
    with pytest.raises(exceptions.NotFound, match="Dataset local-project:nothing was not found"):
        bq_client.query_and_wait("SELECT * FROM nothing.t")
    with pytest.raises(exceptions.NotFound, match=f"Table local-project:{dataset}.absent was not found"):
        bq_client.query_and_wait(f"SELECT * FROM {dataset}.absent")


def test_legacy_sql_is_refused(bq_client):
    with pytest.raises(exceptions.BadRequest, match="not supported by local_bigquery: legacy SQL"):
        bq_client.query("SELECT 1", job_config=bigquery.QueryJobConfig(use_legacy_sql=True)).result()


def test_dml_jobs_report_rows_inserted_updated_and_deleted(bq_client, dataset):
    table = f"`{PROJECT}.{dataset}.t`"
    bq_client.query_and_wait(f"CREATE TABLE {table} (n INT64)")
    stats = []
    for sql in (
        f"INSERT INTO {table} VALUES (1), (2), (3)",
        f"UPDATE {table} SET n = n + 1 WHERE n > 1",
        f"DELETE FROM {table} WHERE n = 1",
    ):
        job = bq_client.query(sql)
        job.result()
        counts = job.dml_stats
        stats.append((counts.inserted_row_count, counts.updated_row_count, counts.deleted_row_count))
    assert stats == [(3, 0, 0), (0, 2, 0), (0, 0, 1)]


def test_datasets_keep_their_time_travel_window_and_rows_take_numeric_insert_ids(bq_client, dataset):
    assert bq_client.get_dataset(dataset).max_time_travel_hours == "168"
    two_days = bigquery.Dataset(f"{PROJECT}.{dataset}_travel")
    two_days.max_time_travel_hours = 48
    try:
        assert int(bq_client.create_dataset(two_days).max_time_travel_hours) == 48
    finally:
        bq_client.delete_dataset(two_days, not_found_ok=True)
    table = bq_client.create_table(
        bigquery.Table(f"{PROJECT}.{dataset}.rows", schema=[bigquery.SchemaField("n", "INT64")])
    )
    assert bq_client.insert_rows(table, [{"n": 1}, {"n": 2}], row_ids=[0, 1]) == []


def test_routines_are_refused_by_name_and_none_exist(bq_client, dataset):
    routine = bigquery.Routine(
        f"{PROJECT}.{dataset}.add_one", type_="SCALAR_FUNCTION", language="SQL", body="x + 1"
    )
    with pytest.raises(exceptions.BadRequest, match="not supported by local_bigquery: routines"):
        bq_client.create_routine(routine)
    assert list(bq_client.list_routines(dataset)) == []
    with pytest.raises(exceptions.NotFound, match=f"Routine {PROJECT}:{dataset}.add_one"):
        bq_client.get_routine(routine.reference)
    bq_client.delete_routine(routine.reference, not_found_ok=True)
