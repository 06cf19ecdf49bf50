"""The customer value SQL (include/sql/customer_value_*.sql, value_model_evaluations.sql and their gates),
rendered as the DAG's tasks render them, on the local BigQuery server over a small thelook sample.

The staged rows are recomputed from the raw source in pandas: the training features are customer_features
with an earlier cut-off, the labels are the spend of the following horizon, and the backtest's metrics
for the last-period baseline are those scipy computes from the same rows.
"""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag
from google.api_core import exceptions
from google.cloud import bigquery
from scipy import stats

from local_bigquery.samples import thelook
from tests.conftest import PROJECT, ROOT

DAY = pendulum.datetime(2024, 6, 1, tz="UTC")
HORIZON = 90
GROUP = [
    "source.stage_customer_order_history",
    "features.stage_customer_features",
    "customer_value.stage_customer_value_training",
    "customer_value.stage_customer_value_backtest_training",
    "customer_value.check_customer_value_history",
    "customer_value.train_customer_value_model",
    "customer_value.train_customer_value_backtest",
    "customer_value.stage_customer_value_predictions",
    "customer_value.check_customer_value_predictions",
    "customer_value.stage_value_model_evaluations",
]


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_segmentation"]


@pytest.fixture(scope="module")
def source(bq_client, tmp_path_factory) -> dict[str, pd.DataFrame]:
    dataset = f"thelook_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(dataset)
    tables = thelook.generate(users=400, seed=3)
    files = thelook.write_parquet(tables, tmp_path_factory.mktemp("thelook"))
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET)
    for name, path in files.items():
        with open(path, "rb") as parquet:
            bq_client.load_table_from_file(parquet, f"{dataset}.{name}", job_config=config).result()
    yield {"dataset": dataset, "order_items": tables["order_items"].to_pandas()}
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def run_task(bq_client, dag, task_id: str, output: str, source: str, day=DAY, **conf) -> None:
    operator = dag.get_task(task_id)
    params = {name: operator.params[name] for name in operator.params}
    params |= {"project_id": PROJECT, "dataset": output, "source_project": PROJECT, "source_dataset": source}
    context = {
        "params": params | conf,
        "ds": day.to_date_string(),
        "ds_nodash": day.format("YYYYMMDD"),
        "data_interval_start": day,
        "data_interval_end": day,
    }
    sql = operator.render_template(operator.configuration["query"]["query"], context, dag.get_template_env())
    bq_client.query_and_wait(sql)


@pytest.fixture(scope="module")
def staged(bq_client, dag, source) -> str:
    output = f"value_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(output)
    for task_id in GROUP:
        run_task(bq_client, dag, task_id, output, source["dataset"])
    yield output
    bq_client.delete_dataset(output, delete_contents=True, not_found_ok=True)


def frame(bq_client, sql: str) -> pd.DataFrame:
    return bq_client.query(sql).to_dataframe()


