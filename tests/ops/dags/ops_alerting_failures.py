"""Tasks that fail on purpose, each reporting through a different alert connection (tests/ops)."""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from segmentation.alerts import SegmentationAlertNotifier, on_task_failure


def fail(reason: str) -> None:
    raise ValueError(f"{reason}\n  (second line of the message)")


@dag(
    dag_id="ops_alerting_failures",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    default_args={"retries": 0, "on_failure_callback": on_task_failure},
)
def ops_alerting_failures():
    @task
    def webhook_alert():
        fail("customer_features gate failed: 12 rows with negative monetary")

    @task(on_failure_callback=SegmentationAlertNotifier(conn_id="segmentation_alerts_email"))
    def email_alert():
        fail("source freshness gate failed")

    @task(on_failure_callback=SegmentationAlertNotifier(conn_id="segmentation_alerts_unset"))
    def log_only_alert():
        fail("no connection configured for this one")

    @task(on_failure_callback=SegmentationAlertNotifier(conn_id="segmentation_alerts_broken"))
    def broken_channel_alert():
        fail("the alert channel answers 500")

    webhook_alert()
    email_alert()
    log_only_alert()
    broken_channel_alert()


ops_alerting_failures()
