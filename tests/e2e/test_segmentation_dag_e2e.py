"""The customer_segmentation DAG end to end: real Airflow (dag.test), the real BigQuery operators and client,
local_bigquery, on a 2,000-customer thelook sample.

One module-scoped sequence of runs serves the assertions: the latest date three times, then two older
dates as backfills. The failure tests then feed bad input and check that the gate names the problem,
fails without retrying, and leaves every published partition exactly as it was.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import re
import uuid
from collections.abc import Generator
from pathlib import Path

import markupsafe
import numpy as np
import pandas as pd
import pendulum
import pyarrow as pa
import pytest
from airflow.listeners import hookimpl
from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from local_bigquery.samples import thelook
from segmentation.config import PipelineConfig
from segmentation.costs import label_value
from segmentation.features import FEATURE_BOUNDS
from segmentation.personas.prompt import PROMPT_VERSION
from segmentation.tables import (
    CURRENT_VIEW,
    MODEL,
    PERSONAS,
    VALUE_MODEL,
    current_view_columns,
    partitioned_tables,
)
from tests.conftest import PROJECT, ROOT, run_dag
from tests.fakes.gemini_server import FakeGemini, error, json_answer
from tests.fakes.webhook import Webhook

pytestmark = pytest.mark.airflow

USERS = 2_000
NUM_CLUSTERS = 4
LATEST = "2024-06-01"  # the sample's history ends 2024-06-30 and starts four years earlier
BACKFILLS = ("2024-05-01", "2024-04-01")
# A manual run of LATEST triggered mid-afternoon: it snapshots LATEST as the scheduled run does.
MANUAL_TRIGGER = f"{LATEST}T13:47:00+00:00"
DATES = (LATEST, *BACKFILLS)
BEFORE_ANY_ORDER = "2020-01-01"
TABLES = partitioned_tables(PipelineConfig())
KEYS = {
    "customer_features": ["snapshot_date", "customer_id"],
    "model_evaluations": ["snapshot_date", "k"],
    "customer_segments": ["snapshot_date", "customer_id"],
    "segment_profiles": ["snapshot_date", "segment_id"],
    "customer_value_predictions": ["snapshot_date", "customer_id"],
    "value_model_evaluations": ["snapshot_date", "model"],
    "segment_transitions": ["snapshot_date", "previous_segment_id", "segment_id"],
    "segment_membership_changes": ["snapshot_date", "customer_id"],
    "segment_id_mapping": ["snapshot_date", "centroid_id"],
    "segment_centroids": ["snapshot_date", "segment_id", "feature"],
    "segment_stability": ["snapshot_date"],
}
BIGQUERY_TYPES = {
    "INT64": "INTEGER",
    "FLOAT64": "FLOAT",
    "BOOL": "BOOLEAN",
    "STRING": "STRING",
    "DATE": "DATE",
}
FEATURES = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_ratio"]


def _query(client: bigquery.Client, sql: str) -> pd.DataFrame:
    return client.query(sql).to_dataframe()


def on(rows: pd.DataFrame, date: str) -> pd.DataFrame:
    """The rows of one snapshot."""
    return rows[rows.snapshot_date.astype(str) == date]


def _load_source(client: bigquery.Client, dataset: str, tmp_path_factory) -> None:
    client.create_dataset(dataset)
    files = thelook.write_parquet(thelook.generate(users=USERS), tmp_path_factory.mktemp("thelook"))
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET)
    for name, path in files.items():
        with open(path, "rb") as parquet:
            client.load_table_from_file(parquet, f"{dataset}.{name}", job_config=config).result()


@pytest.fixture(scope="module")
def source(bq_client, tmp_path_factory) -> str:
    dataset = f"thelook_{uuid.uuid4().hex[:8]}"
    _load_source(bq_client, dataset, tmp_path_factory)
    yield dataset
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture(scope="module")
def output(bq_client) -> str:
    dataset = f"segmentation_{uuid.uuid4().hex[:8]}"
    yield dataset
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture(scope="module")
def conf(source, output) -> dict:
    return {
        "project_id": PROJECT,
        "dataset": output,
        "source_project": PROJECT,
        "source_dataset": source,
        "num_clusters": NUM_CLUSTERS,
        "persona_backend": "offline",
    }


@pytest.fixture(scope="module")
def dag(airflow_db, bigquery_server):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_segmentation"]


def run(dag, date: str, conf: dict):
    return run_dag(dag, pendulum.parse(date), conf)


def contents(client: bigquery.Client, dataset: str) -> dict[str, pd.DataFrame]:
    """Every published row of every table, in a stable order."""
    return {
        table.name: _query(client, f"SELECT * FROM `{dataset}.{table.name}`")
        .sort_values(KEYS[table.name])
        .reset_index(drop=True)
        for table in TABLES
    }


@pytest.fixture(scope="module")
def runs(dag, conf, bq_client, output):
    """The latest date run three times, the last one triggered by hand in the afternoon (its logical date
    13:47 on that day), then two backfills; the features after the first run, too."""
    states = [run(dag, LATEST, conf).state]
    first = contents(bq_client, output)
    states += [run(dag, date, conf).state for date in (LATEST, MANUAL_TRIGGER)]
    states += [run(dag, date, conf).state for date in BACKFILLS]
    return {
        "states": states,
        "first_features": first["customer_features"],
        "first_segments": first["customer_segments"],
    }


@pytest.fixture(scope="module")
def published(runs, bq_client, output) -> dict[str, pd.DataFrame]:
    return contents(bq_client, output)


def test_every_run_succeeds(runs):
    assert runs["states"] == ["success"] * 5


@pytest.mark.parametrize("table", TABLES, ids=lambda table: table.name)
def test_tables_exist_with_the_documented_columns(published, bq_client, output, table):
    stored = bq_client.get_table(f"{output}.{table.name}")
    assert [field.name for field in stored.schema] == list(table.column_names)
    assert [field.field_type for field in stored.schema] == [
        "RECORD" if c.type.startswith("ARRAY<STRUCT") else BIGQUERY_TYPES[c.type] for c in table.columns
    ]
    assert stored.time_partitioning.field == "snapshot_date"
    assert stored.clustering_fields == list(table.cluster_by)


def test_the_model_and_the_analysts_view_exist(published, bq_client, output):
    model = bq_client.get_model(f"{output}.{MODEL}")
    assert model.model_type == "KMEANS"
    value_model = bq_client.get_model(f"{output}.{VALUE_MODEL}")
    assert value_model.model_type == "LINEAR_REGRESSION"
    assert [column.name for column in value_model.label_columns] == ["predicted_transformed_future_value"]
    leftovers = [m.model_id for m in bq_client.list_models(output)] + [
        t.table_id for t in bq_client.list_tables(output)
    ]
    assert not [name for name in leftovers if name.startswith("_staging_")], "publishing drops staging"
    view = bq_client.get_table(f"{output}.{CURRENT_VIEW}")
    assert view.table_type == "VIEW"
    columns = [field.name for field in view.schema]
    assert columns[:4] == ["snapshot_date", "customer_id", "segment_id", "distance"]
    assert {"persona_title", "recommended_channel", *FEATURES} <= set(columns)
    # Analysts read the data dictionary in the view's schema itself.
    described = {field.name: field.description for field in view.schema}
    assert described == {
        view_column.column.name: view_column.column.description
        for view_column in current_view_columns(PipelineConfig())
    }
    assert all(described.values())


def test_one_partition_per_date_and_no_duplicates_after_reruns_and_backfills(published):
    for name, rows in published.items():
        assert sorted(rows.snapshot_date.astype(str).unique()) == sorted(DATES), name
        assert not rows.duplicated(KEYS[name]).any(), name


def test_rerunning_a_date_reproduces_its_features(runs, published):
    """The last rerun was a manual trigger at 13:47: it is cut off at the start of its day as the first
    run was, not at the moment it was triggered."""
    latest = on(published["customer_features"], LATEST).reset_index(drop=True)
    pd.testing.assert_frame_equal(latest, runs["first_features"].reset_index(drop=True))


def test_asset_events_carry_the_snapshot_they_published(published):
    """Every run's publish_snapshot and persona step emit an event per outlet, and every asset event of the
    DAG names the run's snapshot."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.execute(
            select(AssetEvent.source_task_id, AssetModel.name, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == "customer_segmentation")
        ).all()
    dates: dict[tuple[str, str], set[str]] = {}
    for task_id, asset, extra in events:
        dates.setdefault((task_id, asset.rsplit(".", 1)[-1]), set()).add(extra.get("snapshot_date"))
    for table in [*TABLES, PERSONAS]:
        name = getattr(table, "name", table)
        task_id = "personas.generate_personas" if name == PERSONAS else "publish_snapshot"
        assert set(DATES) <= dates[task_id, name], name
    assert None not in set().union(*dates.values())


