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
