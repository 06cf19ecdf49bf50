"""BigQuery's cache of query results (https://cloud.google.com/bigquery/docs/cached-results), through the
official client: a duplicate query over unchanged tables is answered free from the cache."""

import uuid

from google.cloud import bigquery

from tests.conftest import PROJECT


def _run(bq_client, sql, **config):
    job = bq_client.query(sql, job_config=bigquery.QueryJobConfig(**config))
    return job, [tuple(row.values()) for row in job.result()]


def test_a_duplicate_query_over_unchanged_tables_is_answered_from_the_cache(bq_client, dataset):
    table = f"{PROJECT}.{dataset}.cached_{uuid.uuid4().hex[:8]}"
    bq_client.query_and_wait(f"CREATE TABLE `{table}` AS SELECT 1 AS x")
    view = f"{table}_view"
    bq_client.query_and_wait(f"CREATE VIEW `{view}` AS SELECT x FROM `{table}`")
    sql = f"SELECT x FROM `{view}` ORDER BY x"

    first, rows = _run(bq_client, sql)
    again, cached_rows = _run(bq_client, sql)
    assert (first.cache_hit, again.cache_hit) == (False, True)
    assert first.total_bytes_billed > 0 and (again.total_bytes_billed, again.total_bytes_processed) == (0, 0)
    assert cached_rows == rows == [(1,)]
    assert _run(bq_client, sql, use_query_cache=False)[0].cache_hit is False

    bq_client.query_and_wait(f"INSERT INTO `{table}` VALUES (2)")  # the view's table changed
    changed, changed_rows = _run(bq_client, sql)
    assert (changed.cache_hit, changed_rows) == (False, [(1,), (2,)])
    assert _run(bq_client, sql)[0].cache_hit is True

    parameter = [bigquery.ScalarQueryParameter("n", "INT64", 5)]
    with_parameter = f"SELECT x + @n FROM `{table}` ORDER BY 1"
    assert _run(bq_client, with_parameter, query_parameters=parameter)[1] == [(6,), (7,)]
    other = [bigquery.ScalarQueryParameter("n", "INT64", 6)]
    assert _run(bq_client, with_parameter, query_parameters=other)[0].cache_hit is False


def test_non_deterministic_queries_and_destination_tables_are_never_cached(bq_client, dataset):
    now = f"SELECT CURRENT_TIMESTAMP() AS t, '{uuid.uuid4().hex}' AS k"
    assert [_run(bq_client, now)[0].cache_hit for _ in range(2)] == [False, False]

    sql = f"SELECT '{uuid.uuid4().hex}' AS k"
    destination = f"{PROJECT}.{dataset}.cache_destination"
    config = {"destination": destination, "write_disposition": "WRITE_TRUNCATE"}
    assert [_run(bq_client, sql, **config)[0].cache_hit for _ in range(2)] == [False, False]
