"""Benchmark: do segments last? 30 consecutive daily snapshots of the thelook sample and of UCI Online Retail.

Each day runs the DAG's BigQuery work in the DAG's order (`DAY`), its SQL files rendered as Airflow renders
them, against local_bigquery over HTTP with the official client; the DAG's Python tasks that decide
something (planning the training, matching segment ids, publishing the model) run their own functions,
and what they return reaches the templates as XCom does. The persona step runs too (its own function, the
offline writer standing in for Gemini), to count the days a model call would be made: personas follow
change, so only days on which a segment is new or moved past the refresh thresholds call the writer. The
report is left out. Each day is then run a second time to check that a rerun reproduces it.

Printed per day: whether the model continued or rebased, the share of customers keeping their segment id
(all, and those without an order since the previous day), the smallest segment's share of customers, the
Davies-Bouldin index against scikit-learn's best of `KMeans(n_init=10)` on the same standardized matrix,
the inertia against scikit-learn's, whether the rerun was identical, and how many segments got a new
persona (a model call on that day when any did).

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/stability.py [--users 100000] [--days 30]
        [--datasets sample,retail] [--output benchmarks/results/stability.json]

Targets (exit 1 when missed, from the second day on): at least 99 % of unchanged customers and 95 % of all
customers keep their id day over day, every rerun identical, Davies-Bouldin within 5 % of scikit-learn's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jinja2
import numpy as np
import pandas as pd
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from sklearn.cluster import KMeans
from sklearn.metrics import davies_bouldin_score

from benchmarks import pipeline
from local_bigquery.samples import thelook
from local_bigquery.server import BackgroundServer
from local_bigquery.translate import TableRef
from local_bigquery.warehouse import Warehouse
from segmentation.config import PipelineConfig
from segmentation.continuity import (
    MATCH_TASK,
    PLAN_TASK,
    match_segments,
    matching_input,
    plan_training,
)
from segmentation.personas.step import generate_personas
from segmentation.tables import MODEL
from segmentation.templating import MACROS

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "include" / "sql"
PROJECT = "local-project"
RETAIL_FILE = Path("/work/shared/data/online_retail/online_retail.csv.gz")
if not RETAIL_FILE.is_file():
    RETAIL_FILE = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
SAMPLE_LAST_DAY = dt.date(2024, 6, 29)  # the sample's history ends 2024-06-30
RETAIL_LAST_DAY = dt.date(2011, 12, 9)  # the data set's last invoice day
KEPT_TARGET, UNCHANGED_KEPT_TARGET, DAVIES_BOULDIN_TARGET = 0.95, 0.99, 1.05


@dataclass(frozen=True)
class Step:
    """A task of the DAG that reaches BigQuery: a SQL file, or the name of a Python task's logic here."""

    task_id: str
    file: str | None = None
    table: str | None = None


def _day() -> tuple[Step, ...]:
    """The pipeline benchmark's BigQuery jobs (the DAG's, in its order), with the DAG's Python tasks that
    decide something put where the DAG runs them."""
    python_tasks = {
        f"model.train_{MODEL}": PLAN_TASK,
        "segments.stage_segment_id_mapping": MATCH_TASK,
        "publish_current_view": "publish_model",
    }
    steps: list[Step] = []
    for job in pipeline.STEPS:
        if job.task_id in python_tasks:
            steps.append(Step(python_tasks[job.task_id]))
        steps.append(Step(job.task_id, job.file, job.table))
    return tuple(steps)


DAY = _day()
MEASURED_BEFORE = "publish_snapshot"  # the staged model input and segments are read just before it


