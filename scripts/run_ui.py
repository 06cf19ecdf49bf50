"""`make ui`: the Airflow UI over the local stack, as ops see the pipeline in production.

Starts local_bigquery (in this process) on its own data dir (default `.local/ui/warehouse`) with sample
thelook_ecommerce data that ends now, so scheduled and manually triggered runs pass the freshness gate,
then `airflow standalone` (scheduler, dag processor, triggerer, API server and UI) with AIRFLOW_HOME in
`.local/ui/airflow`, no examples, a small executor, a fixed login and `google_cloud_default` pointing at
the local server. Once the UI serves the DAG it is unpaused and the URL and login are printed.

Ctrl-C (or SIGTERM) stops everything: Airflow runs in its own process group, which gets SIGTERM, a grace
period and then SIGKILL, because the executor's workers ignore SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

# Runnable as `python scripts/<name>.py` without PYTHONPATH: the repository root, and plugins/ as Airflow
# puts it on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from local_bigquery.samples import thelook
from local_bigquery.server import BackgroundServer
from local_bigquery.translate import TableRef
from local_bigquery.warehouse import Warehouse
from scripts.run_local import DAG_ID, PROJECT, ROOT, SOURCE, airflow_environment

USER = "admin"
# The sample is regenerated once its newest order is older than this, well inside the default
# freshness window (3 days), so an unpaused DAG's scheduled runs keep finding recent orders.
SAMPLE_MAX_AGE = dt.timedelta(days=1)
STOP_GRACE_SECONDS = 15.0


class StartupError(RuntimeError):
    """Airflow did not come up; the message says what was missing and where the log is."""


def require_free_port(port: int, option: str) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise StartupError(f"port {port} is already in use; choose another with {option}") from None


def newest_order(server_url: str) -> dt.datetime | None:
    client = bigquery.Client(
        project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": server_url}
    )
    project, dataset = SOURCE
    (row,) = client.query_and_wait(f"SELECT MAX(created_at) AS newest FROM `{project}.{dataset}.orders`")
    return row["newest"]


def ensure_recent_sample(server: BackgroundServer, users: int, seed: int, now: dt.datetime) -> str:
    """Sample thelook data whose history ends at `now`, reloaded when it has gone stale."""
    project, dataset = SOURCE
    warehouse = server.warehouse
    if warehouse.locked(warehouse.catalog.table_exists, TableRef(project, dataset, "orders")):
        newest = newest_order(server.url)
        if newest is not None and now - newest < SAMPLE_MAX_AGE:
            return f"sample thelook_ecommerce is recent (newest order {newest:%Y-%m-%d %H:%M} UTC)"
    warehouse.locked(warehouse.catalog.create_dataset, project, dataset, {}, exists_ok=True)
    tables = thelook.generate(users=users, seed=seed, end=now)
    for name, table in tables.items():
        warehouse.load_arrow(TableRef(project, dataset, name), table)
    return (
        f"loaded sample thelook_ecommerce ending {now:%Y-%m-%d %H:%M} UTC: {users:,} users, "
        f"{tables['order_items'].num_rows:,} order items (seed {seed})"
    )


def ui_environment(server_url: str, airflow_home: Path, ui_port: int, password_file: Path) -> dict[str, str]:
    venv_bin = str(Path(sys.executable).parent)
    return {
        **airflow_environment(server_url, airflow_home),
        # standalone starts its components as plain `airflow` commands.
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "")]),
        # The LocalExecutor starts one worker per parallelism slot (32 by default).
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ui_port),
        "AIRFLOW__API__BASE_URL": f"http://localhost:{ui_port}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(password_file),
        # The deployment's default project, as Cloud Composer's GCP_PROJECT sets it in production.
        "SEGMENTATION_PROJECT_ID": PROJECT,
    }


def write_login(password_file: Path, password: str) -> None:
    """The simple auth manager keeps passwords it finds in this file and only generates missing ones."""
    password_file.write_text(json.dumps({USER: password}))
    password_file.chmod(0o600)


def start_airflow(env: dict[str, str], log_path: Path) -> subprocess.Popen:
    airflow = str(Path(sys.executable).with_name("airflow"))
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [airflow, "standalone"],
            env=env,
            cwd=env["AIRFLOW_HOME"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_airflow(process: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to the whole group, then SIGKILL for whatever is left after the grace period."""
    group = process.pid
    _signal_group(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _group_alive(group, process):
        time.sleep(0.2)
    _signal_group(group, signal.SIGKILL)
    process.wait(timeout=grace)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signum)


