"""The segment API's answers checked against the published tables, and its one error shape."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from starlette.responses import PlainTextResponse

from services.segments.api import LookupFastPath
from tests.services.conftest import FIRST, SECOND, SEGMENTS

FEATURES = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_ratio"]


def personas_in_table(bq_client, dataset: str, day) -> dict[int, dict]:
    rows = bq_client.query_and_wait(
        f"SELECT segment_id, title, persona, next_marketing_steps FROM `{dataset}.segment_personas` "
        f"WHERE snapshot_date = DATE '{day}'"
    )
    return {row["segment_id"]: dict(row.items()) for row in rows}


def test_segments_of_the_current_snapshot_with_sizes_profiles_and_personas(api, published, bq_client):
    body = api.get("/segments").json()
    latest = published.latest
    assert body["snapshot_date"] == SECOND.isoformat()
    assert body["customers"] == len(latest.features)
    profiles = latest.profiles.set_index("segment_id")
    personas = personas_in_table(bq_client, published.dataset, SECOND)
    assert [segment["segment_id"] for segment in body["segments"]] == list(range(1, SEGMENTS + 1))
    for segment in body["segments"]:
        expected = profiles.loc[segment["segment_id"]]
        assert segment["customers"] == expected.customers
        assert segment["customer_share"] == pytest.approx(expected.customer_share)
        assert segment["revenue_share"] == pytest.approx(expected.revenue_share)
        means = {feature["feature"]: feature for feature in segment["profile"]}
        assert list(means) == FEATURES
        for name in FEATURES:
            assert means[name]["mean"] == pytest.approx(expected[name])
            assert means[name]["base_mean"] == pytest.approx(latest.features[name].mean())
        assert means["recency_days"]["unit"] == "days" and means["monetary"]["unit"] == "currency"
        persona = personas[segment["segment_id"]]
        assert segment["persona"]["title"] == persona["title"]
        assert segment["persona"]["next_marketing_steps"] == persona["next_marketing_steps"]
        assert segment["persona"]["backend"] == "offline"
        assert segment["predicted_value"] == {
            "avg_predicted_value": pytest.approx(expected.avg_predicted_value),
            "predicted_value_share": pytest.approx(expected.predicted_value_share),
        }


def history_of(snapshots, customer_id: int) -> list[dict]:
    """The snapshots where the customer entered a segment, from the generator's own rows."""
    entries, previous = [], None
    for snapshot in snapshots:
        rows = snapshot.segments[snapshot.segments.customer_id == customer_id]
        if rows.empty:
            continue
        segment_id = int(rows.segment_id.iloc[0])
        if segment_id != previous:
            entries.append({"snapshot_date": snapshot.snapshot_date.isoformat(), "segment_id": segment_id})
        previous = segment_id
    return entries


def test_customer_lookup_gives_segment_features_persona_and_history(api, published):
    latest = published.latest
    members = latest.segments.merge(latest.features, on="customer_id").set_index("customer_id")
    first_ids = set(published.snapshots[0].segments.customer_id)
    moved = [
        customer_id for customer_id in first_ids if len(history_of(published.snapshots, customer_id)) == 2
    ]
    newcomers = sorted(set(members.index) - first_ids)
    sample = sorted(moved)[:3] + newcomers[:2] + sorted(first_ids)[:3]
    assert moved and newcomers
    segments = {segment["segment_id"]: segment for segment in api.get("/segments").json()["segments"]}
    for customer_id in sample:
        body = api.get(f"/customers/{customer_id}").json()
        expected = members.loc[customer_id]
        assert body["customer_id"] == customer_id and body["snapshot_date"] == SECOND.isoformat()
        assert body["segment_id"] == expected.segment_id
        assert body["distance"] == pytest.approx(expected.distance)
        assert body["features"] == pytest.approx({name: expected[name] for name in FEATURES})
        assert isinstance(body["features"]["frequency"], int)
        assert body["segment"]["persona"] == segments[body["segment_id"]]["persona"]
        assert body["segment_history"] == history_of(published.snapshots, customer_id)
        predicted = latest.predictions.set_index("customer_id").loc[customer_id]
        assert body["predicted_value"] == {
            "predicted_value": pytest.approx(predicted.predicted_value),
            "predicted_value_decile": predicted.predicted_value_decile,
            "horizon_days": 90,
        }


