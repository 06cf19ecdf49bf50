"""Dry runs (configuration.dryRun): validated, estimated by BigQuery's data size rules, and nothing written."""

from __future__ import annotations

import uuid

import pytest
from google.api_core import exceptions
from google.cloud import bigquery

DRY = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False)
# https://cloud.google.com/bigquery/pricing#data_size_calculation, NULL counting 0:
# id INT64 8 * 3; price FLOAT64 8 * 2 (one NULL); name STRING 2 + UTF-8 bytes ("a", "bé": 3 + 5, NULL: 0);
# paid BOOL 1 * 3; day DATE 8 * 3; amount NUMERIC 16 * 3.
SIZES = {"id": 24, "price": 16, "name": 8, "paid": 3, "day": 24, "amount": 48}


@pytest.fixture
def dataset(bq_client):
    name = f"dry_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(name)
    bq_client.query(
        f"""CREATE TABLE {name}.sales (
          id INT64, price FLOAT64, name STRING, paid BOOL, day DATE, amount NUMERIC);
        INSERT INTO {name}.sales (id, price, name, paid, day, amount) VALUES
          (1, 2.5, 'a', TRUE, DATE '2024-01-01', NUMERIC '1.5'),
          (2, NULL, 'bé', FALSE, DATE '2024-01-02', NUMERIC '2'),
          (3, 4.0, NULL, TRUE, DATE '2024-01-03', NUMERIC '3')"""
    ).result()
    yield name
    bq_client.delete_dataset(name, delete_contents=True)


def dry(bq_client, sql: str) -> bigquery.QueryJob:
    job = bq_client.query(sql, job_config=DRY)
    assert job.state == "DONE" and job.error_result is None
    return job


@pytest.mark.parametrize(
    ("select", "columns"),
    [
        ("id, price", ["id", "price"]),
        ("name", ["name"]),
        ("SUM(amount) AS total FROM {ds}.sales WHERE paid GROUP BY day ORDER BY total", None),
        ("*", list(SIZES)),
    ],
)
def test_bytes_processed_follow_bigquerys_data_size_rules(bq_client, dataset, select, columns):
    if columns is None:
        sql, columns = f"SELECT {select.format(ds=dataset)}", ["amount", "paid", "day"]
    else:
        sql = f"SELECT {select} FROM {dataset}.sales"
    assert dry(bq_client, sql).total_bytes_processed == sum(SIZES[column] for column in columns)


def test_columns_count_only_where_they_are_used(bq_client, dataset):
    sql = f"""
        WITH picked AS (SELECT id, name, price FROM {dataset}.sales)
        SELECT * EXCEPT (price) FROM picked"""
    assert dry(bq_client, sql).total_bytes_processed == SIZES["id"] + SIZES["name"]


def test_a_dry_run_writes_nothing(bq_client, dataset):
    before = list(bq_client.query(f"SELECT * FROM {dataset}.sales ORDER BY id").result())
    script = f"""
        CREATE SCHEMA never_{dataset};
        CREATE TABLE {dataset}.copy AS SELECT id, name FROM {dataset}.sales;
        INSERT INTO {dataset}.copy (id, name) SELECT id, name FROM {dataset}.sales;
        BEGIN TRANSACTION;
        DELETE FROM {dataset}.sales WHERE TRUE;
        INSERT INTO {dataset}.sales (id) VALUES (99);
        COMMIT TRANSACTION;
        UPDATE {dataset}.sales SET price = 0 WHERE TRUE;
        DROP TABLE {dataset}.sales"""
    job = dry(bq_client, script)
    assert job.statement_type == "SCRIPT"
    assert list(bq_client.query(f"SELECT * FROM {dataset}.sales ORDER BY id").result()) == before
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.copy")
    with pytest.raises(exceptions.NotFound):
        bq_client.get_dataset(f"never_{dataset}")


def test_a_dry_run_trains_no_model(bq_client, dataset):
    sql = f"""CREATE MODEL {dataset}.segments OPTIONS (model_type = 'KMEANS', num_clusters = 2) AS
        SELECT price, id FROM {dataset}.sales"""
    assert dry(bq_client, sql).total_bytes_processed == SIZES["price"] + SIZES["id"]
    with pytest.raises(exceptions.NotFound):
        bq_client.get_model(f"{dataset}.segments")


@pytest.mark.parametrize(
    ("sql", "error", "message"),
    [
        ("SELECT nope FROM {ds}.sales", exceptions.BadRequest, "nope"),
        ("SELECT id FROM {ds}.missing", exceptions.NotFound, "missing"),
        ("INSERT INTO {ds}.sales (id) VALUES ('x')", exceptions.BadRequest, "Bad int64 value"),
        ("CREATE TABLE nowhere_ds.t AS SELECT 1 AS x", exceptions.NotFound, "nowhere_ds"),
    ],
)
def test_a_dry_run_refuses_what_running_would_refuse(bq_client, dataset, sql, error, message):
    with pytest.raises(error, match=message):
        bq_client.query(sql.format(ds=dataset), job_config=DRY).result()


