"""The transactions source's order lines, rendered as the DAG renders them and run on local_bigquery."""

from __future__ import annotations

import pytest
from airflow.dag_processing.dagbag import DagBag
from google.cloud import bigquery

from tests.conftest import PROJECT, ROOT
from tests.include.test_sql_templates import render

PURCHASES = [  # (customer, when): no order id; all before the rendered run's cut-off, 2024-03-01
    (1, "2024-02-10 09:00:00"),
    (1, "2024-02-10 17:30:00"),  # the same UTC day: the same order
    (1, "2024-02-11 09:00:00"),
    (2, "2024-02-10 09:00:00"),  # another customer that day: another order
]


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    return bag.dags["customer_segmentation"]


def test_without_an_order_id_an_order_is_a_customers_day(dag, bq_client, dataset):
    table_id = f"{PROJECT}.{dataset}.daily_purchases"
    table = bigquery.Table(
        table_id,
        schema=[
            bigquery.SchemaField("customer", "INT64"),
            bigquery.SchemaField("purchased_at", "DATETIME"),
            bigquery.SchemaField("spent", "NUMERIC"),
        ],
    )
    bq_client.create_table(table)
    rows = [{"customer": c, "purchased_at": at.replace(" ", "T"), "spent": "10"} for c, at in PURCHASES]
    assert bq_client.insert_rows_json(table_id, rows) == []
    conf = {
        "source_kind": "transactions",
        "transactions_table": table_id,
        "transactions_columns": {
            "customer_id": "customer",
            "order_id": None,
            "ordered_at": "purchased_at",
            "amount": "spent",
        },
    }
    task = dag.get_task("features.stage_customer_features")
    order_lines = render(dag, task, conf, "{% include 'order_lines.sql' %}")

    orders = bq_client.query_and_wait(
        f"""SELECT customer_id, COUNT(DISTINCT order_id) AS orders, COUNT(*) AS lines
            FROM ({order_lines}) GROUP BY customer_id ORDER BY customer_id"""
    )

    assert [tuple(row.values()) for row in orders] == [(1, 2, 3), (2, 1, 1)]
