"""Refreshing: a new snapshot is swapped in, an unchanged warehouse costs no query, a failed refresh keeps
the previous snapshot serving, and the value model's tables are read once they exist."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from benchmarks.segment_snapshots import drifted, publish, segment, write_personas
from local_bigquery.server import free_port
from tests.conftest import PROJECT, ROOT
from tests.services.conftest import FIRST, SECOND, SEGMENTS, api_client, make_service


def query_jobs(bq_client) -> int:
    return sum(1 for job in bq_client.list_jobs(max_results=100_000) if job.job_type == "query")


def second_snapshot(fresh_dataset):
    (first,) = fresh_dataset.snapshots
    return segment(SECOND, drifted(first.features, 31, 20, seed=5), SEGMENTS, seed=5)


def test_a_new_snapshot_is_swapped_in_and_an_unchanged_warehouse_runs_no_query(bq_client, fresh_dataset):
    service = make_service(bq_client, fresh_dataset.dataset)
    assert service.refresh() is True
    assert service.serving_date() == FIRST
    before = query_jobs(bq_client)
    assert service.refresh() is False
    assert query_jobs(bq_client) == before, "polling an unchanged warehouse must read metadata only"

    later = second_snapshot(fresh_dataset)
    publish(bq_client, PROJECT, fresh_dataset.dataset, later)
    assert service.refresh() is True
    assert service.serving_date() == SECOND
    with api_client(service) as api:
        newcomer = int(later.features.customer_id.max())
        assert api.get(f"/customers/{newcomer}").json()["snapshot_date"] == SECOND.isoformat()
        assert api.get("/snapshots").json()["current"] == SECOND.isoformat()


def test_a_failed_refresh_keeps_serving_the_previous_snapshot_and_health_says_so(bq_client, fresh_dataset):
    service = make_service(bq_client, fresh_dataset.dataset)
    assert service.refresh()
    (first,) = fresh_dataset.snapshots
    customer_id = int(first.features.customer_id.iloc[0])
    table = f"{PROJECT}.{fresh_dataset.dataset}.customer_features"
    kept = bq_client.query_and_wait(f"SELECT * FROM `{table}`").to_dataframe()
    bq_client.delete_table(table)
    with api_client(service) as api:
        assert service.refresh() is False
        health = api.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "degraded"
        assert "customer_features" in health.json()["last_refresh_error"]
        assert health.json()["snapshot_date"] == FIRST.isoformat()
        assert api.get(f"/customers/{customer_id}").json()["segment_id"] == int(
            first.segments.set_index("customer_id").segment_id[customer_id]
        )
        assert api.get("/segments").status_code == 200

        bq_client.load_table_from_dataframe(kept, table).result()
        assert service.refresh() is True
        assert api.get("/healthz").json()["status"] == "ok"


def test_without_any_snapshot_the_service_is_unavailable_with_the_error_shape(bq_client, dataset):
    service = make_service(bq_client, dataset)
    assert service.refresh() is False
    with api_client(service) as api:
        health = api.get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "unavailable"
        response = api.get("/segments")
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "not_ready"


def test_predicted_values_are_read_only_where_the_value_model_wrote_them(bq_client, fresh_dataset):
    """Without customer_value_predictions (a deployment older than the value model) customers have no
    predicted value; with it, every column it has is served, strings with commas and quotes included."""
    dataset = f"{PROJECT}.{fresh_dataset.dataset}"
    (first,) = fresh_dataset.snapshots
    kept = bq_client.query_and_wait(f"SELECT * FROM `{dataset}.customer_value_predictions`").to_arrow()
    bq_client.delete_table(f"{dataset}.customer_value_predictions")
    service = make_service(bq_client, fresh_dataset.dataset)
    assert service.refresh()
    customer = first.features.iloc[3]
    with api_client(service) as api:
        assert api.get(f"/customers/{int(customer.customer_id)}").json()["predicted_value"] is None

    bq_client.query_and_wait(
        f"""
        CREATE TABLE `{dataset}.customer_value_predictions` (
          snapshot_date DATE, customer_id INT64, predicted_value FLOAT64, model_version STRING)
        PARTITION BY snapshot_date;
        INSERT INTO `{dataset}.customer_value_predictions`
        SELECT snapshot_date, customer_id, monetary / 4, IF(MOD(customer_id, 2) = 0, 'v1, "beta"', NULL)
        FROM `{dataset}.customer_features`;
        """
    )
    assert kept.num_rows == len(first.features)
    assert service.refresh()
    with api_client(service) as api:
        segments = api.get("/segments").json()["segments"]
        assert [feature["feature"] for feature in segments[0]["profile"]] == list(
            first.profiles.columns[4:10]
        )
        for _, customer in first.features.iloc[:6].iterrows():
            body = api.get(f"/customers/{int(customer.customer_id)}").json()
            assert body["predicted_value"] == {
                "predicted_value": pytest.approx(customer.monetary / 4),
                "model_version": 'v1, "beta"' if customer.customer_id % 2 == 0 else None,
            }


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = predicate()
        except httpx.HTTPError:
            found = None
        if found:
            return found
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def test_the_server_refreshes_in_the_background(bigquery_server, bq_client, fresh_dataset):
    """`python -m services.segments` as deployed: real uvicorn, its own client, the refresh thread."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
        "BIGQUERY_EMULATOR_HOST": bigquery_server.url,
        "SEGMENTATION_PROJECT_ID": PROJECT,
        "SEGMENTATION_DATASET": fresh_dataset.dataset,
        "SEGMENTS_REFRESH_SECONDS": "0.3",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.segments", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        health = wait_for(lambda: httpx.get(f"{url}/healthz").json(), 60, "the service to start")
        assert health["snapshot_date"] == FIRST.isoformat()
        publish(bq_client, PROJECT, fresh_dataset.dataset, second_snapshot(fresh_dataset))
        wait_for(
            lambda: httpx.get(f"{url}/healthz").json()["snapshot_date"] == SECOND.isoformat(),
            30,
            "the new snapshot",
        )
        assert httpx.get(f"{url}/segments").json()["snapshot_date"] == SECOND.isoformat()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert process.returncode in (0, -15), output


