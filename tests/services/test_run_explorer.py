"""`make explore` (scripts/run_explorer.py): local_bigquery and the segment service on a warehouse dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from benchmarks.segment_snapshots import create_tables, customer_features, publish, segment
from local_bigquery.server import BackgroundServer, free_port
from local_bigquery.warehouse import Warehouse
from scripts.run_explorer import main
from tests.conftest import PROJECT, ROOT
from tests.services.conftest import FIRST
from tests.services.test_refresh import wait_for


def test_without_a_published_warehouse_it_says_to_run_make_run_first(tmp_path, capsys):
    assert main(["--data-dir", str(tmp_path / "nothing"), "--port", str(free_port())]) == 1
    assert "run `make run` first" in capsys.readouterr().err


def test_explore_serves_the_warehouse_until_ctrl_c(tmp_path):
    data_dir = tmp_path / "warehouse"
    with BackgroundServer(Warehouse(data_dir)) as server:
        client = bigquery.Client(
            project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
        )
        create_tables(client, PROJECT, "customer_segmentation")
        publish(client, PROJECT, "customer_segmentation", segment(FIRST, customer_features(150, 2), 3, 2))
    port = free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    for name in ("BIGQUERY_EMULATOR_HOST", "SEGMENTATION_DATASET", "SEGMENTS_API_KEY"):
        env.pop(name, None)
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "run_explorer.py"), "--data-dir", str(data_dir),
         "--port", str(free_port()), "--explore-port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    output = []
    try:
        for line in process.stdout:
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        assert f"Explorer: http://127.0.0.1:{port}/explorer/" in "".join(output), "".join(output)
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok", 60, "the service"
        )
        segments = httpx.get(f"http://127.0.0.1:{port}/segments", timeout=30).json()
        assert (segments["snapshot_date"], segments["customers"]) == (FIRST.isoformat(), 150)
        assert httpx.get(f"http://127.0.0.1:{port}/explorer/", timeout=30).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
    assert process.returncode == 0, "".join(output) + rest
    assert "leaked" not in rest, rest
