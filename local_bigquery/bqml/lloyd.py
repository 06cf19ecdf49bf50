"""Lloyd's k-means with BigQuery ML's stopping rule, vectorised with numpy over row chunks on every core.

Rows are stored feature-major, shape (dimensions, rows). One pass over the data (`assign`) finds each row's
nearest centroid and accumulates the per-cluster sums the next centroids need, so an iteration costs one
pass; the loss reported for an iteration is the mean squared distance to the centroids it produced.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache

import numpy as np
from sklearn.cluster import kmeans_plusplus
from threadpoolctl import ThreadpoolController

CHUNK_ROWS = 65_536


@dataclass(frozen=True)
class Points:
    """Rows prepared for one distance type."""

    values: np.ndarray  # (dimensions, rows) model-space features; a centroid is the mean of its rows
    scoring: np.ndarray  # (dimensions, rows) the rows distances are computed from
    offsets: np.ndarray  # (rows,) the per-row term that completes a distance

    @property
    def count(self) -> int:
        return self.values.shape[1]


class Euclidean:
    name = "EUCLIDEAN"

    @staticmethod
    def prepare(values: np.ndarray) -> Points:
        return Points(values, values, np.einsum("ij,ij->j", values, values))

    @staticmethod
    def scorer(centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weights and bias such that weights @ row + bias + offset is the squared distance."""
        return -2.0 * centroids, np.einsum("ij,ij->i", centroids, centroids)

    @staticmethod
    def finish(raw: np.ndarray, distance: np.ndarray, squared: np.ndarray) -> None:
        """Distances from raw scores (weights @ row + bias + offset), written into `distance` and `squared`."""
        np.maximum(raw, 0.0, out=squared)
        np.sqrt(squared, out=distance)

    @staticmethod
    def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2))

    @staticmethod
    def paired(rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Distances between matching columns of two (dimensions, n) matrices."""
        difference = rows - targets
        return np.sqrt(np.einsum("ij,ij->j", difference, difference))


class Cosine:
    """Cosine distance, 1 - cos(x, c); a zero vector is at distance 1 from everything."""

    name = "COSINE"

    @staticmethod
    def prepare(values: np.ndarray) -> Points:
        return Points(values, _unit_columns(values), np.ones(values.shape[1]))

    @staticmethod
    def scorer(centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return -_unit_columns(centroids.T).T, np.zeros(len(centroids))

    @staticmethod
    def finish(raw: np.ndarray, distance: np.ndarray, squared: np.ndarray) -> None:
        np.clip(raw, 0.0, 2.0, out=distance)
        np.multiply(distance, distance, out=squared)

    @staticmethod
    def pairwise(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.clip(1.0 - _unit_columns(a.T).T @ _unit_columns(b.T), 0.0, 2.0)

    @staticmethod
    def paired(rows: np.ndarray, targets: np.ndarray) -> np.ndarray:
        return np.clip(1.0 - np.einsum("ij,ij->j", _unit_columns(rows), _unit_columns(targets)), 0.0, 2.0)


Metric = type[Euclidean] | type[Cosine]
METRICS: dict[str, Metric] = {metric.name: metric for metric in (Euclidean, Cosine)}


def _unit_columns(matrix: np.ndarray) -> np.ndarray:
    norms = np.sqrt(np.einsum("ij,ij->j", matrix, matrix))
    return matrix / np.where(norms > 0, norms, 1.0)


@dataclass
class Assignment:
    """Each row's nearest centroid, and the per-cluster statistics of that assignment."""

    labels: np.ndarray  # (rows,) 0-based cluster index, in the smallest integer type that holds it
    distances: np.ndarray  # (rows,) distance to the assigned centroid
    squared: np.ndarray  # (rows,) squared distance to the assigned centroid
    totals: np.ndarray  # (clusters, dimensions + 1) sum of the assigned rows' values, then the row count
    distance_sums: np.ndarray  # (clusters,)

    @property
    def sums(self) -> np.ndarray:
        return self.totals[:, :-1]

    @property
    def counts(self) -> np.ndarray:
        return self.totals[:, -1]

    @property
    def loss(self) -> float:
        """Mean squared distance of rows to their centroid: ML.TRAINING_INFO's loss for k-means."""
        return float(self.squared.mean())

    @property
    def radii(self) -> np.ndarray:
        """Mean distance of a cluster's rows to its centroid (0 for an empty cluster)."""
        return self.distance_sums / np.maximum(self.counts, 1)


@dataclass(frozen=True)
class IterationResult:
    index: int
    loss: float
    duration_ms: int
    cluster_sizes: tuple[int, ...]
    cluster_radii: tuple[float, ...]


@dataclass
class LloydResult:
    centroids: np.ndarray
    assignment: Assignment
    iterations: list[IterationResult]


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="bqml-kmeans")