def test_beyond_loopback_the_cli_refuses_to_start_without_a_key(monkeypatch, capsys):
    from services.segments.__main__ import main

    monkeypatch.delenv("SEGMENTS_API_KEY", raising=False)
    monkeypatch.delenv("SEGMENTS_API_KEY_FILE", raising=False)
    assert main(["--host", "0.0.0.0", "--port", "1"]) == 2
    error = capsys.readouterr().err
    assert "SEGMENTS_API_KEY" in error and "0.0.0.0" in error


def test_personas_written_after_publishing_refresh_without_reloading_customers(bq_client, fresh_dataset):
    later = second_snapshot(fresh_dataset)
    publish(bq_client, PROJECT, fresh_dataset.dataset, later, personas=False)
    service = make_service(bq_client, fresh_dataset.dataset)
    assert service.refresh()
    store = service.state.store
    assert store.snapshot_date == SECOND and all(s["persona"] is None for s in store.segments.values())

    write_personas(bq_client, PROJECT, fresh_dataset.dataset, later)
    before = query_jobs(bq_client)
    assert service.refresh()
    assert query_jobs(bq_client) - before == 2, "the snapshot list and the personas, nothing more"
    refreshed = service.state.store
    assert refreshed.customer_ids is store.customer_ids
    assert all(s["persona"]["backend"] == "offline" for s in refreshed.segments.values())
    with api_client(service) as api:
        customer_id = int(later.features.customer_id.iloc[0])
        persona = api.get(f"/customers/{customer_id}").json()["segment"]["persona"]
        assert persona["title"] in [s["persona"]["title"] for s in api.get("/segments").json()["segments"]]
