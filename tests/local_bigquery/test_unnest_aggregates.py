"""`(SELECT MIN(x.f) FROM UNNEST(array) AS x)` runs as DuckDB list functions with BigQuery's results.

The rewrite must give exactly what the correlated subquery gives (NULL elements skipped, NULL for an empty
or NULL array, the same types) and leave every other shape of subquery alone.
"""

import pytest

from local_bigquery import dialect
from local_bigquery.translate import to_duckdb

ROWS = """
WITH arrays AS (
  SELECT 1 AS id, [3, 1, 2] AS ints, [2.5, 0.5] AS floats,
    [STRUCT(2 AS id, 0.7 AS distance), STRUCT(1 AS id, 0.2 AS distance)] AS ranked
  UNION ALL SELECT 2, [], [], []
  UNION ALL SELECT 3, NULL, NULL, NULL
)
"""


def _rows(client, sql):
    return [tuple(row.values()) for row in client.query_and_wait(sql)]


@pytest.mark.parametrize(
    ("aggregate", "expected"),
    [
        ("MIN(x)", [(1, 1), (2, None), (3, None)]),
        ("MAX(x)", [(1, 3), (2, None), (3, None)]),
        ("SUM(x)", [(1, 6), (2, None), (3, None)]),
        ("AVG(x)", [(1, 2.0), (2, None), (3, None)]),
        ("SUM(x * 10)", [(1, 60), (2, None), (3, None)]),
    ],
)
def test_aggregates_of_array_elements(bq_client, aggregate, expected):
    sql = f"{ROWS} SELECT id, (SELECT {aggregate} FROM UNNEST(ints) AS x) AS value FROM arrays ORDER BY id"
    assert _rows(bq_client, sql) == expected


def test_struct_field_of_the_element_and_result_types(bq_client):
    job = bq_client.query(
        f"""{ROWS}
        SELECT id,
          (SELECT MIN(candidate.distance) FROM UNNEST(ranked) AS candidate) AS nearest,
          (SELECT MAX(f) FROM UNNEST(floats) f) AS largest
        FROM arrays ORDER BY id"""
    )
    assert [tuple(row.values()) for row in job.result()] == [(1, 0.2, 2.5), (2, None, None), (3, None, None)]
    assert [field.field_type for field in job.result().schema] == ["INTEGER", "FLOAT", "FLOAT"]


def test_null_elements_are_skipped(bq_client):
    sql = "SELECT (SELECT MIN(x) FROM UNNEST(ARRAY<INT64>[NULL, 4, 2]) AS x) AS m"
    assert _rows(bq_client, sql) == [(2,)]


def _translated(sql: str) -> str:
    return to_duckdb(dialect.parse(sql)[0])


def test_the_rewrite_is_a_list_function():
    sql = "SELECT (SELECT MIN(c.distance) FROM UNNEST(p.ranked) AS c) AS d FROM t AS p"
    assert _translated(sql) == (
        "SELECT LIST_MIN(LIST_TRANSFORM(p.ranked, LAMBDA c : c.distance)) AS d FROM t AS p"
    )


@pytest.mark.parametrize(
    "subquery",
    [
        "(SELECT MIN(x) FROM UNNEST(p.ints) AS x WHERE x > 1)",
        "(SELECT COUNT(x) FROM UNNEST(p.ints) AS x)",
        "(SELECT SUM(DISTINCT x) FROM UNNEST(p.ints) AS x)",
        "(SELECT MIN(x + p.id) FROM UNNEST(p.ints) AS x)",
        "(SELECT MIN(x) FROM UNNEST(p.ints) AS x WITH OFFSET AS o)",
        "(SELECT MIN(x) FROM UNNEST(p.ints) AS x, UNNEST(p.ints) AS y)",
    ],
)
def test_other_subqueries_stay_subqueries(subquery):
    sql = f"SELECT {subquery} AS value FROM t AS p"
    assert "SELECT" in _translated(sql).removeprefix("SELECT")


def test_subqueries_read_as_rows_stay_queries(bq_client, dataset):
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.lowest AS (SELECT MIN(x) AS m FROM UNNEST([3, 1]) AS x)"
    )
    bq_client.query_and_wait(f"INSERT INTO {dataset}.lowest (SELECT MAX(x) FROM UNNEST([3, 1]) AS x)")
    sql = f"SELECT m FROM {dataset}.lowest UNION ALL (SELECT SUM(x) FROM UNNEST([3, 1]) AS x) ORDER BY m"
    assert _rows(bq_client, sql) == [(1,), (3,), (4,)]
    rows = bq_client.query_and_wait("SELECT 1 IN (SELECT MIN(x) FROM UNNEST([1, 2]) AS x) AS found")
    assert [row["found"] for row in rows] == [True]
