"""The oldest Airflow the DAG supports: what the docs promise, what the import guard enforces."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from packaging.version import Version

from segmentation.compatibility import MINIMUM_AIRFLOW, AirflowTooOld, require_airflow
from tests.conftest import ROOT


@pytest.mark.parametrize("installed", ["3.1.0", "3.2.2", "3.1.7+composer", "2.11.0"])
def test_an_older_airflow_is_refused_naming_both_versions(installed):
    with pytest.raises(
        AirflowTooOld,
        match=rf"needs Airflow {MINIMUM_AIRFLOW} or later .* runs Airflow {re.escape(installed)}",
    ):
        require_airflow(installed)


@pytest.mark.parametrize("installed", [MINIMUM_AIRFLOW, "3.3.2", "3.3.0rc1", "3.4.0+astro.1"])
def test_the_minimum_and_later_are_accepted(installed):
    require_airflow(installed)


def test_the_deployment_guide_states_the_minimum_the_guard_enforces():
    guide = (ROOT / "docs" / "deploy.md").read_text()
    (stated,) = set(re.findall(r"the DAG needs Airflow (\S+)\s+or later", guide))
    assert stated == MINIMUM_AIRFLOW


def test_the_minimum_is_the_release_that_added_what_the_dag_imports():
    import airflow
    from airflow.sdk import RetryPolicy  # ruff: ignore[unused-import]  the newest Airflow feature the DAG relies on

    assert Version(airflow.__version__) >= Version(MINIMUM_AIRFLOW)
    assert Version(MINIMUM_AIRFLOW) == Version("3.3.0")


def test_an_older_airflow_shows_one_clear_import_error_when_the_dag_is_parsed():
    parse = f"""
import airflow
airflow.__version__ = "3.1.0"
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder={str(ROOT / "dags" / "customer_segmentation.py")!r})
print(list(bag.import_errors.values())[0])
"""
    result = subprocess.run(
        [sys.executable, "-c", parse], capture_output=True, text=True, timeout=300, check=True
    )
    assert "customer_segmentation needs Airflow 3.3.0 or later" in result.stdout
    assert "runs Airflow 3.1.0" in result.stdout
