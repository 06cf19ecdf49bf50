"""`make ui` as ops use it: the real stack (scripts/run_ui.py), a real browser, real runs.

Starts scripts/run_ui.py on free ports with a small sample, then headless Chromium (Debian's package,
driven by Playwright) signs in, opens the DAG, checks its docs and task groups, triggers a run from the
trigger form (a POST to the REST API) and waits until the UI shows it succeeded, saving a screenshot to
`.local/screenshots/`. The scheduled run of the unpaused DAG must succeed first, and, the stack's run
deadline being seconds, alert through the `segmentation_alerts` webhook that it is late. Finally Ctrl-C
(SIGINT) must stop every Airflow process.

Installs Chromium (apt-get) and Playwright (pip) when they are missing; skips only when that fails.
"""

from __future__ import annotations

import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from local_bigquery.server import free_port
from tests.fakes.webhook import Webhook

ROOT = Path(__file__).resolve().parents[2]
DAG_ID = "customer_segmentation"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / ".local" / "screenshots"
STARTUP_TIMEOUT = 240
# A run of the small sample takes ~40 s on 2 idle cores, but over 300 s while the suite's other worker runs
# the DAG end to end on a machine shared with other work (load ~10); a passing run returns as soon as it is done.
RUN_TIMEOUT = 600
# Short enough that every run misses it.
DEADLINE_MINUTES = "0.1"
ALERT_TIMEOUT = 120

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]


