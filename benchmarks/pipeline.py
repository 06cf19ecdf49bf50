"""Benchmark: the DAG's BigQuery work on thelook data at 1M and 10M order items, against the floor and naive.

For each scale it generates `thelook_ecommerce` sample data (100k users ≈ 1M order items, 1M users ≈ 10M)
and runs every BigQuery job of the DAG, in the DAG's order, three ways, reporting seconds per stage:

- ours: the DAG's own SQL files, rendered as Airflow renders them, sent as query jobs with the official
  client over HTTP to `python -m local_bigquery serve` running in its own process on a data dir;
- floor: the same work in-process, no server: the same SQL translated once (before timing) with
  local_bigquery's transforms and run directly on DuckDB, one transaction per job, and scikit-learn's
  `KMeans(n_init=SEEDED_STARTS)` on the standardized matrix for the model, run for as many iterations as ours ran
  (see benchmarks/floor.py);
- naive: pandas groupbys and scikit-learn as a notebook does it, from DataFrames in memory (see
  benchmarks/naive.py), once.

Core stages: features (stage customer_features + its gate), train (CREATE MODEL), predict (stage
customer_segments with ML.PREDICT), profiles (stage segment_profiles). "other" is the rest of the DAG's
jobs: setup, source gates, model evaluations, the segment id mapping, the segments gate, centroids,
stability figures, publishing the partitions and the view.
Ours and the floor run step by step interleaved, alternating which goes first, so background load hits
both alike; each figure is the best of the repeats. Peak RSS is the server process's high-water mark
(VmHWM), which covers everything it did: the data is loaded into its data dir before it starts.

    make bench
    PYTHONPATH=.:plugins .venv/bin/python benchmarks/pipeline.py [--scales 1M,10M] [--output FILE]

Prints the table, writes it as JSON (default benchmarks/results/pipeline.json), exits 1 if a performance target
is missed: ours/floor ≤ 1.3 on the core stages at 10M, server peak RSS ≤ 2 GB at 10M, and
ours total(10M)/total(1M) ≤ 11. Linux only (reads /proc).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb
import jinja2
import pyarrow.parquet as pq
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from benchmarks.floor import Floor, Statement
from local_bigquery.samples import thelook
from local_bigquery.server import free_port
from local_bigquery.translate import TableRef, schema_name
from local_bigquery.warehouse import Warehouse
from segmentation.config import PipelineConfig
from segmentation.tables import MODEL, VALUE_MODEL
from segmentation.templating import MACROS

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "include" / "sql"
OUTPUT_PROJECT = "local-project"
SOURCE_PROJECT, SOURCE_DATASET = "bigquery-public-data", "thelook_ecommerce"
LOGICAL_DATE = dt.datetime(2024, 6, 29, tzinfo=dt.UTC)  # make run's default date; the sample ends 2024-06-30
SEED = 42
CORE_STAGES = ("features", "train", "predict", "profiles")
# The customer value model's: its two training sets, its training, its predictions.
VALUE_STAGES = ("value_input", "value_train", "value_predict")
CORE_RATIO_TARGET = 1.3
PEAK_RSS_TARGET = 2 * 1024**3
SCALING_TARGET = 11.0
VALUE_RATIO_TARGET = 2.0


@dataclass(frozen=True)
class Scale:
    name: str
    users: int
    repeats: int


MEASURED_SCALES = (Scale("1M", 100_000, 3), Scale("10M", 1_000_000, 2))
# ≈20k order items: for tests/benchmarks, which keep this script working; its timings mean nothing.
SMOKE = Scale("smoke", 2_000, 1)
SCALES = {scale.name: scale for scale in (*MEASURED_SCALES, SMOKE)}


@dataclass(frozen=True)
class Step:
    """One BigQueryInsertJobOperator task of the DAG: its SQL file and the benchmark stage it counts in."""

    task_id: str
    file: str
    stage: str
    table: str | None = None  # the `table` param of the generic stage.sql


STEPS = (
    Step("setup.create_dataset", "dataset.sql", "other"),
    Step("setup.create_tables", "schema.sql", "other"),
    Step("source.stage_customer_order_history", "stage.sql", "features", "customer_order_history"),
    Step("source.check_freshness", "gates/source_freshness.sql", "other"),
    Step("source.check_values", "gates/source_values.sql", "other"),
    Step("features.stage_customer_features", "stage.sql", "features", "customer_features"),
    Step("features.check_customer_features", "gates/customer_features.sql", "features"),
    Step("features.stage_feature_bounds", "stage.sql", "features", "feature_bounds"),
    Step(f"model.train_{MODEL}", f"{MODEL}.sql", "train"),
    Step("model.stage_model_evaluations", "stage.sql", "other", "model_evaluations"),
    Step(
        "customer_value.stage_customer_value_training", "stage.sql", "value_input", "customer_value_training"
    ),
    Step(
        "customer_value.stage_customer_value_backtest_training",
        "stage.sql",
        "value_input",
        "customer_value_backtest_training",
    ),
    Step("customer_value.check_customer_value_history", "gates/customer_value_training.sql", "other"),
    Step(f"customer_value.train_{VALUE_MODEL}", f"{VALUE_MODEL}.sql", "value_train"),
    Step("customer_value.train_customer_value_backtest", "customer_value_backtest.sql", "other"),
    Step(
        "customer_value.stage_customer_value_predictions",
        "stage.sql",
        "value_predict",
        "customer_value_predictions",
    ),
    Step("customer_value.check_customer_value_predictions", "gates/customer_value_predictions.sql", "other"),
    Step("customer_value.stage_value_model_evaluations", "stage.sql", "other", "value_model_evaluations"),
    Step("segments.stage_segment_id_mapping", "stage.sql", "other", "segment_id_mapping"),
    Step("segments.stage_customer_segments", "stage.sql", "predict", "customer_segments"),
    Step("segments.check_customer_segments", "gates/customer_segments.sql", "other"),
    Step("segments.stage_segment_centroids", "stage.sql", "other", "segment_centroids"),
    Step("segments.stage_segment_profiles", "stage.sql", "profiles", "segment_profiles"),
    Step("segments.stage_segment_stability", "stage.sql", "other", "segment_stability"),
    Step("changes.stage_segment_transitions", "stage.sql", "other", "segment_transitions"),
    Step("changes.stage_segment_membership_changes", "stage.sql", "other", "segment_membership_changes"),
    Step("changes.check_segment_transitions", "gates/segment_transitions.sql", "other"),
    Step("publish_snapshot", "publish_snapshot.sql", "other"),
    Step(f"publish_{VALUE_MODEL}", f"publish_{VALUE_MODEL}.sql", "other"),
    Step("publish_current_view", "customer_segments_current.sql", "other"),
)
# The DAG's Python tasks (planning the training, matching segment ids, publishing the model, personas,
# the report) are not BigQuery jobs: rendered outside a run, the jobs above are a cold start (k-means++,
# the model's own numbering), and the run's staging model stays where the jobs put it.
TRAINED_MODEL = f"_staging_{MODEL}_{LOGICAL_DATE:%Y%m%d}"


def render(step: Step, config: PipelineConfig) -> str:
    """The job's SQL as Airflow renders the task's template: the DAG's params and macros, the run's dates."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SQL_DIR), undefined=jinja2.StrictUndefined, autoescape=False
    )
    environment.globals.update(MACROS)
    params = config.model_dump(mode="json") | ({"table": step.table} if step.table else {})
    context = {
        "params": params,
        "ds": LOGICAL_DATE.date().isoformat(),
        "ds_nodash": LOGICAL_DATE.strftime("%Y%m%d"),
        "data_interval_start": LOGICAL_DATE,
        "data_interval_end": LOGICAL_DATE + dt.timedelta(days=1),
    }
    return environment.get_template(step.file).render(context)


