"""BigQuery ML's automatic preprocessing for k-means, fitted on training data and replayed at prediction.

- INT64 / FLOAT64 / NUMERIC / BIGNUMERIC: NULL imputed with the training mean, then z-scored
  (when STANDARDIZE_FEATURES) with the training mean and sample standard deviation.
- TIMESTAMP: Unix seconds, then treated as a number.
- STRING / BOOL / DATE / DATETIME / TIME: one-hot encoded over the training categories, NULL being a category
  of its own; a category unseen in training encodes as all zeros.

The feature matrix is laid out feature-major, shape (dimensions, rows), so each feature is one contiguous
row for the vectorised k-means kernels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from local_bigquery.errors import InvalidQuery

NUMERIC_TYPES = frozenset({"INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC", "TIMESTAMP"})
CATEGORICAL_TYPES = frozenset({"STRING", "BOOL", "DATE", "DATETIME", "TIME"})
_SECONDS_PER_UNIT = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def sql_type(arrow_type: pa.DataType) -> str | None:
    """The GoogleSQL type of an Arrow column as this server returns it, or None if BQML cannot use it."""
    checks = (
        (pa.types.is_boolean, "BOOL"),
        (pa.types.is_integer, "INT64"),
        (pa.types.is_floating, "FLOAT64"),
        (pa.types.is_decimal, "BIGNUMERIC" if pa.types.is_decimal256(arrow_type) else "NUMERIC"),
        (lambda t: pa.types.is_string(t) or pa.types.is_large_string(t), "STRING"),
        (pa.types.is_date, "DATE"),
        (pa.types.is_time, "TIME"),
        (lambda t: pa.types.is_timestamp(t) and t.tz is not None, "TIMESTAMP"),
        (pa.types.is_timestamp, "DATETIME"),
    )
    return next((name for check, name in checks if check(arrow_type)), None)


@dataclass(frozen=True)
class NumericFeature:
    name: str
    sql_type: str
    mean: float
    stddev: float

    width: ClassVar[int] = 1

    def encode(self, column: pa.ChunkedArray, out: np.ndarray, standardize: bool) -> None:
        values = _as_float(self.name, column)
        values = pc.fill_null(values, self.mean).to_numpy()
        if standardize:
            np.subtract(values, self.mean, out=out[0])
            out[0] /= self.scale
        else:
            out[0] = values

    @property
    def scale(self) -> float:
        """Constant columns keep a scale of 1 so they standardize to zero instead of dividing by zero."""
        return self.stddev if self.stddev > 0 else 1.0

    def to_dict(self) -> dict:
        return {
            "kind": "numeric",
            "name": self.name,
            "sql_type": self.sql_type,
            "mean": self.mean,
            "stddev": self.stddev,
        }


@dataclass(frozen=True)
class CategoricalFeature:
    name: str
    sql_type: str
    categories: tuple[str | None, ...]

    @property
    def width(self) -> int:
        return len(self.categories)

    def encode(self, column: pa.ChunkedArray, out: np.ndarray, standardize: bool) -> None:
        positions = pc.index_in(
            _as_category(column), value_set=pa.array(self.categories, pa.string()), skip_nulls=False
        )
        rows = np.flatnonzero(positions.is_valid().to_numpy(zero_copy_only=False))
        hot = positions.drop_null().to_numpy()
        out[:] = 0.0
        out[hot, rows] = 1.0

    def to_dict(self) -> dict:
        return {
            "kind": "categorical",
            "name": self.name,
            "sql_type": self.sql_type,
            "categories": list(self.categories),
        }


Feature = NumericFeature | CategoricalFeature


@dataclass(frozen=True)
class FeatureTransform:
    """The fitted preprocessing of one model: which columns, their statistics and categories."""

    features: tuple[Feature, ...]
    standardize: bool

    @classmethod
    def fit(cls, table: pa.Table, *, standardize: bool) -> FeatureTransform:
        if table.num_columns == 0:
            raise InvalidQuery("The training query selects no feature columns")
        return cls(tuple(_fit_feature(name, table.column(name)) for name in table.column_names), standardize)

    @property
    def names(self) -> list[str]:
        return [feature.name for feature in self.features]

    @property
    def dimensions(self) -> int:
        return sum(feature.width for feature in self.features)

    def blocks(self) -> list[tuple[Feature, slice]]:
        """Each feature with its rows in the feature matrix."""
        edges = np.cumsum([0] + [feature.width for feature in self.features])
        return [
            (feature, slice(int(a), int(b)))
            for feature, a, b in zip(self.features, edges, edges[1:], strict=False)
        ]

    def transform(self, table: pa.Table) -> np.ndarray:
        """The (dimensions, rows) float64 feature matrix of `table`, which must hold every feature column."""
        lookup = {name.lower(): name for name in table.column_names}
        matrix = np.empty((self.dimensions, table.num_rows))
        for feature, rows in self.blocks():
            column_name = lookup.get(feature.name.lower())
            if column_name is None:
                raise InvalidQuery(f"The input data has no column {feature.name}, a feature of the model")
            column = table.column(column_name)
            if sql_type(column.type) != feature.sql_type:
                raise InvalidQuery(
                    f"Column {feature.name} has type {sql_type(column.type) or column.type}, "
                    f"but the model was trained with {feature.sql_type}"
                )
            feature.encode(column, matrix[rows], self.standardize)
        return matrix

    def to_original(self, centroids: np.ndarray) -> np.ndarray:
        """Centroids (clusters, dimensions) from model space to the features' own units."""
        if not self.standardize:
            return centroids.copy()
        return self._map_numeric(centroids, lambda column, feature: column * feature.scale + feature.mean)

    def to_standardized(self, centroids: np.ndarray) -> np.ndarray:
        """Centroids with every numeric feature in standard units, whether or not the model standardizes."""
        if self.standardize:
            return centroids.copy()
        return self._map_numeric(centroids, lambda column, feature: (column - feature.mean) / feature.scale)

    def _map_numeric(self, centroids: np.ndarray, function) -> np.ndarray:
        result = centroids.copy()
        for feature, rows in self.blocks():
            if isinstance(feature, NumericFeature):
                result[:, rows.start] = function(result[:, rows.start], feature)
        return result

    def from_original(
        self, values: dict[str, np.ndarray | dict[str | None, np.ndarray]], clusters: int
    ) -> np.ndarray:
        """Model-space centroids from per-feature original values, as `original_values` returns them.

        Categories this transform does not know are dropped; categories new to it start at zero.
        """
        by_name = {name.lower(): value for name, value in values.items()}
        matrix = np.zeros((clusters, self.dimensions))
        for feature, rows in self.blocks():
            value = by_name[feature.name.lower()]
            if isinstance(feature, NumericFeature):
                matrix[:, rows.start] = (value - feature.mean) / feature.scale if self.standardize else value
            else:
                for offset, category in enumerate(feature.categories):
                    if category in value:
                        matrix[:, rows.start + offset] = value[category]
        return matrix

    def original_values(self, centroids: np.ndarray) -> dict[str, np.ndarray | dict[str | None, np.ndarray]]:
        """Per-feature centroid values in original units, the inverse of `from_original`."""
        original = self.to_original(centroids)
        values: dict = {}
        for feature, rows in self.blocks():
            if isinstance(feature, NumericFeature):
                values[feature.name] = original[:, rows.start]
            else:
                values[feature.name] = {
                    c: original[:, rows.start + i] for i, c in enumerate(feature.categories)
                }
        return values

    def to_dict(self) -> dict:
        return {"standardize": self.standardize, "features": [feature.to_dict() for feature in self.features]}

    @classmethod
    def from_dict(cls, data: dict) -> FeatureTransform:
        features = tuple(
            NumericFeature(f["name"], f["sql_type"], f["mean"], f["stddev"])
            if f["kind"] == "numeric"
            else CategoricalFeature(f["name"], f["sql_type"], tuple(f["categories"]))
            for f in data["features"]
        )
        return cls(features, data["standardize"])


