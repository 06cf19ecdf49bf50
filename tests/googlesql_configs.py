"""The settings the GoogleSQL tests render the DAG's jobs for: every kind of source and model."""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from scripts.dag_statements import Job, dag_jobs

LOGICAL_DATE = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
PROJECT, DATASET = "acme-analytics", "segmentation"
PRODUCTION = {"project_id": PROJECT, "dataset": DATASET, "location": "EU"}
TRANSACTIONS_TABLE = f"{PROJECT}.shop.order_lines"
CONFIGS: dict[str, dict[str, Any]] = {
    "default": PRODUCTION,
    "extended-tuned-log": {
        **PRODUCTION,
        "feature_set": "extended",
        "num_clusters": None,
        "k_min": 3,
        "k_max": 8,
        "log_transform_monetary": True,
    },
    "transactions-status": {
        **PRODUCTION,
        "source_kind": "transactions",
        "transactions_table": TRANSACTIONS_TABLE,
        "transactions_columns": {
            "customer_id": "client",
            "order_id": "invoice",
            "ordered_at": "sold_at",
            "amount": "price",
            "status": "state",
            "category": "product_group",
        },
    },
    "transactions-flags": {
        **PRODUCTION,
        "source_kind": "transactions",
        "transactions_table": TRANSACTIONS_TABLE,
        "transactions_columns": {"is_cancelled": "cancelled", "is_returned": "returned"},
    },
}
# The user's own order lines for each transactions config, of types the mapping accepts.
TRANSACTIONS_SCHEMAS = {
    "transactions-status": [
        ["client", "INT64"],
        ["invoice", "STRING"],
        ["sold_at", "DATETIME"],
        ["price", "NUMERIC"],
        ["quantity", "INT64"],
        ["state", "STRING"],
        ["product_group", "STRING"],
    ],
    "transactions-flags": [
        ["customer_id", "INT64"],
        ["order_id", "INT64"],
        ["ordered_at", "DATE"],
        ["amount", "FLOAT64"],
        ["cancelled", "BOOL"],
        ["returned", "BOOL"],
    ],
}


@cache
def rendered_jobs() -> dict[str, list[Job]]:
    """Every config's jobs, rendered once per test process (rendering imports the DAG and Airflow)."""
    return {name: dag_jobs(conf, LOGICAL_DATE) for name, conf in CONFIGS.items()}
