"""benchmarks/pipeline.py stays in step with the DAG and keeps measuring the same work three ways.

Only correctness is checked, never time: the smoke scale (≈20k order items) runs the whole script.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator

from benchmarks.pipeline import CORE_STAGES, SMOKE, STEPS
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bigquery_tasks() -> dict[str, BigQueryInsertJobOperator]:
    dag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py")).dags["customer_segmentation"]
    return {task.task_id: task for task in dag.tasks if isinstance(task, BigQueryInsertJobOperator)}


def test_the_benchmark_runs_every_bigquery_job_of_the_dag_with_its_sql(bigquery_tasks):
    assert set(bigquery_tasks) == {step.task_id for step in STEPS}
    for step in STEPS:
        task = bigquery_tasks[step.task_id]
        assert task.configuration["query"]["query"] == step.file, step.task_id
        assert task.params.get("table") == step.table, step.task_id


def test_the_benchmark_runs_jobs_in_an_order_the_dag_allows(bigquery_tasks):
    position = {step.task_id: index for index, step in enumerate(STEPS)}
    for step in STEPS:
        upstream = bigquery_tasks[step.task_id].get_flat_relative_ids(upstream=True) & position.keys()
        assert all(position[task_id] < position[step.task_id] for task_id in upstream), step.task_id


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict:
    output = tmp_path_factory.mktemp("bench") / "pipeline.json"
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "pipeline.py"),
            "--scales",
            SMOKE.name,
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return json.loads(output.read_text())["scales"][SMOKE.name]


def test_ours_floor_and_naive_segment_the_same_customers(smoke):
    assert smoke["customers"] > 100
    assert smoke["naive_customers"] == smoke["customers"]
    for way in ("ours", "floor", "naive"):
        sizes = smoke["segment_sizes"][way]
        assert len(sizes) == 5 and min(sizes) > 0, way
        assert sum(sizes) == smoke["customers"], way


def test_every_stage_is_measured_for_ours_and_the_floor(smoke):
    for stage in (*CORE_STAGES, "other", "core", "total"):
        assert smoke["seconds"][stage]["ours"] > 0, stage
        assert smoke["seconds"][stage]["floor"] > 0, stage
    assert smoke["seconds"]["core"]["ours"] == pytest.approx(
        sum(smoke["seconds"][stage]["ours"] for stage in CORE_STAGES), rel=1e-9
    )