def test_jobs_query_dry_run_answers_the_estimate_and_schema(bq_client, dataset):
    job = bq_client.query(f"SELECT id, name FROM {dataset}.sales", job_config=DRY, api_method="QUERY")
    assert job.total_bytes_processed == SIZES["id"] + SIZES["name"]
    assert [field.name for field in job.schema] == ["id", "name"]


def test_a_script_may_use_the_table_it_creates_first(bq_client, dataset):
    script = f"""
        CREATE TABLE {dataset}.later (x INT64);
        ALTER TABLE {dataset}.later ADD COLUMN IF NOT EXISTS y STRING;
        INSERT INTO {dataset}.later (x) SELECT id FROM {dataset}.sales"""
    assert dry(bq_client, script).total_bytes_processed == SIZES["id"]


def test_a_job_that_runs_reports_what_it_processed_and_billed(bq_client, dataset):
    job = bq_client.query(f"SELECT id, name FROM {dataset}.sales", job_config=bigquery.QueryJobConfig())
    job.result()
    assert job.total_bytes_processed == SIZES["id"] + SIZES["name"]
    # On demand BigQuery bills at least 10 MB per table read.
    assert job.total_bytes_billed == 10 * 1024 * 1024
    assert job.slot_millis is not None


def test_maximum_bytes_billed_fails_the_job_before_it_runs(bq_client, dataset):
    capped = bigquery.QueryJobConfig(maximum_bytes_billed=1_000_000)
    exceeded = r"Query exceeded limit for bytes billed: 1000000\. 10485760 or higher required"
    # The job fails with reason bytesBilledLimitExceeded, for which the client has no exception class.
    with pytest.raises(exceptions.GoogleAPICallError, match=exceeded):
        bq_client.query(f"DELETE FROM {dataset}.sales WHERE TRUE", job_config=capped).result()
    assert bq_client.get_table(f"{dataset}.sales").num_rows == 3
    enough = bigquery.QueryJobConfig(maximum_bytes_billed=10 * 1024 * 1024)
    assert list(bq_client.query(f"SELECT COUNT(*) AS n FROM {dataset}.sales", job_config=enough).result())


def test_dry_runs_of_create_table_and_dml_answer_with_the_tables_schema(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE `{dataset}.existing` (id INT64, label STRING)")
    dry = bigquery.QueryJobConfig(dry_run=True, use_query_cache=False)
    schemas = [
        [(field.name, field.field_type, field.mode) for field in bq_client.query(sql, job_config=dry).schema]
        for sql in (
            f"CREATE TABLE `{dataset}.planned` (id INT64 NOT NULL, tags ARRAY<STRING>)",
            f"INSERT INTO `{dataset}.existing` (id, label) VALUES (2, 'x')",
        )
    ]
    assert schemas == [
        [("id", "INTEGER", "REQUIRED"), ("tags", "STRING", "REPEATED")],
        [("id", "INTEGER", "NULLABLE"), ("label", "STRING", "NULLABLE")],
    ]
    assert "planned" not in [table.table_id for table in bq_client.list_tables(dataset)]


def test_a_job_reports_the_tables_it_read(bq_client, dataset):
    job = bq_client.query(f"SELECT s.id FROM {dataset}.sales AS s JOIN {dataset}.sales USING (id)")
    job.result()
    assert [table.table_id for table in job.referenced_tables] == ["sales"]
    # However often a query references a table, it reads each of its columns once.
    assert job.total_bytes_processed == SIZES["id"]


def test_a_query_of_a_view_is_billed_for_what_the_view_reads(bq_client, dataset):
    bq_client.query(f"CREATE VIEW {dataset}.paid AS SELECT id, name FROM {dataset}.sales WHERE paid").result()
    job = bq_client.query(f"SELECT id FROM {dataset}.paid")
    job.result()
    assert [table.table_id for table in job.referenced_tables] == ["sales"]
    # Every column the view's query uses, whichever of its columns the outer query selects.
    assert job.total_bytes_processed == SIZES["id"] + SIZES["name"] + SIZES["paid"]


def test_each_statement_of_a_script_is_billed_on_its_own(bq_client, dataset):
    job = bq_client.query(f"SELECT id FROM {dataset}.sales; SELECT id, price FROM {dataset}.sales")
    job.result()
    assert job.total_bytes_processed == 2 * SIZES["id"] + SIZES["price"]
    assert job.total_bytes_billed == 2 * 10 * 1024 * 1024
