"""What a run delivers besides its tables: the report, linked from the Airflow UI, and the check that the
run delivered its personas and its report.

Airflow 3 shows an operator's extra links on the task instance's page; the worker computes each link when
the task finishes and stores it as an XCom, which the UI reads
(https://airflow.apache.org/docs/apache-airflow/stable/howto/define-extra-link.html).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseOperatorLink

from segmentation.costs import PERSONA_TASK

REPORT_TASK = "report"
# The tasks whose results a complete run has: check_outputs reads what they returned.
RUN_OUTPUT_TASKS = (PERSONA_TASK, REPORT_TASK)
GCS_SCHEME = "gs://"
# Cloud Storage's authenticated browser endpoint: whoever may read the object opens it in the browser with
# their Google sign-in (https://cloud.google.com/storage/docs/request-endpoints).
GCS_BROWSER = "https://storage.cloud.google.com/"


def browser_url(location: str) -> str:
    """Where a browser opens a published report: a gs:// object through Cloud Storage's browser endpoint,
    a local page as a file: URL (useful only on the machine that ran the task)."""
    if location.startswith(GCS_SCHEME):
        return GCS_BROWSER + quote(location.removeprefix(GCS_SCHEME))
    return Path(location).resolve().as_uri()


class RunReportLink(BaseOperatorLink):
    """ "Run report" on the report task's page: the report its run published, once it has."""

    name = "Run report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        # Imported when a task finishes, not when the DAG is parsed.
        from airflow.sdk.execution_time.xcom import XCom

        location = XCom.get_value(ti_key=ti_key, key="return_value")
        return browser_url(location) if location else ""


class RunReportOperator(PythonOperator):
    """A Python task returning where it published the run report, linked from its page."""

    operator_extra_links = (RunReportLink(),)


class MissingRunOutputs(Exception):
    """The run published its snapshot without its personas or its report; a retry of the check cannot
    bring them back (rerun the task that failed)."""


def check_outputs(snapshot_date: str, returned: dict[str, object]) -> None:
    """Raises MissingRunOutputs naming what is missing, from what RUN_OUTPUT_TASKS returned (None: the task
    did not succeed)."""
    missing = {
        PERSONA_TASK: f"the persona step failed, so snapshot {snapshot_date} is published without personas "
        f"(rerun {PERSONA_TASK} once its cause is fixed)",
        REPORT_TASK: f"the run report of snapshot {snapshot_date} was not published",
    }
    problems = [problem for task_id, problem in missing.items() if returned.get(task_id) is None]
    if problems:
        raise MissingRunOutputs("; ".join(problems))
