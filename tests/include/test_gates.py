"""The source gates on small hand-made sources: each renders as the DAG's task renders it and runs on
local_bigquery through the real client, so the message a gate raises is the one the task log shows."""

from __future__ import annotations

import uuid

import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag
from google.api_core.exceptions import BadRequest

from tests.conftest import PROJECT, ROOT

CUT_OFF = pendulum.datetime(2024, 6, 1, tz="UTC")


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_segmentation"]


def _order_item(item_id: int, created_at: str, sale_price: float = 20.0, user_id: int = 1) -> str:
    return (
        f"STRUCT({item_id} AS id, {user_id} AS user_id, {item_id} AS order_id, 7 AS product_id, "
        f"TIMESTAMP '{created_at}' AS created_at, CAST({sale_price!r} AS FLOAT64) AS sale_price, "
        "'Complete' AS status, CAST(NULL AS TIMESTAMP) AS returned_at)"
    )


@pytest.fixture
def thelook_source(bq_client):
    """`make(items)`: a thelook-shaped source dataset whose order_items are `items` (_order_item rows)."""
    created = []

    def make(*items: str) -> str:
        dataset = f"gate_source_{uuid.uuid4().hex[:8]}"
        bq_client.create_dataset(dataset)
        created.append(dataset)
        bq_client.query_and_wait(
            f"CREATE TABLE `{dataset}.order_items` AS SELECT * FROM UNNEST([{', '.join(items)}])"
        )
        bq_client.query_and_wait(
            f"CREATE TABLE `{dataset}.products` AS "
            "SELECT 7 AS id, 'Women' AS department, 'Dresses' AS category"
        )
        return dataset

    yield make
    for dataset in created:
        bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def run_gate(dag, bq_client, task_id: str, conf: dict) -> str | None:
    """The gate's error message for a run on CUT_OFF with `conf`, or None when it passes."""
    context = {
        "ds": CUT_OFF.to_date_string(),
        "ds_nodash": CUT_OFF.format("YYYYMMDD"),
        "data_interval_start": CUT_OFF.subtract(days=1),
        "data_interval_end": CUT_OFF,
    }
    try:
        # The source gates read what the run's one scan of the source staged; later gates read their own
        # staged tables, and a source their test never made must not be read.
        staged_first = ("source.stage_customer_order_history",) if task_id.startswith("source.") else ()
        for task in map(dag.get_task, (*staged_first, task_id)):
            params = {name: task.params[name] for name in task.params} | {"project_id": PROJECT} | conf
            sql = task.configuration["query"]["query"]
            bq_client.query_and_wait(
                task.render_template(sql, context | {"params": params}, dag.get_template_env())
            )
    except BadRequest as error:
        return error.message
    return None


def _thelook(dataset: str) -> dict:
    """A thelook source in `dataset`; the run's staging tables go there too."""
    return {"source_project": PROJECT, "source_dataset": dataset, "dataset": dataset}


def test_freshness_names_the_latest_earlier_order(dag, bq_client, thelook_source):
    source = thelook_source(_order_item(1, "2024-05-20 08:30:00"), _order_item(2, "2024-04-02 10:00:00"))
    message = run_gate(dag, bq_client, "source.check_freshness", _thelook(source))
    assert "source freshness gate failed: no orders" in message
    assert "latest earlier order: 2024-05-20 08:30:00+00" in message


def test_sane_lines_pass_the_values_gate(dag, bq_client, thelook_source):
    source = thelook_source(_order_item(1, "2024-05-30 08:00:00"), _order_item(2, "2024-05-31 09:00:00"))
    assert run_gate(dag, bq_client, "source.check_values", _thelook(source)) is None


def test_a_duplicated_order_item_fails_the_values_gate(dag, bq_client, thelook_source):
    line = _order_item(1, "2024-05-30 08:00:00")
    source = thelook_source(line, line, line, _order_item(2, "2024-05-31 09:00:00"))
    message = run_gate(dag, bq_client, "source.check_values", _thelook(source))
    assert "source values gate failed: 2 order lines repeating the line key order_items.id" in message


@pytest.mark.parametrize("literal", ["1e300", "'inf'", "'nan'"])
def test_an_implausible_price_fails_the_values_gate(dag, bq_client, thelook_source, literal):
    source = thelook_source(_order_item(1, "2024-05-30 08:00:00"), _order_item(2, "2024-05-31 09:00:00"))
    bq_client.query_and_wait(
        f"UPDATE `{source}.order_items` SET sale_price = CAST({literal} AS FLOAT64) WHERE id = 2"
    )
    message = run_gate(dag, bq_client, "source.check_values", _thelook(source))
    assert (
        "source values gate failed: 1 order lines with a sale_price above 1000000.00 (max_line_amount)"
    ) in message


def test_the_plausibility_bound_is_a_setting(dag, bq_client, thelook_source):
    source = thelook_source(_order_item(1, "2024-05-30 08:00:00", sale_price=2500.0))
    conf = {**_thelook(source), "max_line_amount": 1000}
    assert "above 1000.00 (max_line_amount)" in run_gate(dag, bq_client, "source.check_values", conf)


def test_a_mapped_line_id_is_checked_for_duplicates(dag, bq_client, thelook_source):
    dataset = thelook_source(_order_item(1, "2024-05-30 08:00:00"))
    bq_client.query_and_wait(
        f"""CREATE TABLE `{dataset}.lines` AS
            SELECT line_no, 7 AS customer_id, 'o1' AS order_id,
                   TIMESTAMP '2024-05-30 08:00:00' AS ordered_at, 12.5 AS amount
            FROM UNNEST(['A-1', 'A-1', 'A-2']) AS line_no"""
    )
    transactions = {
        "source_kind": "transactions",
        "transactions_table": f"{PROJECT}.{dataset}.lines",
        "dataset": dataset,
    }
    assert run_gate(dag, bq_client, "source.check_values", transactions) is None  # no line key: no check
    mapped = {**transactions, "transactions_columns": {"line_id": "line_no"}}
    message = run_gate(dag, bq_client, "source.check_values", mapped)
    assert "1 order lines repeating the line key line_no of another line" in message
