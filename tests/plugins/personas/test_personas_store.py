"""The persona step against the local BigQuery server: real BigQueryHook, real client, real MERGE."""

from __future__ import annotations

import json

import pytest

from segmentation.personas.offline import OFFLINE_MODEL
from segmentation.personas.profile import ProfileError, profiles_from_rows
from segmentation.personas.prompt import PROMPT_VERSION, build_prompt
from segmentation.personas.step import generate_personas
from segmentation.personas.validation import PersonaValidationError
from segmentation.personas.writer import PersonaGenerationError
from tests.conftest import PROJECT
from tests.fakes.gemini_server import error, json_answer

DAY, NEXT_DAY = "2024-06-01", "2024-06-02"

PROFILE_COLUMNS = {
    "snapshot_date": "DATE",
    "segment_id": "INT64",
    "customers": "INT64",
    "customer_share": "FLOAT64",
    "revenue_share": "FLOAT64",
    "recency_days": "FLOAT64",
    "frequency": "FLOAT64",
    "monetary": "FLOAT64",
    "avg_order_value": "FLOAT64",
    "tenure_days": "FLOAT64",
    "return_ratio": "FLOAT64",
}


@pytest.fixture
def warehouse(bq_client, dataset, profile_rows):
    """`segment_profiles` holding the same four segments on two snapshot dates."""
    columns = ", ".join(f"{name} {kind}" for name, kind in PROFILE_COLUMNS.items())
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.segment_profiles ({columns}) PARTITION BY snapshot_date CLUSTER BY segment_id"
    )
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.segment_centroids (snapshot_date DATE, segment_id INT64, feature STRING, "
        "numerical_value FLOAT64, feature_mean FLOAT64, feature_stddev FLOAT64) PARTITION BY snapshot_date"
    )
    rows = [{**row, "snapshot_date": day} for day in (DAY, NEXT_DAY) for row in profile_rows]
    assert bq_client.insert_rows_json(f"{PROJECT}.{dataset}.segment_profiles", rows) == []
    return dataset


def _generate(dataset, day=DAY, **kwargs):
    return generate_personas(snapshot_date=day, project_id=PROJECT, dataset=dataset, location="US", **kwargs)


def _personas(bq_client, dataset, day=DAY):
    rows = bq_client.query_and_wait(
        f"SELECT * FROM {dataset}.segment_personas WHERE snapshot_date = '{day}' ORDER BY segment_id"
    )
    return [dict(row.items()) for row in rows]


def _gemini(gemini_conn_id, gemini_settings):
    return {"backend": "gemini", "gemini_conn_id": gemini_conn_id, "gemini": gemini_settings}


def test_offline_run_writes_one_grounded_persona_per_segment(bq_client, warehouse, profile_rows):
    summary = _generate(warehouse)  # "auto" with the anonymous local connection: offline

    rows = _personas(bq_client, warehouse)
    prompt = build_prompt(profiles_from_rows(profile_rows))
    assert [row["segment_id"] for row in rows] == [0, 1, 2, 3]
    assert [row["title"] for row in rows] == [
        "Dormant Bargain Hunters",
        "Champions",
        "Drifting Customers",
        "New Arrivals",
    ]
    first = rows[0]
    assert (first["backend"], first["model"]) == ("offline", OFFLINE_MODEL)
    assert (first["prompt_version"], first["prompt_sha256"]) == (PROMPT_VERSION, prompt.sha256)
    assert (first["input_tokens"], first["output_tokens"]) == (None, None)
    assert len(first["next_marketing_steps"]) == 3
    assert first["raw_response"]["personas"][0]["title"] == "Dormant Bargain Hunters"
    assert summary["backend"] == "offline"
    assert summary["segments"] == 4
    assert summary["titles"]["1"] == "Champions"
    assert summary["generated_at"].startswith(first["generated_at"].date().isoformat())


def test_gemini_run_writes_what_the_server_answered(
    bq_client, warehouse, fake_gemini, gemini_conn_id, gemini_settings, persona_document
):
    document = persona_document(
        [0, 1, 2, 3], {1: {"title": "VIP Regulars", "summary": "300 customers who bring 35% of revenue."}}
    )
    fake_gemini.replies.append(json_answer(document, input_tokens=2100, output_tokens=640))

    summary = _generate(warehouse, **_gemini(gemini_conn_id, gemini_settings))

    rows = _personas(bq_client, warehouse)
    assert [row["title"] for row in rows] == [persona["title"] for persona in document["personas"]]
    assert rows[1]["summary"] == "300 customers who bring 35% of revenue."
    assert rows[1]["next_marketing_steps"] == document["personas"][1]["next_marketing_steps"]
    assert {(row["backend"], row["model"], row["input_tokens"], row["output_tokens"]) for row in rows} == {
        ("gemini", "gemini-2.5-flash", 2100, 640)
    }
    assert json.loads(rows[0]["raw_response"]["candidates"][0]["content"]["parts"][0]["text"]) == document
    assert (summary["input_tokens"], summary["output_tokens"]) == (2100, 640)
    assert len(fake_gemini.calls) == 1


