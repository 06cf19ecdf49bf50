"""The DAG's BigQuery tasks: documented from their SQL, and free of the provider's deprecation noise."""

from __future__ import annotations

import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag

from segmentation.jobs import GoogleSqlJobOperator, sql_header
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_segmentation"]


def bigquery_tasks(dag):
    return [task for task in dag.tasks if isinstance(task, GoogleSqlJobOperator)]


def test_every_bigquery_task_is_documented_by_its_sql_files_header(dag):
    tasks = bigquery_tasks(dag)
    assert len(tasks) >= 13
    for task in tasks:
        sql_file = task.configuration["query"]["query"]
        table = task.params.get("table")
        described = f"{table}.sql" if table else sql_file  # a staging task is documented by its table
        assert sql_header(described), f"include/sql/{described} has no header comment"
        assert sql_header(described) in task.doc_md, task.task_id
        assert f"include/sql/{sql_file}" in task.doc_md, task.task_id
    assert "staging table" in dag.get_task("features.stage_customer_features").doc_md


@pytest.mark.airflow
def test_a_bigquery_task_raises_no_provider_deprecation_warning(airflow_db, bigquery_server, recwarn):
    bag = DagBag(dag_folder=str(ROOT / "tests" / "airflow_dags" / "google_sql_job.py"))
    assert bag.import_errors == {}
    recwarn.clear()
    run = bag.dags["google_sql_job"].test(logical_date=pendulum.datetime(2024, 1, 2, tz="UTC"))
    assert run.state == "success"
    provider_warnings = [
        str(w.message)
        for w in recwarn
        if "use_legacy_sql" in str(w.message) or "job_id_path" in str(w.message)
    ]
    assert provider_warnings == []