class DayRun:
    """One run of the DAG for one date: renders its templates and plays its Python tasks."""

    def __init__(self, client: bigquery.Client, config: PipelineConfig, day: dt.date):
        self.client, self.config, self.day = client, config, day
        self.xcoms: dict[str, object] = {}
        self.environment = jinja2.Environment(
            loader=jinja2.FileSystemLoader(SQL_DIR), undefined=jinja2.StrictUndefined, autoescape=False
        )
        self.environment.globals.update(MACROS)

    def xcom_pull(self, task_ids: str):
        return self.xcoms.get(task_ids)

    def render(self, file: str, table: str | None = None) -> str:
        start = dt.datetime.combine(self.day, dt.time(), dt.UTC)
        params = self.config.model_dump(mode="json") | ({"table": table} if table else {})
        context = {
            "params": params,
            "ds": self.day.isoformat(),
            "ds_nodash": self.day.strftime("%Y%m%d"),
            "data_interval_start": start,
            "data_interval_end": start + dt.timedelta(days=1),
            "ti": self,
        }
        return self.environment.get_template(file).render(context)

    def rows(self, file: str) -> list[dict]:
        return [dict(row.items()) for row in self.client.query_and_wait(self.render(file))]

    def frame(self, sql: str) -> pd.DataFrame:
        return self.client.query_and_wait(sql).to_dataframe()

    def run(self, step: Step) -> None:
        if step.file:
            self.client.query_and_wait(self.render(step.file, step.table))
        else:
            self.TASKS[step.task_id](self)

    # ---- the DAG's Python tasks, with the functions they call -------------------------------------------

    def plan(self) -> None:
        (history,) = self.rows("training_plan.sql")
        self.xcoms[PLAN_TASK] = plan_training(self.config, history).model_dump(mode="json")

    def match(self) -> None:
        centroids, previous = matching_input(self.rows("segment_matching.sql"))
        (ids_used,) = self.rows("segment_ids_used.sql")
        matches = match_segments(
            centroids,
            previous,
            max_shift=self.config.max_segment_shift,
            first_new_id=ids_used["first_new_id"],
        )
        self.xcoms[MATCH_TASK] = [match.model_dump() for match in matches]

    def publish_model(self) -> None:
        (latest,) = self.rows("latest_snapshot.sql")
        if latest["latest_snapshot"] == self.day:
            reference = {"projectId": PROJECT, "datasetId": self.config.dataset}
            copy = {
                "sourceTable": reference | {"tableId": f"_staging_{MODEL}_{self.day:%Y%m%d}"},
                "destinationTable": reference | {"tableId": MODEL},
                "writeDisposition": "WRITE_TRUNCATE",
            }
            self.client.create_job({"copy": copy}).result()
        self.rows("drop_trained_model.sql")

    TASKS: dict[str, Callable[[DayRun], None]] = {
        PLAN_TASK: plan,
        MATCH_TASK: match,
        "publish_model": publish_model,
    }


def scikit_learn_best(matrix: np.ndarray, k: int) -> KMeans:
    return KMeans(k, n_init=10, random_state=0).fit(matrix)


def standardized(frame: pd.DataFrame) -> np.ndarray:
    """The model input as BigQuery ML standardizes it: NULL as the mean, z-scores with the sample stddev."""
    values = frame.astype(float)
    values = values.fillna(values.mean())
    scale = values.std(ddof=1).replace(0, 1.0)
    return ((values - values.mean()) / scale).to_numpy()


def run_day(client: bigquery.Client, config: PipelineConfig, day: dt.date) -> dict:
    """One day's run; the figures read from its staged model input and segments, and its published rows."""
    run = DayRun(client, config, day)
    measured: dict = {}
    for step in DAY:
        if step.task_id == MEASURED_BEFORE:
            measured = _quality(run)
        run.run(step)
    (stability,) = run.frame(
        f"SELECT * FROM `{config.dataset}.segment_stability` WHERE snapshot_date = '{day}'"
    ).to_dict("records")
    smallest = run.frame(
        f"SELECT MIN(customer_share) AS share FROM `{config.dataset}.segment_profiles` WHERE snapshot_date = '{day}'"
    ).share[0]
    personas = generate_personas(
        snapshot_date=day, project_id=PROJECT, dataset=config.dataset, backend=config.persona_backend
    )
    return measured | {
        "day": day.isoformat(),
        "training": stability["training"],
        "rebase_reason": stability["rebase_reason"],
        "kept_share": _number(stability["kept_share"]),
        "unchanged_kept_share": _number(stability["unchanged_kept_share"]),
        "new_segments": int(stability["new_segments"]),
        "smallest_segment_share": float(smallest),
        "persona_refreshes": len(personas["refreshed"]),
    }


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _quality(run: DayRun) -> dict:
    model_input = run.frame(run.render("model_input.sql"))
    segments = run.frame(
        f"SELECT customer_id, segment_id FROM `{run.config.dataset}._staging_customer_segments_{run.day:%Y%m%d}`"
    )
    rows = model_input.merge(segments, on="customer_id", validate="one_to_one")
    left_out = run.xcoms[PLAN_TASK]["left_out_features"]  # what the model did not train on
    matrix = standardized(rows.drop(columns=["customer_id", "segment_id", *left_out]).select_dtypes("number"))
    labels = rows.segment_id.to_numpy()
    k = len(np.unique(labels))
    best = scikit_learn_best(matrix, k)
    ours_inertia = sum(
        ((matrix[labels == s] - matrix[labels == s].mean(axis=0)) ** 2).sum() for s in np.unique(labels)
    )
    return {
        "k": k,
        "customers": len(rows),
        "davies_bouldin": float(davies_bouldin_score(matrix, labels)),
        "davies_bouldin_sklearn": float(davies_bouldin_score(matrix, best.labels_)),
        "inertia_ratio": float(ours_inertia / best.inertia_),
    }


