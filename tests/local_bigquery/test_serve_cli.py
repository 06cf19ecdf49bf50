"""`python -m local_bigquery serve` as a user runs it: a real process, data persisting across restarts."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from local_bigquery.server import free_port
from tests.conftest import PROJECT, ROOT


def _serve(data_dir: Path, port: int, *options: str) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_bigquery",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *options,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                assert json.loads(response.read())["status"] == "ok"
                return process
        except OSError:
            if process.poll() is not None:
                raise AssertionError(process.stdout.read().decode()) from None
            time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not become healthy")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)


@pytest.fixture
def client_for():
    def make(port: int) -> bigquery.Client:
        return bigquery.Client(
            project=PROJECT,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"http://127.0.0.1:{port}"},
        )

    return make


def test_tables_and_data_survive_a_restart(tmp_path, client_for):
    port = free_port()
    server = _serve(tmp_path, port)
    try:
        client = client_for(port)
        client.create_dataset("kept")
        client.query_and_wait(
            "CREATE TABLE kept.numbers PARTITION BY day AS SELECT DATE '2024-01-01' AS day, 42 AS answer"
        )
    finally:
        _stop(server)
    assert (tmp_path / "warehouse.duckdb").exists()

    server = _serve(tmp_path, port)
    try:
        client = client_for(port)
        (row,) = client.query_and_wait("SELECT answer FROM kept.numbers")
        assert row.answer == 42
        assert client.get_table("kept.numbers").time_partitioning.field == "day"
    finally:
        _stop(server)


def test_binds_loopback_only_by_default(tmp_path):
    port = free_port()
    server = _serve(tmp_path, port)
    try:
        listening = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True)
        if listening.returncode != 0:
            pytest.skip("ss is not available to inspect listening sockets")
        local_addresses = [line.split()[3] for line in listening.stdout.splitlines()]
        assert local_addresses == [f"127.0.0.1:{port}"]
    finally:
        _stop(server)


def test_answers_the_hosts_it_is_told_to_besides_loopback(tmp_path):
    port = free_port()
    server = _serve(tmp_path, port, "--allow-host", "local-bigquery", "--allow-host", "warehouse.internal")
    try:
        for host, status in [
            ("local-bigquery:9050", 200),
            ("warehouse.internal", 200),
            ("attacker.example", 403),
        ]:
            request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": host})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert (host, response.status) == (host, status)
            except urllib.error.HTTPError as refused:
                assert (host, refused.code) == (host, status)
                assert json.loads(refused.read())["error"]["errors"][0]["reason"] == "accessDenied"
    finally:
        _stop(server)
