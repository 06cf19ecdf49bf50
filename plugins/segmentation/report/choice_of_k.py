"""Why this k: an elbow and silhouette scan over nearby k, on a small fixed sample of the customers.

The model sees the run's model input (include/sql/model_input.sql): numeric features clipped to the run's
bounds, monetary log-transformed when the run says so, those without spread left out, standardized by
BigQuery ML over the snapshot, and one-hot categories. The scan prepares its sample the same way
(`ModelInput`: the bounds from model_evaluations.feature_preparation, the standardization from
segment_centroids) and clusters it with scikit-learn on at most `SCAN_ROWS` customers. It explains the
choice; it does not redo it: the model's own Davies-Bouldin index per trial comes from `model_evaluations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import silhouette_score

SCAN_ROWS = 5_000
MAX_SCANNED_KS = 12
SEED = 20240601
# Columns of the customer sample that describe the row rather than the customer.
NON_FEATURE_COLUMNS = frozenset({"segment_id", "customer_id", "snapshot_date"})


@dataclass(frozen=True)
class KScan:
    ks: tuple[int, ...]
    mean_squared_distance: tuple[float, ...]
    silhouette: tuple[float, ...]
    rows: int


def candidate_ks(tried_ks: Sequence[int], chosen_k: int) -> list[int]:
    """The ks to scan: those the model tried when it tuned k, else chosen_k - 2 .. chosen_k + 2."""
    tried = sorted(set(tried_ks))
    if len(tried) < 2:
        tried = list(range(max(2, chosen_k - 2), chosen_k + 3))
    if len(tried) > MAX_SCANNED_KS:
        spread = np.linspace(tried[0], tried[-1], MAX_SCANNED_KS - 1).round().astype(int)
        tried = sorted({*spread.tolist(), chosen_k})
    return tried


@dataclass(frozen=True)
class ModelInput:
    """How the run prepared the numeric features its model trained on."""

    # Per model feature (a column of the model input: log_monetary for a log-transformed monetary), in the
    # matrix's column order: its mean and sample standard deviation over the snapshot's model input.
    standardization: Mapping[str, tuple[float, float]]
    # Per customer_features column the model clustered: the (lower, upper) bounds the run clipped it to.
    bounds: Mapping[str, tuple[float, float]]

    @staticmethod
    def source_column(feature: str) -> str:
        """The customer_features column a model feature is computed from (model_input.sql)."""
        return "monetary" if feature == "log_monetary" else feature


def _prepared(features: pd.DataFrame, model_input: ModelInput) -> pd.DataFrame:
    """The model input's numeric columns for the sample: clipped, log-transformed where the model's is,
    NULL imputed with the mean (BigQuery ML's), standardized with the snapshot's mean and stddev."""
    columns = {}
    for feature, (mean, stddev) in model_input.standardization.items():
        column = model_input.source_column(feature)
        values = features[column].astype(float)
        if column in model_input.bounds:
            values = values.clip(*model_input.bounds[column])
        if feature != column:
            values = np.log1p(values)
        columns[feature] = (values.fillna(mean) - mean) / (stddev or 1.0)
    return pd.DataFrame(columns, index=features.index)


def _standardized_by_the_sample(features: pd.DataFrame, *, log_transform_monetary: bool) -> pd.DataFrame:
    """For snapshots that did not record their feature preparation: the sample's own z-scores, unclipped."""
    if log_transform_monetary and "monetary" in features:
        features = features.assign(monetary=np.log1p(features["monetary"].astype(float)))
    numeric = features.select_dtypes(include="number").astype(float)
    numeric = numeric.fillna(numeric.mean()).fillna(0.0)
    spread = numeric.std(ddof=0).replace(0.0, 1.0)
    return (numeric - numeric.mean()) / spread


def model_matrix(
    sample: pd.DataFrame, *, model_input: ModelInput | None = None, log_transform_monetary: bool = False
) -> np.ndarray:
    """The sample's features the way the k-means model sees them: its numeric input (`model_input`; without
    it the sample standardized by itself) and one-hot categories."""
    features = sample.drop(columns=[c for c in sample.columns if c in NON_FEATURE_COLUMNS])
    if model_input is None:
        standardized = _standardized_by_the_sample(features, log_transform_monetary=log_transform_monetary)
    else:
        standardized = _prepared(features, model_input)
    numeric = features.select_dtypes(include="number").columns
    categories = features.drop(columns=numeric).astype("string").fillna("")
    one_hot = pd.get_dummies(categories, dtype=float) if len(categories.columns) else None
    parts = [standardized] if one_hot is None else [standardized, one_hot]
    return pd.concat(parts, axis=1).to_numpy(dtype=float)


def _silhouette(rows: np.ndarray, labels: np.ndarray) -> float:
    # Data with fewer distinct points than k can leave a single cluster, where silhouette is undefined.
    if len(np.unique(labels)) < 2:
        return float("nan")
    return float(silhouette_score(rows, labels))


def scan_k(matrix: np.ndarray, ks: Sequence[int], *, seed: int = SEED) -> KScan:
    """k-means (k-means++) for every k on the first SCAN_ROWS rows: mean squared distance and silhouette."""
    rows = matrix[:SCAN_ROWS]
    usable = [k for k in ks if 2 <= k < len(rows)]
    distances, silhouettes = [], []
    for k in usable:
        model = KMeans(n_clusters=k, init="k-means++", n_init=3, random_state=seed).fit(rows)
        distances.append(float(model.inertia_) / len(rows))
        silhouettes.append(_silhouette(rows, model.labels_))
    return KScan(tuple(usable), tuple(distances), tuple(silhouettes), len(rows))
