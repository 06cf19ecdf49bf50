"""Errors BigQuery raises too, in BigQuery's words: the reason, the message and where it points."""

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


def test_a_dry_run_of_an_unknown_function_is_refused_in_the_request(bq_client):
    error = _error(bq_client, "SELECT NO_SUCH_FUNCTION(1) AS x", dry_run=True)
    assert (error["location"], error["message"]) == ("q", "Function not found: NO_SUCH_FUNCTION at [1:8]")


def test_a_builtin_function_local_bigquery_lacks_is_a_named_refusal(bq_client):
    error = _error(bq_client, "SELECT KLL_QUANTILES.INIT_INT64(x) FROM UNNEST([1]) AS x")
    assert error["message"] == "not supported by local_bigquery: function KLL_QUANTILES.INIT_INT64"


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
