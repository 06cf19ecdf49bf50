"""The customer features: what each one means, and which of them a feature set holds.

Every feature is measured as of the snapshot's cut-off, 00:00 UTC of the day the run's data interval ends in
(segmentation.templating.snapshot_cut_off): only order lines placed before it count, and returns count once
their `returned_at` is before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from segmentation.config import column_slug

if TYPE_CHECKING:
    from segmentation.config import PipelineConfig

NUMERIC_TYPES = frozenset({"INT64", "FLOAT64", "NUMERIC"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # GoogleSQL type
    description: str
    required: bool = False

    @property
    def is_numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


RFM_FEATURES = (
    Column("recency_days", "INT64", "Whole days from the customer's latest order to the cut-off."),
    Column("frequency", "INT64", "Distinct orders with at least one item that was not cancelled."),
    Column("monetary", "FLOAT64", "Total sale price of the items neither cancelled nor returned."),
    Column("avg_order_value", "FLOAT64", "monetary / frequency."),
    Column("tenure_days", "INT64", "Whole days from the customer's first order to the cut-off."),
    Column("return_ratio", "FLOAT64", "Share of the customer's items (not cancelled) that were returned."),
)

DEMOGRAPHIC_FEATURES = (
    Column("age", "INT64", "The customer's age as recorded in the source."),
    Column(
        "gender", "STRING", "The customer's gender as recorded in the source (one-hot encoded by k-means)."
    ),
    Column("country", "STRING", "The customer's country (one-hot encoded by k-means)."),
    Column(
        "traffic_source", "STRING", "Channel the customer signed up through (one-hot encoded by k-means)."
    ),
)

SPEND_WINDOWS_MONTHS = (12, 24, 36)


@dataclass(frozen=True)
class CategorySpend:
    """Spend on one department and category within the last `months` months before the cut-off."""

    department: str
    category: str
    months: int

    @property
    def column(self) -> Column:
        return Column(
            f"spend_{self.months}m_{column_slug(self.department)}_{column_slug(self.category)}",
            "FLOAT64",
            f"Spend on {self.department} / {self.category} in the {self.months} months before the "
            "cut-off, items neither cancelled nor returned; 0 when none.",
        )


def category_spends(config: PipelineConfig) -> tuple[CategorySpend, ...]:
    """The spend features of the configured feature set (none in the base set)."""
    if config.feature_set != "extended":
        return ()
    return tuple(
        CategorySpend(department, category, months)
        for months in SPEND_WINDOWS_MONTHS
        for department, category in config.spend_categories
    )


def feature_columns(config: PipelineConfig) -> tuple[Column, ...]:
    """The features `customer_features` holds and the model clusters on, in table order."""
    if config.feature_set == "base":
        return RFM_FEATURES
    return RFM_FEATURES + DEMOGRAPHIC_FEATURES + tuple(spend.column for spend in category_spends(config))


# The run's clipping bounds (include/sql/feature_bounds.sql): computed once per run and read by every job
# that reads the model input, so training, prediction and evaluation clip alike.
FEATURE_BOUNDS = "feature_bounds"


def feature_bounds_columns(config: PipelineConfig) -> tuple[Column, ...]:
    """The columns of the run's feature_bounds: per numeric feature its lower and upper clipping bound, of
    the feature's own type (APPROX_QUANTILES returns its input's)."""
    return tuple(
        Column(f"{end}_{feature.name}", feature.type, f"The {end} bound {feature.name} is clipped to.")
        for feature in feature_columns(config)
        if feature.is_numeric
        for end in ("lower", "upper")
    )


# ---- the run's order history --------------------------------------------------------------------------
# One statement reads the source once and keeps, per customer, what every later statement of the run needs
# of the order lines: the source gates' counts and, for each cut-off the run measures at, the aggregates the
# features and the value model's spend windows are made of. Everything after reads this customer-level table,
# never the order lines again. Counts and spends that are zero are stored as NULL, which BigQuery counts as
# 0 bytes (https://cloud.google.com/bigquery/pricing#data_size_calculation), so the gates reading them cost
# almost nothing on sane data.
ORDER_HISTORY = "customer_order_history"

GATE_COUNTS = (
    Column("negative_price_lines", "INT64", "Lines with a negative sale_price; NULL: none."),
    Column("missing_price_lines", "INT64", "Lines without a sale_price; NULL: none."),
    Column("implausible_price_lines", "INT64", "Lines above max_line_amount or not finite; NULL: none."),
    Column("lines_without_customer", "INT64", "On the row of the NULL customer: its lines; NULL: none."),
    Column("missing_order_id_lines", "INT64", "Lines without an order_id; NULL: none."),
    Column("repeated_line_key_lines", "INT64", "Copies of a line key beyond its first; NULL: none."),
)


def history_cut_offs(config: PipelineConfig) -> tuple[int, ...]:
    """The cut-offs the run measures at, in days before its own: the features (now), and one and two value
    horizons back (the value model's and its backtest's training features)."""
    return (0, config.value_horizon_days, 2 * config.value_horizon_days)


def history_column(name: str, days_before: int) -> str:
    return f"{name}_{days_before}d_before"


def _cut_off_columns(config: PipelineConfig, days_before: int) -> tuple[Column, ...]:
    at = f"as of {days_before} days before the cut-off"
    columns = (
        Column("purchased_lines", "INT64", f"Lines not cancelled, {at}; NULL: none."),
        Column("returned_lines", "INT64", f"Of those, the returned ones, {at}; NULL: none."),
        Column("orders", "INT64", f"Distinct orders of those lines, {at}."),
        Column("kept_value", "FLOAT64", f"Sale price of those lines not returned, {at}."),
        Column("first_ordered_at", "TIMESTAMP", f"The first of those lines, {at}."),
        Column("last_ordered_at", "TIMESTAMP", f"The latest of those lines, {at}."),
        Column("horizon_spend", "FLOAT64", f"Kept value of the value horizon ending {at}; NULL: none."),
        *(
            Column(spend.column.name, "FLOAT64", f"{spend.column.description} ({at}; NULL: none)")
            for spend in category_spends(config)
        ),
    )
    return tuple(
        Column(history_column(column.name, days_before), column.type, column.description)
        for column in columns
    )


def order_history_columns(config: PipelineConfig) -> tuple[Column, ...]:
    """The columns of the run's customer_order_history, in table order."""
    customer = Column("customer_id", "INT64", "The source's customer; one row is NULL's when lines lack one.")
    latest = Column("latest_line_at", "TIMESTAMP", "The customer's latest line, cancelled or not.")
    return (
        customer,
        latest,
        *GATE_COUNTS,
        *(
            column
            for days_before in history_cut_offs(config)
            for column in _cut_off_columns(config, days_before)
        ),
        *(DEMOGRAPHIC_FEATURES if config.feature_set == "extended" else ()),
    )
