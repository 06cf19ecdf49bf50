"""A real BigQueryInsertJobOperator, run by Airflow's dag.test(), against the local server."""

import pendulum
import pytest

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def smoke_dag(airflow_db, bigquery_server):
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import ROOT

    bag = DagBag(dag_folder=str(ROOT / "tests" / "airflow_dags"))
    assert not bag.import_errors
    return bag.get_dag("bigquery_operator_smoke")


def _run(dag, sql: str, day: int):
    run = dag.test(logical_date=pendulum.datetime(2024, 1, day, tz="UTC"), run_conf={"sql": sql})
    (task,) = run.get_task_instances()
    return run.state, task


def test_operator_runs_a_script_against_the_local_server(smoke_dag, bq_client, dataset):
    sql = (
        f"CREATE OR REPLACE TABLE {dataset}.numbers AS SELECT n FROM UNNEST(GENERATE_ARRAY(1, 5)) AS n; "
        f"INSERT INTO {dataset}.numbers VALUES (6)"
    )
    state, _ = _run(smoke_dag, sql, 2)
    assert state == "success"
    rows = bq_client.query_and_wait(f"SELECT SUM(n) AS total FROM {dataset}.numbers")
    assert [row.total for row in rows] == [21]


def test_operator_fails_with_bigquerys_message(smoke_dag, dataset, capfd):
    state, task = _run(smoke_dag, f"SELECT no_such_column FROM {dataset}.nowhere", 3)
    assert state == "failed"
    assert task.state == "failed"
    logged = "".join(capfd.readouterr())
    assert f"Not found: Table local-project:{dataset}.nowhere was not found" in logged