def test_rerunning_a_date_reproduces_its_segments(runs, published):
    latest = on(published["customer_segments"], LATEST).reset_index(drop=True)
    pd.testing.assert_frame_equal(latest, runs["first_segments"].reset_index(drop=True))


# The source columns a run of the base feature set needs (include/sql/order_lines_thelook.sql): products'
# department and category only the extended set's spend features read.
NEEDED_SOURCE_COLUMNS = {
    "order_items": [
        "id",
        "user_id",
        "order_id",
        "created_at",
        "sale_price",
        "status",
        "returned_at",
        "product_id",
    ],
    "products": ["id"],
}


def one_scan_bytes(client: bigquery.Client, dataset: str) -> int:
    """One scan of those columns by BigQuery's data size rules (8 bytes per INT64, FLOAT64 or TIMESTAMP
    value, 2 + the UTF-8 length per STRING, 0 per NULL: https://cloud.google.com/bigquery/pricing#data_size_calculation),
    counted here from the rows themselves."""
    total = 0
    for table, columns in NEEDED_SOURCE_COLUMNS.items():
        rows = client.query(f"SELECT {', '.join(columns)} FROM `{dataset}.{table}`").to_arrow()
        for column in rows.itercolumns():
            values = [value for value in column.to_pylist() if value is not None]
            textual = pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
            total += sum(2 + len(value.encode()) for value in values) if textual else 8 * len(values)
    return total


def latest_run_costs(client: bigquery.Client, output: str) -> pd.DataFrame:
    """run_costs of the latest recorded run of the latest date."""
    costs = _query(client, f"SELECT * FROM `{output}.run_costs` WHERE snapshot_date = '{LATEST}'")
    return costs[costs.run_id == costs.sort_values("recorded_at").run_id.iloc[-1]]


def test_a_run_reads_the_source_once(published, bq_client, output, source):
    """By the run's own ledger: one job reads the source, and only the columns the run needs."""
    jobs = latest_run_costs(bq_client, output).dropna(subset=["job_id"])
    reading = {
        row.task_id: row.total_bytes_processed
        for row in jobs.itertuples()
        # A copy job (publishing the model) has no referenced tables.
        if any(
            table.dataset_id == source
            for table in getattr(bq_client.get_job(row.job_id), "referenced_tables", [])
        )
    }
    assert list(reading) == ["source.stage_customer_order_history"]
    ratio = sum(reading.values()) / one_scan_bytes(bq_client, source)
    assert 1.0 <= ratio <= 1.3


def test_every_job_of_a_run_is_labelled_and_in_its_ledger(published, bq_client, output):
    costs = latest_run_costs(bq_client, output)
    assert {
        "source.stage_customer_order_history",
        "model.plan_training",
        "segments.match_segment_ids",
        "publish_model",
        "personas.generate_personas",
        "record_costs",
        "report",
    } <= set(costs.task_id)
    ledger = set(costs.job_id.dropna())
    created = [bq_client.get_job(job_id).created for job_id in ledger]
    run_label = label_value(costs.run_id.iloc[0])
    listed = list(bq_client.list_jobs(min_creation_time=min(created)))
    labelled = {
        job.job_id
        for job in listed
        if job.labels.get("run_id") == run_label and job.labels.get("dag_id") == "customer_segmentation"
    }
    # Nothing else ran meanwhile: every job sent while the run ran carries its labels.
    assert {job.job_id for job in listed if job.created <= max(created)} <= labelled
    assert ledger <= labelled
    # All but the ledger's own last write, which cannot record itself.
    assert len(labelled - ledger) == 1


