"""Errors BigQuery raises too, in BigQuery's words: the reason, the message and where it points."""

import datetime as dt

import pytest
from google.api_core import exceptions
from google.cloud import bigquery

from tests.conftest import PROJECT


def _error(bq_client, sql, **config):
    with pytest.raises(exceptions.GoogleAPICallError) as raised:
        bq_client.query_and_wait(sql, job_config=bigquery.QueryJobConfig(**config))
    (error,) = raised.value.errors
    return error


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SELECT 1 AS a,\n  no_such_function(1) AS r", "Function not found: no_such_function at [2:3]"),
        (
            "SELECT 1 AS a, `nowhere`.no_routine(1, 2)",
            f"Function not found: `{PROJECT}.nowhere`.no_routine at [1:16]",
        ),
    ],
)
def test_an_unknown_function_is_not_found(bq_client, sql, message):
    error = _error(bq_client, sql)
    assert (error["reason"], error["location"], error["message"]) == ("invalidQuery", "query", message)


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("SELECT LIST_SUM([1, 2]) AS s", "LIST_SUM"),  # sqlglot keeps it as an unknown call
        ("SELECT year(DATE '2024-01-01') AS y", "year"),  # sqlglot reads it as its own exp.Year
    ],
)
def test_a_function_only_duckdb_has_is_not_found(bq_client, sql, name):
    error = _error(bq_client, sql)
    assert (error["reason"], error["message"]) == ("invalidQuery", f"Function not found: {name} at [1:8]")


def test_googlesql_functions_duckdb_implements_still_run(bq_client):
    sql = """SELECT IEEE_DIVIDE(1, 0) AS ratio, DATE_TRUNC(DATE '2024-01-03', WEEK(MONDAY)) AS week,
                    MAX_BY(x, -x) AS smallest
             FROM UNNEST([1, 2]) AS x"""
    assert [dict(row) for row in bq_client.query_and_wait(sql)] == [
        {"ratio": float("inf"), "week": dt.date(2024, 1, 1), "smallest": 1}
    ]


def test_a_dry_run_of_an_unknown_function_is_refused_in_the_request(bq_client):
    error = _error(bq_client, "SELECT NO_SUCH_FUNCTION(1) AS x", dry_run=True)
    assert (error["location"], error["message"]) == ("q", "Function not found: NO_SUCH_FUNCTION at [1:8]")


@pytest.mark.parametrize(
    ("sql", "name"),
    [
        ("SELECT KLL_QUANTILES.INIT_INT64(x) FROM UNNEST([1]) AS x", "KLL_QUANTILES.INIT_INT64"),
        # sqlglot reads it as its own exp.Host, DuckDB has it only in an extension local_bigquery keeps off
        ("SELECT NET.HOST('https://example.com/a') AS h", "NET.HOST"),
    ],
)
def test_a_builtin_function_local_bigquery_lacks_is_a_named_refusal(bq_client, sql, name):
    assert _error(bq_client, sql)["message"] == f"not supported by local_bigquery: function {name}"


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("SLECT 1 AS n", 'Unexpected identifier "SLECT" at [1:1]'),
        ("SELECT 1;\nSELECT (1 + 2 AS x", 'Expected "," but got keyword AS at [2:15]'),
        ("SELECT COUNT(*", 'Expected ")" but got end of statement at [1:15]'),
        ("SELECT 1,\n  'unterminated", "Unclosed string literal at [2:3]"),
        ("SELECT 1 FROM", "Unexpected end of statement at [1:14]"),
        ("SELECT 1 AS by", "Unexpected keyword BY at [1:13]"),
        ("SELECT x FROM UNNEST([1]) AS all", "Unexpected keyword ALL at [1:30]"),
    ],
)
def test_syntax_errors_name_the_token_bigquery_stops_at(bq_client, sql, message):
    error = _error(bq_client, sql)
    assert (error["reason"], error["message"]) == ("invalidQuery", f"Syntax error: {message}")


def test_a_quoted_reserved_keyword_is_a_name(bq_client):
    assert [dict(row) for row in bq_client.query_and_wait("SELECT 1 AS `by`")] == [{"by": 1}]


