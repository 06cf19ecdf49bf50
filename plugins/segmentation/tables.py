"""The tables the pipeline writes: their columns, partitioning and clustering, i.e. the data dictionary.

Every table is partitioned by `snapshot_date`, one partition per run's logical date, and each run
replaces exactly its own partition. Columns that depend on the feature set are added to an existing
table when a run first needs them, so older partitions read NULL there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from segmentation.features import RFM_FEATURES, Column, feature_columns

if TYPE_CHECKING:
    from segmentation.config import PipelineConfig

MODEL = "customer_segments_kmeans"
CURRENT_VIEW = "customer_segments_current"
# Written by the persona step (plugins/segmentation/personas, include/sql/segment_personas*.sql).
PERSONAS = "segment_personas"

SNAPSHOT_DATE = Column("snapshot_date", "DATE", "The run's logical date; one partition per snapshot.", True)
CUSTOMER_ID = Column("customer_id", "INT64", "The source's customer (user) id.", True)
SEGMENT_ID = Column(
    "segment_id",
    "INT64",
    "The segment (1..k); it keeps its id from the previous snapshot it continues.",
    True,
)


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    cluster_by: tuple[str, ...]
    # Columns beyond the base feature set; added to an existing table when a run first needs them.
    feature_dependent: tuple[Column, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)


def partitioned_tables(config: PipelineConfig) -> tuple[Table, ...]:
    """The pipeline's tables for a configuration, in the order a run writes them."""
    features = feature_columns(config)
    feature_means = tuple(
        Column(feature.name, "FLOAT64", f"Mean {feature.name} of the segment's customers, original units.")
        for feature in features
        if feature.is_numeric
    )
    base_names = {feature.name for feature in RFM_FEATURES}
    return (
        Table(
            "customer_features",
            "One row per customer with an order before the snapshot's cut-off (the data interval end).",
            (SNAPSHOT_DATE, CUSTOMER_ID, *features),
            ("customer_id",),
            tuple(column for column in features if column.name not in base_names),
        ),
        Table(
            "model_evaluations",
            "How well the snapshot's k-means model separates customers; one row per k tried.",
            (
                SNAPSHOT_DATE,
                Column("trial_id", "INT64", "Hyperparameter tuning trial; NULL when k was fixed."),
                Column("k", "INT64", "Number of clusters.", True),
                Column("davies_bouldin_index", "FLOAT64", "Davies-Bouldin index (lower separates better)."),
                Column("mean_squared_distance", "FLOAT64", "Mean squared distance to the nearest centroid."),
                Column("training_rows", "INT64", "Customers in the training input.", True),
                Column("is_selected", "BOOL", "Whether this k is the one the model predicts with.", True),
            ),
            ("k",),
        ),
        Table(
            "customer_segments",
            "Each customer's segment in the snapshot: exactly one row per customer in customer_features.",
            (
                SNAPSHOT_DATE,
                CUSTOMER_ID,
                SEGMENT_ID,
                Column("distance", "FLOAT64", "Distance to the segment's centroid in standardized units."),
            ),
            ("segment_id", "customer_id"),
        ),
        Table(
            "segment_profiles",
            "Per segment: size, share of customers and revenue, and the mean of every numeric feature.",
            (
                SNAPSHOT_DATE,
                SEGMENT_ID,
                Column("customers", "INT64", "Customers in the segment.", True),
                Column("customer_share", "FLOAT64", "Segment customers / all segmented customers."),
                Column("revenue_share", "FLOAT64", "Segment monetary / all customers' monetary."),
                *feature_means,
            ),
            ("segment_id",),
            tuple(column for column in feature_means if column.name not in base_names),
        ),
    )


def partitioned_table(config: PipelineConfig, name: str) -> Table:
    tables = {table.name: table for table in partitioned_tables(config)}
    if name not in tables:
        raise KeyError(f"{name!r} is no partitioned table of the pipeline; known: {sorted(tables)}")
    return tables[name]
