"""A trained BigQuery ML k-means model: training (with trials and warm start) and its byte serialization."""

from __future__ import annotations

import io
import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from local_bigquery.bqml.features import FeatureTransform, sql_type
from local_bigquery.bqml.lloyd import (
    METRICS,
    IterationResult,
    Points,
    davies_bouldin,
    kmeans_plus_plus_init,
    lloyd,
    random_init,
)
from local_bigquery.bqml.options import DEFAULT_NUM_CLUSTERS_SPACE, HparamRange, KMeansOptions
from local_bigquery.errors import InvalidQuery

FORMAT_VERSION = 1
_INIT_METHODS_REST = {"RANDOM": "RANDOM", "KMEANS++": "KMEANS_PLUS_PLUS", "CUSTOM": "CUSTOM"}


@dataclass
class TrainingRun:
    start_time_ms: int
    training_options: dict  # the REST TrainingOptions this run was trained with
    iterations: list[IterationResult]


@dataclass
class Trial:
    trial_id: int
    num_clusters: int
    status: str  # SUCCEEDED or INFEASIBLE, as ML.TRIAL_INFO reports it
    error_message: str | None = None
    centroids: np.ndarray | None = None  # (num_clusters, dimensions) in model space
    runs: list[TrainingRun] = field(default_factory=list)
    davies_bouldin_index: float | None = None
    mean_squared_distance: float | None = None
    start_time_ms: int = 0
    end_time_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def training_loss(self) -> float | None:
        return self.runs[-1].iterations[-1].loss if self.runs and self.runs[-1].iterations else None


@dataclass
class KMeansModel:
    transform: FeatureTransform
    distance_type: str
    trials: list[Trial]
    default_trial_id: int
    tuned: bool
    search_space: dict | None = None  # REST hparamSearchSpaces when tuned

    @property
    def metric(self):
        return METRICS[self.distance_type]

    def trial(self, trial_id: int | None = None) -> Trial:
        """The served trial by default; another succeeded trial by id."""
        wanted = self.default_trial_id if trial_id is None else trial_id
        for trial in self.trials:
            if trial.trial_id == wanted and trial.succeeded:
                return trial
        raise InvalidQuery(f"Trial {wanted} does not exist or did not succeed; trials: {self._trial_ids()}")

    def _trial_ids(self) -> list[int]:
        return [trial.trial_id for trial in self.trials if trial.succeeded]

    def points(self, table: pa.Table) -> Points:
        return self.metric.prepare(self.transform.transform(table))

    def to_bytes(self) -> bytes:
        """npz of the centroid arrays plus a JSON description: portable, and loading it runs no code."""
        meta = {
            "format_version": FORMAT_VERSION,
            "transform": self.transform.to_dict(),
            "distance_type": self.distance_type,
            "default_trial_id": self.default_trial_id,
            "tuned": self.tuned,
            "search_space": self.search_space,
            "trials": [_trial_to_dict(trial) for trial in self.trials],
        }
        arrays = {f"centroids_{t.trial_id}": t.centroids for t in self.trials if t.centroids is not None}
        buffer = io.BytesIO()
        np.savez(buffer, meta=np.array(json.dumps(meta)), **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, payload: bytes) -> KMeansModel:
        with np.load(io.BytesIO(payload), allow_pickle=False) as archive:
            meta = json.loads(str(archive["meta"]))
            if meta["format_version"] != FORMAT_VERSION:
                raise InvalidQuery(f"Stored model has unknown format version {meta['format_version']}")
            trials = [
                _trial_from_dict(data, archive.get(f"centroids_{data['trial_id']}"))
                for data in meta["trials"]
            ]
        return cls(
            transform=FeatureTransform.from_dict(meta["transform"]),
            distance_type=meta["distance_type"],
            trials=trials,
            default_trial_id=meta["default_trial_id"],
            tuned=meta["tuned"],
            search_space=meta["search_space"],
        )


def _trial_to_dict(trial: Trial) -> dict:
    data = asdict(trial)
    data.pop("centroids")
    return data


def _trial_from_dict(data: dict, centroids: np.ndarray | None) -> Trial:
    runs = [
        TrainingRun(
            run["start_time_ms"],
            run["training_options"],
            [
                IterationResult(
                    **{
                        **it,
                        "cluster_sizes": tuple(it["cluster_sizes"]),
                        "cluster_radii": tuple(it["cluster_radii"]),
                    }
                )
                for it in run["iterations"]
            ],
        )
        for run in data.pop("runs")
    ]
    return Trial(**data, runs=runs, centroids=None if centroids is None else np.array(centroids))