def test_a_table_in_a_project_the_user_cannot_see_is_access_denied(bq_client):
    with pytest.raises(exceptions.Forbidden) as raised:
        bq_client.query_and_wait("SELECT * FROM `nobodys-project.any_dataset.any_table`")
    table = "nobodys-project:any_dataset.any_table"
    assert raised.value.errors[0]["reason"] == "accessDenied"
    assert raised.value.message.endswith(
        f"Access Denied: Table {table}: User does not have permission to query table {table}, "
        "or perhaps it does not exist."
    )
    with pytest.raises(exceptions.NotFound, match=f"Dataset {PROJECT}:no_such_dataset"):
        bq_client.query_and_wait("SELECT * FROM no_such_dataset.any_table")


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "SELECT SAFE.SUBSTR('hello') AS s",
            "No matching signature for function SUBSTR\n  Argument types: STRING\n"
            "  Signature: SUBSTR(STRING, INT64, [INT64])\n"
            "    Signature requires at least 2 arguments, found 1 argument\n"
            "  Signature: SUBSTR(BYTES, INT64, [INT64])\n"
            "    Signature requires at least 2 arguments, found 1 argument at [1:8]",
        ),
        (
            "SELECT 1 AS a, CONCAT() AS c",
            "No matching signature for function CONCAT with no arguments\n"
            "  Signature: CONCAT(STRING, [STRING, ...])\n"
            "    Signature requires at least 1 argument, found 0 arguments\n"
            "  Signature: CONCAT(BYTES, [BYTES, ...])\n"
            "    Signature requires at least 1 argument, found 0 arguments at [1:16]",
        ),
        (
            "SELECT IFNULL(x, 0, 1) FROM UNNEST([1]) AS x",
            "No matching signature for function IFNULL\n  Signature: IFNULL(T1, T1)\n"
            "    Signature accepts at most 2 arguments, found 3 arguments at [1:8]",
        ),
    ],
)
def test_a_call_with_a_number_of_arguments_no_signature_takes(bq_client, sql, message):
    error = _error(bq_client, sql)
    assert (error["reason"], error["message"]) == ("invalidQuery", message)


def test_modifiers_and_intervals_are_no_extra_arguments(bq_client):
    sql = """SELECT ARRAY_AGG(x ORDER BY x DESC LIMIT 1)[OFFSET(0)] AS top,
                    STRING_AGG(CAST(x AS STRING), ',' ORDER BY x) AS joined,
                    DATE_ADD(DATE '2024-01-01', INTERVAL 1 DAY) AS next_day
             FROM UNNEST([1, 2]) AS x"""
    assert [dict(row) for row in bq_client.query_and_wait(sql)] == [
        {"top": 2, "joined": "1,2", "next_day": dt.date(2024, 1, 2)}
    ]


def test_a_string_compared_with_an_int64_has_no_matching_signature(bq_client, dataset):
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.names (k STRING); CREATE TABLE {dataset}.ids (k INT64);"
        f"INSERT INTO {dataset}.names VALUES ('x'); INSERT INTO {dataset}.ids VALUES (1)"
    )
    join = f"JOIN {dataset}.ids b ON "
    error = _error(bq_client, f"SELECT a.k FROM {dataset}.names a\n{join}a.k = b.k")
    assert error["message"] == (
        "No matching signature for operator = for argument types: STRING, INT64\n"
        "  Signature: T1 = T1\n"
        "    Unable to find common supertype for templated argument <T1>\n"
        f"      Input types for <T1>: {{INT64, STRING}} at [2:{len(join) + 1}]"
    )


def test_a_string_literal_plus_an_int64_is_date_arithmetic(bq_client):
    assert (
        _error(bq_client, "SELECT 'a' + 1 AS bad")["message"]
        == 'Could not cast literal "a" to type DATE at [1:8]'
    )
    rows = bq_client.query_and_wait("SELECT '2024-02-28' + 2 AS later")
    assert [dict(row) for row in rows] == [{"later": dt.date(2024, 3, 1)}]


def test_ml_functions_still_run_and_one_local_bigquery_lacks_is_a_named_refusal(bq_client, dataset):
    bq_client.query_and_wait(
        f"CREATE MODEL {dataset}.m OPTIONS(model_type='kmeans', num_clusters=HPARAM_CANDIDATES([2]), num_trials=1)"
        " AS SELECT x FROM UNNEST([1.0, 2.0, 10.0, 11.0]) AS x"
    )
    sql = f"SELECT centroid_id FROM ML.PREDICT(MODEL {dataset}.m, (SELECT 1.5 AS x))"
    assert len(list(bq_client.query_and_wait(sql))) == 1
    error = _error(bq_client, "SELECT ML.STANDARD_SCALER(x) OVER () AS s FROM UNNEST([1.0]) AS x")
    assert error["message"] == "not supported by local_bigquery: function ML.STANDARD_SCALER"
