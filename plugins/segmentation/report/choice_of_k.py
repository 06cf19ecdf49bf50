"""Why this k: an elbow and silhouette scan over nearby k, on a small fixed sample of the customers.

The model sees standardized numeric features and one-hot categories (BigQuery ML's preprocessing), so the
scan does the same with scikit-learn on at most `SCAN_ROWS` customers. It explains the choice; it does
not redo it: the model's own Davies-Bouldin index per trial comes from `model_evaluations`.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def model_matrix(sample: pd.DataFrame, *, log_transform_monetary: bool = False) -> np.ndarray:
    """The sample's features the way the k-means model sees them: standardized numbers, one-hot categories."""
    features = sample.drop(columns=[c for c in sample.columns if c in NON_FEATURE_COLUMNS])
    if log_transform_monetary and "monetary" in features:
        features = features.assign(monetary=np.log1p(features["monetary"].astype(float)))
    numeric = features.select_dtypes(include="number").astype(float)
    numeric = numeric.fillna(numeric.mean()).fillna(0.0)
    spread = numeric.std(ddof=0).replace(0.0, 1.0)
    standardized = (numeric - numeric.mean()) / spread
    categories = features.drop(columns=numeric.columns).astype("string").fillna("")
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
