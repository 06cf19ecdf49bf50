"""Benchmark: the segment API at 1M customers — lookup latency under load, memory held, refresh time.

Writes two published snapshots of 1M customers (benchmarks/segment_snapshots.py: the pipeline's DDL,
load jobs, the offline persona writer) into a local_bigquery data dir served by `python -m
local_bigquery serve` in its own process, then starts `python -m services.segments` in another and:

- memory: the service's RSS once the snapshot is loaded, minus the RSS of the same service started on
  an empty dataset (imports, uvicorn, the client); and its peak RSS over the whole run (refresh included);
- latency: `clients` concurrent loopback clients (one keep-alive connection each, on uvloop) each send
  `requests` GETs, first of `/customers/{id}` (ids drawn from the snapshot), then of `/segments`;
  p50 / p95 / p99 per request as the client sees it, and the throughput;
- refresh: a third snapshot is published, and the time from the commit of its publishing transaction
  until `/healthz` serves it (the refresh polls every second), next to the service's own load time for
  it and the CPU time the service and local_bigquery spent meanwhile (the personas' MERGE included; on a
  shared machine, what its other load does not change).

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/segment_api.py [--customers 1000000] \
        [--clients 20] [--requests 500] [--output FILE]

Prints a table, writes JSON (default benchmarks/results/segment_api.json), exits 1 if a target is missed
(p95 of a customer lookup ≤ 10 ms, refresh ≤ 30 s, memory ≤ 1 GB). Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httptools
import httpx
import numpy as np
import psutil
import uvloop

from benchmarks.pipeline import OUTPUT_PROJECT, Server, peak_rss
from benchmarks.segment_snapshots import (
    create_tables,
    customer_features,
    drifted,
    publish,
    segment,
    write_personas,
)
from local_bigquery.server import free_port

ROOT = Path(__file__).resolve().parent.parent
DATASET = "customer_segmentation"
EMPTY_DATASET = "nothing_published"
DATES = (dt.date(2024, 5, 1), dt.date(2024, 6, 1), dt.date(2024, 7, 1))
SEGMENTS = 5
P95_TARGET_MS = 10.0
REFRESH_TARGET_S = 30.0
MEMORY_TARGET = 1024**3


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status")


class Service:
    """`python -m services.segments` on a free loopback port, reading `dataset` from the local server."""

    def __init__(self, server_url: str, dataset: str, refresh_seconds: float = 1.0):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
            "BIGQUERY_EMULATOR_HOST": server_url,
            "SEGMENTATION_PROJECT_ID": OUTPUT_PROJECT,
            "SEGMENTATION_DATASET": dataset,
            "SEGMENTS_REFRESH_SECONDS": str(refresh_seconds),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.segments", "--port", str(self.port), "--log-level", "warning"],
            env=env,
        )

    def health(self) -> dict | None:
        try:
            return httpx.get(f"{self.url}/healthz", timeout=5).json()
        except httpx.HTTPError:
            return None

    def wait(self, predicate, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}")
            health = self.health()
            if health is not None and predicate(health):
                return health
            time.sleep(0.05)
        raise RuntimeError(f"timed out after {timeout} s waiting for {what}: {self.health()}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def percentiles(latencies: list[float]) -> dict[str, float]:
    values = np.array(latencies) * 1000
    return {f"p{q}_ms": float(np.percentile(values, q)) for q in (50, 95, 99)} | {
        "max_ms": float(values.max())
    }


def cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection sending one GET at a time, its answers read by httptools (the
    C parser uvicorn uses). aiohttp's client spent ~1.5 times the service's CPU per request: on a 2-core
    machine the clients' own work would be most of the latency measured."""

    def __init__(self, host: str):
        self.host = host
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.answer: asyncio.Future | None = None
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.answer.set_result((self.parser.get_status_code(), b"".join(self.body)))

    def connection_lost(self, error: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(ConnectionError(f"the service closed the connection: {error}"))

    async def get(self, path: str) -> tuple[int, bytes]:
        self.body, self.answer = [], asyncio.get_running_loop().create_future()
        self.transport.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())
        return await self.answer


