"""More of BigQuery's answers where DuckDB's differ: format elements, conversions, JSON mutators, collations,
INSERT coercion and name scoping, as GoogleSQL's reference documents them and as the outside corpora recorded
them on real BigQuery (benchmarks/conformance.py).
"""

import decimal

import pytest
from google.api_core import exceptions
from google.cloud import bigquery


def _one(client, sql):
    (row,) = list(client.query_and_wait(sql))
    return row


def test_format_elements_year_unpadded_and_day_space_padded(bq_client):
    row = _one(
        bq_client,
        "SELECT FORMAT_DATE('%Y-%m-%d', DATE '0001-01-01') AS first, FORMAT_DATE('%b %e %Y', DATE '2024-03-05') AS e, "
        "FORMAT_DATE('%%Y %F', DATE '0099-03-15') AS escaped, "
        "FORMAT_TIMESTAMP('%e %H %Ez', TIMESTAMP '2024-01-04 23:00:00+00', 'Asia/Kolkata') AS zoned",
    )
    assert dict(row) == {
        "first": "1-01-01",
        "e": "Mar  5 2024",
        "escaped": "%Y 99-03-15",
        "zoned": " 5 04 +05:30",
    }


def test_a_float64_cast_reads_hexadecimal_text(bq_client):
    row = _one(bq_client, "SELECT CAST('0x10' AS FLOAT64) AS hex, CAST('-0x1F' AS FLOAT64) AS negative")
    assert (row["hex"], row["negative"]) == (16.0, -31.0)
    with pytest.raises(exceptions.BadRequest, match="Bad double value: 0x1G"):
        bq_client.query_and_wait("SELECT CAST('0x1G' AS FLOAT64)")


def test_a_numeric_literal_must_be_exact_while_a_cast_rounds(bq_client):
    row = _one(bq_client, "SELECT CAST('1.4999999999' AS NUMERIC) AS rounded, NUMERIC '1.500000000000' AS n")
    assert (row["rounded"], row["n"]) == (decimal.Decimal("1.5"), decimal.Decimal("1.5"))
    for literal in ("NUMERIC '1.4999999999'", "NUMERIC '1e29'", "BIGNUMERIC '1e39'"):
        with pytest.raises(
            exceptions.BadRequest, match=r'Invalid (BIG)?NUMERIC literal: "[^"]+" at \[1:11\]'
        ):
            bq_client.query_and_wait(f"SELECT 1, {literal}")


def test_bignumeric_values_duckdb_cannot_hold_are_refused_by_name(bq_client):
    widest = "578960446186580977117854925043439539266.34992332820282019728792003956564819967"
    refusal = "not supported by local_bigquery: BIGNUMERIC values beyond 38 digits"
    with pytest.raises(exceptions.BadRequest, match=refusal):
        bq_client.query_and_wait(f"SELECT BIGNUMERIC '{widest}'")
    parameter = bigquery.ScalarQueryParameter("b", "BIGNUMERIC", decimal.Decimal("0." + "1" * 30))
    with pytest.raises(exceptions.BadRequest, match=refusal):
        bq_client.query_and_wait(
            "SELECT @b", job_config=bigquery.QueryJobConfig(query_parameters=[parameter])
        )


def test_json_set_and_json_array_insert_convert_values_to_json(bq_client):
    row = _one(
        bq_client,
        """SELECT JSON_SET(JSON '{"a": [1]}', '$.a[3]', 'x', '$.b.c', [1, 2], '$.a[0].z', 5) AS set_,
          JSON_SET(JSON '{}', '$.q', 1, create_if_missing => FALSE) AS kept,
          JSON_ARRAY_INSERT(JSON '{"a": [1, 2, 3]}', '$.a[1]', 99, '$.a[0]', [7, 8]) AS inserted,
          JSON_ARRAY_INSERT(JSON '[1]', '$[1]', [7, 8], insert_each_element => FALSE) AS whole""",
    )
    assert dict(row) == {
        "set_": {"a": [1, None, None, "x"], "b": {"c": [1, 2]}},
        "kept": {},
        "inserted": {"a": [7, 8, 1, 99, 2, 3]},
        "whole": [1, [7, 8]],
    }


def test_approx_top_count_and_sum_are_the_exact_tops_nulls_counted(bq_client):
    row = _one(
        bq_client,
        """SELECT APPROX_TOP_COUNT(x, 2) AS counts, APPROX_TOP_SUM(x, w, 3) AS sums
        FROM UNNEST([STRUCT(CAST(NULL AS STRING) AS x, 3 AS w), ('pear', 1), ('pear', 1), ('pear', 0),
                     ('apple', 5), ('fig', NULL), (NULL, NULL)])""",
    )
    assert row["counts"] == [{"value": "pear", "count": 3}, {"value": None, "count": 2}]
    assert row["sums"] == [
        {"value": "apple", "sum": 5},
        {"value": None, "sum": 3},
        {"value": "pear", "sum": 2},
    ]


def test_hll_count_sketches_are_refused_by_name(bq_client):
    with pytest.raises(exceptions.BadRequest, match="not supported by local_bigquery: HLL_COUNT sketches"):
        bq_client.query_and_wait("SELECT HLL_COUNT.EXTRACT(HLL_COUNT.INIT(n)) FROM UNNEST([1, 2]) AS n")