def train(table: pa.Table, options: KMeansOptions, previous: KMeansModel | None = None) -> KMeansModel:
    """Train on the rows of the CREATE MODEL query. `previous` is the model being replaced (for WARM_START).

    The rows are put in an order of their content first, so the same rows give the same model whatever order
    the query returned them in (a query's row order is unspecified without ORDER BY).
    """
    features, seed_rows = _split_init_column(_content_order(table), options)
    _check_training_data(features)
    if options.warm_start:
        _check_warm_start(previous, features, options)
    transform = FeatureTransform.fit(features, standardize=options.standardize_features)
    metric = METRICS[options.distance_type]
    points = metric.prepare(transform.transform(features))
    cluster_counts = _trial_cluster_counts(options, previous, points.count)
    trials = [
        _run_trial(trial_id, k, points, options, transform, previous, seed_rows)
        for trial_id, k in enumerate(cluster_counts, start=1)
    ]
    succeeded = [trial for trial in trials if trial.succeeded]
    if not succeeded:
        raise InvalidQuery("No trial could be trained: " + "; ".join(t.error_message or "" for t in trials))
    best = min(succeeded, key=lambda t: (_objective(t), t.trial_id))
    return KMeansModel(
        transform=transform,
        distance_type=options.distance_type,
        trials=trials,
        default_trial_id=best.trial_id,
        tuned=options.is_tuned,
        search_space=_search_space(options) if options.is_tuned else None,
    )


def _content_order(table: pa.Table) -> pa.Table:
    """The rows sorted by every column in turn: rows that are equal are interchangeable, so any two orders of
    the same rows give the same table. NULLs sort last; columns k-means cannot use are left to the checks."""
    if table.num_rows < 2 or table.num_columns == 0:
        return table
    keys = [(f.name, "ascending", "at_end") for f in table.schema if sql_type(f.type) is not None]
    if not keys:
        return table  # nothing usable as a feature: the training checks report it
    return table.take(pc.sort_indices(table, sort_keys=keys))


def _objective(trial: Trial) -> float:
    """DAVIES_BOULDIN_INDEX, lower is better; a degenerate trial without one ranks last."""
    return math.inf if trial.davies_bouldin_index is None else trial.davies_bouldin_index


def _split_init_column(table: pa.Table, options: KMeansOptions) -> tuple[pa.Table, np.ndarray | None]:
    """The feature columns, and for CUSTOM initialisation the rows KMEANS_INIT_COL marks TRUE."""
    if not options.kmeans_init_col:
        return table, None
    lookup = {name.lower(): name for name in table.column_names}
    name = lookup.get(options.kmeans_init_col.lower())
    if name is None:
        raise InvalidQuery(f"KMEANS_INIT_COL {options.kmeans_init_col} is not a column of the training query")
    column = table.column(name)
    if sql_type(column.type) != "BOOL":
        raise InvalidQuery(
            f"KMEANS_INIT_COL {name} must be a BOOL column, not {sql_type(column.type) or column.type}"
        )
    marked = column.fill_null(False).to_numpy(zero_copy_only=False)
    return table.drop_columns([name]), np.flatnonzero(marked)


def _check_training_data(table: pa.Table) -> None:
    if table.num_rows == 0:
        raise InvalidQuery("The training query returned no rows; a k-means model needs training data")
    seen: set[str] = set()
    for name in table.column_names:
        if name.lower() in seen:
            raise InvalidQuery(f"Duplicate column name {name} in the training query")
        seen.add(name.lower())


def _check_warm_start(previous: KMeansModel | None, features: pa.Table, options: KMeansOptions) -> None:
    if previous is None:
        raise InvalidQuery("WARM_START=TRUE requires an existing model to continue training from")
    wanted = [(f.name.lower(), f.sql_type) for f in previous.transform.features]
    given = [(name.lower(), sql_type(features.column(name).type)) for name in features.column_names]
    if sorted(wanted) != sorted(given):
        raise InvalidQuery(
            "WARM_START needs the same feature columns and types as the existing model: "
            f"model has {_describe_columns(wanted)}, the query has {_describe_columns(given)}"
        )
    existing = len(previous.trial().centroids)
    if isinstance(options.num_clusters, int) and options.num_clusters != existing:
        raise InvalidQuery(f"WARM_START cannot change NUM_CLUSTERS: the model has {existing} clusters")


def _describe_columns(columns: list[tuple[str, str | None]]) -> str:
    return ", ".join(f"{name} {kind}" for name, kind in columns)


def _trial_cluster_counts(options: KMeansOptions, previous: KMeansModel | None, rows: int) -> list[int]:
    if options.warm_start:
        return [len(previous.trial().centroids)]
    if options.is_tuned:
        candidates = list(options.num_clusters_space().candidates())
        if options.hparam_tuning_algorithm != "GRID_SEARCH":
            candidates = list(np.random.default_rng(0).permutation(candidates))
        return [int(k) for k in candidates[: options.num_trials]]
    if isinstance(options.num_clusters, int):
        return [options.num_clusters]
    return [_default_cluster_count(rows)]