def _install(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    try:
        subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        details = getattr(error, "stderr", None) or str(error)
        pytest.skip(f"{what} is not installed and `{' '.join(command)}` failed: {details.strip()[-500:]}")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium, installed with apt-get when missing (needs root and a package mirror)."""
    if not Path(CHROMIUM).exists():
        if shutil.which("apt-get") is None or os.geteuid() != 0:
            pytest.skip(f"{CHROMIUM} is missing and apt-get as root is not available to install it")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        _install(["apt-get", "update", "-qq"], "Chromium", env)
        _install(["apt-get", "install", "-y", "-qq", "chromium"], "Chromium", env)
    return CHROMIUM


@pytest.fixture(scope="session")
def sync_playwright():
    """Playwright's Python package (its driver ships in the wheel); no browser download."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _install([sys.executable, "-m", "pip", "install", "--quiet", "playwright"], "Playwright")
        from playwright.sync_api import sync_playwright
    return sync_playwright


class UiStack:
    """scripts/run_ui.py in a subprocess; its output is collected line by line."""

    def __init__(self, workdir: Path, webhook: Webhook):
        self.webhook = webhook
        self.password = secrets.token_urlsafe(12)
        self.airflow_home = workdir / "airflow"
        self.ui_port = free_port()
        self.url = f"http://localhost:{self.ui_port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
        for name in [name for name in env if name.startswith("AIRFLOW")] + ["BIGQUERY_EMULATOR_HOST"]:
            env.pop(name, None)  # the test session's Airflow settings are not the stack's
        env.update(
            SEGMENTATION_DEADLINE_MINUTES=DEADLINE_MINUTES, AIRFLOW_CONN_SEGMENTATION_ALERTS=webhook.url
        )
        self.process = subprocess.Popen(
            [
                sys.executable, str(ROOT / "scripts" / "run_ui.py"),
                "--port", str(free_port()), "--ui-port", str(self.ui_port),
                "--data-dir", str(workdir / "warehouse"), "--airflow-home", str(self.airflow_home),
                "--users", "2000", f"--password={self.password}",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._collect, daemon=True).start()

    def _collect(self) -> None:
        for line in self.process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_line(self, pattern: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                break
            if line is None:
                break
            if re.search(pattern, line):
                return line
        pytest.fail(f"run_ui.py printed no line matching {pattern!r}:\n{self.transcript()}")

    def transcript(self) -> str:
        log = self.airflow_home / "standalone.log"
        tail = log.read_text(errors="replace")[-6000:] if log.exists() else "(no standalone log)"
        return "".join(self.output) + f"\n--- standalone.log (tail) ---\n{tail}"

    def processes(self) -> list[int]:
        """Processes whose environment names this stack's AIRFLOW_HOME: Airflow's, whatever their name."""
        marker = f"AIRFLOW_HOME={self.airflow_home}".encode()
        found = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
        return found


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory):
    webhook = Webhook()
    stack = UiStack(tmp_path_factory.mktemp("ui"), webhook)
    try:
        stack.wait_for_line(r"Press Ctrl-C to stop", STARTUP_TIMEOUT)
        yield stack
    finally:
        if stack.process.poll() is None:
            stack.process.send_signal(signal.SIGINT)
            stack.process.wait(timeout=60)
        webhook.close()


def api_client(stack: UiStack) -> httpx.Client:
    client = httpx.Client(base_url=stack.url, timeout=30)
    token = client.post("/auth/token", json={"username": "admin", "password": stack.password})
    token.raise_for_status()
    client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    return client


def wait_for_run(client: httpx.Client, run_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    while (state := client.get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()["state"]) not in (
        "success",
        "failed",
    ):
        assert time.monotonic() < deadline, f"run {run_id} still {state} after {RUN_TIMEOUT} s"
        time.sleep(2)
    return state


def test_ui_prints_url_and_login_and_the_unpaused_dag_runs_on_schedule(ui_stack):
    output = "".join(ui_stack.output)
    assert f"Airflow UI: {ui_stack.url}/dags/{DAG_ID}" in output
    assert f"Login: admin / {ui_stack.password}" in output
    client = api_client(ui_stack)
    assert client.get(f"/api/v2/dags/{DAG_ID}").json()["is_paused"] is False
    deadline = time.monotonic() + 60
    while not (runs := client.get(f"/api/v2/dags/{DAG_ID}/dagRuns").json()["dag_runs"]):
        assert time.monotonic() < deadline, "the unpaused DAG got no scheduled run"
        time.sleep(2)
    (scheduled,) = runs
    assert scheduled["run_type"] == "scheduled"
    assert wait_for_run(client, scheduled["dag_run_id"]) == "success", ui_stack.transcript()


def test_a_run_past_its_deadline_alerts_through_the_connection(ui_stack):
    """The scheduler notices the missed deadline and the triggerer runs the DAG's deadline callback."""
    client = api_client(ui_stack)
    (scheduled,) = client.get(f"/api/v2/dags/{DAG_ID}/dagRuns").json()["dag_runs"]
    deadline = time.monotonic() + ALERT_TIMEOUT
    while not (alerts := [p["alert"] for p in ui_stack.webhook.received if p["alert"]["task_id"] is None]):
        assert time.monotonic() < deadline, (
            f"no deadline alert after {ALERT_TIMEOUT} s\n{ui_stack.transcript()}"
        )
        time.sleep(2)
    (alert,) = alerts
    assert (alert["event"], alert["dag_id"], alert["run_id"]) == (
        "run deadline missed",
        DAG_ID,
        scheduled["dag_run_id"],
    )
    assert alert["error"].startswith("run is running at its deadline")
    assert alert["log_url"] == f"{ui_stack.url}/dags/{DAG_ID}/runs/{quote(scheduled['dag_run_id'])}"


def sign_in(page, stack: UiStack) -> None:
    page.goto(f"{stack.url}/dags/{DAG_ID}")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(stack.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/dags/{DAG_ID}")


def check_dag_page(page) -> None:
    """The grid lists the DAG's task groups and the docs dialog renders its doc_md."""
    for group in ("setup", "source", "features", "model", "segments", "personas"):
        page.locator(f'a[href="/dags/{DAG_ID}/tasks/group/{group}"]').wait_for()
    page.get_by_role("button", name="Dag Docs").click()
    docs = page.get_by_role("dialog")
    docs.get_by_text("Customer segmentation (daily)").wait_for()
    page.keyboard.press("Escape")
    docs.wait_for(state="hidden")


def trigger_from_form(page) -> str:
    """Triggers a run with the form's defaults; returns its run id."""
    page.get_by_role("button", name="Trigger Dag").click()
    form = page.get_by_role("dialog")
    with page.expect_response(lambda r: r.url.endswith("/dagRuns") and r.request.method == "POST") as sent:
        form.get_by_role("button", name="Trigger").click()
    assert sent.value.ok, sent.value.text()
    return sent.value.json()["dag_run_id"]


def final_state_shown(page, run_id: str) -> str:
    """The run page's state badge once it says Success or Failed (the page refreshes while running)."""
    page.wait_for_url(re.compile(r"/runs/"))
    badge = page.get_by_test_id("state-badge").first
    deadline = time.monotonic() + RUN_TIMEOUT
    while (state := badge.inner_text().strip()) not in ("Success", "Failed"):
        assert time.monotonic() < deadline, (
            f"the UI still shows run {run_id} as {state!r} after {RUN_TIMEOUT} s"
        )
        time.sleep(2)
    return state


def test_browser_signs_in_triggers_a_run_and_sees_it_succeed(ui_stack, chromium, sync_playwright):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        try:
            sign_in(page, ui_stack)
            check_dag_page(page)
            run_id = trigger_from_form(page)
            state = final_state_shown(page, run_id)
            page.screenshot(path=str(SCREENSHOTS / f"{DAG_ID}-run.png"), full_page=True)
        except Exception:
            page.screenshot(path=str(SCREENSHOTS / f"{DAG_ID}-failure.png"), full_page=True)
            raise
        finally:
            browser.close()

    assert state == "Success", f"the UI shows run {run_id} as {state}\n{ui_stack.transcript()}"
    run = api_client(ui_stack).get(f"/api/v2/dags/{DAG_ID}/dagRuns/{run_id}").json()
    assert (run["state"], run["run_type"], run["triggered_by"]) == ("success", "manual", "ui")


def test_ctrl_c_stops_every_airflow_process(ui_stack):
    assert ui_stack.processes(), "no process of the stack found while it runs"
    ui_stack.process.send_signal(signal.SIGINT)
    assert ui_stack.process.wait(timeout=60) == 0, ui_stack.transcript()
    assert ui_stack.processes() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(ui_stack.url, timeout=5)
