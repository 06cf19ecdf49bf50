"""Cost attribution: BigQuery job labels by BigQuery's rules, the bytes-billed cap, and failing fast on it."""

from __future__ import annotations

import re

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from segmentation.costs import LABEL_LENGTH, job_labels, label_value, prepare_query_job
from segmentation.retries import FailFastOnBadInput

# https://cloud.google.com/bigquery/docs/labels-intro#requirements
LABEL = re.compile(r"^[a-z0-9_-]{0,63}$")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("features.stage_customer_features", "features_stage_customer_features"),
        ("manual__2024-06-29T00:00:00+00:00", "manual__2024-06-29t00_00_00_00_00"),
        ("Scheduled Run", "scheduled_run"),
    ],
)
def test_labels_keep_to_bigquerys_characters(text, label):
    assert label_value(text) == label
    assert LABEL.match(label_value(text))


def test_long_values_are_cut_to_the_longest_label():
    assert len(label_value("x" * 200)) == LABEL_LENGTH


@pytest.fixture(scope="module")
def insert_job_task():
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import ROOT

    dag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py")).dags["customer_segmentation"]
    return dag, dag.get_task("source.check_freshness")


def context(dag, task, **params):
    defaults = {name: task.params[name] for name in task.params}
    return {
        "dag": dag,
        "task": task,
        "params": defaults | params,
        "ds_nodash": "20240629",
        "run_id": "manual__2024-06-29T00:00:00+00:00",
    }


def test_every_query_job_carries_the_runs_labels(insert_job_task):
    dag, task = insert_job_task
    original = task.configuration
    try:
        task.configuration = {"query": {"query": "SELECT 1", "useLegacySql": False}}
        prepare_query_job(context(dag, task))
        assert task.configuration["labels"] == {
            "dag_id": "customer_segmentation",
            "task_id": "source_check_freshness",
            "snapshot_date": "20240629",
            "run_id": "manual__2024-06-29t00_00_00_00_00",
        }
        assert "maximumBytesBilled" not in task.configuration["query"]
        assert job_labels(context(dag, task)) == task.configuration["labels"]
    finally:
        task.configuration = original


def test_maximum_bytes_billed_caps_each_job(insert_job_task):
    dag, task = insert_job_task
    original = task.configuration
    try:
        task.configuration = {"query": {"query": "SELECT 1", "useLegacySql": False}}
        prepare_query_job(context(dag, task, maximum_bytes_billed=50_000_000))
        assert task.configuration["query"]["maximumBytesBilled"] == "50000000"
    finally:
        task.configuration = original


def test_a_job_over_its_byte_cap_is_not_retried():
    class BytesBilledLimit(Exception):
        errors = [{"reason": "bytesBilledLimitExceeded", "message": "Query exceeded limit for bytes billed"}]

    decision = FailFastOnBadInput().evaluate(BytesBilledLimit("exceeded"), try_number=1, max_tries=4)
    assert decision.action == RetryAction.FAIL


def test_python_tasks_jobs_carry_the_runs_labels_and_cap(insert_job_task):
    """What the Python tasks send (copy jobs too) is labelled like the operators' jobs; only queries are capped."""
    from segmentation.config import PipelineConfig
    from segmentation.costs import run_job_configuration

    dag, task = insert_job_task
    run = context(dag, task, maximum_bytes_billed=50_000_000)
    config = PipelineConfig.from_params(run["params"])
    query = run_job_configuration({"query": {"query": "SELECT 1"}}, run, config)
    copy = run_job_configuration({"copy": {"sourceTable": {}}}, run, config)
    assert query["labels"] == copy["labels"] == job_labels(run)
    assert query["query"]["maximumBytesBilled"] == "50000000"
    assert "maximumBytesBilled" not in copy["copy"]
