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
# The customer value model, and the model its out-of-time backtest trains (never served).
VALUE_MODEL = "customer_value_model"
VALUE_BACKTEST_MODEL = "customer_value_backtest"
# Tables that exist only as a run's staging tables: the value models' training inputs.
VALUE_TRAINING_TABLES = ("customer_value_training", "customer_value_backtest_training")
# Views over the published tables for audiences and as-of questions (include/sql/<view>.sql).
MEMBERS_VIEW = "segment_members_current"
HISTORY_VIEW = "customer_segment_history"
# Written by the record_costs task (plugins/segmentation/costs.py, include/sql/run_costs*.sql).
RUN_COSTS = "run_costs"

SNAPSHOT_DATE = Column("snapshot_date", "DATE", "The run's logical date; one partition per snapshot.", True)
CUSTOMER_ID = Column("customer_id", "INT64", "The source's customer (user) id.", True)
SEGMENT_ID = Column(
    "segment_id",
    "INT64",
    "The segment; it keeps the id of the previous snapshot's centroid it continues, a new one gets a new id.",
    True,
)

# segment_profiles' drift figures: how each segment moved since the previous snapshot. They describe the
# segment, not its customers, so nothing reads them as feature means; NULL on a first snapshot and for a
# new segment.
PROFILE_DRIFT = (
    Column(
        "previous_customers",
        "INT64",
        "Customers of the segment in the previous snapshot; NULL: the segment is new (or no previous snapshot).",
    ),
    Column(
        "size_change",
        "FLOAT64",
        "customers / previous_customers - 1: 0.1 is 10 % more customers than in the previous snapshot.",
    ),
    Column(
        "kept_share",
        "FLOAT64",
        "Share of the segment's previous customers, those still in the base, who are in it now.",
    ),
    Column(
        "centroid_shift",
        "FLOAT64",
        "Distance the segment's centroid moved from the previous snapshot's, standardized units.",
    ),
)
PROFILE_DRIFT_COLUMNS = frozenset(column.name for column in PROFILE_DRIFT)
# segment_profiles' columns that every row has besides its feature means: the snapshot, the segment and
# its size.
PROFILE_SIZE_COLUMNS = frozenset(
    {"snapshot_date", "segment_id", "customers", "customer_share", "revenue_share"}
)
# segment_profiles' columns that are no feature means (the value model's figures aside).
PROFILE_BOOKKEEPING_COLUMNS = PROFILE_SIZE_COLUMNS | PROFILE_DRIFT_COLUMNS

PREVIOUS_SEGMENT_ID = Column(
    "previous_segment_id",
    "INT64",
    "The segment in the previous snapshot (the latest before this one); NULL: the customer was not in it.",
)