def test_a_run_computes_its_clipping_bounds_once_and_every_model_input_reads_them(
    published, bq_client, output
):
    """APPROX_QUANTILES is approximate on BigQuery, so each job computing the bounds could clip differently:
    by the run's ledger, one job computes them, and planning, training, evaluating and predicting read its
    table."""
    bounds = f"{FEATURE_BOUNDS}_{LATEST.replace('-', '')}"
    jobs = [
        (row.task_id, bq_client.get_job(row.job_id))
        for row in latest_run_costs(bq_client, output).dropna(subset=["job_id"]).itertuples()
    ]
    computing = {task_id for task_id, job in jobs if "APPROX_QUANTILES" in (getattr(job, "query", "") or "")}
    assert computing == {f"features.stage_{FEATURE_BOUNDS}"}
    readers = {
        task_id
        for task_id, job in jobs
        if any(table.table_id == f"_staging_{bounds}" for table in getattr(job, "referenced_tables", []))
    }
    assert {
        "model.plan_training",
        f"model.train_{MODEL}",
        "model.stage_model_evaluations",
        "segments.match_segment_ids",
        "segments.stage_customer_segments",
        "segments.stage_segment_centroids",
    } <= readers


def test_the_reports_choice_of_k_scans_the_input_the_model_trained_on(published, output):
    """The report's sample, prepared as the scan prepares it, lies in the model's own space: each sampled
    customer's distance to its segment's standardized centroid is the distance ML.PREDICT published."""
    from segmentation.personas.store import Warehouse
    from segmentation.report.choice_of_k import model_matrix
    from segmentation.report.data import load_report_data

    data = load_report_data(
        Warehouse("google_cloud_default", PROJECT, output), datetime.date.fromisoformat(LATEST)
    )
    assert data.model_input is not None
    matrix = model_matrix(data.sample, model_input=data.model_input)
    centroids = on(published["segment_centroids"], LATEST)
    standardized = (
        centroids.assign(z=(centroids.numerical_value - centroids.feature_mean) / centroids.feature_stddev)
        .pivot(index="segment_id", columns="feature", values="z")
        .loc[:, list(data.model_input.standardization)]
    )
    nearest = standardized.loc[data.sample.segment_id].to_numpy()
    segments = on(published["customer_segments"], LATEST).set_index("customer_id")
    np.testing.assert_allclose(
        np.linalg.norm(matrix - nearest, axis=1),
        segments.distance.loc[data.sample.customer_id].to_numpy(),
        rtol=1e-6,
    )
    # The clipping matters here: the unclipped sample would not lie in the model's space.
    assert data.model_input.bounds["monetary"][1] < data.sample.monetary.max()


def test_backfills_keep_the_model_of_the_latest_snapshot_and_leave_no_staging_model(
    published, bq_client, output
):
    model = bq_client.get_model(f"{output}.{MODEL}")
    assert model.labels["snapshot_date"] == LATEST.replace("-", ""), "a backfill must not replace the model"
    models = [m.model_id for m in bq_client.list_models(output)]
    assert MODEL in models and not [name for name in models if name.startswith("_staging_")]
    served = _query(
        bq_client,
        f"SELECT centroid_id, feature, numerical_value FROM ML.CENTROIDS(MODEL `{output}.{MODEL}`) "
        "WHERE numerical_value IS NOT NULL",
    )
    mapping = on(published["segment_id_mapping"], LATEST)[["centroid_id", "segment_id"]]
    centroids = on(published["segment_centroids"], LATEST)
    expected = centroids.merge(mapping, on="segment_id")[["centroid_id", "feature", "numerical_value"]]
    pd.testing.assert_frame_equal(
        served.sort_values(["centroid_id", "feature"]).reset_index(drop=True),
        expected.sort_values(["centroid_id", "feature"]).reset_index(drop=True),
        check_dtype=False,
    )


def test_every_snapshot_records_how_it_trained(published):
    stability = published["segment_stability"].set_index(
        published["segment_stability"].snapshot_date.astype(str)
    )
    for date in DATES:
        assert stability.loc[date, "training"] == "rebased"
        assert stability.loc[date, "rebase_reason"] == "no earlier snapshot"
    evaluations = published["model_evaluations"]
    assert (evaluations.iterations > 1).all() and (evaluations.iterations <= 100).all()


@pytest.mark.parametrize("date", DATES)
def test_every_featured_customer_has_exactly_one_segment(published, date):
    features = on(published["customer_features"], date)
    segments = on(published["customer_segments"], date)
    assert len(features) > 100
    assert sorted(segments.customer_id) == sorted(features.customer_id)
    assert set(segments.segment_id) == set(range(1, NUM_CLUSTERS + 1))
    assert (segments.distance >= 0).all()


@pytest.mark.parametrize("date", DATES)
def test_profiles_equal_group_means_recomputed_in_pandas(published, date):
    features = on(published["customer_features"], date)
    segments = on(published["customer_segments"], date)
    members = segments[["customer_id", "segment_id"]].merge(features, on="customer_id", validate="one_to_one")
    groups = members.groupby("segment_id")
    expected = groups[FEATURES].mean()
    expected["customers"] = groups.size()
    expected["customer_share"] = expected.customers / len(members)
    expected["revenue_share"] = groups.monetary.sum() / members.monetary.sum()
    predictions = on(published["customer_value_predictions"], date)[["customer_id", "predicted_value"]]
    valued = members.merge(predictions, on="customer_id", validate="one_to_one").groupby("segment_id")
    expected["avg_predicted_value"] = valued.predicted_value.mean()
    expected["predicted_value_share"] = valued.predicted_value.sum() / predictions.predicted_value.sum()
    profiles = on(published["segment_profiles"], date).set_index("segment_id")
    pd.testing.assert_frame_equal(
        profiles[expected.columns].sort_index(), expected, check_dtype=False, check_names=False, rtol=1e-9
    )


@pytest.mark.parametrize("date", DATES)
def test_every_featured_customer_has_one_sane_value_prediction(published, date):
    features = on(published["customer_features"], date)
    predictions = on(published["customer_value_predictions"], date)
    assert sorted(predictions.customer_id) == sorted(features.customer_id)
    assert (predictions.predicted_value >= 0).all() and predictions.predicted_value.notna().all()
    assert set(predictions.horizon_days) == {90}
    # Decile 1 is the tenth predicted to be worth the most.
    deciles = predictions.groupby("predicted_value_decile").predicted_value
    assert list(deciles.size().index) == list(range(1, 11))
    assert (deciles.min().iloc[:-1].to_numpy() >= deciles.max().iloc[1:].to_numpy()).all()
    assert predictions.predicted_value.sum() > 0


