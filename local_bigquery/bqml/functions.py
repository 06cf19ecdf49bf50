"""The results of ML.PREDICT, ML.CENTROIDS, ML.EVALUATE, ML.TRAINING_INFO and ML.TRIAL_INFO for a k-means
model, as Arrow tables with BigQuery ML's column names and types."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from local_bigquery.bqml.features import NumericFeature
from local_bigquery.bqml.lloyd import assign, davies_bouldin, ranked_distances
from local_bigquery.bqml.model import KMeansModel
from local_bigquery.errors import InvalidQuery

PREDICTED_COLUMNS = ("CENTROID_ID", "NEAREST_CENTROIDS_DISTANCE")
NEAREST_DISTANCE = pa.struct([("CENTROID_ID", pa.int64()), ("DISTANCE", pa.float64())])
CATEGORY_VALUE = pa.struct([("category", pa.string()), ("value", pa.float64())])
CLUSTER_INFO = pa.struct(
    [("centroid_id", pa.int64()), ("cluster_radius", pa.float64()), ("cluster_size", pa.int64())]
)


def predict(model: KMeansModel, table: pa.Table, trial_id: int | None = None) -> pa.Table:
    """CENTROID_ID (1-based) and NEAREST_CENTROIDS_DISTANCE (every centroid, nearest first), then the input."""
    clashing = [name for name in table.column_names if name.upper() in PREDICTED_COLUMNS]
    if clashing:
        raise InvalidQuery(
            f"The ML.PREDICT input has a column named {clashing[0]}, which ML.PREDICT adds itself"
        )
    centroids = model.trial(trial_id).centroids
    order, distances = ranked_distances(model.points(table), model.metric, centroids)
    order += 1  # centroid ids are 1-based
    nearest = pa.StructArray.from_arrays(
        [pa.array(order.ravel()), pa.array(distances.ravel())], fields=list(NEAREST_DISTANCE)
    )
    offsets = pa.array(np.arange(0, order.size + 1, len(centroids), dtype=np.int32))
    predicted = {
        "CENTROID_ID": pa.array(order[:, 0]),
        "NEAREST_CENTROIDS_DISTANCE": pa.ListArray.from_arrays(offsets, nearest),
    }
    return pa.table({**predicted, **{name: table.column(name) for name in table.column_names}})


def centroids(model: KMeansModel, *, standardize: bool = False, trial_id: int | None = None) -> pa.Table:
    """One row per centroid and feature, numeric features in original units unless `standardize`.

    A tuned model returns the centroids of every trial that trained, led by their trial_id, unless a trial_id
    is given (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids
    documents the trial_id column): a query wanting the served centroids must select the optimal trial.
    """
    if model.tuned and trial_id is None:
        trials = [trial for trial in model.trials if trial.succeeded]
        return pa.concat_tables(
            [centroids(model, standardize=standardize, trial_id=trial.trial_id) for trial in trials]
        )
    trial = model.trial(trial_id)
    transform = model.transform
    values = (
        transform.to_standardized(trial.centroids) if standardize else transform.to_original(trial.centroids)
    )
    rows: dict[str, list] = {"centroid_id": [], "feature": [], "numerical_value": [], "categorical_value": []}
    for cluster, centroid in enumerate(values, start=1):
        for feature, block in transform.blocks():
            rows["centroid_id"].append(cluster)
            rows["feature"].append(feature.name)
            if isinstance(feature, NumericFeature):
                rows["numerical_value"].append(float(centroid[block][0]))
                rows["categorical_value"].append([])
            else:
                rows["numerical_value"].append(None)
                rows["categorical_value"].append(
                    [
                        {"category": c, "value": float(v)}
                        for c, v in zip(feature.categories, centroid[block], strict=True)
                    ]
                )
    schema = pa.schema(
        [
            ("centroid_id", pa.int64()),
            ("feature", pa.string()),
            ("numerical_value", pa.float64()),
            ("categorical_value", pa.list_(CATEGORY_VALUE)),
        ]
    )
    return _with_trial_id(model, trial.trial_id, pa.Table.from_pydict(rows, schema=schema))


def evaluate(model: KMeansModel, table: pa.Table | None = None, trial_id: int | None = None) -> pa.Table:
    """Davies-Bouldin index and mean squared distance, on the training data or on `table`.

    Without input data or a trial_id, a tuned model reports every trial that trained, one row each, led by
    trial_id, the way BigQuery ML documents it
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate); otherwise
    the one trial (the served one by default).
    """
    if model.tuned and table is None and trial_id is None:
        trials = [trial for trial in model.trials if trial.succeeded]
        metrics = _metrics_table(
            [t.davies_bouldin_index for t in trials], [t.mean_squared_distance for t in trials]
        )
        return metrics.add_column(0, "trial_id", pa.array([t.trial_id for t in trials], pa.int64()))
    trial = model.trial(trial_id)
    if table is None:
        index, mean_squared = trial.davies_bouldin_index, trial.mean_squared_distance
    elif table.num_rows == 0:
        index = mean_squared = None
    else:
        points = model.points(table)
        assignment = assign(points, model.metric, trial.centroids)
        index, mean_squared = davies_bouldin(points, model.metric, assignment), assignment.loss
    return _with_trial_id(model, trial.trial_id, _metrics_table([index], [mean_squared]))


def _metrics_table(indexes: list[float | None], mean_squared: list[float | None]) -> pa.Table:
    return pa.table(
        {
            "davies_bouldin_index": pa.array(indexes, pa.float64()),
            "mean_squared_distance": pa.array(mean_squared, pa.float64()),
        }
    )


def training_info(model: KMeansModel) -> pa.Table:
    """One row per Lloyd iteration of every training run (and every trial of a tuned model)."""
    rows: dict[str, list] = {
        name: [] for name in ("trial_id", "training_run", "iteration", "loss", "duration_ms", "cluster_info")
    }
    for trial in model.trials:
        for run_index, run in enumerate(trial.runs):
            for iteration in run.iterations:
                rows["trial_id"].append(trial.trial_id)
                rows["training_run"].append(run_index)
                rows["iteration"].append(iteration.index)
                rows["loss"].append(iteration.loss)
                rows["duration_ms"].append(iteration.duration_ms)
                rows["cluster_info"].append(_cluster_info(iteration.cluster_sizes, iteration.cluster_radii))
    schema = pa.schema(
        [
            ("trial_id", pa.int64()),
            ("training_run", pa.int64()),
            ("iteration", pa.int64()),
            ("loss", pa.float64()),
            ("duration_ms", pa.int64()),
            ("cluster_info", pa.list_(CLUSTER_INFO)),
        ]
    )
    info = pa.Table.from_pydict(rows, schema=schema)
    return info if model.tuned else info.drop_columns(["trial_id"])


def trial_info(model: KMeansModel) -> pa.Table:
    """One row per hyperparameter tuning trial, with the columns
    https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-trial-info documents;
    `is_optimal` marks the trial ML.PREDICT serves by default."""
    if not model.tuned:
        raise InvalidQuery("ML.TRIAL_INFO needs a model trained with hyperparameter tuning (NUM_TRIALS)")
    trials = model.trials
    return pa.table(
        {
            "trial_id": pa.array([t.trial_id for t in trials], pa.int64()),
            "hyperparameters": pa.array(
                [{"num_clusters": t.num_clusters} for t in trials], pa.struct([("num_clusters", pa.int64())])
            ),
            "hparam_tuning_evaluation_metrics": pa.array(
                [{"davies_bouldin_index": t.davies_bouldin_index} for t in trials],
                pa.struct([("davies_bouldin_index", pa.float64())]),
            ),
            "training_loss": pa.array([t.training_loss for t in trials], pa.float64()),
            "eval_loss": pa.nulls(len(trials), pa.float64()),
            "status": pa.array([t.status for t in trials], pa.string()),
            "error_message": pa.array([t.error_message for t in trials], pa.string()),
            "is_optimal": pa.array([t.trial_id == model.default_trial_id for t in trials], pa.bool_()),
        }
    )


def _cluster_info(sizes: tuple[int, ...], radii: tuple[float, ...]) -> list[dict]:
    return [
        {"centroid_id": cluster, "cluster_radius": radius, "cluster_size": size}
        for cluster, (size, radius) in enumerate(zip(sizes, radii, strict=True), start=1)
    ]


def _with_trial_id(model: KMeansModel, trial_id: int, table: pa.Table) -> pa.Table:
    """Tuned models lead their results with the trial they come from."""
    if not model.tuned:
        return table
    return table.add_column(0, "trial_id", pa.array(np.full(table.num_rows, trial_id), pa.int64()))