def test_rerun_replaces_the_date_and_leaves_other_dates(
    bq_client, warehouse, fake_gemini, gemini_conn_id, gemini_settings, persona_document
):
    _generate(warehouse, backend="offline")
    _generate(warehouse, day=NEXT_DAY, backend="offline")
    next_day_before = _personas(bq_client, warehouse, NEXT_DAY)
    fake_gemini.replies.append(json_answer(persona_document([0, 1, 2, 3])))

    _generate(warehouse, **_gemini(gemini_conn_id, gemini_settings))

    rows = _personas(bq_client, warehouse)
    assert [row["title"] for row in rows] == [f"Segment {i} Shoppers" for i in range(4)]
    assert {row["backend"] for row in rows} == {"gemini"}
    assert _personas(bq_client, warehouse, NEXT_DAY) == next_day_before


def test_rerun_with_fewer_segments_drops_the_stale_ones(bq_client, warehouse):
    _generate(warehouse, backend="offline")
    bq_client.query_and_wait(f"DELETE FROM {warehouse}.segment_profiles WHERE segment_id = 3")

    summary = _generate(warehouse, backend="offline")

    assert summary["segments"] == 3
    assert [row["segment_id"] for row in _personas(bq_client, warehouse)] == [0, 1, 2]


def test_gemini_outage_fails_clearly_and_keeps_yesterdays_rows(
    bq_client, warehouse, fake_gemini, gemini_conn_id, gemini_settings
):
    _generate(warehouse, backend="offline")
    before = _personas(bq_client, warehouse)
    fake_gemini.replies.extend([error(503, "overloaded")] * gemini_settings.max_attempts)

    with pytest.raises(PersonaGenerationError, match=r"failed after 3 attempt\(s\): 503 UNAVAILABLE"):
        _generate(warehouse, **_gemini(gemini_conn_id, gemini_settings))

    assert _personas(bq_client, warehouse) == before
    assert len(fake_gemini.calls) == gemini_settings.max_attempts


def test_an_invalid_answer_writes_nothing(
    bq_client, warehouse, fake_gemini, gemini_conn_id, gemini_settings, persona_document
):
    _generate(warehouse, backend="offline")
    before = _personas(bq_client, warehouse)
    invented = {0: {"summary": "Bargain hunters; 70% of them open every email."}}
    fake_gemini.replies.append(json_answer(persona_document([0, 1, 2, 3], invented)))

    with pytest.raises(PersonaValidationError, match=r"segment 0 summary: number\(s\) \['70'\]"):
        _generate(warehouse, **_gemini(gemini_conn_id, gemini_settings))

    assert _personas(bq_client, warehouse) == before


def test_model_text_reaches_bigquery_only_as_query_parameters(
    bq_client, warehouse, fake_gemini, gemini_conn_id, gemini_settings, persona_document
):
    hostile = {
        "title": "Robert'); DROP TABLE segment_personas; --",
        "persona": "Quotes ' and \" and back\\slashes, a newline\nand `backticks` @snapshot_date {{ table }}",
    }
    fake_gemini.replies.append(json_answer(persona_document([0, 1, 2, 3], {2: hostile})))

    _generate(warehouse, **_gemini(gemini_conn_id, gemini_settings))

    row = _personas(bq_client, warehouse)[2]
    assert (row["title"], row["persona"]) == (hostile["title"], hostile["persona"])
    merges = [
        job
        for job in bq_client.list_jobs()
        if job.job_type == "query" and job.query.startswith("-- segment_personas for")
    ]
    assert merges, "the MERGE job is listed"
    assert all("DROP TABLE" not in job.query and "Segment 0 Shoppers" not in job.query for job in merges)


def test_a_date_without_profiles_is_a_clear_error(bq_client, warehouse):
    with pytest.raises(ProfileError, match=r"no rows in .*segment_profiles.* for snapshot_date 2024-07-01"):
        _generate(warehouse, day="2024-07-01", backend="offline")


def test_airflow_variables_choose_the_backend_and_its_settings(
    bq_client, warehouse, fake_gemini, gemini_conn_id, gemini_settings, persona_document, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_VAR_SEGMENTATION_PERSONA_BACKEND", "gemini")
    variable_settings = {**gemini_settings.model_dump(), "model": "gemini-2.5-flash-lite", "temperature": 0.1}
    monkeypatch.setenv("AIRFLOW_VAR_SEGMENTATION_GEMINI", json.dumps(variable_settings))
    fake_gemini.replies.append(json_answer(persona_document([0, 1, 2, 3]), model="gemini-2.5-flash-lite"))

    summary = _generate(warehouse, gemini_conn_id=gemini_conn_id, gemini={"temperature": 0.7})

    assert (summary["backend"], summary["model"]) == ("gemini", "gemini-2.5-flash-lite")
    [call] = fake_gemini.calls
    assert call.model == "gemini-2.5-flash-lite"
    assert call.body["generationConfig"]["temperature"] == pytest.approx(
        0.7
    )  # the param wins over the Variable


def test_every_query_job_carries_the_runs_cap_on_bytes_billed(bq_client, warehouse):
    cap = 1024**3
    labels = {"run_id": "capped_personas_run"}

    _generate(warehouse, backend="offline", job_labels=labels, maximum_bytes_billed=cap)

    jobs = [job for job in bq_client.list_jobs(max_results=200) if job.labels == labels]
    assert jobs, "the step sent no labelled job"
    assert {job.job_type for job in jobs} == {"query"}
    assert [job.maximum_bytes_billed for job in jobs] == [cap] * len(jobs)


def test_a_cap_too_low_fails_the_step_before_it_writes(bq_client, warehouse):
    with pytest.raises(Exception, match=r"Query exceeded limit for bytes billed: 1000000"):
        _generate(warehouse, backend="offline", maximum_bytes_billed=1_000_000)

    assert _personas(bq_client, warehouse) == []
