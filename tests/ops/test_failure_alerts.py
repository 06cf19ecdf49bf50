"""Failure alerts through real Airflow: a failing DAG run, a deadline callback in the triggerer's trigger,
and local servers receiving the webhook POSTs and the SMTP mail."""

from __future__ import annotations

import asyncio
import email
import json
import os
import re
import subprocess
import sys
import threading
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from segmentation.alerts import (
    DEADLINE_VARIABLE,
    DEFAULT_DEADLINE,
    Alert,
    deadline_from_environment,
    one_line,
    run_deadline,
)
from tests.fakes.webhook import Webhook

ROOT = Path(__file__).resolve().parents[2]
FAILING_DAG = "ops_alerting_failures"


class Inbox:
    """A local SMTP server (the standard library's, Python 3.11) keeping the messages it receives."""

    def __init__(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import asyncore
            import smtpd
        self.messages: list[tuple[str, list[str], str]] = []
        messages = self.messages

        class Server(smtpd.SMTPServer):
            def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
                messages.append((mailfrom, rcpttos, data.decode() if isinstance(data, bytes) else data))

        self._asyncore = asyncore
        self.server = Server(("127.0.0.1", 0), None, decode_data=False)
        self.port = self.server.socket.getsockname()[1]
        self._thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.1}, daemon=True)
        self._thread.start()

    def close(self):
        self.server.close()
        self._asyncore.close_all()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def inbox():
    server = Inbox()
    yield server
    server.close()


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """`airflow dags test` of a DAG whose tasks fail, each alerting through another connection."""
    home = tmp_path_factory.mktemp("airflow-alerts")
    webhook, broken, inbox = Webhook(), Webhook(status=500), Inbox()
    email_extra = {"to": "ops@example.com", "from_email": "airflow@example.com", "disable_tls": True,
                   "disable_ssl": True, "retry_limit": 1, "timeout": 10}  # fmt: skip
    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "tests" / "ops" / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__API__BASE_URL": "http://airflow.example.com:8080",
        "AIRFLOW_CONN_SEGMENTATION_ALERTS": webhook.url,
        "AIRFLOW_CONN_SEGMENTATION_ALERTS_BROKEN": broken.url,
        "AIRFLOW_CONN_SEGMENTATION_ALERTS_EMAIL": json.dumps(
            {"conn_type": "smtp", "host": "127.0.0.1", "port": inbox.port, "extra": email_extra}
        ),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
    }
    airflow = str(Path(sys.executable).with_name("airflow"))
    try:
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
        finished = subprocess.run(
            [airflow, "dags", "test", FAILING_DAG, "2024-06-29"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        yield {
            "output": finished.stdout + finished.stderr,
            "logs": home / "logs",
            "webhook": webhook.received,
            "broken": broken.received,
            "mail": inbox.messages,
        }
    finally:
        webhook.close()
        broken.close()
        inbox.close()


def logged_lines(run: dict, text: str) -> list[str]:
    """`airflow dags test` runs the tasks in its own process, so their logs are in its output."""
    return [line for line in run["output"].splitlines() if text in line]


pytestmark = pytest.mark.airflow


def test_failed_task_logs_a_one_line_summary(failed_run):
    (line,) = logged_lines(failed_run, "task failed: dag=ops_alerting_failures task=log_only_alert")
    summary = re.search(r"\[error\s*\] (task failed: .*?) \[segmentation\.alerts\]", line).group(1)
    run_id = re.search(r"run=(\S+)", summary).group(1)
    assert summary == (
        f"task failed: dag={FAILING_DAG} task=log_only_alert date=2024-06-29T00:00:00+00:00 run={run_id} "
        f"error=ValueError: no connection configured for this one (second line of the message) "
        f"log=http://airflow.example.com:8080/dags/{FAILING_DAG}/runs/{quote(run_id)}/tasks/log_only_alert"
        f"?try_number=1"
    )


def test_failed_task_posts_to_the_webhook_connection(failed_run):
    (payload,) = failed_run["webhook"]
    alert = payload["alert"]
    assert (alert["event"], alert["dag_id"], alert["task_id"]) == (
        "task failed",
        FAILING_DAG,
        "webhook_alert",
    )
    assert alert["error"] == (
        "ValueError: customer_features gate failed: 12 rows with negative monetary (second line of the message)"
    )
    assert alert["log_url"].endswith("/tasks/webhook_alert?try_number=1")
    assert payload["text"] == Alert(**alert).summary()
    assert logged_lines(failed_run, payload["text"])


def test_failed_task_emails_through_the_smtp_connection(failed_run):
    (message,) = failed_run["mail"]
    sender, recipients, data = message
    assert (sender, recipients) == ("airflow@example.com", ["ops@example.com"])
    mail = email.message_from_string(data)
    assert mail["Subject"] == f"[airflow] task failed: {FAILING_DAG} email_alert"
    (html,) = [
        part.get_payload(decode=True).decode()
        for part in mail.walk()
        if part.get_content_type() == "text/html"
    ]
    assert "ValueError: source freshness gate failed (second line of the message)" in html


def test_a_channel_that_fails_is_logged_and_the_task_still_fails(failed_run):
    assert len(failed_run["broken"]) == 1
    assert logged_lines(failed_run, "could not send the alert through connection segmentation_alerts_broken")
    assert logged_lines(failed_run, "Server error '500 Internal Server Error'")
    assert logged_lines(failed_run, "DagRun Finished") and "state=failed" in failed_run["output"]


def test_only_the_configured_connections_were_notified(failed_run):
    task_ids = [payload["alert"]["task_id"] for payload in failed_run["webhook"] + failed_run["broken"]]
    assert sorted(task_ids) == ["broken_channel_alert", "webhook_alert"]
    assert len(failed_run["mail"]) == 1


def deadline_context(run_id: str = "scheduled__2024-06-29T00:00:00+00:00") -> dict:
    """What the scheduler hands a deadline callback: the run as the REST API serializes it."""
    return {
        "dag_run": {
            "dag_run_id": run_id,
            "dag_id": "customer_segmentation",
            "logical_date": "2024-06-29T00:00:00Z",
            "run_after": "2024-06-29T00:00:00Z",
            "queued_at": "2024-06-29T00:00:05Z",
            "state": "running",
            "run_type": "scheduled",
        },
        "deadline": {"id": "0195f1e4-0000-7000-8000-000000000000", "deadline_time": "2024-06-29T04:00:05Z"},
    }


def run_callback_trigger(deadline, context: dict) -> list[dict]:
    """Runs the deadline's callback the way the triggerer does, through CallbackTrigger."""
    from airflow.triggers.callback import CallbackTrigger

    trigger = CallbackTrigger(
        callback_path=deadline.callback.path, callback_kwargs={**deadline.callback.kwargs, "context": context}
    )

    async def events():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(events())


def test_missed_deadline_notifies_through_the_connection(webhook, monkeypatch, caplog):
    monkeypatch.setenv("AIRFLOW_CONN_SEGMENTATION_ALERTS", webhook.url)
    events = run_callback_trigger(run_deadline(timedelta(hours=4)), deadline_context())

    assert [event["state"] for event in events] == ["running", "success"]
    (payload,) = webhook.received
    assert payload["text"] == (
        "run deadline missed: dag=customer_segmentation date=2024-06-29T00:00:00Z "
        "run=scheduled__2024-06-29T00:00:00+00:00 error=run is running at its deadline 2024-06-29T04:00:05Z "
        "log=http://localhost:8080/dags/customer_segmentation/runs/scheduled__2024-06-29T00%3A00%3A00%2B00%3A00"
    )
    assert payload["text"] in caplog.text


def test_missed_deadline_without_connection_only_logs(webhook, monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_CONN_SEGMENTATION_ALERTS", raising=False)
    deadline = run_deadline(timedelta(minutes=30), conn_id="segmentation_alerts_not_configured")
    events = run_callback_trigger(deadline, deadline_context("manual__late"))

    assert events[-1]["state"] == "success"
    assert webhook.received == []
    assert "run deadline missed: dag=customer_segmentation" in caplog.text
    assert "run=manual__late" in caplog.text


def test_run_deadline_survives_dag_serialization():
    """The DAG processor stores the deadline as JSON; the scheduler decodes it from there."""
    from airflow.sdk import DAG
    from airflow.serialization.decoders import decode_deadline_alert
    from airflow.serialization.serialized_objects import DagSerialization

    with DAG("ops_deadline", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=UTC)) as dag:
        pass
    dag.deadline = [run_deadline(timedelta(minutes=90))]
    stored = json.loads(json.dumps(DagSerialization.to_dict(dag)))
    (encoded,) = DagSerialization.from_dict(stored).deadline
    deadline = decode_deadline_alert(encoded)

    assert type(deadline.reference).__name__ == "DagRunQueuedAtDeadline"
    assert deadline.interval == timedelta(minutes=90)
    assert deadline.callback.path == "segmentation.alerts.SegmentationAlertNotifier"
    assert deadline.callback.kwargs == {"conn_id": "segmentation_alerts"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, DEFAULT_DEADLINE),
        ("", DEFAULT_DEADLINE),
        ("90", timedelta(minutes=90)),
        ("0.5", timedelta(seconds=30)),
        ("off", None),
        (" Off ", None),
    ],
)
def test_deadline_from_environment(value, expected):
    environ = {} if value is None else {DEADLINE_VARIABLE: value}
    assert deadline_from_environment(environ) == expected


@pytest.mark.parametrize(
    ("value", "problem"), [("4h", "a number of minutes or 'off'"), ("-5", "positive"), ("0", "positive")]
)
def test_bad_deadline_setting_is_refused_by_name(value, problem):
    with pytest.raises(ValueError, match=rf"{DEADLINE_VARIABLE} must be {problem}, got '{value}'"):
        deadline_from_environment({DEADLINE_VARIABLE: value})


def test_error_summary_is_one_bounded_line():
    assert one_line(RuntimeError("first\n\n   second\tthird")) == "RuntimeError: first second third"
    assert len(one_line("x" * 2000)) == 500
    assert one_line(None) == "unknown error"
