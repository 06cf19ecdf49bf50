"""Segments that last: each snapshot's model continues from the previous snapshot's centroids, and segment
ids follow the centroids.

- **Features.** The model input clips every numeric feature to the snapshot's percentile bounds
  (include/sql/model_input.sql); a feature left without spread (one value for every customer, e.g. no
  returns at all) is left out of training and named in the plan, and a change of the features trained on
  is a reason to rebase like any other.
- **Training plan.** A run continues (BigQuery ML `KMEANS_INIT_METHOD = 'CUSTOM'`, seeded with the
  customer of today's snapshot nearest to each previous centroid, include/sql/training_seeds.sql) unless it
  must rebase (k-means++ from scratch): no previous snapshot, the model features or k changed, the
  `rebase_segments` param asks for it, a previous centroid has no customer nearest to it any more, or the
  previous snapshot's Davies-Bouldin index drifted more than `max_quality_drift_pct` above the one of the
  rebase it continues.
- **Segment ids.** The model's centroids are matched one to one to the previous snapshot's centroids by the
  minimum total distance (the Hungarian method, in standardized units of today's features); a pair further
  apart than `max_segment_shift` is no match. A matched centroid keeps the previous segment's id, any other
  gets an id no earlier snapshot used, so a split, merge or change of k shows as new ids and no id changes
  meaning.

"Previous" always means the latest snapshot before the run's date, so a backfill continues from its own
predecessor and a rerun of a date reproduces it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from segmentation.features import feature_columns

if TYPE_CHECKING:
    from segmentation.config import PipelineConfig

PLAN_TASK = "model.plan_training"
MATCH_TASK = "segments.match_segment_ids"


def model_feature_name(config: PipelineConfig, column: str) -> str:
    """The model input's name for a numeric column of customer_features (include/sql/model_input.sql)."""
    return "log_monetary" if column == "monetary" and config.log_transform_monetary else column


def numeric_model_features(config: PipelineConfig) -> tuple[str, ...]:
    """The numeric columns of the model input, as include/sql/model_input.sql names them."""
    return tuple(
        model_feature_name(config, feature.name) for feature in feature_columns(config) if feature.is_numeric
    )


class NoFeatureVaries(ValueError):
    """Every numeric feature has one value for every customer of the snapshot: nothing to cluster on."""


class TrainingPlan(BaseModel):
    """How a run trains its model; rendered into the CREATE MODEL options."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    training: Literal["continued", "rebased"]
    rebase_reason: str | None = None
    previous_snapshot: date | None = None
    num_clusters: int | None = None  # fixed k; None when a rebase tunes k over k_min..k_max
    k_min: int | None = None
    k_max: int | None = None
    # Numeric model features without spread in the snapshot (after clipping), not trained on.
    left_out_features: tuple[str, ...] = ()

    @property
    def continues(self) -> bool:
        return self.training == "continued"

    @property
    def tuned(self) -> bool:
        return self.num_clusters is None

    @classmethod
    def rebase(
        cls,
        config: PipelineConfig,
        reason: str,
        previous: date | None = None,
        left_out: tuple[str, ...] = (),
    ) -> TrainingPlan:
        k_range = config.k_range
        if k_range:
            return cls(
                training="rebased",
                rebase_reason=reason,
                previous_snapshot=previous,
                k_min=k_range[0],
                k_max=k_range[1],
                left_out_features=left_out,
            )
        return cls(
            training="rebased",
            rebase_reason=reason,
            previous_snapshot=previous,
            left_out_features=left_out,
            num_clusters=config.num_clusters,
            k_min=config.num_clusters,
            k_max=config.num_clusters,
        )


def plan_training(config: PipelineConfig, history: Mapping[str, Any]) -> TrainingPlan:
    """The plan for a run, from what include/sql/training_plan.sql found about the previous snapshot."""
    previous = history.get("previous_snapshot")
    left_out = left_out_features(config, history)
    if config.rebase_segments:
        return TrainingPlan.rebase(config, "the rebase_segments param asks for it", previous, left_out)
    if previous is None:
        return TrainingPlan.rebase(config, "no earlier snapshot", left_out=left_out)
    previous_k = int(history["previous_k"])
    problem = _rebase_reason(config, history, previous_k, left_out)
    if problem:
        return TrainingPlan.rebase(config, problem, previous, left_out)
    return TrainingPlan(
        training="continued",
        previous_snapshot=previous,
        num_clusters=previous_k,
        k_min=previous_k,
        k_max=previous_k,
        left_out_features=left_out,
    )


def left_out_features(config: PipelineConfig, history: Mapping[str, Any]) -> tuple[str, ...]:
    """The numeric model features training_plan.sql found without spread; refuses a snapshot where that is
    every one of them."""
    features = numeric_model_features(config)
    constant = set(history.get("constant_features") or ())
    left_out = tuple(feature for feature in features if feature in constant)
    if features and len(left_out) == len(features):
        raise NoFeatureVaries(
            "model_input gate failed: no numeric feature varies in the snapshot "
            f"({', '.join(left_out)} have one value for every customer after clipping)"
        )
    return left_out


def _rebase_reason(
    config: PipelineConfig, history: Mapping[str, Any], previous_k: int, left_out: tuple[str, ...]
) -> str | None:
    features = tuple(sorted(set(numeric_model_features(config)) - set(left_out)))
    previous_features = tuple(sorted(history.get("previous_features") or ()))
    if features != previous_features:
        without_spread = f"; left out without spread: {', '.join(left_out)}" if left_out else ""
        return f"the model features changed (were {', '.join(previous_features) or 'none'}{without_spread})"
    k_range = config.k_range
    if k_range and not k_range[0] <= previous_k <= k_range[1]:
        return f"k {previous_k} of the previous snapshot is outside k_min..k_max"
    if not k_range and previous_k != config.num_clusters:
        return f"num_clusters changed from {previous_k} to {config.num_clusters}"
    if int(history.get("seeds") or 0) != previous_k:
        return "a previous centroid has no customer nearest to it any more"
    drifted, baseline = history.get("previous_davies_bouldin"), history.get("baseline_davies_bouldin")
    if drifted is not None and baseline and drifted > baseline * (1 + config.max_quality_drift_pct / 100):
        return (
            f"Davies-Bouldin index drifted to {drifted:.3f} from {baseline:.3f} at the last rebase "
            f"(more than {config.max_quality_drift_pct:g} %)"
        )
    return None


class SegmentMatch(BaseModel):
    """One row of segment_id_mapping: the id a centroid of the run's model gets."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    centroid_id: int
    segment_id: int
    previous_segment_id: int | None = None
    centroid_shift: float | None = None