@pytest.mark.parametrize("date", DATES)
def test_the_backtest_scores_the_value_model_and_the_last_period_baseline(published, date):
    evaluations = on(published["value_model_evaluations"], date).set_index("model")
    assert sorted(evaluations.index) == ["last_period", "value_model"]
    assert evaluations.customers.nunique() == 1 and (evaluations.horizon_days == 90).all()
    assert evaluations.spearman.between(-1, 1).all()
    assert evaluations.top_decile_capture.between(0, 1).all()
    assert (evaluations.mean_absolute_error <= evaluations.root_mean_squared_error).all()
    for model, row in evaluations.iterrows():
        deciles = pd.DataFrame(list(row.deciles))
        assert list(deciles.decile) == list(range(1, 11)), model
        assert deciles.customers.sum() == row.customers, model
    # A model that learned anything ranks future spenders better than "same as the last 90 days".
    assert evaluations.spearman["value_model"] > evaluations.spearman["last_period"]


def test_a_backfill_sees_only_orders_before_its_cut_off(published, bq_client, source):
    """customer_features of a backfilled date, recomputed from the raw source in pandas."""
    date = BACKFILLS[-1]
    cut_off = pd.Timestamp(date, tz="UTC")
    items = _query(bq_client, f"SELECT * FROM `{source}.order_items`")
    kept = items[(items.created_at < cut_off) & (items.status != "Cancelled")].copy()
    kept["returned"] = kept.returned_at.notna() & (kept.returned_at < cut_off)
    kept["value"] = kept.sale_price.where(~kept.returned, 0.0)
    customers = kept.groupby("user_id")
    expected = pd.DataFrame(
        {
            "recency_days": (cut_off - customers.created_at.max()).dt.days,
            "frequency": customers.order_id.nunique(),
            "monetary": customers.value.sum(),
            "tenure_days": (cut_off - customers.created_at.min()).dt.days,
            "return_ratio": customers.returned.mean(),
        }
    )
    expected["avg_order_value"] = expected.monetary / expected.frequency
    actual = on(published["customer_features"], date).set_index("customer_id")
    assert (items.created_at >= cut_off).any(), "the sample must have orders after the cut-off"
    pd.testing.assert_frame_equal(
        actual[FEATURES].sort_index(), expected[FEATURES].sort_index(), check_dtype=False, check_names=False
    )


def test_model_evaluations_record_each_snapshots_model(published):
    evaluations = published["model_evaluations"].set_index(
        published["model_evaluations"].snapshot_date.astype(str)
    )
    counts = published["customer_features"].snapshot_date.astype(str).value_counts()
    for date in DATES:
        row = evaluations.loc[date]
        assert row.k == NUM_CLUSTERS
        assert row.training_rows == counts[date]
        assert row.davies_bouldin_index > 0
        assert row.mean_squared_distance > 0
        assert row.is_selected


def test_the_current_view_shows_the_latest_snapshot_after_older_backfills(published, bq_client, output):
    current = _query(bq_client, f"SELECT * FROM `{output}.{CURRENT_VIEW}`")
    assert set(current.snapshot_date.astype(str)) == {LATEST}
    latest = on(published["customer_segments"], LATEST)
    assert sorted(current.customer_id) == sorted(latest.customer_id)
    assert current.persona_title.notna().all()


class TaskFailures:
    """An Airflow listener keeping the error each failed task reported, by task id."""

    def __init__(self):
        self.errors: dict[str, str] = {}

    @hookimpl
    def on_task_instance_failed(self, previous_state, task_instance, error):
        self.errors[task_instance.task_id] = str(error)


@contextlib.contextmanager
def recorded_task_failures() -> Generator[dict[str, str]]:
    """The error of each task that fails meanwhile, by task id."""
    from airflow.sdk.listener import get_listener_manager

    listener = TaskFailures()
    manager = get_listener_manager()
    manager.add_listener(listener)
    try:
        yield listener.errors
    finally:
        manager.pm.unregister(listener)


@pytest.fixture
def task_failures():
    with recorded_task_failures() as errors:
        yield errors


def _failed_run(dag, date: str, conf: dict):
    """A run expected to fail: its state and its failed task instances."""
    dag_run = run(dag, date, conf)
    failed = [ti for ti in dag_run.get_task_instances() if ti.state == "failed"]
    return dag_run.state, failed