# ---- data -----------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    server_dir: Path
    floor_file: Path
    naive_dir: Path
    order_items: int
    seconds: float


def prepare(scale: Scale, work: Path) -> Prepared:
    """Generate the sample and load it three ways: the server's data dir, the floor's DuckDB file, Parquet."""
    started = time.perf_counter()
    tables = thelook.generate(users=scale.users, seed=SEED)
    prepared = Prepared(work / "server", work / "floor" / "floor.duckdb", work / "naive", 0, 0.0)
    prepared.order_items = tables["order_items"].num_rows

    warehouse = Warehouse(prepared.server_dir)
    try:
        warehouse.locked(warehouse.catalog.create_dataset, SOURCE_PROJECT, SOURCE_DATASET, {})
        for name, table in tables.items():
            warehouse.load_arrow(TableRef(SOURCE_PROJECT, SOURCE_DATASET, name), table)
    finally:
        warehouse.close()

    prepared.floor_file.parent.mkdir(parents=True)
    con = duckdb.connect(str(prepared.floor_file))
    try:
        con.execute("SET TimeZone = 'UTC'")
        source = schema_name(SOURCE_PROJECT, SOURCE_DATASET)
        con.execute(f'CREATE SCHEMA "{source}"')
        for name, table in tables.items():
            con.register("_incoming", table)
            con.execute(f'CREATE TABLE "{source}"."{name}" AS SELECT * FROM _incoming')
            con.unregister("_incoming")
    finally:
        con.close()

    prepared.naive_dir.mkdir()
    for name in ("order_items", "products"):
        pq.write_table(tables[name], prepared.naive_dir / f"{name}.parquet")
    prepared.seconds = time.perf_counter() - started
    return prepared


