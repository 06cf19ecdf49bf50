"""`scripts/run_local.py` through real `airflow dags test` runs: progress, and runs that did nothing."""

from __future__ import annotations

import os
import subprocess
import sys

from local_bigquery.server import free_port
from tests.conftest import ROOT


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