async def load(url: str, paths: list[list[str]], server_pid: int) -> dict:
    """One client (a connection of its own) per list of paths, all at once; every answer must be a 200.
    Besides latencies, the CPU time the server and the clients spent per request: what the machine's
    other load does not change."""

    async def client(connection: Connection, own: list[str], latencies: list[float]) -> None:
        for path in own:
            started = time.perf_counter()
            status, _ = await connection.get(path)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status}")
            latencies.append(time.perf_counter() - started)

    address = urllib.parse.urlsplit(url)
    loop = asyncio.get_running_loop()
    connections = [
        (await loop.create_connection(lambda: Connection(address.netloc), address.hostname, address.port))[1]
        for _ in paths
    ]
    latencies: list[float] = []
    try:
        await client(connections[0], paths[0][:20], [])  # warm-up: first-request costs
        started, server_cpu, client_cpu = time.perf_counter(), cpu_seconds(server_pid), own_cpu_seconds()
        await asyncio.gather(
            *(client(connection, own, latencies) for connection, own in zip(connections, paths, strict=True))
        )
        elapsed = time.perf_counter() - started
        server_cpu, client_cpu = cpu_seconds(server_pid) - server_cpu, own_cpu_seconds() - client_cpu
    finally:
        for connection in connections:
            connection.transport.close()
    count = len(latencies)
    return {
        "requests": count,
        "seconds": elapsed,
        "per_second": count / elapsed,
        "server_cpu_us_per_request": server_cpu / count * 1e6,
        "client_cpu_us_per_request": client_cpu / count * 1e6,
        "load_average": os.getloadavg(),
    } | percentiles(latencies)


def measure(customers: int, clients: int, requests: int, work: Path) -> dict:
    server = Server(work / "warehouse")
    results: dict = {"customers": customers, "clients": clients, "requests_per_client": requests}
    try:
        client = server.client
        create_tables(client, OUTPUT_PROJECT, DATASET)
        create_tables(client, OUTPUT_PROJECT, EMPTY_DATASET)
        # The baseline service starts while the snapshots are generated: one start-up less to wait for.
        # Its first refresh (at start) finds nothing; it need not poll again.
        empty = Service(server.url, EMPTY_DATASET, refresh_seconds=3600)
        started = time.perf_counter()
        features = customer_features(customers, seed=1)
        snapshots = [segment(DATES[0], features, SEGMENTS, seed=1)]
        for day, seed in zip(DATES[1:], (2, 3), strict=True):
            features = drifted(
                features, (day - snapshots[-1].snapshot_date).days, customers // 100, seed=seed
            )
            snapshots.append(segment(day, features, SEGMENTS, seed=1))
        for snapshot in snapshots[:2]:
            publish(client, OUTPUT_PROJECT, DATASET, snapshot)
        results["generate_and_publish_seconds"] = time.perf_counter() - started
        print(
            f"published 2 snapshots of {customers:,} customers in {results['generate_and_publish_seconds']:.1f} s"
        )

        empty.wait(lambda health: health["last_refresh_attempt_at"], 120, "the empty service's first refresh")
        baseline = rss(empty.process.pid)
        empty.stop()

        service = Service(server.url, DATASET)
        started = time.perf_counter()
        health = service.wait(
            lambda health: health["snapshot_date"] == DATES[1].isoformat(), 300, "first load"
        )
        results["first_load_wall_seconds"] = time.perf_counter() - started
        results["first_load_seconds"] = health["loaded_seconds"]
        loaded = rss(service.process.pid)
        results["memory"] = {
            "baseline_rss": baseline,
            "loaded_rss": loaded,
            "rss_delta": loaded - baseline,
            "store_bytes": health["memory_bytes"],
        }
        print(
            f"loaded in {health['loaded_seconds']:.1f} s; RSS {baseline / 2**20:.0f} -> {loaded / 2**20:.0f} MiB"
        )

        rng = np.random.default_rng(0)
        ids = snapshots[1].features.customer_id.to_numpy()
        lookups = [[f"/customers/{i}" for i in rng.choice(ids, requests)] for _ in range(clients)]
        results["customers_endpoint"] = uvloop.run(load(service.url, lookups, service.process.pid))
        print(f"/customers/{{id}}: {results['customers_endpoint']}")
        results["segments_endpoint"] = uvloop.run(
            load(service.url, [["/segments"] * requests] * clients, service.process.pid)
        )
        print(f"/segments: {results['segments_endpoint']}")

        # Timed from the commit of the publishing transaction, when the snapshot becomes visible; the
        # personas follow, as the DAG's persona step follows publish_snapshot.
        publish(client, OUTPUT_PROJECT, DATASET, snapshots[2], personas=False)
        published = time.perf_counter()
        service_cpu, server_cpu = cpu_seconds(service.process.pid), cpu_seconds(server.process.pid)
        write_personas(client, OUTPUT_PROJECT, DATASET, snapshots[2])
        health = service.wait(
            lambda health: health["snapshot_date"] == DATES[2].isoformat(), 300, "the refresh"
        )
        results["refresh"] = {
            "wall_seconds": time.perf_counter() - published,
            "load_seconds": health["loaded_seconds"],
            # CPU time, which the machine's other load does not change (wall time on a busy machine does).
            "service_cpu_seconds": cpu_seconds(service.process.pid) - service_cpu,
            "local_bigquery_cpu_seconds": cpu_seconds(server.process.pid) - server_cpu,
            "load_average": os.getloadavg(),
        }
        results["memory"]["after_refresh_rss"] = rss(service.process.pid)
        results["memory"]["peak_rss"] = peak_rss(service.process.pid)
        print(f"refresh: {results['refresh']}")
        service.stop()
    finally:
        server.stop()
    return results