def test_unnamed_structs_after_a_named_one_in_an_array_take_its_field_names(bq_client):
    rows = bq_client.query_and_wait("SELECT a, b FROM UNNEST([STRUCT(1 AS a, 'x' AS b), (2, 'y')])")
    assert [tuple(row.values()) for row in rows] == [(1, "x"), (2, "y")]


def test_create_table_if_not_exists_answers_its_declared_schema_and_dry_runs_name_the_operation(
    bq_client, dataset
):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.t (id INT64)")
    skipped = bq_client.query(f"CREATE TABLE IF NOT EXISTS {dataset}.t (id INT64, name STRING)")
    assert [field.name for field in skipped.result().schema] == ["id", "name"]
    assert skipped.ddl_operation_performed == "SKIP"
    assert [field.name for field in bq_client.get_table(f"{dataset}.t").schema] == ["id"]
    dry = bigquery.QueryJobConfig(dry_run=True)
    assert bq_client.query(
        f"CREATE TABLE {dataset}.u (id INT64)", job_config=dry
    ).ddl_operation_performed == ("CREATE")
    replaced = bq_client.query(f"CREATE OR REPLACE TABLE {dataset}.t (id INT64)", job_config=dry)
    assert replaced.ddl_operation_performed == "REPLACE"


def test_insert_values_must_coerce_to_their_columns(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.t (a INT64, n NUMERIC, d DATE, fs ARRAY<FLOAT64>)")
    bq_client.query_and_wait(
        f"INSERT INTO {dataset}.t VALUES (1, 2.5, '2024-01-01', [1.5]), (NULL, 3, NULL, [])"
    )
    for values, message in [
        (
            "(1.5, NULL, NULL, NULL)",
            "Value has type FLOAT64 which cannot be inserted into column a, which has type INT64",
        ),
        ("(NULL, NULL, NULL, [1, 2])", "Value has type ARRAY<INT64> which cannot be inserted into column fs"),
    ]:
        with pytest.raises(exceptions.BadRequest, match=message):
            bq_client.query_and_wait(f"INSERT INTO {dataset}.t VALUES {values}")
    assert _one(bq_client, f"SELECT COUNT(*) AS n FROM {dataset}.t")["n"] == 2


def test_und_ci_collation_compares_case_insensitively_and_other_collations_fail(bq_client):
    row = _one(
        bq_client,
        "SELECT COLLATE('Apple', 'und:ci') = COLLATE('apple', 'und:ci') AS ci, "
        "COLLATE('Apple', '') = COLLATE('apple', '') AS binary_",
    )
    assert (row["ci"], row["binary_"]) == (True, False)
    with pytest.raises(
        exceptions.BadRequest, match=r"Collation 'binary' in collate function is not supported\."
    ):
        bq_client.query_and_wait("SELECT COLLATE('Apple', 'binary') = 'apple'")


def test_an_unnest_alias_wins_over_a_joined_tables_column(bq_client, dataset):
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.rank_table (tag STRING, r INT64); "
        f"INSERT INTO {dataset}.rank_table VALUES ('x', 10)"
    )
    rows = bq_client.query_and_wait(
        f"SELECT tag, rk.r FROM UNNEST(['x', 'y']) AS tag LEFT JOIN {dataset}.rank_table rk ON rk.tag = tag "
        "ORDER BY tag"
    )
    assert [tuple(row.values()) for row in rows] == [("x", 10), ("y", None)]


def test_time_zones_bigquery_does_not_know_are_invalid(bq_client):
    for sql in (
        "SELECT PARSE_TIMESTAMP('%Y-%m-%dT%H:%M:%S%Z', '2024-01-15T12:34:56IST')",
        "SELECT FORMAT_TIMESTAMP('%H', CURRENT_TIMESTAMP(), 'PST')",
    ):
        with pytest.raises(exceptions.BadRequest, match=r"Invalid time zone: (IST|PST)"):
            bq_client.query_and_wait(sql)
    row = _one(bq_client, "SELECT PARSE_TIMESTAMP('%Y-%m-%d %H:%M %Z', '2024-01-15 12:34 EST') AS ts")
    assert row["ts"].isoformat() == "2024-01-15T17:34:00+00:00"


def test_numeric_keeps_its_type_through_derived_tables_division_avg_and_case(bq_client):
    """GoogleSQL's result types (https://cloud.google.com/bigquery/docs/reference/standard-sql/operators,
    .../aggregate_functions#avg): NUMERIC / INT64 and NUMERIC / NUMERIC are NUMERIC, AVG of NUMERIC is NUMERIC,
    a NULL branch takes the CASE's other type; an alias of a derived table or WITH query keeps it."""
    rows = bq_client.query_and_wait(
        "WITH sales AS (SELECT NUMERIC '10.5' AS amount, 3 AS units UNION ALL SELECT NUMERIC '4.5', 2) "
        "SELECT share, per_unit, mean, guarded FROM ("
        "  SELECT amount / SUM(amount) OVER () AS share, amount / units AS per_unit, "
        "  AVG(amount) OVER () AS mean, CASE WHEN units > 2 THEN amount ELSE NULL END AS guarded FROM sales)"
    )
    assert {field.name: field.field_type for field in rows.schema} == dict.fromkeys(
        ("share", "per_unit", "mean", "guarded"), "NUMERIC"
    )
    assert sorted(row["per_unit"] for row in rows) == [decimal.Decimal("2.25"), decimal.Decimal("3.5")]