def _group_alive(group: int, leader: subprocess.Popen) -> bool:
    leader.poll()  # reaps the leader, so a finished one no longer counts as a member
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class AirflowApi:
    """The slice of Airflow's REST API that startup needs, authenticated as the UI user."""

    def __init__(self, base_url: str, password: str):
        self.client = httpx.Client(base_url=base_url, timeout=10)
        self.password = password

    def healthy(self) -> bool:
        try:
            health = self.client.get("/api/v2/monitor/health").json()
        except (httpx.HTTPError, ValueError):
            return False
        return all(health.get(part, {}).get("status") == "healthy" for part in ("metadatabase", "scheduler"))

    def login(self) -> None:
        response = self.client.post("/auth/token", json={"username": USER, "password": self.password})
        response.raise_for_status()
        self.client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def has_dag(self, dag_id: str) -> bool:
        return self.client.get(f"/api/v2/dags/{dag_id}").status_code == 200

    def import_errors(self) -> list[str]:
        errors = self.client.get("/api/v2/importErrors").json()["import_errors"]
        return [f"{error['filename']}: {error['stack_trace']}" for error in errors]

    def unpause(self, dag_id: str) -> None:
        self.client.patch(f"/api/v2/dags/{dag_id}", json={"is_paused": False}).raise_for_status()


def wait_for(condition, process: subprocess.Popen, timeout: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise StartupError(
                f"airflow standalone exited ({process.returncode}) before {what}; see {log_path}"
            )
        if time.monotonic() > deadline:
            raise StartupError(f"no {what} after {timeout:.0f} s; see {log_path}")
        time.sleep(1)


def wait_until_serving(api: AirflowApi, process: subprocess.Popen, timeout: float, log_path: Path) -> None:
    """Healthy, logged in, and the DAG parsed and unpaused; import errors are reported by name."""
    started = time.monotonic()
    wait_for(api.healthy, process, timeout, "healthy API server and scheduler", log_path)
    api.login()
    try:
        wait_for(
            lambda: api.has_dag(DAG_ID), process, timeout - (time.monotonic() - started), DAG_ID, log_path
        )
    except StartupError as missing:
        errors = "\n".join(api.import_errors()) or "no import errors reported"
        raise StartupError(f"{missing}\n{errors}") from None
    api.unpause(DAG_ID)


def _exit_on_sigterm(signum, frame) -> None:
    raise SystemExit(128 + signum)


def say(message: str) -> None:
    print(message, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=9050, help="local_bigquery port")
    parser.add_argument("--ui-port", type=int, default=8080, help="Airflow UI / REST API port")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local" / "ui" / "warehouse")
    parser.add_argument("--airflow-home", type=Path, default=ROOT / ".local" / "ui" / "airflow")
    parser.add_argument("--users", type=int, default=20_000, help="sample size when generating it")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--password", default="admin", help=f"password of the UI user '{USER}'")
    parser.add_argument("--startup-timeout", type=float, default=240.0, help="seconds")
    return parser.parse_args(argv)


def run_airflow(server_url: str, args: argparse.Namespace) -> int:
    """airflow standalone until Ctrl-C or SIGTERM; its process group is stopped however this ends."""
    args.airflow_home.mkdir(parents=True, exist_ok=True)
    password_file = args.airflow_home / "simple_auth_manager_passwords.json"
    log_path = args.airflow_home / "standalone.log"
    ui_url = f"http://localhost:{args.ui_port}"
    write_login(password_file, args.password)
    env = ui_environment(server_url, args.airflow_home, args.ui_port, password_file)
    say(f"starting airflow standalone (AIRFLOW_HOME {args.airflow_home}, log {log_path})")
    process = start_airflow(env, log_path)
    try:
        wait_until_serving(AirflowApi(ui_url, args.password), process, args.startup_timeout, log_path)
        say(f"\nAirflow UI: {ui_url}/dags/{DAG_ID}\nLogin: {USER} / {args.password}")
        say(f"{DAG_ID} is unpaused. Press Ctrl-C to stop.")
        process.wait()
        say(f"airflow standalone exited ({process.returncode}); see {log_path}")
        return 1
    except StartupError as error:
        print(error, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        say("stopping airflow standalone ...")
        stop_airflow(process)
        say("stopped.")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Ctrl-C must stop the stack even when this was started with SIGINT ignored (e.g. in the background).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        require_free_port(args.port, "--port")
        require_free_port(args.ui_port, "--ui-port")
    except StartupError as error:
        print(error, file=sys.stderr)
        return 1
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    with BackgroundServer(Warehouse(args.data_dir), port=args.port) as server:
        say(f"local_bigquery serving {server.url} from {args.data_dir}")
        say(ensure_recent_sample(server, args.users, args.seed, now))
        return run_airflow(server.url, args)


if __name__ == "__main__":
    sys.exit(main())
