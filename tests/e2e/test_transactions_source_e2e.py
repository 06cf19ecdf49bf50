"""The DAG on a `transactions` source of real rows: the committed UCI Online Retail slice, cleaned by its view
and copied into a table whose column names differ from the pipeline's, read through a column mapping.

A run succeeds and its features add up to the purchase lines; a mapping naming a column that does not
exist fails the run before any table is written.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pendulum
import pytest

from scripts.run_retail import create_transactions_view, load_raw, purchase_summary
from tests.conftest import PROJECT, ROOT, run_dag

pytestmark = pytest.mark.airflow

DATE = "2011-12-10"
SLICE = ROOT / "tests" / "data" / "online_retail_slice.csv"
MAPPING = {
    "customer_id": "client",
    "order_id": "invoice",
    "ordered_at": "placed",
    "amount": "line_total",
    "country": "ship_to",
}


@pytest.fixture(scope="module")
def orders(bq_client) -> tuple[str, dict]:
    """The cleaned slice under the user's own column names, and what its purchase lines add up to."""
    dataset = f"retail_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(dataset)
    raw, view, table = (f"{PROJECT}.{dataset}.{name}" for name in ("raw", "transactions", "orders"))
    load_raw(bq_client, raw, SLICE)
    create_transactions_view(bq_client, raw, view)
    bq_client.query_and_wait(
        f"""CREATE TABLE `{table}` AS
            SELECT customer_id AS client, order_id AS invoice, DATETIME(ordered_at) AS placed,
                   amount AS line_total, country AS ship_to
            FROM `{view}`"""
    )
    yield table, purchase_summary(bq_client, view)
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture(scope="module")
def dag(airflow_db, bigquery_server):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_segmentation"]


def _conf(table: str, output: str, mapping: dict) -> dict:
    return {
        "project_id": PROJECT,
        "dataset": output,
        "source_kind": "transactions",
        "transactions_table": table,
        "transactions_columns": mapping,
        "num_clusters": 3,
        "persona_backend": "offline",
    }


def test_a_mapped_transactions_table_runs_and_its_features_add_up(dag, orders, bq_client):
    table, purchases = orders
    output = f"segmentation_{uuid.uuid4().hex[:8]}"
    try:
        run = run_dag(dag, pendulum.parse(DATE), _conf(table, output, MAPPING))
        assert run.state == "success"
        (features,) = bq_client.query_and_wait(
            f"""SELECT COUNT(*) AS customers, SUM(frequency) AS invoices, SUM(monetary) AS revenue
                FROM `{output}.customer_features` WHERE snapshot_date = DATE '{DATE}'"""
        )
        assert (features.customers, features.invoices) == (purchases["customers"], purchases["invoices"])
        assert Decimal(str(features.revenue)).quantize(Decimal("0.01")) == purchases["revenue"]
        (segments,) = bq_client.query_and_wait(
            f"SELECT COUNT(*) AS customers, COUNT(DISTINCT segment_id) AS segments FROM `{output}.customer_segments`"
        )
        assert (segments.customers, segments.segments) == (purchases["customers"], 3)
    finally:
        bq_client.delete_dataset(output, delete_contents=True, not_found_ok=True)


def test_a_wrong_column_name_fails_the_run_before_any_table_is_written(dag, orders, bq_client):
    from google.api_core.exceptions import NotFound

    table, _ = orders
    output = f"segmentation_{uuid.uuid4().hex[:8]}"
    run = run_dag(dag, pendulum.parse(DATE), _conf(table, output, {**MAPPING, "amount": "linetotal"}))

    assert run.state == "failed"
    states = {ti.task_id: ti.state for ti in run.get_task_instances()}
    assert states["check_source"] == "failed"
    assert all(state != "success" for task, state in states.items() if task.startswith("setup."))
    with pytest.raises(NotFound):
        bq_client.get_dataset(output)
