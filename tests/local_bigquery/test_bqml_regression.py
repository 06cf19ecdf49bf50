"""BigQuery ML LINEAR_REG through the REST API and the official client, checked against scikit-learn.

The server standardizes numeric features (sample standard deviation), imputes NULLs with the training mean
and one-hot encodes strings before fitting; scikit-learn gets the same design matrix built here by hand,
so agreement checks the preprocessing as well as the solver, the ML.WEIGHTS un-standardization and the
ML.EVALUATE metrics.
"""

from __future__ import annotations

import numpy as np
import pytest
from google.api_core import exceptions
from google.cloud import bigquery
from sklearn import linear_model, metrics

from tests.conftest import PROJECT

ROWS = 400
TIERS = ("basic", "plus", "pro")


@pytest.fixture
def spend(bq_client, dataset) -> tuple[str, dict[str, np.ndarray]]:
    """Spend that depends linearly on visits, tenure and tier, with noise and some NULL visits."""
    rng = np.random.default_rng(7)
    visits = rng.poisson(5, ROWS).astype(float)
    tenure = rng.uniform(0, 1000, ROWS)
    tier = rng.choice(TIERS, ROWS)
    target = 20 + 8 * visits + 0.05 * tenure + np.select([tier == "plus", tier == "pro"], [30, 90], 0)
    target = target + rng.normal(0, 5, ROWS)
    missing = np.arange(ROWS) % 25 == 0
    rows = [
        {
            "id": i,
            "visits": None if missing[i] else float(visits[i]),
            "tenure": float(tenure[i]),
            "tier": str(tier[i]),
            "future_spend": float(target[i]),
        }
        for i in range(ROWS)
    ]
    table = f"{PROJECT}.{dataset}.spend"
    schema = [
        bigquery.SchemaField("id", "INT64"),
        bigquery.SchemaField("visits", "FLOAT64"),
        bigquery.SchemaField("tenure", "FLOAT64"),
        bigquery.SchemaField("tier", "STRING"),
        bigquery.SchemaField("future_spend", "FLOAT64"),
    ]
    bq_client.create_table(bigquery.Table(table, schema=schema))
    assert bq_client.insert_rows_json(table, rows) == []
    observed_visits = np.where(missing, np.nan, visits)
    return f"{dataset}.spend", {"visits": observed_visits, "tenure": tenure, "tier": tier, "y": target}


def design_matrix(data: dict[str, np.ndarray], fitted_on: np.ndarray | None = None) -> np.ndarray:
    """What BigQuery ML documents for LINEAR_REG inputs: z-scores with NULLs imputed by the mean of the
    training rows (`fitted_on`, all by default), one-hot strings."""
    columns = []
    for name in ("visits", "tenure"):
        values = data[name]
        training = values if fitted_on is None else values[fitted_on]
        mean, std = np.nanmean(training), np.nanstd(training, ddof=1)
        columns.append((np.where(np.isnan(values), mean, values) - mean) / std)
    columns += [(data["tier"] == tier).astype(float) for tier in TIERS]
    return np.column_stack(columns)


def train(client, model: str, source: str, options: str = "") -> None:
    client.query(
        f"CREATE OR REPLACE MODEL `{PROJECT}.{model}` OPTIONS(model_type='LINEAR_REG', "
        f"input_label_cols=['future_spend'], data_split_method='NO_SPLIT'{options}) "
        f"AS SELECT visits, tenure, tier, future_spend FROM {source}"
    ).result()


def query(client, sql: str) -> list[dict]:
    return [dict(row.items()) for row in client.query(sql).result()]


def predictions(client, model: str, source: str) -> np.ndarray:
    rows = query(
        client,
        f"SELECT id, predicted_future_spend FROM ML.PREDICT(MODEL `{PROJECT}.{model}`, TABLE {source})",
    )
    return np.array([row["predicted_future_spend"] for row in sorted(rows, key=lambda r: r["id"])])


def test_predictions_weights_and_evaluation_match_scikit_learn(bq_client, dataset, spend):
    source, data = spend
    model = f"{dataset}.value"
    train(bq_client, model, source)
    reference = linear_model.LinearRegression().fit(design_matrix(data), data["y"])
    expected = reference.predict(design_matrix(data))
    np.testing.assert_allclose(predictions(bq_client, model, source), expected, rtol=1e-8, atol=1e-6)

    weights = {
        row["processed_input"]: row
        for row in query(bq_client, f"SELECT * FROM ML.WEIGHTS(MODEL `{PROJECT}.{model}`)")
    }
    assert set(weights) == {"visits", "tenure", "tier", "__INTERCEPT__"}
    # In original units the tenure weight is the slope per day, whatever the standardization.
    std = np.nanstd(data["tenure"], ddof=1)
    assert weights["tenure"]["weight"] == pytest.approx(reference.coef_[1] / std, rel=1e-8)
    assert weights["tier"]["weight"] is None
    tier_weights = {c["category"]: c["weight"] for c in weights["tier"]["category_weights"]}
    # One-hot columns with an intercept are collinear: only their differences are identified.
    assert tier_weights["pro"] - tier_weights["basic"] == pytest.approx(90, abs=3)
    standardized = query(
        bq_client, f"SELECT * FROM ML.WEIGHTS(MODEL `{PROJECT}.{model}`, STRUCT(TRUE AS standardize))"
    )
    by_name = {row["processed_input"]: row["weight"] for row in standardized}
    assert by_name["tenure"] == pytest.approx(reference.coef_[1], rel=1e-8)

    (evaluation,) = query(bq_client, f"SELECT * FROM ML.EVALUATE(MODEL `{PROJECT}.{model}`)")
    y = data["y"]
    assert evaluation == pytest.approx(
        {
            "mean_absolute_error": metrics.mean_absolute_error(y, expected),
            "mean_squared_error": metrics.mean_squared_error(y, expected),
            "mean_squared_log_error": metrics.mean_squared_log_error(y, expected),
            "median_absolute_error": metrics.median_absolute_error(y, expected),
            "r2_score": metrics.r2_score(y, expected),
            "explained_variance": metrics.explained_variance_score(y, expected),
        },
        rel=1e-8,
    )
    (info,) = query(bq_client, f"SELECT * FROM ML.TRAINING_INFO(MODEL `{PROJECT}.{model}`)")
    assert info["loss"] == pytest.approx(evaluation["mean_squared_error"])

    resource = bq_client.get_model(f"{PROJECT}.{model}")
    assert resource.model_type == "LINEAR_REGRESSION"
    assert [column.name for column in resource.label_columns] == ["predicted_future_spend"]