def _report_and_link(dag_run) -> tuple[str, str]:
    """Where the run's report task published the report, and the "Run report" link the UI shows for it."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        xcoms = session.scalars(
            XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id, task_ids="report")
        ).all()
        values = {xcom.key: XComModel.deserialize_value(xcom) for xcom in xcoms}
    return values["return_value"], values["_link_RunReportLink"]


def _assert_failed_at_once(failed, task_id: str):
    assert [ti.task_id for ti in failed] == [task_id]
    assert failed[0].try_number == 1, "a failed gate must not be retried"


def _assert_unchanged(client, dataset: str, published: dict[str, pd.DataFrame]) -> None:
    after = contents(client, dataset)
    for name, rows in published.items():
        pd.testing.assert_frame_equal(after[name], rows, obj=name)


@pytest.fixture(scope="module")
def runs_without_orders(published, dag, conf) -> dict[str, tuple[str, list, dict[str, str]]]:
    """Two runs of a date before any order: one looking 30 days back, then one with the run settings'
    freshness window (3 days), which shows whether the first run's conf leaked into it. Each: the run's
    state, its failed task instances and the errors they reported."""
    outcomes = {}
    for name, settings in (("30 days", {**conf, "freshness_days": 30}), ("default", conf)):
        with recorded_task_failures() as errors:
            state, failed = _failed_run(dag, BEFORE_ANY_ORDER, settings)
        outcomes[name] = (state, failed, errors)
    return outcomes


def test_a_date_without_orders_fails_the_freshness_gate_and_changes_nothing(
    runs_without_orders, published, conf, bq_client, output
):
    state, failed, errors = runs_without_orders["default"]
    assert state == "failed"
    _assert_failed_at_once(failed, "source.check_freshness")
    logged = errors["source.check_freshness"]
    assert (
        f"source freshness gate failed: no orders in {PROJECT}.{conf['source_dataset']} during the 3 days "
        f"before {BEFORE_ANY_ORDER} 00:00:00"
    ) in logged
    assert "latest earlier order: none" in logged
    _assert_unchanged(bq_client, output, published)


def _source_copy(client: bigquery.Client, source: str, prefix: str, order_items: str) -> str:
    """A copy of the source dataset whose order_items are `order_items` (a SELECT over the original's)."""
    dataset = f"{prefix}_{uuid.uuid4().hex[:8]}"
    client.create_dataset(dataset)
    for name in ("users", "orders", "products"):
        client.query_and_wait(f"CREATE TABLE `{dataset}.{name}` AS SELECT * FROM `{source}.{name}`")
    client.query_and_wait(f"CREATE TABLE `{dataset}.order_items` AS {order_items}")
    return dataset


@pytest.fixture
def negative_prices(bq_client, source) -> tuple[str, int]:
    """A copy of the source where every 40th order item has a negative sale price."""
    dataset = _source_copy(
        bq_client,
        source,
        "thelook_bad",
        "SELECT * REPLACE (IF(MOD(id, 40) = 0, -sale_price, sale_price) AS sale_price) "
        f"FROM `{source}.order_items`",
    )
    items = _query(bq_client, f"SELECT id, created_at FROM `{dataset}.order_items`")
    negative = int(((items.id % 40 == 0) & (items.created_at < pd.Timestamp(LATEST, tz="UTC"))).sum())
    yield dataset, negative
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def test_negative_prices_fail_the_values_gate_and_change_nothing(
    published, dag, conf, bq_client, output, negative_prices, task_failures
):
    dataset, negative = negative_prices
    assert negative > 0
    state, failed = _failed_run(dag, LATEST, {**conf, "source_dataset": dataset})
    assert state == "failed"
    _assert_failed_at_once(failed, "source.check_values")
    assert (
        f"source values gate failed: {negative} order lines with a negative sale_price in {PROJECT}.{dataset}"
    ) in task_failures["source.check_values"]
    _assert_unchanged(bq_client, output, published)


@pytest.fixture
def shrunken_source(bq_client, source) -> str:
    """A copy of the source that lost the orders of three customers out of four."""
    dataset = _source_copy(
        bq_client, source, "thelook_small", f"SELECT * FROM `{source}.order_items` WHERE MOD(user_id, 4) = 0"
    )
    yield dataset
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def test_a_collapsing_customer_base_fails_the_features_gate_before_publishing(
    published, dag, conf, bq_client, output, shrunken_source, task_failures
):
    # A wide freshness window: the remaining quarter of the orders must not trip the freshness gate first.
    state, failed = _failed_run(
        dag, LATEST, {**conf, "source_dataset": shrunken_source, "freshness_days": 30}
    )
    assert state == "failed"
    _assert_failed_at_once(failed, "features.check_customer_features")
    previous = published["customer_features"].snapshot_date.astype(str).value_counts()[BACKFILLS[0]]
    assert (
        f"fewer than the {previous} of the previous snapshot {BACKFILLS[0]}"
        in task_failures["features.check_customer_features"]
    )
    _assert_unchanged(bq_client, output, published)
    # What the failed run staged stays for inspection, and expires a week later if no run replaces it.
    staged = bq_client.get_table(f"{output}._staging_customer_features_{LATEST.replace('-', '')}")
    in_a_week = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7)
    assert abs(staged.expires - in_a_week) < datetime.timedelta(minutes=10)


def _personas(client: bigquery.Client, dataset: str) -> pd.DataFrame:
    return _query(client, f"SELECT * FROM `{dataset}.{PERSONAS}`").sort_values(
        ["snapshot_date", "segment_id"]
    )


@pytest.mark.parametrize("date", DATES)
def test_the_offline_writer_describes_every_segment_once(published, bq_client, output, date):
    personas = on(_personas(bq_client, output), date)
    assert sorted(personas.segment_id) == list(range(1, NUM_CLUSTERS + 1))
    assert set(personas.backend) == {"offline"}
    assert set(personas.prompt_version) == {PROMPT_VERSION}
    assert personas.title.str.len().gt(0).all() and personas.persona.str.len().gt(0).all()
    assert all(len(steps) == 3 for steps in personas.next_marketing_steps)
    assert (personas.written_for_snapshot.astype(str) == date).all(), "no earlier persona to carry over"


def _gemini_persona(segment_id: int) -> dict:
    """A persona quoting no number but its segment id, so it passes the grounding check on any profile."""
    return {
        "segment_id": segment_id,
        "title": f"Gemini Segment {segment_id} Shoppers",
        "persona": f"Shoppers of segment {segment_id}, as the local Gemini server describes them.",
        "summary": f"Segment {segment_id} answers best to a message of its own.",
        "next_marketing_steps": [
            f"Welcome segment {segment_id} with a curated edit.",
            "Invite them to review their latest purchase.",
            "Offer early access to the next collection.",
        ],
        "recommended_channel": "email",
    }


@pytest.fixture
def gemini_conf(conf, monkeypatch):
    """The run settings with the Gemini backend on the fake Vertex server, behind its own connection.

    The endpoint is the deployment's (the Variable, and the environment allowing it); the run only
    chooses how to call it.
    """
    with FakeGemini() as gemini:
        monkeypatch.setenv("AIRFLOW_CONN_PERSONAS_GEMINI", gemini.airflow_connection("persona-project"))
        monkeypatch.setenv("SEGMENTATION_GEMINI_ENDPOINTS", gemini.url)
        monkeypatch.setenv("AIRFLOW_VAR_SEGMENTATION_GEMINI", json.dumps({"base_url": gemini.url}))
        settings = {"location": "europe-west4", "initial_backoff_seconds": 0.01}
        yield (
            gemini,
            {
                **conf,
                "persona_backend": "gemini",
                "gemini_conn_id": "personas_gemini",
                "gemini": settings,
            },
        )


def test_a_run_cannot_send_the_gemini_token_elsewhere(dag, gemini_conf, bq_client, task_failures):
    """A conf naming an endpoint is refused before any BigQuery job: the server sees no call, no token."""
    gemini, gemini_run = gemini_conf
    redirected = {
        **gemini_run,
        "dataset": f"never_{uuid.uuid4().hex[:8]}",
        "gemini": {"base_url": gemini.url},
    }

    state, failed = _failed_run(dag, LATEST, redirected)

    assert state == "failed"
    _assert_failed_at_once(failed, "validate_config")
    assert "gemini.base_url cannot be set by a run" in task_failures["validate_config"]
    assert gemini.calls == [] and gemini.token_grants == 0
    with pytest.raises(NotFound):
        bq_client.get_dataset(redirected["dataset"])


