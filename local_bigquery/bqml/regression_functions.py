"""ML.PREDICT, ML.EVALUATE, ML.WEIGHTS and ML.TRAINING_INFO of a LINEAR_REG model, and its REST resource,
with BigQuery ML's column names and types:

- https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-predict
  (`predicted_<label_column_name>`, then every input column)
- https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate
  (regression models: mean_absolute_error, mean_squared_error, mean_squared_log_error,
  median_absolute_error, r2_score, explained_variance; on the evaluation split, or the training data when
  there is none, unless input data is given)
- https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-weights
  (processed_input, weight, category_weights; `__INTERCEPT__`; STRUCT(TRUE AS standardize))
- https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-train
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import pyarrow as pa

from local_bigquery.bqml.features import NumericFeature
from local_bigquery.bqml.regression import MODEL_TYPE_REST, LinearRegModel, regression_metrics
from local_bigquery.errors import InvalidQuery

CATEGORY_WEIGHT = pa.struct([("category", pa.string()), ("weight", pa.float64())])
INTERCEPT = "__INTERCEPT__"


def predict(model: LinearRegModel, table: pa.Table) -> pa.Table:
    column = model.predicted_column
    if any(name.lower() == column.lower() for name in table.column_names):
        raise InvalidQuery(f"The ML.PREDICT input has a column named {column}, which ML.PREDICT adds itself")
    predicted = pa.array(model.predict(table), pa.float64())
    return pa.table({column: predicted, **{name: table.column(name) for name in table.column_names}})


def evaluate(model: LinearRegModel, table: pa.Table | None = None) -> pa.Table:
    if table is not None:
        metrics = regression_metrics(model.labels_of(table), model.predict(table))
    else:
        metrics = model.evaluation_metrics or model.training_metrics
    return pa.table({name: pa.array([value], pa.float64()) for name, value in asdict(metrics).items()})


def weights(model: LinearRegModel, standardize: bool = False) -> pa.Table:
    """One row per feature and one for the intercept. Unless `standardize`, weights apply to the features
    in their own units (the model trains on standardized ones), and the intercept absorbs their means."""
    rows: dict[str, list] = {"processed_input": [], "weight": [], "category_weights": []}
    intercept = model.intercept
    for feature, block in model.transform.blocks():
        values = model.weights[block]
        rows["processed_input"].append(feature.name)
        if isinstance(feature, NumericFeature):
            weight = float(values[0]) if standardize else float(values[0] / feature.scale)
            if not standardize:
                intercept -= weight * feature.mean
            rows["weight"].append(weight)
            rows["category_weights"].append([])
        else:
            rows["weight"].append(None)
            rows["category_weights"].append(
                [{"category": c, "weight": float(w)} for c, w in zip(feature.categories, values, strict=True)]
            )
    rows["processed_input"].append(INTERCEPT)
    rows["weight"].append(float(intercept))
    rows["category_weights"].append([])
    schema = pa.schema(
        [
            ("processed_input", pa.string()),
            ("weight", pa.float64()),
            ("category_weights", pa.list_(CATEGORY_WEIGHT)),
        ]
    )
    return pa.Table.from_pydict(rows, schema=schema)


def training_info(model: LinearRegModel) -> pa.Table:
    """One row: the exact solve is a single iteration, its loss the training mean squared error."""
    return pa.table(
        {
            "training_run": pa.array([0], pa.int64()),
            "iteration": pa.array([0], pa.int64()),
            "loss": pa.array([model.training_loss], pa.float64()),
            "eval_loss": pa.array([model.eval_loss], pa.float64()),
            "learning_rate": pa.nulls(1, pa.float64()),
            "duration_ms": pa.array([model.duration_ms], pa.int64()),
        }
    )


def resource_fields(model: LinearRegModel) -> dict:
    """The model-specific part of the REST Model resource."""
    metrics = model.evaluation_metrics or model.training_metrics
    regression = {
        "meanAbsoluteError": metrics.mean_absolute_error,
        "meanSquaredError": metrics.mean_squared_error,
        "meanSquaredLogError": metrics.mean_squared_log_error,
        "medianAbsoluteError": metrics.median_absolute_error,
        "rSquared": metrics.r2_score,
    }
    result = {"index": 0, "durationMs": str(model.duration_ms), "trainingLoss": model.training_loss}
    if model.eval_loss is not None:
        result["evalLoss"] = model.eval_loss
    started = datetime.fromtimestamp(model.start_time_ms / 1000, UTC)
    return {
        "modelType": MODEL_TYPE_REST,
        "featureColumns": [
            {"name": feature.name, "type": {"typeKind": feature.sql_type}}
            for feature in model.transform.features
        ],
        "labelColumns": [{"name": model.predicted_column, "type": {"typeKind": "FLOAT64"}}],
        "trainingRuns": [
            {
                "trainingOptions": model.training_options,
                "startTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "results": [result],
                "evaluationMetrics": {
                    "regressionMetrics": {k: v for k, v in regression.items() if v is not None}
                },
            }
        ],
    }


def is_regression(resource: dict) -> bool:
    return resource.get("modelType") == MODEL_TYPE_REST
