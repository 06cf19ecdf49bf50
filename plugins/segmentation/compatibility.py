"""The oldest Airflow the DAG runs on, checked when the package is imported.

The tasks take a retry policy (`airflow.sdk.RetryPolicy`, AIP-105), new in Airflow 3.3.0
(https://airflow.apache.org/docs/apache-airflow/3.3.0/core-concepts/tasks.html). On an older environment
the DAG shows this one import error instead of "cannot import name 'RetryPolicy' from 'airflow.sdk'".
"""

from __future__ import annotations

import airflow
from packaging.version import Version

MINIMUM_AIRFLOW = "3.3.0"


class AirflowTooOld(ImportError):
    """The environment's Airflow predates what the DAG uses."""


def require_airflow(installed: str) -> None:
    if Version(installed).release < Version(MINIMUM_AIRFLOW).release:
        raise AirflowTooOld(
            f"customer_segmentation needs Airflow {MINIMUM_AIRFLOW} or later (its tasks use retry policies, "
            f"new in 3.3); this environment runs Airflow {installed}: upgrade the environment's image"
        )


require_airflow(airflow.__version__)