@cache
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


def _chunks(rows: int) -> list[slice]:
    return [slice(start, min(start + CHUNK_ROWS, rows)) for start in range(0, rows, CHUNK_ROWS)]


def _parallel(function, rows: int) -> list:
    """Run `function(chunk)` over row chunks on all cores; numpy releases the GIL in the heavy parts.

    BLAS is held to one thread meanwhile so the chunk threads do not oversubscribe the cores.
    """
    with _blas().limit(limits=1, user_api="blas"):
        return list(_executor().map(function, _chunks(rows)))


def assign(
    points: Points, metric: Metric, centroids: np.ndarray, previous: Assignment | None = None
) -> Assignment:
    """Nearest centroid of every row (the lowest index on ties) with the per-cluster totals of the assignment.

    Given the previous assignment, totals are updated from the rows that changed cluster only, which after
    the first few Lloyd iterations are few.
    """
    clusters, rows = len(centroids), points.count
    weights, bias = metric.scorer(centroids)
    labels = np.empty(rows, np.min_scalar_type(-clusters))
    distances, squared = np.empty(rows), np.empty(rows)
    # One vectorised min finds both the nearest centroid and its index: each raw distance (non-negative, so
    # its IEEE bits order like integers) gives up its lowest mantissa bits to the centroid index. That costs
    # under 2**-45 of relative precision, far below the rounding of the distances themselves.
    label_bits = max(1, (clusters - 1).bit_length())
    index_mask = (1 << label_bits) - 1
    keep = ~index_mask & np.iinfo(np.int64).max  # also clears the sign: rounding can leave -0.0 or -1e-17
    cluster_ids = np.arange(clusters, dtype=np.int64)[:, None]

    def run(chunk: slice) -> tuple[np.ndarray, np.ndarray]:
        raw = weights @ points.scoring[:, chunk]
        raw += bias[:, None]
        raw += points.offsets[chunk]
        packed = raw.view(np.int64)
        packed &= keep
        packed |= cluster_ids
        nearest_packed = packed.min(axis=0)
        labels[chunk] = nearest_packed & index_mask
        nearest_packed &= keep
        metric.finish(nearest_packed.view(np.float64), distances[chunk], squared[chunk])
        nearest = labels[chunk]
        distance_sums = np.bincount(nearest, weights=distances[chunk], minlength=clusters)
        values = points.values[:, chunk]
        if previous is None:
            return _totals(nearest, values, clusters), distance_sums
        before = previous.labels[chunk]
        moved = np.flatnonzero(nearest != before)
        moved_values = values[:, moved]
        change = _totals(nearest[moved], moved_values, clusters) - _totals(
            before[moved], moved_values, clusters
        )
        return change, distance_sums

    partials = _parallel(run, rows)
    totals = sum(part[0] for part in partials) + (0 if previous is None else previous.totals)
    return Assignment(labels, distances, squared, totals, sum(part[1] for part in partials))


def _totals(labels: np.ndarray, values: np.ndarray, clusters: int) -> np.ndarray:
    """(clusters, dimensions + 1): per-cluster sums of each value row, then per-cluster counts."""
    labels = labels.astype(np.intp)  # once, rather than inside every bincount
    sums = [np.bincount(labels, weights=row, minlength=clusters) for row in values]
    return np.stack([*sums, np.bincount(labels, minlength=clusters).astype(np.float64)], axis=1)