def test_a_rerun_whose_persona_step_fails_keeps_no_personas_of_the_old_segments(
    published, dag, bq_client, output, gemini_conf, task_failures
):
    """Rerunning a date with another k replaces its segments; if Gemini then refuses the request (a 400,
    not retried), the snapshot has no personas rather than the old segments' (one of them an orphan)."""
    gemini, gemini_run = gemini_conf
    gemini.replies.append(error(400, "request contains an invalid argument"))

    dag_run = run(dag, LATEST, {**gemini_run, "num_clusters": NUM_CLUSTERS - 1})

    # The snapshot's view, costs and report still go out; the last task then fails the run.
    assert dag_run.state == "failed"
    states = {ti.task_id: ti for ti in dag_run.get_task_instances()}
    failed = sorted(task_id for task_id, ti in states.items() if ti.state == "failed")
    assert failed == ["check_run_outputs", "personas.generate_personas"]
    assert all(states[task_id].try_number == 1 for task_id in failed), "neither is retried"
    assert "not retriable" in task_failures["personas.generate_personas"]
    assert "the persona step failed" in task_failures["check_run_outputs"]
    assert {states[task].state for task in ("publish_current_view", "record_costs", "report")} == {"success"}
    page, link = _report_and_link(dag_run)
    assert Path(page).is_file() and link == Path(page).as_uri()
    assert len(gemini.calls) == 1
    segments = on(_query(bq_client, f"SELECT * FROM `{output}.customer_segments`"), LATEST)
    assert segments.segment_id.nunique() == NUM_CLUSTERS - 1
    assert on(_personas(bq_client, output), LATEST).empty
    assert len(_personas(bq_client, output)) == NUM_CLUSTERS * len(BACKFILLS), "other dates keep theirs"
    current = _query(bq_client, f"SELECT segment_id, persona_title FROM `{output}.{CURRENT_VIEW}`")
    assert current.persona_title.isna().all()


def test_with_the_gemini_backend_a_run_stores_what_the_server_answered(
    published, dag, bq_client, output, gemini_conf
):
    gemini, gemini_run = gemini_conf
    answered = {"personas": [_gemini_persona(i) for i in range(1, NUM_CLUSTERS + 1)]}
    gemini.replies.append(json_answer(answered, input_tokens=3100, output_tokens=900))
    before = _personas(bq_client, output)

    assert run(dag, LATEST, gemini_run).state == "success"

    [call] = gemini.calls
    assert (call.project, call.location, call.model) == (
        "persona-project",
        "europe-west4",
        "gemini-2.5-flash",
    )
    after = _personas(bq_client, output)
    latest = on(after, LATEST)
    stored = latest[["segment_id", "title", "persona", "summary", "recommended_channel"]]
    assert stored.to_dict("records") == [
        {key: persona[key] for key in stored.columns} for persona in answered["personas"]
    ]
    assert [list(steps) for steps in latest.next_marketing_steps] == [
        persona["next_marketing_steps"] for persona in answered["personas"]
    ]
    assert set(zip(latest.backend, latest.model, latest.input_tokens, latest.output_tokens, strict=True)) == {
        ("gemini", "gemini-2.5-flash", 3100, 900)
    }
    older = after[after.snapshot_date.astype(str) != LATEST].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        older, before[before.snapshot_date.astype(str) != LATEST].reset_index(drop=True)
    )
    current = _query(bq_client, f"SELECT DISTINCT segment_id, persona_title FROM `{output}.{CURRENT_VIEW}`")
    assert dict(zip(current.segment_id, current.persona_title, strict=True)) == {
        persona["segment_id"]: persona["title"] for persona in answered["personas"]
    }


NEXT_DAY = "2024-06-02"
# Thresholds any movement crosses: the next day's drift alert then names every segment that moved.
DRIFT_ALERT_ON_ANY_MOVE = {"drift_alert_size_change_pct": 0, "drift_alert_kept_pct": 100}


@pytest.fixture(scope="module")
def next_day_run(published, dag, conf, tmp_path_factory) -> dict:
    """The day after the latest, continuing it: drift alerts through a webhook at thresholds any movement
    crosses, its report in a folder of its own. Its latest snapshot's personas are Gemini's when the
    Gemini tests ran before, so the report's history has titles that differ by day."""
    reports = tmp_path_factory.mktemp("reports")
    webhook = Webhook()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AIRFLOW_CONN_SEGMENTATION_ALERTS", webhook.url)
            patch.setenv("SEGMENTATION_REPORT_ROOT", str(reports))
            settings = {**conf, **DRIFT_ALERT_ON_ANY_MOVE, "report_destination": str(reports)}
            state = run(dag, NEXT_DAY, settings).state
    finally:
        webhook.close()
    return {"state": state, "alerts": list(webhook.received), "page": reports / NEXT_DAY / "report.html"}


def test_the_next_day_continues_the_segments_and_keeps_their_ids(next_day_run, bq_client, output):
    """The next day's model starts from the latest snapshot's centroids; its segments keep their ids."""
    next_day = NEXT_DAY
    assert next_day_run["state"] == "success"
    segments = _query(
        bq_client,
        f"SELECT snapshot_date, customer_id, segment_id FROM `{output}.customer_segments` "
        f"WHERE snapshot_date IN ('{LATEST}', '{next_day}')",
    )
    days = on(segments, LATEST).merge(
        on(segments, next_day), on="customer_id", suffixes=("_before", "_after")
    )
    kept = (days.segment_id_before == days.segment_id_after).mean()
    assert kept >= 0.95
    (stability,) = _query(
        bq_client, f"SELECT * FROM `{output}.segment_stability` WHERE snapshot_date = '{next_day}'"
    ).to_dict("records")
    assert stability["training"] == "continued" and pd.isna(stability["rebase_reason"])
    assert str(stability["previous_snapshot_date"]) == LATEST
    assert stability["kept_share"] == pytest.approx(kept)
    assert stability["unchanged_kept_share"] >= kept
    personas = _personas(bq_client, output)
    before = on(personas, LATEST).set_index("segment_id")
    for persona in on(personas, next_day).itertuples():
        if str(persona.written_for_snapshot) != next_day:  # carried over: the latest snapshot's, unchanged
            kept_persona = before.loc[persona.segment_id]
            assert (persona.title, persona.persona, str(persona.written_for_snapshot)) == (
                kept_persona.title,
                kept_persona.persona,
                str(kept_persona.written_for_snapshot),
            )
    assert stability["new_segments"] == 0
    mapping = _query(
        bq_client, f"SELECT * FROM `{output}.segment_id_mapping` WHERE snapshot_date = '{next_day}'"
    )
    assert (
        sorted(mapping.previous_segment_id) == sorted(mapping.segment_id) == list(range(1, NUM_CLUSTERS + 1))
    )
    assert (mapping.centroid_shift < 1.0).all()
    model = bq_client.get_model(f"{output}.{MODEL}")
    assert model.labels == {"snapshot_date": "20240602", "training": "continued"}