# ---- the three ways -------------------------------------------------------------------------------------


def peak_rss(pid: int | str = "self") -> int:
    """The process's resident set high-water mark (VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def reset_peak_rss(pid: int | str = "self") -> None:
    """Restart the high-water mark from the current RSS (Linux: `5` to clear_refs)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


SERVE = (sys.executable, "-m", "local_bigquery", "serve")
NAIVE = (sys.executable, "-m", "benchmarks.naive")


class Server:
    """`python -m local_bigquery serve` in its own process, and the official client pointed at it."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
        self.process = subprocess.Popen(
            [*SERVE, "--port", str(self.port), "--data-dir", str(data_dir), "--log-level", "warning"],
            env=environment,
        )
        self._wait_until_up()
        self.client = bigquery.Client(
            project=OUTPUT_PROJECT,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.url},
        )

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"local_bigquery exited with {self.process.returncode} on start")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"local_bigquery did not answer on {self.url} within {timeout} s")

    def run(self, sql: str) -> list:
        job = self.client.query(sql, job_config=bigquery.QueryJobConfig(use_legacy_sql=False))
        return list(job.result())

    def peak_rss(self) -> int:
        return peak_rss(self.process.pid)

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


@dataclass
class Timings:
    """Seconds of every step of every repeat."""

    runs: list[dict[str, float]] = field(default_factory=list)

    def stage(self, stage: str) -> float:
        """Best over repeats of the stage's summed steps."""
        return min(sum(run[step.task_id] for step in STEPS if step.stage == stage) for run in self.runs)

    def core(self) -> float:
        return min(sum(run[s.task_id] for s in STEPS if s.stage in CORE_STAGES) for run in self.runs)

    def total(self) -> float:
        return min(sum(run.values()) for run in self.runs)


def model_iterations(server: Server) -> int:
    (row,) = server.run(
        f"SELECT COUNT(*) AS iterations FROM ML.TRAINING_INFO(MODEL `{OUTPUT_PROJECT}.{PipelineConfig().dataset}.{TRAINED_MODEL}`)"
    )
    return row["iterations"]


def segment_sizes(run, dataset: str) -> list[int]:
    rows = run(
        f"SELECT segment_id, COUNT(*) AS customers FROM `{OUTPUT_PROJECT}.{dataset}.customer_segments` "
        f"WHERE snapshot_date = DATE '{LOGICAL_DATE.date()}' GROUP BY segment_id ORDER BY segment_id"
    )
    return [row[1] for row in rows]