def _fit_feature(name: str, column: pa.ChunkedArray) -> Feature:
    kind = sql_type(column.type)
    if column.null_count == len(column):
        raise InvalidQuery(f"Feature column {name} contains only NULL values; it cannot be used for training")
    if kind in NUMERIC_TYPES:
        values = _as_float(name, column)
        stddev = pc.stddev(values, ddof=1).as_py()
        return NumericFeature(name, kind, pc.mean(values).as_py(), stddev or 0.0)
    if kind in CATEGORICAL_TYPES:
        categories = pc.unique(_as_category(column)).to_pylist()
        return CategoricalFeature(
            name, kind, tuple(sorted(categories, key=lambda c: (c is not None, c or "")))
        )
    raise InvalidQuery(
        f"Feature column {name} has type {kind or column.type}, which k-means models cannot use; "
        "use numeric, STRING, BOOL, DATE, DATETIME, TIME or TIMESTAMP columns"
    )


def _as_float(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_timestamp(column.type):
        seconds = pc.cast(column, pa.int64()).cast(pa.float64())
        return pc.divide(seconds, float(_SECONDS_PER_UNIT[column.type.unit]))
    values = pc.cast(column, pa.float64())
    if pa.types.is_floating(column.type) and pc.any(pc.invert(pc.is_finite(values))).as_py():
        raise InvalidQuery(f"Feature column {name} contains NaN or infinite values")
    return values


def _as_category(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Category labels the way GoogleSQL casts these types to STRING (no zero fraction of a second)."""
    if pa.types.is_boolean(column.type):
        return pc.if_else(column, "true", "false")
    labels = column.cast(pa.string())
    if pa.types.is_timestamp(column.type) or pa.types.is_time(column.type):
        return pc.replace_substring_regex(labels, pattern=r"\.0+$", replacement="")
    return labels
