"""Failure visibility: a one-line summary of every failed task and missed run deadline, in the logs and,
when the deployment configures it, in a notification.

`on_task_failure` is the DAG's `on_failure_callback`; it runs in the failed task's process, so its summary
lands in that task's log. `run_deadline()` is the DAG's deadline alert; its callback runs in the triggerer
when a run is still unfinished a configured time after it was queued.

Notifications go through the Airflow connection `segmentation_alerts` when it exists, chosen by its type:
- `http` / `https`: a JSON POST to the connection's URL, `{"text": <summary>, "alert": {...}}` (what Slack,
  Google Chat and most incoming webhooks accept), e.g. `AIRFLOW_CONN_SEGMENTATION_ALERTS=
  'https://hooks.slack.com/services/T000/B000/XXXX'`;
- `smtp`: an email through the SMTP provider, to the addresses in the connection's extra `to`.
Without the connection only the log line is written. A notification that cannot be sent is logged as an
error and never hides the failure it reports. Drift alerts (segmentation.drift) go the same way.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
from airflow.sdk import AsyncCallback, BaseNotifier, Connection, DeadlineAlert, DeadlineReference
from airflow.sdk.configuration import conf
from airflow.sdk.exceptions import AirflowNotFoundException

log = logging.getLogger(__name__)

ALERT_CONN_ID = "segmentation_alerts"
DEADLINE_VARIABLE = "SEGMENTATION_DEADLINE_MINUTES"
DEFAULT_DEADLINE = timedelta(hours=4)
DEADLINE_OFF = "off"
WEBHOOK_TIMEOUT_SECONDS = 10.0
MAX_ERROR_CHARS = 500
WEBHOOK_TYPES = frozenset({"http", "https"})
EMAIL_TYPES = frozenset({"smtp", "email"})


@dataclass(frozen=True)
class Alert:
    """What an operator needs from one line: what failed, where, for which date, why, and the log."""

    event: str
    dag_id: str
    run_id: str
    date: str
    error: str
    log_url: str
    task_id: str | None = None

    def summary(self) -> str:
        task = f" task={self.task_id}" if self.task_id else ""
        return (
            f"{self.event}: dag={self.dag_id}{task} date={self.date} run={self.run_id} "
            f"error={self.error} log={self.log_url}"
        )

    def payload(self) -> dict[str, Any]:
        return {"text": self.summary(), "alert": asdict(self)}

    @classmethod
    def for_failed_task(cls, context: Mapping[str, Any]) -> Alert:
        ti = context["ti"]
        return cls(
            event="task failed",
            dag_id=ti.dag_id,
            task_id=ti.task_id,
            run_id=ti.run_id,
            date=_date_of(context),
            error=one_line(context.get("exception")),
            log_url=ti.log_url,
        )

    @classmethod
    def for_missed_deadline(cls, context: Mapping[str, Any]) -> Alert:
        """From the context the scheduler gives deadline callbacks: the run as the REST API shows it."""
        run = context["dag_run"]
        return cls(
            event="run deadline missed",
            dag_id=run["dag_id"],
            run_id=run["dag_run_id"],
            date=run.get("logical_date") or run.get("run_after") or "",
            error=f"run is {run.get('state')} at its deadline {context['deadline']['deadline_time']}",
            log_url=run_url(run["dag_id"], run["dag_run_id"]),
        )


def one_line(error: BaseException | str | None) -> str:
    if error is None:
        return "unknown error"
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


def _date_of(context: Mapping[str, Any]) -> str:
    # A run triggered without a logical date has only the time it was due.
    date = context.get("logical_date") or context["dag_run"].run_after
    return date.isoformat()


def run_url(dag_id: str, run_id: str) -> str:
    base_url = conf.get("api", "base_url", fallback="http://localhost:8080/")
    return f"{base_url.rstrip('/')}/dags/{dag_id}/runs/{quote(run_id)}"


def webhook_url(connection: Connection) -> str:
    port = f":{connection.port}" if connection.port else ""
    path = f"/{connection.schema.lstrip('/')}" if connection.schema else ""
    return f"{connection.conn_type}://{connection.host}{port}{path}"


def email_notifier(alert: Alert, connection: Connection):
    """The SMTP provider's notifier, addressed by the connection's extra `to`."""
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier

    recipients = connection.extra_dejson.get("to")
    if not recipients:
        raise ValueError(f"connection {connection.conn_id} (smtp) has no `to` in its extra: nobody to email")
    return SmtpNotifier(
        to=recipients,
        subject=f"[airflow] {alert.event}: {alert.dag_id} {alert.task_id or ''}".strip(),
        html_content=f"<pre>{alert.summary()}</pre>",
        smtp_conn_id=connection.conn_id,
    )


def _unsupported(connection: Connection) -> ValueError:
    return ValueError(
        f"connection {connection.conn_id} has type {connection.conn_type!r}; alerts are sent through "
        f"{sorted(WEBHOOK_TYPES)} webhooks or {sorted(EMAIL_TYPES)} connections"
    )


def send(alert: Alert, connection: Connection) -> None:
    if connection.conn_type in WEBHOOK_TYPES:
        response = httpx.post(webhook_url(connection), json=alert.payload(), timeout=WEBHOOK_TIMEOUT_SECONDS)
        response.raise_for_status()
    elif connection.conn_type in EMAIL_TYPES:
        email_notifier(alert, connection).notify({})
    else:
        raise _unsupported(connection)


async def async_send(alert: Alert, connection: Connection) -> None:
    if connection.conn_type in WEBHOOK_TYPES:
        async with httpx.AsyncClient(timeout=WEBHOOK_TIMEOUT_SECONDS) as client:
            response = await client.post(webhook_url(connection), json=alert.payload())
        response.raise_for_status()
    elif connection.conn_type in EMAIL_TYPES:
        await email_notifier(alert, connection).async_notify({})
    else:
        raise _unsupported(connection)


def notify_through(alert: Any, conn_id: str = ALERT_CONN_ID) -> bool:
    """Sends an alert (anything with `event`, `dag_id`, `task_id`, `summary()` and `payload()`, like
    `Alert`) through `conn_id` if that connection exists; whether it was sent. A failure to send is
    logged, never raised: it must not hide what the alert reports."""
    try:
        connection = Connection.get(conn_id)
    except AirflowNotFoundException:
        return False
    try:
        send(alert, connection)
    except Exception:
        log.exception("could not send the alert through connection %s", conn_id)
        return False
    return True


class SegmentationAlertNotifier(BaseNotifier):
    """Logs an alert's summary, then notifies through `conn_id` if that connection exists.

    Called with a task's context (sync, `on_failure_callback`) it reports the failed task; awaited by a
    deadline's callback in the triggerer (async) it reports the late run.
    """

    def __init__(self, conn_id: str = ALERT_CONN_ID, context: Any = None):
        super().__init__(context=context)
        self.conn_id = conn_id

    def notify(self, context: Any) -> None:
        alert = Alert.for_failed_task(context)
        log.error("%s", alert.summary())
        notify_through(alert, self.conn_id)

    async def async_notify(self, context: Any) -> None:
        alert = Alert.for_missed_deadline(context)
        log.error("%s", alert.summary())
        try:
            connection = await Connection.async_get(self.conn_id)
        except AirflowNotFoundException:
            return
        try:
            await async_send(alert, connection)
        except Exception:
            log.exception("could not send the alert through connection %s", self.conn_id)


on_task_failure = SegmentationAlertNotifier()


def deadline_from_environment(environ: Mapping[str, str] = os.environ) -> timedelta | None:
    """The deployment's run deadline: SEGMENTATION_DEADLINE_MINUTES after queueing, 4 hours if unset,
    none if `off`."""
    value = environ.get(DEADLINE_VARIABLE, "").strip()
    if not value:
        return DEFAULT_DEADLINE
    if value.lower() == DEADLINE_OFF:
        return None
    try:
        minutes = float(value)
    except ValueError:
        raise ValueError(
            f"{DEADLINE_VARIABLE} must be a number of minutes or {DEADLINE_OFF!r}, got {value!r}"
        ) from None
    if minutes <= 0:
        raise ValueError(f"{DEADLINE_VARIABLE} must be positive, got {value!r}")
    return timedelta(minutes=minutes)


def run_deadline(within: timedelta | None = None, conn_id: str = ALERT_CONN_ID) -> DeadlineAlert | None:
    """Alerts when a run has not finished `within` (default: the deployment's deadline) of being queued;
    None when the deployment turned the deadline off.

    Measured from queueing rather than the logical date, so a backfill of old dates is not late at once;
    for scheduled runs the two coincide.
    """
    interval = within or deadline_from_environment()
    if interval is None:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=interval,
        callback=AsyncCallback(SegmentationAlertNotifier, kwargs={"conn_id": conn_id}),
        name="run finished in time",
    )