@pytest.mark.parametrize(
    ("options", "reference"),
    [
        (", l2_reg=50", linear_model.Ridge(alpha=50)),
        # SSE + l1 |w|_1 is scikit-learn's Lasso objective times 2n.
        (", l1_reg=400", linear_model.Lasso(alpha=400 / (2 * ROWS), tol=1e-12, max_iter=100_000)),
    ],
)
def test_regularization_matches_scikit_learn(bq_client, dataset, spend, options, reference):
    source, data = spend
    model = f"{dataset}.regularized"
    train(bq_client, model, source, options)
    expected = reference.fit(design_matrix(data), data["y"]).predict(design_matrix(data))
    np.testing.assert_allclose(predictions(bq_client, model, source), expected, rtol=1e-6, atol=1e-4)


def test_evaluation_split_and_evaluate_on_new_data(bq_client, dataset, spend):
    source, data = spend
    model = f"{dataset}.split"
    bq_client.query(
        f"CREATE OR REPLACE MODEL `{PROJECT}.{model}` OPTIONS(model_type='LINEAR_REG', "
        "input_label_cols=['future_spend'], data_split_method='CUSTOM', data_split_col='held_out') "
        f"AS SELECT visits, tenure, tier, future_spend, MOD(id, 4) = 0 AS held_out FROM {source}"
    ).result()
    held_out = np.arange(ROWS) % 4 == 0
    matrix = design_matrix(data, fitted_on=~held_out)
    reference = linear_model.LinearRegression().fit(matrix[~held_out], data["y"][~held_out])
    features = {
        row["processed_input"]
        for row in query(bq_client, f"SELECT * FROM ML.WEIGHTS(MODEL `{PROJECT}.{model}`)")
    }
    assert "held_out" not in features
    (evaluation,) = query(bq_client, f"SELECT * FROM ML.EVALUATE(MODEL `{PROJECT}.{model}`)")
    expected = reference.predict(matrix[held_out])
    assert evaluation["mean_absolute_error"] == pytest.approx(
        metrics.mean_absolute_error(data["y"][held_out], expected), rel=1e-6
    )
    (on_input,) = query(
        bq_client,
        f"SELECT * FROM ML.EVALUATE(MODEL `{PROJECT}.{model}`, "
        f"(SELECT visits, tenure, tier, future_spend + 10 AS future_spend FROM {source} WHERE MOD(id, 4) = 0))",
    )
    shifted = metrics.mean_squared_error(data["y"][held_out] + 10, expected)
    assert on_input["mean_squared_error"] == pytest.approx(shifted, rel=1e-6)


@pytest.mark.parametrize(
    ("options", "select", "message"),
    [
        ("", "visits, tenure", "INPUT_LABEL_COLS column future_spend is not a column"),
        (", l1_reg=1, optimize_strategy='NORMAL_EQUATION'", "*", "L1_REG cannot be used"),
        (", data_split_method='SEQ'", "*", "requires DATA_SPLIT_COL"),
        (", l2reg=1", "*", "Unknown option L2REG for model_type LINEAR_REG; did you mean L2_REG"),
        ("", "visits, tenure, tier AS future_spend", "must be numeric, not STRING"),
        ("", "visits, tenure, IF(id = 3, NULL, future_spend) AS future_spend", "has 1 NULL values"),
    ],
)
def test_bad_models_are_refused_by_name(bq_client, dataset, spend, options, select, message):
    source, _ = spend
    with pytest.raises(exceptions.BadRequest, match=message):
        bq_client.query(
            f"CREATE MODEL `{PROJECT}.{dataset}.bad` OPTIONS(model_type='LINEAR_REG', "
            f"input_label_cols=['future_spend']{options}) AS SELECT {select} FROM {source}"
        ).result()


def test_predict_refuses_missing_features_and_unsupported_functions(bq_client, dataset, spend):
    source, _ = spend
    model = f"{dataset}.value"
    train(bq_client, model, source)
    with pytest.raises(exceptions.BadRequest, match="no column tier, a feature of the model"):
        query(
            bq_client,
            f"SELECT * FROM ML.PREDICT(MODEL `{PROJECT}.{model}`, (SELECT visits, tenure FROM {source}))",
        )
    with pytest.raises(exceptions.BadRequest, match=r"ML.CENTROIDS \(LINEAR_REG models support"):
        query(bq_client, f"SELECT * FROM ML.CENTROIDS(MODEL `{PROJECT}.{model}`)")
