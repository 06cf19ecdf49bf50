"""Benchmark: the DAG's create_tables job (include/sql/schema.sql) with the widest feature set allowed.

A deployment switching to feature_set=extended with the most spend categories a config accepts (300 pairs,
900 spend columns in customer_features and in segment_profiles) runs create_tables once to add them, then
every day as a no-op. The job is rendered as the DAG's task renders it and sent through the official client
to an in-process local_bigquery server.

    .venv/bin/python benchmarks/schema_evolution.py [--categories 300]
"""

from __future__ import annotations

import argparse
import time

import pendulum
from airflow.dag_processing.dagbag import DagBag
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from local_bigquery.server import BackgroundServer
from local_bigquery.warehouse import Warehouse
from segmentation.config import MAX_SPEND_CATEGORIES
from segmentation.paths import PROJECT_ROOT

PROJECT = "local-project"
CUT_OFF = pendulum.datetime(2024, 3, 1, tz="UTC")


def render_create_tables(conf: dict) -> str:
    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "customer_segmentation.py")).dags[
        "customer_segmentation"
    ]
    task = dag.get_task("setup.create_tables")
    context = {
        "params": {name: task.params[name] for name in task.params} | conf,
        "ds": CUT_OFF.to_date_string(),
        "ds_nodash": CUT_OFF.format("YYYYMMDD"),
        "data_interval_start": CUT_OFF,
        "data_interval_end": CUT_OFF,
    }
    return task.render_template(task.configuration["query"]["query"], context, dag.get_template_env())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--categories", type=int, default=MAX_SPEND_CATEGORIES)
    args = parser.parse_args()
    base = {"project_id": PROJECT, "dataset": "bench"}
    extended = {
        **base,
        "feature_set": "extended",
        "spend_categories": [["Dept", f"Category {i}"] for i in range(args.categories)],
    }
    steps = [("base feature set, tables created", base), ("extended: columns added", extended)]
    steps.append(("extended again: nothing to add", extended))
    with BackgroundServer(Warehouse()) as server:
        client = bigquery.Client(
            project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
        )
        client.create_dataset("bench")
        for label, conf in steps:
            sql = render_create_tables(conf)
            started = time.perf_counter()
            client.query_and_wait(sql)
            print(f"{label}: {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