def segments_of(client: bigquery.Client, dataset: str, day: dt.date) -> pd.DataFrame:
    return (
        client.query_and_wait(
            f"SELECT customer_id, segment_id, distance FROM `{dataset}.customer_segments` WHERE snapshot_date = '{day}'"
        )
        .to_dataframe()
        .sort_values("customer_id")
        .reset_index(drop=True)
    )


def rerun_changes(first: pd.DataFrame, again: pd.DataFrame) -> dict:
    """What a rerun changed: customers in another segment (or in one run only), the largest distance change."""
    both = first.merge(again, on="customer_id", how="outer", suffixes=("", "_again"), indicator=True)
    paired = both[both._merge == "both"]
    return {
        "rerun_moved_customers": int(
            (both._merge != "both").sum() + (paired.segment_id != paired.segment_id_again).sum()
        ),
        "rerun_max_distance_change": float((paired.distance - paired.distance_again).abs().max()),
    }


def run_days(client: bigquery.Client, config: PipelineConfig, days: list[dt.date], label: str) -> list[dict]:
    results = []
    for day in days:
        figures = run_day(client, config, day)
        first = segments_of(client, config.dataset, day)
        run_day(client, config, day)
        again = segments_of(client, config.dataset, day)
        figures["rerun_identical"] = bool(first.equals(again))
        figures.update(rerun_changes(first, again))
        results.append(figures)
        print(_line(label, figures), flush=True)
    return results


def _line(label: str, f: dict) -> str:
    def share(value):
        return "     -" if value is None else f"{value:6.1%}"

    return (
        f"{label:7} {f['day']} {f['training']:9} k={f['k']:<2} kept {share(f['kept_share'])} "
        f"unchanged kept {share(f['unchanged_kept_share'])} smallest {f['smallest_segment_share']:6.2%} "
        f"DB {f['davies_bouldin']:.3f} vs sklearn {f['davies_bouldin_sklearn']:.3f} "
        f"({f['davies_bouldin'] / f['davies_bouldin_sklearn']:.3f}) inertia x{f['inertia_ratio']:.3f} "
        f"rerun {'identical' if f['rerun_identical'] else 'DIFFERENT'}"
        + (
            ""
            if f["rerun_identical"]
            else f" ({f['rerun_moved_customers']} moved, distance change {f['rerun_max_distance_change']:.1e})"
        )
        + f" new personas {f['persona_refreshes']}"
    )


# ---- data sets ------------------------------------------------------------------------------------------


def load_sample(warehouse: Warehouse, users: int) -> PipelineConfig:
    tables = thelook.generate(users=users, seed=42)
    warehouse.locked(warehouse.catalog.create_dataset, PROJECT, "thelook_ecommerce", {})
    for name, table in tables.items():
        warehouse.load_arrow(TableRef(PROJECT, "thelook_ecommerce", name), table)
    return PipelineConfig(
        project_id=PROJECT, dataset="stability_sample", source_project=PROJECT, persona_backend="offline"
    )


