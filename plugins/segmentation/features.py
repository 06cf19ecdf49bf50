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
