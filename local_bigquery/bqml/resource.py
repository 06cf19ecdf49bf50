"""The BigQuery v2 REST `Model` resource of a k-means model (models.get / models.list)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from local_bigquery.bqml.lloyd import IterationResult
from local_bigquery.bqml.model import KMeansModel, TrainingRun, Trial
from local_bigquery.bqml.options import ModelMetadata
from local_bigquery.catalog import LOCATION, StoredModel


def resource_fields(model: KMeansModel) -> dict:
    """The model-specific part of the resource, stored with the model when it is trained."""
    served = model.trial()
    body = {
        "modelType": "KMEANS",
        "featureColumns": [
            {"name": feature.name, "type": {"typeKind": feature.sql_type}}
            for feature in model.transform.features
        ],
        "labelColumns": [],
        "trainingRuns": [
            _training_run(run, served if index == len(served.runs) - 1 else None)
            for index, run in enumerate(served.runs)
        ],
    }
    if model.tuned:
        body |= {
            "hparamSearchSpaces": model.search_space,
            "hparamTrials": [_trial(trial) for trial in model.trials],
            "defaultTrialId": str(model.default_trial_id),
            "optimalTrialIds": [str(model.default_trial_id)],
        }
    return body


def metadata_fields(metadata: ModelMetadata) -> dict:
    """The options ALTER MODEL ... SET OPTIONS sets (DESCRIPTION, FRIENDLY_NAME, LABELS) as resource fields."""
    fields = {"description": metadata.description, "friendlyName": metadata.friendly_name}
    fields = {name: value for name, value in fields.items() if value is not None}
    if metadata.labels:
        fields["labels"] = dict(metadata.labels)
    return fields


def model_resource(stored: StoredModel) -> dict:
    """The full REST resource: reference, timestamps and etag around the stored model fields."""
    ref = stored.ref
    return {
        "kind": "bigquery#model",
        "etag": hashlib.sha256(f"{ref}:{stored.modified_ms}".encode()).hexdigest()[:24],
        "modelReference": {"projectId": ref.project, "datasetId": ref.dataset, "modelId": ref.table},
        "creationTime": str(stored.created_ms),
        "lastModifiedTime": str(stored.modified_ms),
        "location": LOCATION,
        **stored.resource,
    }


def _training_run(run: TrainingRun, evaluated: Trial | None) -> dict:
    body = {
        "trainingOptions": run.training_options,
        "startTime": datetime.fromtimestamp(run.start_time_ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z"),
        "results": [_iteration(iteration) for iteration in run.iterations],
    }
    if evaluated is not None:
        body["evaluationMetrics"] = _clustering_metrics(evaluated)
    return body


def _iteration(iteration: IterationResult) -> dict:
    return {
        "index": iteration.index,
        "durationMs": str(iteration.duration_ms),
        "trainingLoss": iteration.loss,
        "clusterInfos": [
            {"centroidId": str(cluster), "clusterRadius": radius, "clusterSize": str(size)}
            for cluster, (size, radius) in enumerate(
                zip(iteration.cluster_sizes, iteration.cluster_radii, strict=True), start=1
            )
        ],
    }


def _clustering_metrics(trial: Trial) -> dict:
    metrics = {
        "daviesBouldinIndex": trial.davies_bouldin_index,
        "meanSquaredDistance": trial.mean_squared_distance,
    }
    return {"clusteringMetrics": {name: value for name, value in metrics.items() if value is not None}}


def _trial(trial: Trial) -> dict:
    body = {
        "trialId": str(trial.trial_id),
        "startTimeMs": str(trial.start_time_ms),
        "endTimeMs": str(trial.end_time_ms),
        "hparams": {"numClusters": str(trial.num_clusters)},
        "status": trial.status,
    }
    if trial.succeeded:
        body |= {
            "trainingLoss": trial.training_loss,
            "evaluationMetrics": _clustering_metrics(trial),
            "hparamTuningEvaluationMetrics": _clustering_metrics(trial),
        }
    else:
        body["errorMessage"] = trial.error_message
    return body
