"""While a long query runs, the server keeps answering health checks and job status.

No timing is asserted: the checks are that each answer arrives while the slow job is still RUNNING.
"""

from __future__ import annotations

import threading
import time
import uuid

import requests

from tests.conftest import PROJECT

# A cross join of 256 million rows: several seconds on any machine (a busy one answers the five requests
# below more slowly, but runs this more slowly too), and bounded.
SLOW_QUERY = (
    "SELECT COUNT(*) AS n FROM UNNEST(GENERATE_ARRAY(1, 16000)) AS a "
    "CROSS JOIN UNNEST(GENERATE_ARRAY(1, 16000)) AS b WHERE MOD(a * b, 7) = 3"
)


def _state(server, job_id: str) -> str | None:
    response = requests.get(f"{server.url}/bigquery/v2/projects/{PROJECT}/jobs/{job_id}", timeout=60)
    return response.json()["status"]["state"] if response.status_code == 200 else None


def test_health_and_job_status_answer_while_a_query_runs(bigquery_server, bq_client):
    finished = bq_client.query("SELECT 42 AS answer")
    assert [row.answer for row in finished.result()] == [42]

    slow_id = f"slow_{uuid.uuid4().hex}"
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.update(rows=list(bq_client.query(SLOW_QUERY, job_id=slow_id, job_retry=None)))
    )
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while _state(bigquery_server, slow_id) != "RUNNING":
            assert runner.is_alive() and time.monotonic() < deadline, "the slow job was never seen RUNNING"
            time.sleep(0.01)

        health = requests.get(f"{bigquery_server.url}/healthz", timeout=60)
        other = requests.get(
            f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/jobs/{finished.job_id}", timeout=60
        )
        results = requests.get(
            f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/queries/{finished.job_id}", timeout=60
        )
        listed = requests.get(f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/jobs", timeout=60)
        pending = requests.get(
            f"{bigquery_server.url}/bigquery/v2/projects/{PROJECT}/queries/{slow_id}", timeout=60
        )
        # Every answer above came while the slow job still ran.
        assert _state(bigquery_server, slow_id) == "RUNNING"
    finally:
        runner.join(timeout=300)

    assert health.json()["status"] == "ok"
    assert other.json()["status"] == {"state": "DONE"}
    assert results.json()["rows"] == [{"f": [{"v": "42"}]}]
    states = {job["jobReference"]["jobId"]: job["status"]["state"] for job in listed.json()["jobs"]}
    assert (states[slow_id], states[finished.job_id]) == ("RUNNING", "DONE")
    # The last request found the slow job incomplete, so every answer above came while it ran.
    assert pending.json()["jobComplete"] is False
    assert outcome["rows"][0].n > 0
    assert _state(bigquery_server, slow_id) == "DONE"