def run_naive(prepared: Prepared, config: PipelineConfig) -> dict:
    cut_off = (LOGICAL_DATE + dt.timedelta(days=1)).isoformat()
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    finished = subprocess.run(
        [*NAIVE, str(prepared.naive_dir), "--cut-off", cut_off, "--clusters", str(config.num_clusters)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(finished.stdout)


def measure(scale: Scale, work: Path) -> dict:
    config = PipelineConfig()
    print(f"\n[{scale.name}] generating and loading {scale.users:,} users ...", flush=True)
    prepared = prepare(scale, work)
    print(
        f"[{scale.name}] {prepared.order_items:,} order items ready in {prepared.seconds:.1f} s", flush=True
    )
    jobs = [(step, render(step, config)) for step in STEPS]

    server = Server(prepared.server_dir)
    floor_con = duckdb.connect(str(prepared.floor_file))
    try:
        floor_con.execute("SET TimeZone = 'UTC'")
        floor = Floor(floor_con, OUTPUT_PROJECT)
        reset_peak_rss()
        ours, floored = Timings(), Timings()
        for repeat in range(scale.repeats):
            ours.runs.append({})
            floored.runs.append({})
            for step, sql in jobs:
                compiled: list[Statement] = floor.compile(sql)  # translation is not the floor's cost
                ways = [("ours", lambda sql=sql: server.run(sql)), ("floor", lambda c=compiled: floor.run(c))]
                for way, job in ways if repeat % 2 == 0 else reversed(ways):
                    timings = ours if way == "ours" else floored
                    timings.runs[-1][step.task_id] = timed(job)
                    if way == "ours" and step.stage == "train":
                        floor.iterations = model_iterations(server)
            print(
                f"[{scale.name}] repeat {repeat + 1}/{scale.repeats}: ours {sum(ours.runs[-1].values()):.2f} s, "
                f"floor {sum(floored.runs[-1].values()):.2f} s",
                flush=True,
            )
        server_peak = server.peak_rss()
        floor_peak = peak_rss()
        customers = server.run(
            f"SELECT COUNT(*) FROM `{OUTPUT_PROJECT}.{config.dataset}.customer_features` "
            f"WHERE snapshot_date = DATE '{LOGICAL_DATE.date()}'"
        )[0][0]
        sizes = {
            "ours": segment_sizes(server.run, config.dataset),
            "floor": segment_sizes(
                lambda sql: floor_con.execute(floor.compile(sql)[0].sql).fetchall(), config.dataset
            ),
        }
    finally:
        server.stop()
        floor_con.close()

    print(f"[{scale.name}] naive (pandas + scikit-learn) ...", flush=True)
    naive = run_naive(prepared, config)
    sizes["naive"] = naive["segment_sizes"]
    stages = {}
    for stage in (*CORE_STAGES, *VALUE_STAGES, "other"):
        stages[stage] = {"ours": ours.stage(stage), "floor": floored.stage(stage)}
        if stage in naive["seconds"]:
            stages[stage]["naive"] = naive["seconds"][stage]
    stages["core"] = {"ours": ours.core(), "floor": floored.core(), "naive": sum(naive["seconds"].values())}
    stages["total"] = {"ours": ours.total(), "floor": floored.total()}
    return {
        "order_items": prepared.order_items,
        "users": scale.users,
        "customers": customers,
        "naive_customers": naive["customers"],
        "kmeans_iterations": {"ours": floor.iterations, "naive": naive["iterations"]},
        "segment_sizes": sizes,
        "repeats": scale.repeats,
        "seconds": stages,
        "steps": {"ours": ours.runs, "floor": floored.runs},
        "peak_rss": {"server": server_peak, "floor_process": floor_peak, "naive_process": naive["peak_rss"]},
    }


# ---- report ---------------------------------------------------------------------------------------------


def machine() -> dict:
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(memory / 1024**3),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "platform": platform.platform(),
    }


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def _seconds(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def table(results: dict[str, dict]) -> str:
    """A Markdown table: per scale and stage, seconds of the three ways and the ratios."""
    lines = [
        "| order items | stage | ours s | floor s | naive s | ours/floor | naive/ours |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, result in results.items():
        for stage, seconds in result["seconds"].items():
            ours, floor, naive = seconds["ours"], seconds["floor"], seconds.get("naive")
            label = f"**{stage}**" if stage in ("core", "total") else stage
            lines.append(
                f"| {name} | {label} | {_seconds(ours)} | {_seconds(floor)} | {_seconds(naive)} | "
                f"{_ratio(ours, floor)} | {_ratio(naive, ours)} |"
            )
    lines += ["", "| order items | customers | server peak RSS | floor process peak RSS | naive peak RSS |"]
    lines.append("| --- | ---: | ---: | ---: | ---: |")
    for name, result in results.items():
        rss = {key: f"{value / 1024**2:,.0f} MB" for key, value in result["peak_rss"].items()}
        lines.append(
            f"| {name} ({result['order_items']:,}) | {result['customers']:,} | {rss['server']} | "
            f"{rss['floor_process']} | {rss['naive_process']} |"
        )
    return "\n".join(lines)


def verdict(results: dict[str, dict]) -> list[str]:
    """Each performance target with the measured value; a line starting with MISSED when it is not met."""
    lines = []
    if "10M" in results:
        big = results["10M"]
        core = big["seconds"]["core"]
        ratio = core["ours"] / core["floor"]
        lines.append(
            f"{'ok' if ratio <= CORE_RATIO_TARGET else 'MISSED'}: core ours/floor at 10M {ratio:.2f} (target <= {CORE_RATIO_TARGET})"
        )
        rss = big["peak_rss"]["server"]
        lines.append(
            f"{'ok' if rss <= PEAK_RSS_TARGET else 'MISSED'}: server peak RSS at 10M {rss / 1024**3:.2f} GB (target <= 2 GB)"
        )
    for name in ("10M", "1M"):
        if name in results:
            seconds = results[name]["seconds"]
            value = seconds["value_train"]["ours"] + seconds["value_predict"]["ours"]
            ratio = value / (seconds["train"]["ours"] + seconds["predict"]["ours"])
            lines.append(
                f"{'ok' if ratio <= VALUE_RATIO_TARGET else 'MISSED'}: value model train + predict / "
                f"k-means train + predict at {name}, ours, {ratio:.2f} (target <= {VALUE_RATIO_TARGET})"
            )
            break
    if {"1M", "10M"} <= results.keys():
        scaling = results["10M"]["seconds"]["total"]["ours"] / results["1M"]["seconds"]["total"]["ours"]
        lines.append(
            f"{'ok' if scaling <= SCALING_TARGET else 'MISSED'}: ours total 10M/1M {scaling:.2f} (target <= {SCALING_TARGET})"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scales",
        default=",".join(scale.name for scale in MEASURED_SCALES),
        help="comma-separated, of: " + ", ".join(SCALES),
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "pipeline.json")
    args = parser.parse_args()
    scales = [SCALES[name] for name in args.scales.split(",")]

    started = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as work:
        for scale in scales:
            directory = Path(work) / scale.name
            directory.mkdir()
            results[scale.name] = measure(scale, directory)
    report = {
        "machine": machine(),
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds_overall": round(time.perf_counter() - started, 1),
        "scales": results,
        "targets": verdict(results),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")

    info = report["machine"]
    print(
        f"\nPipeline benchmark on {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB; best of "
        + ", ".join(f"{r['repeats']} at {n}" for n, r in results.items())
    )
    print(table(results))
    for name, result in results.items():
        print(
            f"{name}: segment sizes {result['segment_sizes']}, k-means iterations {result['kmeans_iterations']}"
        )
    for line in report["targets"]:
        print(line)
    print(f"written to {args.output} ({report['seconds_overall']:.0f} s overall)")
    return 1 if any(line.startswith("MISSED") for line in report["targets"]) else 0


if __name__ == "__main__":
    sys.exit(main())
