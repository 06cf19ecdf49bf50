"""`make preflight` against local_bigquery: every job dry-run through the DAG's connection, nothing written."""

from __future__ import annotations

import json
import uuid

import pytest
from google.api_core import exceptions
from google.cloud import bigquery

from local_bigquery.samples import thelook
from scripts import preflight
from tests.conftest import PROJECT
from tests.fakes.gemini_server import FakeGemini, answer, error

DAY = "2024-06-29"


@pytest.fixture(scope="module")
def source(bq_client, tmp_path_factory) -> str:
    dataset = f"thelook_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(dataset)
    files = thelook.write_parquet(thelook.generate(users=300), tmp_path_factory.mktemp("thelook"))
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET)
    for name, path in files.items():
        with open(path, "rb") as parquet:
            bq_client.load_table_from_file(parquet, f"{dataset}.{name}", job_config=config).result()
    yield dataset
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture
def output(bq_client):
    dataset = f"preflight_{uuid.uuid4().hex[:8]}"
    yield dataset
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def conf(source: str, output: str, **changes) -> dict:
    return {
        "project_id": PROJECT,
        "dataset": output,
        "source_project": PROJECT,
        "source_dataset": source,
        "location": "US",
    } | changes


def run(settings: dict) -> tuple[int, dict[str, preflight.Check], str]:
    checks = preflight.preflight(settings, preflight.dt.date.fromisoformat(DAY))
    return preflight.exit_status(checks), {check.name: check for check in checks}, preflight.report(checks)


def test_a_first_run_checks_out_and_preflight_writes_nothing(bq_client, source, output, capsys):
    status, checks, printed = run(conf(source, output))
    assert status == 0, printed
    assert checks["output dataset"].detail.endswith("will be created in US")
    assert checks["source"].status == preflight.OK
    assert checks["setup.create_dataset"].status == preflight.OK
    # Everything else needs the dataset the first job creates.
    assert checks["features.stage_customer_features"].status == preflight.CREATED_BY_THE_RUN
    with pytest.raises(exceptions.NotFound):
        bq_client.get_dataset(output)
    assert "source.check_freshness" in printed and " MB" in printed


def test_the_runs_read_of_the_source_is_estimated_by_the_columns_it_reads(bq_client, source, output):
    _, checks, _ = run(conf(source, output))
    items = bq_client.get_table(f"{source}.order_items").num_rows
    history = checks["source.stage_customer_order_history"]
    # Its table goes into the dataset the run creates; its SELECT alone is what it costs.
    assert history.status == preflight.OK
    # Timestamps and ids are 8 bytes a value: it reads at least id, user_id, order_id and created_at.
    assert 4 * 8 * items <= history.bytes_processed
    # The gates read what it stages.
    assert checks["source.check_freshness"].status == preflight.CREATED_BY_THE_RUN


def test_once_the_dataset_exists_the_jobs_reading_it_are_dry_run_too(bq_client, source, output):
    settings = conf(source, output)
    jobs = {
        job.task_id: job for job in preflight.dag_jobs(settings, preflight.dt.datetime.fromisoformat(DAY))
    }
    for task_id in ("setup.create_dataset", "setup.create_tables"):
        bq_client.query(jobs[task_id].sql).result()
    status, checks, printed = run(settings)
    assert status == 0, printed
    assert checks["output dataset"].detail.endswith("is in US")
    assert checks["setup.create_tables"].status == preflight.OK
    assert checks["publish_current_view"].status == preflight.OK
    assert checks["report:segment_history"].status == preflight.OK


def test_a_source_in_another_location_fails_naming_both(source, output):
    status, checks, printed = run(conf(source, output, location="EU"))
    assert status == 1
    assert checks["source"].status == preflight.FAILED
    assert f"{PROJECT}.{source} is in US, but location is EU" in checks["source"].detail
    assert "FAILED" in printed


def test_a_missing_transactions_table_fails_every_job_that_reads_it(output):
    settings = {
        "project_id": PROJECT,
        "dataset": output,
        "location": "US",
        "source_kind": "transactions",
        "transactions_table": f"{PROJECT}.nowhere.order_lines",
    }
    status, checks, _ = run(settings)
    assert status == 1
    assert "does not exist" in checks["source"].detail
    reading = checks["source.stage_customer_order_history"]
    assert reading.status == preflight.FAILED
    assert "nowhere" in reading.detail


def test_invalid_settings_exit_2_before_any_job(capsys):
    assert preflight.main(["--conf", json.dumps({"dataset": "no spaces allowed"})]) == 2
    assert "invalid settings" in capsys.readouterr().err


def fake_gemini_deployment(monkeypatch, gemini: FakeGemini, **settings) -> None:
    """The deployment's Gemini: a connection of its own and the endpoint the deployment allows."""
    monkeypatch.setenv("AIRFLOW_CONN_PERSONAS_GEMINI", gemini.airflow_connection("persona-project"))
    monkeypatch.setenv("SEGMENTATION_GEMINI_ENDPOINTS", gemini.url)
    monkeypatch.setenv("AIRFLOW_VAR_SEGMENTATION_GEMINI", json.dumps({"base_url": gemini.url, **settings}))


def test_gemini_is_called_once_with_the_persona_steps_settings(source, output, monkeypatch):
    settings = preflight.settings(conf(source, output, gemini_conn_id="personas_gemini"))
    with FakeGemini() as gemini:
        fake_gemini_deployment(monkeypatch, gemini)
        gemini.replies.append(answer("OK"))
        check = preflight.gemini_check(settings)
    assert check.status == preflight.OK, check.detail
    assert len(gemini.calls) == 1


def test_a_refused_gemini_call_fails_with_its_message(source, output, monkeypatch):
    settings = preflight.settings(conf(source, output, gemini_conn_id="personas_gemini"))
    with FakeGemini() as gemini:
        fake_gemini_deployment(monkeypatch, gemini, max_attempts=1)
        gemini.replies.append(error(403, "permission denied on the model"))
        check = preflight.gemini_check(settings)
    assert check.status == preflight.FAILED
    assert "permission denied on the model" in check.detail
