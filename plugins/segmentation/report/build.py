"""The report task's entry point: read a snapshot, render its report, publish it, return where it is."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

from segmentation.personas.store import Warehouse
from segmentation.report.data import ReportError, load_report_data
from segmentation.report.destination import DEFAULT_DESTINATION, parse_destination
from segmentation.report.render import render_report

log = logging.getLogger(__name__)


def _snapshot(snapshot_date: str | date) -> date:
    if isinstance(snapshot_date, date):
        return snapshot_date
    try:
        return date.fromisoformat(snapshot_date)
    except ValueError:
        raise ReportError(f"snapshot_date must be a date like 2024-06-29, got {snapshot_date!r}") from None


def build_report(
    *,
    snapshot_date: str | date,
    project_id: str,
    dataset: str,
    gcp_conn_id: str = "google_cloud_default",
    destination: str = DEFAULT_DESTINATION,
    location: str | None = None,
    log_transform_monetary: bool = False,
    job_labels: Mapping[str, str] | None = None,
    maximum_bytes_billed: int | None = None,
) -> str:
    """Renders the run report of `snapshot_date` and publishes it under `<destination>/<date>/`.

    Returns the HTML page's location: an absolute local path, or a `gs://` URI. An empty project means
    the connection's. `log_transform_monetary` must match the run's setting, so that the choice-of-k
    scan sees the features the way the model did. `job_labels` label its BigQuery jobs as the run's, and `maximum_bytes_billed` caps each as the run's.
    """
    day = _snapshot(snapshot_date)
    target = parse_destination(destination, gcp_conn_id)
    warehouse = Warehouse(gcp_conn_id, project_id, dataset, location, job_labels or {}, maximum_bytes_billed)
    data = load_report_data(warehouse, day)
    files = render_report(data, log_transform_monetary=log_transform_monetary)
    location_of_page = target.publish(day.isoformat(), files)
    log.info("Run report of snapshot %s: %s (%d files)", day, location_of_page, len(files))
    return location_of_page