def spend(items: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Spend per customer on items ordered in [start, end), neither cancelled nor returned before `end`."""
    kept = items[
        (items.created_at >= start)
        & (items.created_at < end)
        & (items.status != "Cancelled")
        & ~(items.returned_at < end)
    ]
    return kept.groupby("user_id").sale_price.sum()


def test_training_rows_are_customer_features_one_horizon_earlier_with_the_spend_that_followed(
    bq_client, dag, source, staged
):
    earlier = DAY - pendulum.duration(days=HORIZON)
    for task_id in ("source.stage_customer_order_history", "features.stage_customer_features"):
        run_task(bq_client, dag, task_id, staged, source["dataset"], day=earlier)
    features = frame(bq_client, f"SELECT * FROM `{staged}._staging_customer_features_{earlier:%Y%m%d}`")
    training = frame(bq_client, f"SELECT * FROM `{staged}._staging_customer_value_training_{DAY:%Y%m%d}`")
    training = training.set_index("customer_id").sort_index()
    features = features.set_index("customer_id").sort_index()
    assert list(training.index) == list(features.index)
    columns = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_ratio"]
    pd.testing.assert_frame_equal(training[columns], features[columns], check_dtype=False)
    np.testing.assert_allclose(training.log_monetary, np.log1p(features.monetary))

    items = source["order_items"]
    cut_off, start = pd.Timestamp(DAY), pd.Timestamp(earlier)
    future = spend(items, start, cut_off).reindex(training.index, fill_value=0)
    np.testing.assert_allclose(training.future_value, future, atol=1e-9)
    last = spend(items, start - pd.Timedelta(days=HORIZON), start).reindex(training.index, fill_value=0)
    np.testing.assert_allclose(training.recent_value, last, atol=1e-9)
    np.testing.assert_allclose(training.log_recent_value, np.log1p(last))
    assert (training.future_value > 0).sum() > 20, "the sample must have spend to learn from"


def test_the_last_period_baseline_is_scored_as_scipy_scores_it(bq_client, staged):
    training = frame(bq_client, f"SELECT * FROM `{staged}._staging_customer_value_training_{DAY:%Y%m%d}`")
    evaluations = frame(bq_client, f"SELECT * FROM `{staged}._staging_value_model_evaluations_{DAY:%Y%m%d}`")
    row = evaluations.set_index("model").loc["last_period"]
    predicted, actual = training.recent_value, training.future_value
    assert row.customers == len(training)
    assert row.mean_absolute_error == pytest.approx((predicted - actual).abs().mean())
    assert row.root_mean_squared_error == pytest.approx(np.sqrt(((predicted - actual) ** 2).mean()))
    assert row.spearman == pytest.approx(stats.spearmanr(predicted, actual).statistic)
    top = training.sort_values(["recent_value", "customer_id"], ascending=[False, True])
    top_tenth = top.head(int(np.ceil(len(training) / 10)))
    assert row.top_decile_capture == pytest.approx(top_tenth.future_value.sum() / actual.sum())
    deciles = pd.DataFrame(list(row.deciles))
    assert deciles.mean_actual_value.iloc[0] == pytest.approx(top_tenth.future_value.mean())


def test_predictions_are_calibrated_to_the_spend_the_model_was_trained_on(bq_client, staged):
    predictions = frame(
        bq_client, f"SELECT * FROM `{staged}._staging_customer_value_predictions_{DAY:%Y%m%d}`"
    )
    features = frame(bq_client, f"SELECT customer_id FROM `{staged}._staging_customer_features_{DAY:%Y%m%d}`")
    assert sorted(predictions.customer_id) == sorted(features.customer_id)
    assert predictions.predicted_value.min() >= 0
    ranked = predictions.sort_values(["predicted_value", "customer_id"], ascending=[False, True])
    assert list(ranked.predicted_value_decile) == sorted(ranked.predicted_value_decile)
    weights = frame(
        bq_client,
        f"SELECT processed_input, weight FROM ML.WEIGHTS(MODEL `{staged}._staging_customer_value_model_{DAY:%Y%m%d}`)",
    )
    assert "log_monetary" in set(weights.processed_input)
    assert "customer_id" not in set(weights.processed_input), "ids are no feature"


def test_a_horizon_longer_than_the_history_fails_the_gate_naming_it(bq_client, dag, source):
    output = f"value_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(output)
    # The sample's history starts four years before 2024-06-30: twice 1,000 days reaches before it.
    for task_id in GROUP[:4]:
        run_task(bq_client, dag, task_id, output, source["dataset"], value_horizon_days=1000)
    with pytest.raises(exceptions.BadRequest) as failure:
        run_task(bq_client, dag, GROUP[4], output, source["dataset"], value_horizon_days=1000)
    assert (
        "customer_value gate failed: no customers with orders before 2018-12-10 (the cut-off minus 2000 "
        "days): the source history is shorter than twice value_horizon_days (1000); lower value_horizon_days"
    ) in str(failure.value)
    bq_client.delete_dataset(output, delete_contents=True, not_found_ok=True)