def test_the_next_days_transitions_and_change_feed_match_the_two_snapshots(next_day_run, bq_client, output):
    """What changed between the latest snapshot and the next day, recomputed in pandas from both."""
    next_day = NEXT_DAY
    assert next_day_run["state"] == "success"
    segments = _query(
        bq_client,
        f"SELECT snapshot_date, customer_id, segment_id FROM `{output}.customer_segments` "
        f"WHERE snapshot_date IN ('{LATEST}', '{next_day}')",
    )
    days = on(segments, LATEST).merge(
        on(segments, next_day), on="customer_id", how="outer", suffixes=("_before", "_after")
    )
    pairs = days[["segment_id_before", "segment_id_after"]].fillna(0).astype(int)
    expected = sorted(pairs.value_counts().reset_index().itertuples(index=False, name=None))
    transitions = _query(
        bq_client, f"SELECT * FROM `{output}.segment_transitions` WHERE snapshot_date = '{next_day}'"
    )
    counted = transitions[["previous_segment_id", "segment_id"]].fillna(0).astype(int)
    counted["customers"] = transitions.customers
    assert transitions.customers.sum() == len(days)
    assert sorted(counted.itertuples(index=False, name=None)) == expected
    changes = _query(
        bq_client,
        f"SELECT * FROM `{output}.segment_membership_changes` WHERE snapshot_date = '{next_day}'",
    )
    changed = days[pairs.segment_id_before.ne(pairs.segment_id_after)]
    assert sorted(changes.customer_id) == sorted(changed.customer_id)
    assert set(changes.change) <= {"entered", "moved", "left"}
    members = _query(bq_client, f"SELECT * FROM `{output}.segment_members_current`")
    latest = on(segments, next_day)
    assert sorted(members.customer_id) == sorted(latest.customer_id)
    assert members.member_since.notna().all()
    assert (members.member_since.astype(str) <= next_day).all()


def _next_day_drift(bq_client, output) -> pd.DataFrame:
    """Per segment of the next day, its drift figures recomputed in pandas from both snapshots."""
    segments = _query(
        bq_client,
        f"SELECT snapshot_date, customer_id, segment_id FROM `{output}.customer_segments` "
        f"WHERE snapshot_date IN ('{LATEST}', '{NEXT_DAY}')",
    )
    before, after = on(segments, LATEST), on(segments, NEXT_DAY)
    both = before.merge(after, on="customer_id", suffixes=("_before", "_after"))
    expected = pd.DataFrame({"customers": after.groupby("segment_id").size()})
    expected["previous_customers"] = before.groupby("segment_id").size()
    expected["size_change"] = expected.customers / expected.previous_customers - 1
    stayed = both.segment_id_before == both.segment_id_after
    expected["kept_share"] = stayed.groupby(both.segment_id_before).mean()
    return expected


def test_the_next_days_profiles_carry_drift_figures_recomputed_from_both_snapshots(
    next_day_run, bq_client, output
):
    expected = _next_day_drift(bq_client, output)
    profiles = _query(
        bq_client, f"SELECT * FROM `{output}.segment_profiles` WHERE snapshot_date = '{NEXT_DAY}'"
    ).set_index("segment_id")
    columns = ["customers", "previous_customers", "size_change", "kept_share"]
    pd.testing.assert_frame_equal(
        profiles[columns].sort_index(), expected[columns].sort_index(), check_dtype=False, check_names=False
    )
    mapping = _query(
        bq_client, f"SELECT * FROM `{output}.segment_id_mapping` WHERE snapshot_date = '{NEXT_DAY}'"
    ).set_index("segment_id")
    pd.testing.assert_series_equal(
        profiles.centroid_shift.sort_index(), mapping.centroid_shift.sort_index(), check_names=False
    )
    earliest = _query(
        bq_client, f"SELECT * FROM `{output}.segment_profiles` WHERE snapshot_date = '{BACKFILLS[-1]}'"
    )
    drift = earliest[["previous_customers", "size_change", "kept_share", "centroid_shift"]]
    assert len(drift) == NUM_CLUSTERS and drift.isna().all().all(), "the earliest has nothing to drift from"


def test_the_next_days_drift_alert_names_every_segment_that_moved(next_day_run, bq_client, output):
    """Drift alerts, not fails: one webhook message naming each segment past a threshold, and only those."""
    expected = _next_day_drift(bq_client, output)
    resized = sorted(expected.index[expected.size_change != 0])
    kept_fewer = sorted(expected.index[expected.kept_share < 1])
    assert resized or kept_fewer, "the thresholds are meant to catch the next day's movement"
    [message] = next_day_run["alerts"]
    alert = message["alert"]
    assert (alert["event"], alert["date"], alert["task_id"]) == (
        "segment drift",
        NEXT_DAY,
        "alert_segment_drift",
    )
    findings = alert["findings"]
    assert message["text"].startswith("segment drift: dag=customer_segmentation date=2024-06-02")
    sized = sorted(
        int(re.match(r"segment (\d+)", f).group(1)) for f in findings if " grew " in f or " shrank " in f
    )
    kept = sorted(int(re.match(r"segment (\d+)", f).group(1)) for f in findings if " kept " in f)
    assert (sized, kept) == (resized, kept_fewer)
    assert len(findings) == len(resized) + len(kept_fewer), "no rebase and no new segment the next day"


