"""Malformed requests get BigQuery's 400 `invalid` naming the problem, never a 500 or an endless page loop."""

from __future__ import annotations

import json

import pytest
import requests
from google.api_core.exceptions import BadRequest

from tests.conftest import PROJECT

API = f"/bigquery/v2/projects/{PROJECT}"


@pytest.fixture(scope="module")
def finished_query(bigquery_server) -> str:
    """A finished query job with 5 rows."""
    response = _post(
        bigquery_server, "/queries", {"query": "SELECT x FROM UNNEST(GENERATE_ARRAY(1, 5)) AS x"}
    )
    return response.json()["jobReference"]["jobId"]


@pytest.fixture(scope="module")
def table(bq_client, bigquery_server) -> str:
    dataset = "bad_requests"
    bq_client.create_dataset(dataset, exists_ok=True)
    bq_client.query(f"CREATE OR REPLACE TABLE {dataset}.t AS SELECT 1 AS x").result()
    yield f"{API}/datasets/{dataset}/tables/t"
    bq_client.delete_dataset(dataset, delete_contents=True)


def _post(server, path: str, body=None, raw: str | None = None) -> requests.Response:
    return requests.post(
        f"{server.url}{API}{path}" if not path.startswith("/bigquery") else f"{server.url}{path}",
        data=raw if raw is not None else json.dumps(body),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )


def _invalid(response: requests.Response) -> str:
    """The message of a BigQuery-shaped 400 invalid error."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["errors"][0]["reason"] in ("invalid", "invalidQuery")
    assert error["errors"][0]["message"] == error["message"]
    return error["message"]


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ("maxResults=-1", "maxResults"),
        ("maxResults=1e3", "maxResults"),
        ("maxResults=99999999999999999999999", "maxResults"),
        ("startIndex=-2", "startIndex"),
        ("startIndex=abc", "startIndex"),
        ("pageToken=abc", "page token"),
        ("pageToken=-3&maxResults=1", "page token"),
    ],
)
def test_bad_paging_parameters_are_400s_naming_the_parameter(
    bigquery_server, finished_query, table, parameters, named
):
    for path in (f"{API}/queries/{finished_query}", f"{table}/data"):
        response = requests.get(f"{bigquery_server.url}{path}?{parameters}", timeout=60)
        assert named in _invalid(response)


@pytest.mark.parametrize("listing", ["/jobs", "/datasets"])
@pytest.mark.parametrize("parameters", ["maxResults=-1", "pageToken=zz", "pageToken=-1"])
def test_bad_paging_of_lists_is_a_400(bigquery_server, listing, parameters):
    _invalid(requests.get(f"{bigquery_server.url}{API}{listing}?{parameters}", timeout=60))


def test_paging_past_the_end_ends(bigquery_server, finished_query):
    page = requests.get(
        f"{bigquery_server.url}{API}/queries/{finished_query}?startIndex=99999999999&maxResults=2", timeout=60
    ).json()
    assert (page["totalRows"], page.get("rows", []), "pageToken" in page) == ("5", [], False)


def test_the_client_pages_through_results_to_the_end(bq_client):
    rows = bq_client.query("SELECT x FROM UNNEST(GENERATE_ARRAY(1, 7)) AS x ORDER BY x").result(page_size=3)
    assert [row.x for row in rows] == list(range(1, 8))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/jobs", {"configuration": "x"}, "configuration"),
        ("/jobs", {"configuration": {"query": "SELECT 1"}}, "configuration.query"),
        ("/jobs", {"configuration": {"query": {"query": 123}}}, "configuration.query.query"),
        (
            "/jobs",
            {"configuration": {"query": {"query": "SELECT 1", "useLegacySql": "no"}}},
            "configuration.query.useLegacySql",
        ),
        (
            "/jobs",
            {"configuration": {"query": {"query": "SELECT 1", "queryParameters": "x"}}},
            "configuration.query.queryParameters",
        ),
        (
            "/jobs",
            {
                "configuration": {
                    "query": {
                        "query": "SELECT @a",
                        "queryParameters": [{"name": "a", "parameterType": "INT64"}],
                    }
                }
            },
            "configuration.query.queryParameters.0.parameterType",
        ),
        (
            "/jobs",
            {"configuration": {"query": {"query": "SELECT 1", "defaultDataset": "d"}}},
            "configuration.query.defaultDataset",
        ),
        (
            "/jobs",
            {"configuration": {"query": {"query": "SELECT 1", "destinationTable": "d.t"}}},
            "configuration.query.destinationTable",
        ),
        ("/jobs", {"jobReference": "x", "configuration": {}}, "jobReference"),
        ("/jobs", {"jobReference": {"jobId": 5}, "configuration": {}}, "jobReference.jobId"),
        ("/jobs", {"configuration": {"load": "x"}}, "configuration.load"),
        ("/jobs", {"configuration": {"dryRun": "x"}}, "configuration.dryRun"),
        ("/queries", {"query": "SELECT 1", "maxResults": -1}, "maxResults"),
        ("/queries", {"query": "SELECT 1", "maxResults": "abc"}, "maxResults"),
        ("/queries", {"query": ["SELECT 1"]}, "query"),
        ("/queries", {"query": "SELECT 1", "formatOptions": "x"}, "formatOptions"),
        ("/datasets", {"datasetReference": "x"}, "datasetReference"),
        ("/datasets", {"datasetReference": {"datasetId": 5}}, "datasetReference.datasetId"),
        ("/datasets/bad_requests/tables", {"tableReference": "x"}, "tableReference"),
        (
            "/datasets/bad_requests/tables",
            {"tableReference": {"tableId": "u"}, "schema": {"fields": "x"}},
            "schema.fields",
        ),
        ("/datasets/bad_requests/tables/t/insertAll", {"rows": "x"}, "rows"),
        ("/datasets/bad_requests/tables/t/insertAll", {"rows": [1]}, "rows.0"),
        ("/datasets/bad_requests/tables/t/insertAll", {"rows": [{"json": "x"}]}, "rows.0.json"),
    ],
)
def test_wrong_types_in_a_body_are_400s_naming_the_field(bigquery_server, table, path, body, field):
    message = _invalid(_post(bigquery_server, path, body))
    assert f"Invalid value at '{field}'" in message


def test_a_job_refused_for_its_shape_is_not_recorded(bigquery_server):
    _invalid(_post(bigquery_server, "/jobs", {"jobReference": {"jobId": "shapeless"}, "configuration": "x"}))
    assert requests.get(f"{bigquery_server.url}{API}/jobs/shapeless", timeout=60).status_code == 404


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 5_000 + "1" + "}" * 5_000,
        '{"configuration": {"query": {"query": "SELECT 1", "labels": ' + '{"a": ' * 70 + "1" + "}" * 73,
    ],
    ids=["arrays", "objects", "inside-a-job"],
)
def test_deeply_nested_json_is_a_400(bigquery_server, raw):
    assert "nests deeper than" in _invalid(_post(bigquery_server, "/jobs", raw=raw))


@pytest.mark.parametrize("raw", ["{", "[1, 2]", '"text"', '{"query": "SELECT 1",}'])
def test_malformed_json_is_a_400(bigquery_server, raw):
    assert "Invalid JSON payload received" in _invalid(_post(bigquery_server, "/queries", raw=raw))


def test_a_deeply_nested_query_fails_as_a_job(bq_client):
    with pytest.raises(BadRequest, match="nests too deeply"):
        bq_client.query("SELECT " + "(" * 3_000 + "1" + ")" * 3_000).result()