def ranked_distances(points: Points, metric: Metric, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every row's distance to every centroid, nearest first: (rows, clusters) centroid indexes and distances.

    Each chunk writes its rows straight into the results, so memory beyond the output stays per chunk.
    """
    weights, bias = metric.scorer(centroids)
    order = np.empty((points.count, len(centroids)), np.int64)
    ranked = np.empty((points.count, len(centroids)))

    def run(chunk: slice) -> None:
        scores = weights @ points.scoring[:, chunk]
        scores += bias[:, None]
        scores += points.offsets[chunk]
        distances = np.empty_like(scores)
        metric.finish(scores, distances, np.empty_like(scores))
        nearest_first = np.argsort(distances.T, axis=1, kind="stable")
        order[chunk] = nearest_first
        ranked[chunk] = np.take_along_axis(distances.T, nearest_first, axis=1)

    _parallel(run, points.count)
    return order, ranked


def lloyd(
    points: Points,
    metric: Metric,
    initial: np.ndarray,
    *,
    max_iterations: int,
    early_stop: bool,
    min_rel_progress: float,
) -> LloydResult:
    """Lloyd iterations from `initial` until MAX_ITERATIONS, convergence, or (with EARLY_STOP) until the loss
    improves by less than MIN_REL_PROGRESS relative to the previous iteration."""
    centroids = initial
    assignment = assign(points, metric, centroids)
    previous_loss = assignment.loss
    iterations: list[IterationResult] = []
    for index in range(max_iterations):
        started = time.perf_counter()
        updated = _recentre(points, assignment, centroids)
        reassigned = assign(points, metric, updated, previous=assignment)
        converged = np.array_equal(reassigned.labels, assignment.labels)
        centroids, assignment = updated, reassigned
        iterations.append(
            IterationResult(
                index=index,
                loss=assignment.loss,
                duration_ms=round((time.perf_counter() - started) * 1000),
                cluster_sizes=tuple(int(c) for c in assignment.counts),
                cluster_radii=tuple(float(r) for r in assignment.radii),
            )
        )
        if converged or (early_stop and _little_progress(previous_loss, assignment.loss, min_rel_progress)):
            break
        previous_loss = assignment.loss
    return LloydResult(centroids, assignment, iterations)


def _little_progress(previous: float, current: float, min_rel_progress: float) -> bool:
    return previous <= 0 or (previous - current) < min_rel_progress * previous


def _recentre(points: Points, assignment: Assignment, centroids: np.ndarray) -> np.ndarray:
    """Cluster means; an empty cluster takes over the row farthest from its centroid, as scikit-learn does."""
    sums, counts = assignment.sums.copy(), assignment.counts.copy()
    updated = centroids.copy()
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        farthest = np.argsort(-assignment.squared, kind="stable")[: len(empty)]
        for cluster, row in zip(empty, farthest, strict=False):
            value = points.values[:, row]
            sums[assignment.labels[row]] -= value
            counts[assignment.labels[row]] -= 1
            sums[cluster], counts[cluster] = value, 1
    filled = counts > 0
    updated[filled] = sums[filled] / counts[filled, None]
    return updated


def random_init(points: Points, clusters: int, seed: int) -> np.ndarray:
    rows = np.random.default_rng(seed).choice(points.count, size=clusters, replace=False)
    return points.values[:, np.sort(rows)].T.copy()


def kmeans_plus_plus_init(points: Points, clusters: int, seed: int) -> np.ndarray:
    """k-means++ seeding on the rows distances are measured on (unit rows for cosine), centroids in model space."""
    _, rows = kmeans_plusplus(points.scoring.T, clusters, random_state=seed)
    return points.values[:, rows].T.copy()


def davies_bouldin(points: Points, metric: Metric, assignment: Assignment) -> float | None:
    """Davies-Bouldin index of an assignment, defined as scikit-learn's `davies_bouldin_score` (cluster centres
    are the means of the assigned rows), with the model's distance; None with fewer than two clusters."""
    present = np.flatnonzero(assignment.counts)
    if len(present) < 2:
        return None
    means = np.zeros_like(assignment.sums)
    means[present] = assignment.sums[present] / assignment.counts[present, None]

    def run(chunk: slice):
        labels = assignment.labels[chunk]
        spread = metric.paired(points.values[:, chunk], means[labels].T)
        return np.bincount(labels, weights=spread, minlength=len(means))

    intra = sum(_parallel(run, points.count))[present] / assignment.counts[present]
    separation = metric.pairwise(means[present], means[present])
    if np.allclose(intra, 0) or np.allclose(separation, 0):
        return 0.0
    separation[separation == 0] = np.inf
    return float(np.mean(np.max((intra[:, None] + intra[None, :]) / separation, axis=1)))