def test_the_next_days_report_says_what_changed(next_day_run, bq_client, output):
    """The report the run rendered: share kept and the biggest move in words, from the transitions."""
    text = next_day_run["page"].read_text()
    (stability,) = _query(
        bq_client, f"SELECT kept_share FROM `{output}.segment_stability` WHERE snapshot_date = '{NEXT_DAY}'"
    ).kept_share
    assert f"Against the previous snapshot, {LATEST}: <strong>{stability:.1%}</strong>" in text
    transitions = _query(
        bq_client, f"SELECT * FROM `{output}.segment_transitions` WHERE snapshot_date = '{NEXT_DAY}'"
    )
    moved = transitions[transitions.previous_segment_id != transitions.segment_id].dropna()
    personas = _personas(bq_client, output)
    titles = {
        day: dict(zip(on(personas, day).segment_id, on(personas, day).title, strict=True))
        for day in (LATEST, NEXT_DAY)
    }
    if len(moved):
        top = moved.sort_values(
            ["customers", "previous_segment_id", "segment_id"], ascending=[False, True, True]
        ).iloc[0]
        before, after = int(top.previous_segment_id), int(top.segment_id)
        sentence = (
            f"{int(top.customers):,} customer{'s' if top.customers != 1 else ''} moved from "
            f"{titles[LATEST][before]} (segment {before}) to {titles[NEXT_DAY][after]} (segment {after})"
        )
        assert str(markupsafe.escape(sentence)) in text
    assert "segment_transitions.png" in text


def test_the_history_chart_labels_each_days_bars_with_that_days_titles(next_day_run, bq_client, output):
    """A bar is labelled with its own snapshot's title where the segment's title changed from the snapshot
    before: the latest snapshot's bars read Gemini's titles, not the offline ones of the days around it."""
    from segmentation.personas.store import Warehouse
    from segmentation.report import charts
    from segmentation.report.data import load_report_data

    data = load_report_data(
        Warehouse("google_cloud_default", PROJECT, output), datetime.date.fromisoformat(NEXT_DAY)
    )
    figure = charts.segment_history(data.history, charts.segment_colors(list(data.history.segment_id)))
    days = sorted({str(day) for day in data.history.snapshot_date})
    labels: dict[str, set[str]] = {day: set() for day in days}
    for text in figure.axes[0].texts:
        labels[days[round(text.get_position()[0])]].add(text.get_text())
    personas = _personas(bq_client, output)
    titles = {
        day: dict(zip(on(personas, day).segment_id, on(personas, day).title, strict=True)) for day in days
    }
    for before, day in zip([None, *days], days, strict=False):
        changed = {
            charts.shortened(title, charts.HISTORY_LABEL_LENGTH)
            for segment_id, title in titles[day].items()
            if before is None or titles[before].get(segment_id) != title
        }
        assert labels[day] == changed, day
    assert labels[LATEST] == {
        charts.shortened(f"Gemini Segment {i} Shoppers", charts.HISTORY_LABEL_LENGTH)
        for i in range(1, NUM_CLUSTERS + 1)
    }


def test_switching_to_the_extended_feature_set_adds_its_columns_and_tunes_k(
    published, dag, conf, bq_client, output
):
    """Defined last on purpose: it re-runs the latest date with the extended features in the shared dataset."""
    extended = {
        **conf,
        "feature_set": "extended",
        "num_clusters": None,
        "k_min": 3,
        "k_max": 4,
        "log_transform_monetary": True,
    }
    assert run(dag, LATEST, extended).state == "success"
    tables = {table.name: table for table in partitioned_tables(PipelineConfig.from_params(extended))}
    for name in ("customer_features", "segment_profiles"):
        stored = bq_client.get_table(f"{output}.{name}")
        assert [field.name for field in stored.schema] == list(tables[name].column_names)
    after = contents(bq_client, output)

    features = after["customer_features"]
    added = [column.name for column in tables["customer_features"].feature_dependent]
    spend_36m = [name for name in added if name.startswith("spend_36m_")]
    latest, older = on(features, LATEST), features[features.snapshot_date.astype(str) != LATEST]
    assert latest[added].notna().all().all()
    assert older[added].isna().all().all(), "older partitions keep what their runs wrote"
    pd.testing.assert_frame_equal(
        latest[FEATURES].reset_index(drop=True),
        on(published["customer_features"], LATEST)[FEATURES].reset_index(drop=True),
    )
    # A customer whose first order is within the last 36 months spent all of monetary in the 36-month
    # window, spread over the department x category pairs (the default pairs are all of thelook's).
    window_days = (pd.Timestamp(LATEST) - (pd.Timestamp(LATEST) - pd.DateOffset(months=36))).days
    recent = latest[latest.tenure_days < window_days]
    assert len(recent) > 100
    assert (recent[spend_36m].sum(axis=1) - recent.monetary).abs().max() < 1e-6

    evaluations = on(after["model_evaluations"], LATEST)
    assert sorted(evaluations.k) == [3, 4]
    assert evaluations.trial_id.notna().all()
    assert evaluations.is_selected.sum() == 1
    (k,) = evaluations[evaluations.is_selected].k
    assert on(after["customer_segments"], LATEST).segment_id.nunique() == k
    profiles = on(after["segment_profiles"], LATEST)
    assert len(profiles) == k
    assert profiles.customers.sum() == len(latest)


def test_a_runs_conf_does_not_leak_into_the_next_run(runs_without_orders):
    """Airflow's Param.resolve keeps a run's value on the DAG's Param objects; each run must start clean."""
    *_, first = runs_without_orders["30 days"]
    assert "during the 30 days" in first["source.check_freshness"]
    *_, following = runs_without_orders["default"]
    assert "during the 3 days" in following["source.check_freshness"]


def test_a_connection_without_a_project_fails_at_once_naming_it(dag, conf, task_failures, monkeypatch):
    # As README suggests for local runs, but without "project" in the extra.
    monkeypatch.setenv(
        "AIRFLOW_CONN_NO_PROJECT", '{"conn_type": "google_cloud_platform", "extra": {"is_anonymous": true}}'
    )
    state, failed = _failed_run(dag, LATEST, {**conf, "project_id": "", "gcp_conn_id": "no_project"})

    assert state == "failed"
    assert [ti.task_id for ti in failed] == ["check_source"]
    assert failed[0].try_number == 1, "a missing project must not be retried"
    assert (
        "the connection 'no_project' has no project and the project_id setting is empty"
        in task_failures["check_source"]
    )