def load_retail(client: bigquery.Client, path: Path) -> PipelineConfig:
    from scripts.run_retail import create_transactions_view, load_raw

    client.create_dataset("online_retail", exists_ok=True)
    raw, view = f"{PROJECT}.online_retail.online_retail_raw", f"{PROJECT}.online_retail.transactions"
    load_raw(client, raw, path)
    create_transactions_view(client, raw, view)
    return PipelineConfig(
        project_id=PROJECT,
        dataset="stability_retail",
        source_kind="transactions",
        transactions_table=view,
        log_transform_monetary=True,
        persona_backend="offline",
    )


def last_days(last: dt.date, count: int) -> list[dt.date]:
    return [last - dt.timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def summary(results: list[dict]) -> dict:
    continued = results[1:]
    kept = [r["kept_share"] for r in continued if r["kept_share"] is not None]
    unchanged = [r["unchanged_kept_share"] for r in continued if r["unchanged_kept_share"] is not None]
    ratios = [r["davies_bouldin"] / r["davies_bouldin_sklearn"] for r in results]
    return {
        "days": len(results),
        "min_kept_share": min(kept, default=None),
        "min_unchanged_kept_share": min(unchanged, default=None),
        "min_smallest_segment_share": min(r["smallest_segment_share"] for r in results),
        "max_davies_bouldin_ratio": max(ratios),
        "max_inertia_ratio": max(r["inertia_ratio"] for r in results),
        "reruns_identical": all(r["rerun_identical"] for r in results),
        "rebases": sum(r["training"] == "rebased" for r in results),
        "persona_calls": sum(r["persona_refreshes"] > 0 for r in results),
    }


def missed_targets(name: str, figures: dict) -> list[str]:
    missed = []
    if figures["min_kept_share"] is not None and figures["min_kept_share"] < KEPT_TARGET:
        missed.append(f"{name}: a day kept only {figures['min_kept_share']:.1%} of customers' ids")
    if (
        figures["min_unchanged_kept_share"] is not None
        and figures["min_unchanged_kept_share"] < UNCHANGED_KEPT_TARGET
    ):
        missed.append(
            f"{name}: a day kept only {figures['min_unchanged_kept_share']:.1%} of unchanged customers"
        )
    if not figures["reruns_identical"]:
        missed.append(f"{name}: a rerun differed")
    if figures["max_davies_bouldin_ratio"] > DAVIES_BOULDIN_TARGET:
        missed.append(f"{name}: Davies-Bouldin {figures['max_davies_bouldin_ratio']:.3f}x scikit-learn's")
    return missed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000, help="thelook sample size (100k: make run's)")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--datasets", default="sample,retail")
    parser.add_argument("--retail-file", type=Path, default=RETAIL_FILE, help="the UCI Online Retail CSV")
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "stability.json")
    args = parser.parse_args(argv)
    wanted = args.datasets.split(",")
    report: dict = {"days": args.days, "users": args.users, "datasets": {}}
    with BackgroundServer(Warehouse()) as server:
        # The persona step reaches BigQuery through the provider's hook, as in the DAG: an anonymous
        # connection to this server.
        os.environ["BIGQUERY_EMULATOR_HOST"] = server.url
        os.environ.setdefault(
            "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT",
            json.dumps(
                {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": PROJECT}}
            ),
        )
        client = bigquery.Client(
            project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
        )
        loaders = {
            "sample": (lambda: load_sample(server.warehouse, args.users), SAMPLE_LAST_DAY),
            "retail": (lambda: load_retail(client, args.retail_file), RETAIL_LAST_DAY),
        }
        for name in wanted:
            load, last = loaders[name]
            config = load()
            results = run_days(client, config, last_days(last, args.days), name)
            report["datasets"][name] = {"summary": summary(results), "per_day": results}
    missed = [
        text for name, data in report["datasets"].items() for text in missed_targets(name, data["summary"])
    ]
    report["missed_targets"] = missed
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    for name, data in report["datasets"].items():
        print(f"{name}: {json.dumps(data['summary'], default=str)}")
    for text in missed:
        print(f"target missed: {text}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