FEATURE_PREPARATION = Column(
    "feature_preparation",
    "ARRAY<STRUCT<feature STRING, clustered BOOL, lower_bound FLOAT64, upper_bound FLOAT64, "
    "clipped_customers INT64>>",
    "Per numeric feature: whether the model clustered it (false: no spread in the snapshot, left out), "
    "the percentile bounds it was clipped to and how many customers were clipped.",
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
    value_columns = (
        Column("avg_predicted_value", "FLOAT64", "Mean predicted value of the segment's customers."),
        Column(
            "predicted_value_share", "FLOAT64", "Segment predicted value / all customers' predicted value."
        ),
    )
    return (
        Table(
            "customer_features",
            "One row per customer with an order before the snapshot's cut-off (00:00 UTC of the snapshot date).",
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
                Column("iterations", "INT64", "Lloyd iterations the training ran (ML.TRAINING_INFO)."),
                FEATURE_PREPARATION,
            ),
            ("k",),
            # Added to tables created before features were clipped.
            (FEATURE_PREPARATION,),
        ),
        Table(
            "segment_id_mapping",
            "Which segment id each centroid of the snapshot's model got, and how far it moved.",
            (
                SNAPSHOT_DATE,
                Column("centroid_id", "INT64", "The model's centroid id (ML.PREDICT's CENTROID_ID).", True),
                SEGMENT_ID,
                Column(
                    "previous_segment_id", "INT64", "The previous snapshot's segment it continues; NULL: new."
                ),
                Column(
                    "centroid_shift",
                    "FLOAT64",
                    "Distance from the previous snapshot's centroid of that segment, standardized units.",
                ),
            ),
            ("segment_id",),
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
                *value_columns,
                *PROFILE_DRIFT,
                *feature_means,
            ),
            ("segment_id",),
            # Added to tables created before the value model and the drift figures existed too.
            tuple(column for column in feature_means if column.name not in base_names)
            + value_columns
            + PROFILE_DRIFT,
        ),
        Table(
            "customer_value_predictions",
            "Each featured customer's predicted spend over the next horizon_days after the cut-off.",
            (
                SNAPSHOT_DATE,
                CUSTOMER_ID,
                Column(
                    "predicted_value",
                    "FLOAT64",
                    "Predicted spend (items neither cancelled nor returned) in the horizon after the cut-off.",
                    True,
                ),
                Column(
                    "predicted_value_decile",
                    "INT64",
                    "1 = the 10 % of customers with the highest predicted value, 10 = the lowest.",
                    True,
                ),
                Column("horizon_days", "INT64", "Days after the cut-off the prediction covers.", True),
            ),
            ("customer_id",),
        ),
        Table(
            "value_model_evaluations",
            "Out-of-time backtest of the value model and the last-period baseline; one row per model.",
            (
                SNAPSHOT_DATE,
                Column("model", "STRING", "value_model, or last_period (next period = last period).", True),
                Column("horizon_days", "INT64", "Length of the scored window, days.", True),
                Column("customers", "INT64", "Customers scored: those with orders before the window.", True),
                Column("mean_absolute_error", "FLOAT64", "Mean |predicted - actual| spend in the window."),
                Column("root_mean_squared_error", "FLOAT64", "Root mean squared error of the spend."),
                Column("spearman", "FLOAT64", "Spearman rank correlation of predicted and actual spend."),
                Column(
                    "top_decile_capture",
                    "FLOAT64",
                    "Share of the window's actual spend made by the predicted top 10 % of customers.",
                ),
                Column(
                    "deciles",
                    "ARRAY<STRUCT<decile INT64, customers INT64, mean_predicted_value FLOAT64, "
                    "mean_actual_value FLOAT64>>",
                    "Calibration: per predicted decile (1 = highest), mean predicted and actual spend.",
                ),
            ),
            ("model",),
        ),
        Table(
            "segment_transitions",
            "Customers per (previous snapshot's segment, this snapshot's segment); they add up to both totals.",
            (
                SNAPSHOT_DATE,
                PREVIOUS_SEGMENT_ID,
                Column(
                    "segment_id", "INT64", "The segment in this snapshot; NULL: the customer left the base."
                ),
                Column("customers", "INT64", "Customers who made this transition.", True),
            ),
            ("previous_segment_id", "segment_id"),
        ),
        Table(
            "segment_membership_changes",
            "One row per customer whose segment changed since the previous snapshot: the activation feed.",
            (
                SNAPSHOT_DATE,
                CUSTOMER_ID,
                PREVIOUS_SEGMENT_ID,
                Column("segment_id", "INT64", "The segment now; NULL when the customer left the base."),
                Column("change", "STRING", "entered (no segment before), moved (another one) or left.", True),
            ),
            ("segment_id", "customer_id"),
        ),
        Table(
            "segment_centroids",
            "Each segment's centroid per numeric model feature, where the next snapshot continues from.",
            (
                SNAPSHOT_DATE,
                SEGMENT_ID,
                Column("feature", "STRING", "The model feature (a column of the model input).", True),
                Column("numerical_value", "FLOAT64", "The centroid's value in the model input's units."),
                Column("feature_mean", "FLOAT64", "The feature's mean over the snapshot's customers."),
                Column("feature_stddev", "FLOAT64", "The feature's sample standard deviation, likewise."),
            ),
            ("segment_id",),
        ),
        Table(
            "segment_stability",
            "One row per snapshot: how the training started and how many customers kept their segment.",
            (
                SNAPSHOT_DATE,
                Column("previous_snapshot_date", "DATE", "The snapshot this one continues; NULL: none."),
                Column("training", "STRING", "continued (from the previous centroids) or rebased.", True),
                Column("rebase_reason", "STRING", "Why the training rebased; NULL when it continued."),
                Column("customers", "INT64", "Customers of the snapshot.", True),
                Column("kept_share", "FLOAT64", "Share of customers in both snapshots keeping their id."),
                Column(
                    "unchanged_kept_share",
                    "FLOAT64",
                    "The same, among customers without an order since the previous snapshot.",
                ),
                Column("new_segments", "INT64", "Segments without a previous segment (new ids).", True),
                Column("max_centroid_shift", "FLOAT64", "Largest centroid shift of a continued segment."),
            ),
            ("training",),
        ),
    )


def partitioned_table(config: PipelineConfig, name: str) -> Table:
    tables = {table.name: table for table in partitioned_tables(config)}
    if name not in tables:
        raise KeyError(f"{name!r} is no partitioned table of the pipeline; known: {sorted(tables)}")
    return tables[name]


@dataclass(frozen=True)
class ViewColumn:
    """A column of a view: the expression its query selects, and its data dictionary entry."""

    source: str
    column: Column


# The persona columns of customer_segments_current, from segment_personas (segment_personas_table.sql).
_VIEW_PERSONA_COLUMNS = (
    ("title", Column("persona_title", "STRING", "Short name of the segment for marketers.")),
    ("persona", Column("persona", "STRING", "Who the segment's customers are and how they buy.")),
    ("summary", Column("persona_summary", "STRING", "The segment's value and risk in a sentence or two.")),
    (
        "next_marketing_steps",
        Column("next_marketing_steps", "ARRAY<STRING>", "Exactly three concrete next marketing actions."),
    ),
    (
        "recommended_channel",
        Column(
            "recommended_channel",
            "STRING",
            "email, sms, push, in_app, paid_social, paid_search, display, direct_mail or loyalty_program.",
        ),
    ),
    (
        "backend",
        Column(
            "persona_backend", "STRING", "Writer of the persona: gemini, or offline (deterministic rules)."
        ),
    ),
)
_NO_PERSONA = " NULL when the snapshot's persona step failed."


def current_view_columns(config: PipelineConfig) -> tuple[ViewColumn, ...]:
    """The columns of customer_segments_current in order: each customer's segment, its persona and the
    features it was assigned on, each with the description BigQuery shows in the view's schema."""
    segments = partitioned_table(config, "customer_segments").columns
    personas = tuple(
        ViewColumn(f"personas.{source}", Column(c.name, c.type, c.description + _NO_PERSONA))
        for source, c in _VIEW_PERSONA_COLUMNS
    )
    features = tuple(ViewColumn(f"features.{column.name}", column) for column in feature_columns(config))
    return (*(ViewColumn(f"segments.{column.name}", column) for column in segments), *personas, *features)