def machine() -> dict:
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "processor": next(
            (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
             if line.startswith("model name")),
            platform.processor(),
        ),
    }  # fmt: skip


def table(results: dict) -> str:
    mib = lambda value: f"{value / 2**20:,.0f} MiB"  # ruff: ignore[lambda-assignment]
    lookups, segments, memory = results["customers_endpoint"], results["segments_endpoint"], results["memory"]
    rows = [
        ("`/customers/{id}` p50 / p95 / p99", f"{lookups['p50_ms']:.2f} / {lookups['p95_ms']:.2f} / {lookups['p99_ms']:.2f} ms", "p95 ≤ 10 ms"),
        ("`/customers/{id}` throughput", f"{lookups['per_second']:,.0f} requests/s", ""),
        ("`/customers/{id}` CPU per request: server / clients", f"{lookups['server_cpu_us_per_request']:.0f} / {lookups['client_cpu_us_per_request']:.0f} us", ""),
        ("`/segments` p50 / p95 / p99", f"{segments['p50_ms']:.2f} / {segments['p95_ms']:.2f} / {segments['p99_ms']:.2f} ms", ""),
        ("`/segments` throughput", f"{segments['per_second']:,.0f} requests/s", ""),
        ("`/segments` CPU per request: server / clients", f"{segments['server_cpu_us_per_request']:.0f} / {segments['client_cpu_us_per_request']:.0f} us", ""),
        ("memory held (RSS loaded - RSS empty)", f"{mib(memory['rss_delta'])} ({mib(memory['baseline_rss'])} → {mib(memory['loaded_rss'])})", "≤ 1 GB"),
        ("arrays of the store", mib(memory["store_bytes"]), ""),
        ("peak RSS over the run (refresh included)", mib(memory["peak_rss"]), ""),
        ("first load (service's own timing)", f"{results['first_load_seconds']:.1f} s", ""),
        ("refresh: published → served", f"{results['refresh']['wall_seconds']:.1f} s (load {results['refresh']['load_seconds']:.1f} s)", "≤ 30 s"),
        ("refresh CPU: service / local_bigquery", f"{results['refresh']['service_cpu_seconds']:.1f} / {results['refresh']['local_bigquery_cpu_seconds']:.1f} s", ""),
    ]  # fmt: skip
    lines = ["| measure | value | target |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value} | {target} |" for name, value, target in rows]
    return "\n".join(lines)


def verdict(results: dict) -> list[str]:
    missed = []
    if results["customers_endpoint"]["p95_ms"] > P95_TARGET_MS:
        missed.append(
            f"customer lookup p95 {results['customers_endpoint']['p95_ms']:.2f} ms > {P95_TARGET_MS} ms"
        )
    if results["refresh"]["wall_seconds"] > REFRESH_TARGET_S:
        missed.append(f"refresh {results['refresh']['wall_seconds']:.1f} s > {REFRESH_TARGET_S} s")
    if results["memory"]["rss_delta"] > MEMORY_TARGET:
        missed.append(f"memory {results['memory']['rss_delta'] / 2**30:.2f} GB > 1 GB")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=500, help="per client and endpoint")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "segment_api.json")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="segment-api-bench-") as work:
        results = measure(args.customers, args.clients, args.requests, Path(work))
    results["machine"] = machine()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    missed = verdict(results)
    for line in missed:
        print(f"TARGET MISSED: {line}")
    return 1 if missed and args.customers >= 1_000_000 else 0


if __name__ == "__main__":
    sys.exit(main())
