"""`scripts/run_local.py` through real `airflow dags test` runs: progress, and runs that did nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from local_bigquery.server import free_port
from tests.conftest import ROOT

# Whole `airflow dags test` runs in a subprocess: its own 600 s timeout, not the suite's 300 s, names a hang.
pytestmark = [pytest.mark.airflow, pytest.mark.timeout(660)]


def run_local(tmp_path, *arguments: str, **environ: str) -> subprocess.CompletedProcess:
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"} | environ
    return subprocess.run(
        [
            sys.executable,
            "scripts/run_local.py",
            f"--port={free_port()}",
            f"--data-dir={tmp_path / 'warehouse'}",
            f"--airflow-home={tmp_path / 'airflow'}",
            *arguments,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_run_before_the_start_date_fails_naming_the_cause(tmp_path):
    # Airflow's `dags test` exits 0 and calls the run a success, though it ran no task.
    result = run_local(tmp_path, "--date=2024-06-29", "--users=200", SEGMENTATION_START_DATE="2030-01-01")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert (
        "ran no task: 2024-06-29 is before the DAG's start date 2030-01-01; set SEGMENTATION_START_DATE"
        in result.stdout
    )


def test_a_file_of_your_own_runs_with_one_command(tmp_path):
    """The committed Online Retail slice as an analyst's own file: purchase lines, their own column names."""
    import duckdb

    orders = tmp_path / "orders.csv"
    duckdb.sql(
        f"""COPY (SELECT CustomerID, InvoiceNo, InvoiceDate, round(Quantity * UnitPrice, 2) AS LineTotal
                  FROM read_csv('{ROOT / "tests" / "data" / "online_retail_slice.csv"}', header = true)
                  WHERE CustomerID IS NOT NULL AND NOT starts_with(InvoiceNo, 'C')
                    AND Quantity > 0 AND UnitPrice > 0)
            TO '{orders}' (HEADER)"""
    )
    ((customers, day_after_newest),) = duckdb.sql(
        f"SELECT COUNT(DISTINCT CustomerID), MAX(InvoiceDate)::DATE + 1 FROM read_csv('{orders}')"
    ).fetchall()

    result = run_local(
        tmp_path,
        f"--transactions={orders}",
        "--columns=customer_id=CustomerID,order_id=InvoiceNo,ordered_at=InvoiceDate,amount=LineTotal",
        '--conf={"num_clusters": 3}',
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "into local-project.my_orders.transactions (CustomerID INTEGER, InvoiceNo INTEGER" in result.stdout
    # A progress line per task as it finishes, in the order the tasks ran.
    progress = [line.split()[:2] for line in result.stdout.splitlines() if line.endswith(" s")]
    assert progress[0] == ["validate_config", "success"]
    assert ["features.stage_customer_features", "success"] in progress
    assert progress[-3:] == [
        ["report", "success"],
        ["record_report_costs", "success"],
        ["check_run_outputs", "success"],
    ]
    assert f"Snapshot {day_after_newest}: {customers:,} customers in 3 segments" in result.stdout
    assert "Tables in local-project.my_orders_segmentation:" in result.stdout