def test_as_of_reads_answer_from_the_older_snapshot(api, published):
    first = published.snapshots[0]
    customer_id = int(first.features.customer_id.iloc[5])
    body = api.get(f"/customers/{customer_id}", params={"snapshot_date": FIRST.isoformat()}).json()
    expected = first.features.set_index("customer_id").loc[customer_id]
    assert body["snapshot_date"] == FIRST.isoformat()
    assert body["features"]["recency_days"] == expected.recency_days
    assert body["segment_history"] == history_of(published.snapshots[:1], customer_id)
    segments = api.get("/segments", params={"snapshot_date": FIRST.isoformat()}).json()
    assert segments["customers"] == len(first.features)
    assert api.get("/snapshots").json() == {
        "current": SECOND.isoformat(),
        "snapshots": [
            {
                "snapshot_date": snapshot.snapshot_date.isoformat(),
                "segments": SEGMENTS,
                "customers": len(snapshot.features),
            }
            for snapshot in published.snapshots
        ],
    }


def test_members_pages_list_every_member_once_in_id_order(api, published):
    latest = published.latest
    for segment_id in (1, SEGMENTS):
        expected = sorted(latest.segments[latest.segments.segment_id == segment_id].customer_id)
        seen, token, pages = [], None, 0
        while True:
            params = {"page_size": 37} | ({"page_token": token} if token else {})
            body = api.get(f"/segments/{segment_id}", params=params).json()
            assert body["segment"]["segment_id"] == segment_id
            seen += [member["customer_id"] for member in body["members"]]
            pages += 1
            token = body["next_page_token"]
            if token is None:
                break
        assert seen == expected
        assert pages == -(-len(expected) // 37)


def test_a_page_token_keeps_reading_the_snapshot_it_started_on(api, published):
    first = published.snapshots[0]
    page = api.get("/segments/2", params={"snapshot_date": FIRST.isoformat(), "page_size": 5}).json()
    following = api.get("/segments/2", params={"page_token": page["next_page_token"], "page_size": 5}).json()
    assert following["snapshot_date"] == FIRST.isoformat()
    expected = sorted(first.segments[first.segments.segment_id == 2].customer_id)
    assert [m["customer_id"] for m in page["members"] + following["members"]] == expected[:10]


def test_lookups_run_no_bigquery_job(api, published, bq_client):
    def jobs() -> int:
        return sum(1 for _ in bq_client.list_jobs(max_results=100_000))

    before = jobs()
    for customer_id in published.latest.features.customer_id.iloc[:30]:
        assert api.get(f"/customers/{customer_id}").status_code == 200
    assert api.get("/segments").status_code == 200
    assert api.get("/segments/1").status_code == 200
    assert api.get("/segments", params={"snapshot_date": FIRST.isoformat()}).status_code == 200  # cached
    assert jobs() == before


async def declined(scope, receive, send) -> None:
    """Stands for the FastAPI app behind the fast path: whatever reaches it is a 418."""
    await PlainTextResponse("declined", status_code=418)(scope, receive, send)


def test_the_lookup_fast_path_answers_as_the_routes_do_and_passes_on_the_rest(api, service, published):
    fast = TestClient(LookupFastPath(declined, service, expected_key=None))
    customer_id = int(published.latest.features.customer_id.iloc[3])
    current = {"snapshot_date": SECOND.isoformat()}
    # Each answer is byte for byte what FastAPI's route gives for the same request written another way
    # (a leading zero, an extra parameter), which the fast path leaves to the route.
    for path, params, routed, routed_params in [
        (f"/customers/{customer_id}", {}, f"/customers/0{customer_id}", {}),
        (f"/customers/{customer_id}", current, f"/customers/{customer_id}", current | {"x": "1"}),
        ("/segments", {}, "/segments", {"x": "1"}),
        ("/segments", current, "/segments", current | {"x": "1"}),
    ]:
        answer, expected = fast.get(path, params=params), api.get(routed, params=routed_params)
        assert (answer.status_code, expected.status_code) == (200, 200), path
        assert answer.headers["content-type"] == expected.headers["content-type"] == "application/json"
        assert answer.content == expected.content, path
    for path, params in [
        (f"/customers/0{customer_id}", {}),
        (f"/customers/+{customer_id}", {}),
        (f"/customers/{customer_id} ", {}),
        ("/customers/999999999", {}),  # not a customer: the route's 404
        ("/customers/99999999999999999999999", {}),
        ("/customers/abc", {}),
        (f"/customers/{customer_id}", {"snapshot_date": "2020-01-01"}),
        (f"/customers/{customer_id}", {"snapshot_date": "20240601"}),
        (f"/customers/{customer_id}", {"snapshot_date": "2024-13-01"}),
        ("/segments", {"snapshot_date": FIRST.isoformat(), "page_size": "1"}),
        ("/segments/1", {}),
        ("/healthz", {}),
    ]:
        assert fast.get(path, params=params).status_code == 418, (path, params)
    assert fast.post(f"/customers/{customer_id}").status_code == 418


def test_the_lookup_fast_path_checks_the_key(service, published):
    key = "a-key-of-twenty-chars"
    fast = TestClient(LookupFastPath(declined, service, expected_key=key.encode()))
    path = f"/customers/{int(published.latest.features.customer_id.iloc[3])}"
    assert fast.get(path, headers={"X-API-Key": key}).status_code == 200
    for headers in ({}, {"X-API-Key": "a-key-of-twenty-charz"}, {"X-API-Key": key[:-1]}):
        assert fast.get(path, headers=headers).status_code == 418
        assert fast.get("/segments", headers=headers).status_code == 418


@pytest.fixture(scope="module")
def token_of_segment_1(api) -> str:
    return api.get("/segments/1", params={"page_size": 1}).json()["next_page_token"]


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "names"),
    [
        ("/customers/999999999", {}, 404, "customer_not_found", "999999999"),
        ("/customers/abc", {}, 400, "invalid_request", "customer_id"),
        ("/customers/99999999999999999999999", {}, 400, "invalid_request", "customer_id"),
        ("/customers/1", {"snapshot_date": "2020-01-01"}, 404, "snapshot_not_found", "2020-01-01"),
        ("/customers/1", {"snapshot_date": "yesterday"}, 400, "invalid_request", "snapshot_date"),
        ("/segments", {"snapshot_date": "2024-13-01"}, 400, "invalid_request", "snapshot_date"),
        ("/segments/99", {}, 404, "segment_not_found", "99"),
        ("/segments/1", {"page_token": "not-a-token"}, 400, "invalid_page_token", "page_token"),
        ("/segments/1", {"page_token": "eyJhZnRlciI6IDF9"}, 400, "invalid_page_token", "page_token"),
        ("/segments/1", {"page_size": 0}, 400, "invalid_request", "page_size"),
        ("/segments/1", {"page_size": 1001}, 400, "invalid_request", "page_size"),
        ("/segments/2", {"page_token": "SEGMENT_1"}, 400, "invalid_page_token", "segment 1"),
        ("/nowhere", {}, 404, "not_found", "Not Found"),
    ],
)
def test_bad_input_gets_one_error_shape_naming_the_problem(
    api, token_of_segment_1, path, params, status, code, names
):
    params = {key: token_of_segment_1 if value == "SEGMENT_1" else value for key, value in params.items()}
    response = api.get(path, params=params)
    assert response.status_code == status
    body = response.json()
    assert list(body) == ["error"] and set(body["error"]) == {"status", "code", "message"}
    assert (body["error"]["status"], body["error"]["code"]) == (status, code)
    assert names in body["error"]["message"]


def test_openapi_documents_every_endpoint(api):
    schema = api.get("/openapi.json").json()
    assert {
        "/segments",
        "/segments/{segment_id}",
        "/customers/{customer_id}",
        "/snapshots",
        "/healthz",
    } <= set(schema["paths"])
    customer = schema["paths"]["/customers/{customer_id}"]["get"]
    assert {"200", "400", "401", "404"} <= set(customer["responses"])
    assert "snapshot_date" in [parameter["name"] for parameter in customer["parameters"]]
    assert api.get("/docs").status_code == 200


def test_healthz_reports_the_served_snapshot(api, published):
    body = api.get("/healthz").json()
    assert body["status"] == "ok" and body["snapshot_date"] == SECOND.isoformat()
    assert body["customers"] == len(published.latest.features) and body["segments"] == SEGMENTS
    assert body["memory_bytes"] > 0