def match_segments(
    centroids: Mapping[int, Sequence[float]],
    previous: Mapping[int, Sequence[float]],
    *,
    max_shift: float,
    first_new_id: int,
) -> list[SegmentMatch]:
    """Segment ids for the model's centroids (centroid_id -> coordinates, standardized units), given the
    previous snapshot's (segment_id -> coordinates in the same units and feature order).

    Without a previous snapshot the model's numbering stands.
    """
    new_ids = sorted(centroids)
    if not previous:
        return [SegmentMatch(centroid_id=c, segment_id=c) for c in new_ids]
    old_ids = sorted(previous)
    # At run time: parsing the DAG needs neither numpy nor scipy.
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    new = np.array([centroids[c] for c in new_ids], dtype=float)
    old = np.array([previous[s] for s in old_ids], dtype=float)
    cost = np.sqrt(((new[:, None, :] - old[None, :, :]) ** 2).sum(axis=2))
    rows, columns = linear_sum_assignment(cost)
    kept = {
        new_ids[row]: (old_ids[column], float(cost[row, column]))
        for row, column in zip(rows, columns, strict=True)
        if cost[row, column] <= max_shift
    }
    matches, next_id = [], max(first_new_id, max(old_ids) + 1)
    for centroid in new_ids:
        if centroid in kept:
            segment, shift = kept[centroid]
            matches.append(
                SegmentMatch(
                    centroid_id=centroid,
                    segment_id=segment,
                    previous_segment_id=segment,
                    centroid_shift=shift,
                )
            )
        else:
            matches.append(SegmentMatch(centroid_id=centroid, segment_id=next_id))
            next_id += 1
    return matches


def matching_input(
    rows: Sequence[Mapping[str, Any]],
) -> tuple[dict[int, list[float]], dict[int, list[float]]]:
    """Rows of include/sql/segment_matching.sql (side, id, feature, value) as coordinate vectors, features
    in one order for both sides."""
    features = sorted({row["feature"] for row in rows})
    sides: dict[str, dict[int, dict[str, float]]] = {"new": {}, "previous": {}}
    for row in rows:
        sides[row["side"]].setdefault(int(row["id"]), {})[row["feature"]] = float(row["value"] or 0.0)
    vectors = {
        side: {key: [values.get(f, 0.0) for f in features] for key, values in by_id.items()}
        for side, by_id in sides.items()
    }
    return vectors["new"], vectors["previous"]


class WarehouseJobs:
    """The run's own BigQuery jobs from a Python task: include/sql files rendered with the DAG's templates
    (the same macros and context as its operators), run through the provider's BigQueryHook."""

    def __init__(self, config: PipelineConfig, context: Mapping[str, Any]) -> None:
        from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

        self.config, self.context = config, context
        self.hook = BigQueryHook(
            gcp_conn_id=config.gcp_conn_id, location=config.location, use_legacy_sql=False
        )
        self.project = config.project_id or self.hook.project_id

    def render(self, sql_file: str) -> str:
        template = self.context["dag"].get_template_env().get_template(sql_file)
        return template.render(**self.context)

    def run(self, configuration: dict) -> Any:
        """Runs the job with the run's labels (and its cap on bytes billed), as the operators' jobs."""
        from segmentation.costs import run_job_configuration

        job = self.hook.insert_job(
            configuration=run_job_configuration(configuration, self.context, self.config),
            project_id=self.project,
            location=self.config.location,
        )
        return job.result()

    def rows(self, sql_file: str) -> list[dict[str, Any]]:
        result = self.run({"query": {"query": self.render(sql_file), "useLegacySql": False}})
        return [dict(row.items()) for row in result]

    def copy_model(self, source: str, destination: str) -> None:
        """Replace `destination` with a copy of `source`, both models of the dataset: a copy job
        (https://cloud.google.com/bigquery/docs/managing-models#copy-model)."""
        reference = {"projectId": self.project, "datasetId": self.config.dataset}
        self.run(
            {
                "copy": {
                    "sourceTable": reference | {"tableId": source},
                    "destinationTable": reference | {"tableId": destination},
                    "writeDisposition": "WRITE_TRUNCATE",
                }
            }
        )
