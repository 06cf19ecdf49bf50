"""The model input is robust: a feature without spread is left out and named, and an extreme customer is
clipped into the tail instead of getting a segment of its own. The DAG's SQL files run against
local_bigquery as the DAG renders them (benchmarks.stability.DayRun plays the planning task's XCom)."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from google.cloud import bigquery

from benchmarks.stability import DayRun, Step
from segmentation.config import PipelineConfig
from segmentation.continuity import PLAN_TASK, plan_training
from segmentation.tables import partitioned_table
from tests.conftest import PROJECT

DAY = dt.date(2024, 6, 29)
CUSTOMERS = 400
OUTLIER = 1  # the customer whose spend and orders dwarf everyone's


def _features() -> list[dict]:
    """Four groups of ordinary customers and one extreme one; nobody ever returned anything."""
    rng = np.random.default_rng(7)
    rows = []
    for customer_id in range(1, CUSTOMERS + 1):
        group = customer_id % 4
        frequency = int(rng.integers(1, 4) + 4 * group)
        monetary = float(rng.normal(100 + 300 * group, 20))
        if customer_id == OUTLIER:
            frequency, monetary = 900, 5_000_000.0
        rows.append(
            {
                "snapshot_date": DAY.isoformat(),
                "customer_id": customer_id,
                "recency_days": int(rng.integers(1, 30) + 90 * (group % 2)),
                "frequency": frequency,
                "monetary": monetary,
                "avg_order_value": monetary / frequency,
                "tenure_days": int(rng.integers(300, 400)),
                "return_ratio": 0.0,
            }
        )
    return rows


@pytest.fixture(scope="module")
def staged_features(bq_client) -> PipelineConfig:
    dataset = f"test_{uuid.uuid4().hex[:10]}"
    bq_client.create_dataset(dataset)
    config = PipelineConfig(project_id=PROJECT, dataset=dataset, persona_backend="offline")
    DayRun(bq_client, config, DAY).run(Step("setup.create_tables", "schema.sql"))
    table = partitioned_table(config, "customer_features")
    schema = [bigquery.SchemaField(column.name, column.type) for column in table.columns]
    bq_client.load_table_from_json(
        _features(),
        f"{PROJECT}.{dataset}._staging_customer_features_{DAY:%Y%m%d}",
        job_config=bigquery.LoadJobConfig(schema=schema),
    ).result()
    yield config
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture(scope="module")
def clipped(bq_client, staged_features) -> DayRun:
    """The run trained with the default settings."""
    return _train(bq_client, staged_features)


def _train(bq_client, config: PipelineConfig) -> DayRun:
    run = DayRun(bq_client, config, DAY)
    run.run(Step("features.stage_feature_bounds", "stage.sql", "feature_bounds"))
    (history,) = run.rows("training_plan.sql")
    run.xcoms[PLAN_TASK] = plan_training(config, history).model_dump(mode="json")
    run.run(Step("model.train", "customer_segments_kmeans.sql"))
    run.run(Step("model.stage_model_evaluations", "stage.sql", "model_evaluations"))
    return run


def _segment_sizes(run: DayRun) -> dict[int, int]:
    """Customers per centroid, and the outlier's centroid under key 0."""
    model = f"`{PROJECT}.{run.config.dataset}._staging_customer_segments_kmeans_{DAY:%Y%m%d}`"
    rows = run.frame(
        f"SELECT customer_id, centroid_id FROM ML.PREDICT(MODEL {model}, ({run.render('model_input.sql')}))"
    )
    sizes = rows.centroid_id.value_counts().to_dict()
    return sizes | {0: sizes[int(rows.centroid_id[rows.customer_id == OUTLIER].iloc[0])]}


def test_a_constant_feature_is_left_out_named_and_recorded(clipped, staged_features):
    run = clipped
    assert run.xcoms[PLAN_TASK]["left_out_features"] == ["return_ratio"]
    model = f"`{PROJECT}.{staged_features.dataset}._staging_customer_segments_kmeans_{DAY:%Y%m%d}`"
    trained = set(run.frame(f"SELECT DISTINCT feature FROM ML.CENTROIDS(MODEL {model})").feature)
    assert trained == {"recency_days", "frequency", "monetary", "avg_order_value", "tenure_days"}
    (evaluation,) = run.frame(
        f"SELECT feature_preparation FROM `{staged_features.dataset}._staging_model_evaluations_{DAY:%Y%m%d}`"
    ).feature_preparation
    preparation = {feature["feature"]: feature for feature in evaluation}
    assert preparation["return_ratio"]["clustered"] is False
    assert preparation["monetary"]["clustered"] is True
    assert preparation["monetary"]["upper_bound"] < 5_000_000
    assert 6 <= preparation["monetary"]["clipped_customers"] <= 10  # about 1 % at each end


def test_an_extreme_customer_is_clipped_into_a_segment_of_others_unless_the_param_allows_outliers(
    bq_client, staged_features, clipped
):
    sizes = _segment_sizes(clipped)
    assert sizes[0] >= 0.05 * CUSTOMERS
    assert min(sizes.values()) >= 0.005 * CUSTOMERS
    unclipped = _segment_sizes(_train(bq_client, staged_features.model_copy(update={"clip_percentile": 100})))
    assert unclipped[0] == 1  # what clipping prevents: the extreme customer owns a segment
