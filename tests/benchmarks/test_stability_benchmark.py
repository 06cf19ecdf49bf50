"""benchmarks/stability.py runs the DAG's own jobs in the DAG's order, and reports what it measured.

Only correctness is checked, never time: a smoke scale (2,000 users, three days) runs the whole script.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator

from benchmarks.stability import DAY
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dag():
    return DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py")).dags["customer_segmentation"]


def test_a_day_runs_every_bigquery_job_of_the_dag_with_its_sql(dag):
    jobs = {task.task_id: task for task in dag.tasks if isinstance(task, BigQueryInsertJobOperator)}
    assert {step.task_id for step in DAY if step.file} == set(jobs)
    for step in DAY:
        task = dag.get_task(step.task_id)  # the Python steps are tasks of the DAG too
        if step.file:
            assert task.configuration["query"]["query"] == step.file, step.task_id
            assert task.params.get("table") == step.table, step.task_id


def test_a_day_runs_its_steps_in_an_order_the_dag_allows(dag):
    position = {step.task_id: index for index, step in enumerate(DAY)}
    for step in DAY:
        upstream = dag.get_task(step.task_id).get_flat_relative_ids(upstream=True) & position.keys()
        assert all(position[task_id] < position[step.task_id] for task_id in upstream), step.task_id


@pytest.fixture(scope="module")
def smoke(tmp_path_factory) -> dict:
    output = tmp_path_factory.mktemp("bench") / "stability.json"
    finished = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "stability.py"),
            "--users",
            "2000",
            "--days",
            "3",
            "--datasets",
            "sample",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    # Exit 1 only says a target was missed, which at this scale may happen; the figures must be there.
    assert finished.returncode in (0, 1), finished.stdout + finished.stderr
    return json.loads(output.read_text())["datasets"]["sample"]


@pytest.mark.timeout(660)  # the benchmark subprocess has its own 600 s timeout
def test_the_first_day_rebases_and_the_next_ones_continue_reproducibly(smoke):
    days = smoke["per_day"]
    assert [day["day"] for day in days] == ["2024-06-27", "2024-06-28", "2024-06-29"]
    assert [day["training"] for day in days] == ["rebased", "continued", "continued"]
    assert all(day["rerun_identical"] for day in days)
    for day in days[1:]:
        assert 0 < day["kept_share"] <= 1 and 0 < day["unchanged_kept_share"] <= 1
    for day in days:
        assert 0 < day["smallest_segment_share"] < 1 / day["k"] + 1e-9
        assert day["davies_bouldin"] > 0 and day["davies_bouldin_sklearn"] > 0
        assert day["inertia_ratio"] > 0.99, "scikit-learn's best of ten is the reference"
    assert smoke["summary"]["days"] == 3 and smoke["summary"]["reruns_identical"]


def test_personas_are_written_on_the_first_day_and_then_only_for_what_moved(smoke):
    days = smoke["per_day"]
    assert days[0]["persona_refreshes"] == days[0]["k"], "every segment is new on the first day"
    assert all(day["new_segments"] <= day["persona_refreshes"] <= day["k"] for day in days[1:])
    assert smoke["summary"]["persona_calls"] == sum(day["persona_refreshes"] > 0 for day in days)
