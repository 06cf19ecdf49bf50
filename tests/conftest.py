"""Shared fixtures: an in-process local_bigquery server, the real BigQuery client, and a real Airflow.

Airflow reads its configuration when first imported, so the environment is set here, before any test
module imports it: a throw-away AIRFLOW_HOME with a SQLite metadata DB, two DAG bundles (the product's
`dags/` and `tests/airflow_dags/`), and a `google_cloud_default` connection that needs no credentials.
The DAG's run deadline is off here: `dag.test()` cannot finish a run of a DAG with a deadline
(see `DAGS_TEST_ENVIRONMENT` in scripts/run_local.py); tests/ops checks it under a real scheduler.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from scripts.run_local import DAGS_TEST_ENVIRONMENT

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "local-project"
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="airflow-tests-"))

os.environ.update(
    AIRFLOW_HOME=str(_AIRFLOW_HOME),
    AIRFLOW__CORE__LOAD_EXAMPLES="False",
    AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
    AIRFLOW__CORE__PLUGINS_FOLDER=str(ROOT / "plugins"),
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
    AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST=json.dumps(
        [
            {
                "name": "dags-folder",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(ROOT / "dags")},
            },
            {
                "name": "test-dags",
                "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(ROOT / "tests" / "airflow_dags")},
            },
        ]
    ),
    AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT=json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": PROJECT}}
    ),
    # A local run keeps its reports under the checkout's .local (the default .local/reports): a report root
    # the deployment names, which validate_config asks for before it accepts a local destination. Absolute:
    # the Airflow processes the UI tests start inherit it and run in their AIRFLOW_HOME.
    SEGMENTATION_REPORT_ROOT=str(ROOT / ".local"),
    **DAGS_TEST_ENVIRONMENT,
)


# The slowest modules, slowest first (their durations in `make test`'s --durations list). `make test` runs
# two xdist workers, one module at a time, in collection order (--dist loadfile --no-loadscope-reorder): the
# two slowest start at once, one on each worker, and the short modules fill in around the long ones, so
# the run lasts about half the total instead of two long modules queueing one after the other on one worker.
SLOWEST_MODULES = (
    "tests/e2e/test_segmentation_dag_e2e.py",
    "tests/benchmarks/test_conformance_ratchet.py",
    "tests/ops/test_ui_browser.py",
    "tests/scripts/test_run_local.py",
    "tests/e2e/test_transactions_source_e2e.py",
    "tests/benchmarks/test_stability_benchmark.py",
    "tests/plugins/report/test_report_e2e.py",
    "tests/include/test_googlesql_contract.py",
    "tests/benchmarks/test_segment_api_benchmark.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest modules first, in SLOWEST_MODULES' order; every other module after them, as collected."""
    rank = {module: index for index, module in enumerate(SLOWEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def bigquery_server():
    """A local_bigquery server on a free port, in memory; BIGQUERY_EMULATOR_HOST points at it."""
    from local_bigquery.server import BackgroundServer
    from local_bigquery.warehouse import Warehouse

    with BackgroundServer(Warehouse()) as server:
        previous = os.environ.get("BIGQUERY_EMULATOR_HOST")
        os.environ["BIGQUERY_EMULATOR_HOST"] = server.url
        yield server
        if previous is None:
            os.environ.pop("BIGQUERY_EMULATOR_HOST", None)
        else:
            os.environ["BIGQUERY_EMULATOR_HOST"] = previous


@pytest.fixture(scope="session")
def bq_client(bigquery_server):
    """The official google-cloud-bigquery client, anonymous, talking to the local server."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": bigquery_server.url},
    )


@pytest.fixture
def dataset(bq_client):
    """A fresh dataset for one test, deleted with its contents afterwards."""
    dataset_id = f"test_{uuid.uuid4().hex[:10]}"
    bq_client.create_dataset(dataset_id)
    yield dataset_id
    bq_client.delete_dataset(dataset_id, delete_contents=True, not_found_ok=True)


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata DB, created once per session (dag.test() needs it)."""
    from airflow.utils import db

    db.initdb()
    return _AIRFLOW_HOME


_PRISTINE_PARAMS: dict[int, tuple[Any, dict[str, Any]]] = {}


def run_dag(dag, logical_date, conf: dict | None = None):
    """`dag.test()` for one run, on fresh copies of the DAG's and its tasks' params.

    Airflow's `Param.resolve` stores the value it validated on the Param object, and the DAG's tasks share
    those objects, so in one process a run's conf would otherwise become the next run's default.
    """
    if id(dag) not in _PRISTINE_PARAMS:
        tasks = {task.task_id: copy.deepcopy(task.params) for task in dag.tasks}
        _PRISTINE_PARAMS[id(dag)] = (copy.deepcopy(dag.params), tasks)
    dag_params, task_params = _PRISTINE_PARAMS[id(dag)]
    dag.params = copy.deepcopy(dag_params)
    for task in dag.tasks:
        task.params = copy.deepcopy(task_params[task.task_id])
    return dag.test(logical_date=logical_date, run_conf=conf)