def _default_cluster_count(rows: int) -> int:
    """BigQuery ML picks a default from the row count; this server uses sqrt(rows / 2) within the range a
    tuned model searches by default, [2, 10]."""
    return int(np.clip(round(math.sqrt(rows / 2)), *DEFAULT_NUM_CLUSTERS_SPACE))


def _run_trial(
    trial_id: int,
    clusters: int,
    points: Points,
    options: KMeansOptions,
    transform: FeatureTransform,
    previous: KMeansModel | None,
    seed_rows: np.ndarray | None,
) -> Trial:
    started_ms = _now_ms()
    if clusters > points.count:
        message = f"NUM_CLUSTERS={clusters} is more than the {points.count} training rows"
        if not options.is_tuned:
            raise InvalidQuery(message)
        return Trial(
            trial_id, clusters, "INFEASIBLE", message, start_time_ms=started_ms, end_time_ms=_now_ms()
        )
    metric = METRICS[options.distance_type]
    result = min(
        (
            lloyd(
                points,
                metric,
                _initial_centroids(clusters, points, options, transform, previous, seed_rows, seed=seed),
                max_iterations=options.max_iterations,
                early_stop=options.early_stop,
                min_rel_progress=options.min_rel_progress,
            )
            for seed in _start_seeds(trial_id, options)
        ),
        key=lambda run: run.assignment.loss,
    )
    run = TrainingRun(started_ms, _training_options(options, clusters), result.iterations)
    earlier_runs = previous.trial().runs if options.warm_start else []
    return Trial(
        trial_id,
        clusters,
        "SUCCEEDED",
        centroids=result.centroids,
        runs=[*earlier_runs, run],
        davies_bouldin_index=davies_bouldin(points, metric, result.assignment),
        mean_squared_distance=result.assignment.loss,
        start_time_ms=started_ms,
        end_time_ms=_now_ms(),
    )


# BigQuery ML documents neither a seed nor how many times KMEANS++ or RANDOM start
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-kmeans): one
# start can settle in a local optimum 10 % worse than the best (k-means++ on the 100,000-user sample), so
# this server, like scikit-learn's n_init, runs several seeded starts and keeps the lowest loss. Starts from
# given centroids (CUSTOM, WARM_START) run once.
SEEDED_STARTS = 10


def _start_seeds(trial_id: int, options: KMeansOptions) -> range:
    if options.warm_start or options.kmeans_init_method == "CUSTOM":
        return range(trial_id, trial_id + 1)
    return range(trial_id * SEEDED_STARTS, (trial_id + 1) * SEEDED_STARTS)


def _initial_centroids(
    clusters: int,
    points: Points,
    options: KMeansOptions,
    transform: FeatureTransform,
    previous: KMeansModel | None,
    seed_rows: np.ndarray | None,
    seed: int,
) -> np.ndarray:
    if options.warm_start:
        original = previous.transform.original_values(previous.trial().centroids)
        return transform.from_original(original, clusters)
    if options.kmeans_init_method == "CUSTOM":
        if len(seed_rows) != clusters:
            raise InvalidQuery(
                f"KMEANS_INIT_COL {options.kmeans_init_col} must be TRUE for exactly NUM_CLUSTERS={clusters} rows, "
                f"but is TRUE for {len(seed_rows)}"
            )
        return points.values[:, seed_rows].T.copy()
    if options.kmeans_init_method == "KMEANS++":
        return kmeans_plus_plus_init(points, clusters, seed)
    return random_init(points, clusters, seed)


def _training_options(options: KMeansOptions, clusters: int) -> dict:
    """REST TrainingOptions; INT64 values are JSON strings, as the BigQuery API sends them."""
    rest = {
        "numClusters": str(clusters),
        "kmeansInitializationMethod": _INIT_METHODS_REST[options.kmeans_init_method],
        "distanceType": options.distance_type,
        "standardizeFeatures": options.standardize_features,
        "maxIterations": str(options.max_iterations),
        "earlyStop": options.early_stop,
        "minRelativeProgress": options.min_rel_progress,
        "warmStart": options.warm_start,
    }
    if options.kmeans_init_col:
        rest["kmeansInitializationColumn"] = options.kmeans_init_col
    if options.is_tuned:
        rest |= {
            "numTrials": str(options.num_trials),
            "maxParallelTrials": str(options.max_parallel_trials),
            "hparamTuningObjectives": list(options.hparam_tuning_objectives),
        }
    return rest


def _search_space(options: KMeansOptions) -> dict:
    space = options.num_clusters_space()
    if isinstance(space, HparamRange):
        return {"numClusters": {"range": {"min": str(space.low), "max": str(space.high)}}}
    return {"numClusters": {"candidates": {"candidates": [str(k) for k in space.candidates()]}}}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
