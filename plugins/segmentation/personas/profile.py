"""A segment's profile as the persona step sees it: aggregates in original units, nothing per customer.

Rows come from `segment_profiles`: the bookkeeping columns below plus one mean per feature. Feature
columns are found generically (every other numeric column), so an extended feature set needs no change
here; a column whose name looks like a personal identifier is refused, because whatever is profiled here
ends up in a prompt sent outside the warehouse.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from segmentation.features import RFM_FEATURES
from segmentation.tables import PROFILE_BOOKKEEPING_COLUMNS, PROFILE_SIZE_COLUMNS
from segmentation.units import unit_of

# The customer value model's figures: a segment's mean predicted value is shown like a feature, its share
# of all predicted value beside its revenue share. Snapshots from before the model have neither.
PREDICTED_VALUE = "avg_predicted_value"
PREDICTED_VALUE_SHARE = "predicted_value_share"

# The base feature set and the mean predicted value: every profile has these, and every prompt shows them.
CORE_FEATURE_UNITS = {
    name: unit_of(name) for name in (*(column.name for column in RFM_FEATURES), PREDICTED_VALUE)
}

_IDENTIFIER_COLUMN = re.compile(
    r"(^|_)(id|ids|uuid|email|name|address|phone|postal|zip|zipcode|postcode|latitude|longitude|ip)($|_)"
)


class ProfileError(ValueError):
    """`segment_profiles` rows that cannot be turned into a prompt-safe profile."""


class Feature(BaseModel):
    """One feature's mean in a segment next to its mean over the whole customer base."""

    model_config = ConfigDict(frozen=True)

    name: str
    unit: str
    mean: float
    base_mean: float

    @property
    def index(self) -> float | None:
        """Segment mean as a multiple of the base mean; None when the base mean is zero."""
        return self.mean / self.base_mean if self.base_mean else None


class SegmentProfile(BaseModel):
    model_config = ConfigDict(frozen=True)

    segment_id: int
    customers: int = Field(ge=1)
    customer_share: float = Field(ge=0, le=1)
    revenue_share: float = Field(ge=0, le=1)
    features: tuple[Feature, ...]
    predicted_value_share: float | None = Field(None, ge=0, le=1)

    def feature(self, name: str) -> Feature | None:
        return next((feature for feature in self.features if feature.name == name), None)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _feature_columns(rows: list[Mapping[str, Any]]) -> list[str]:
    columns = [
        column for column in rows[0] if column not in PROFILE_BOOKKEEPING_COLUMNS | {PREDICTED_VALUE_SHARE}
    ]
    identifiers = [column for column in columns if _IDENTIFIER_COLUMN.search(column.lower())]
    if identifiers:
        raise ProfileError(
            f"segment_profiles has column(s) {identifiers} that look like personal identifiers; "
            "personas are written from aggregates only, so drop them from the profile"
        )
    return [column for column in columns if any(_is_number(row.get(column)) for row in rows)]


def _checked_mean(row: Mapping[str, Any], column: str) -> float:
    value = row.get(column)
    if not _is_number(value) or not math.isfinite(float(value)):
        raise ProfileError(
            f"segment {row.get('segment_id')}: feature {column!r} has no finite mean ({value!r})"
        )
    return float(value)


def _base_means(rows: list[Mapping[str, Any]], columns: list[str]) -> dict[str, float]:
    """Customer-weighted means of the segment means: the mean over the whole customer base."""
    total = sum(int(row["customers"]) for row in rows)
    return {
        column: sum(_checked_mean(row, column) * int(row["customers"]) for row in rows) / total
        for column in columns
    }


def _require_bookkeeping(rows: list[Mapping[str, Any]]) -> None:
    missing = sorted(PROFILE_SIZE_COLUMNS - {"snapshot_date"} - set(rows[0]))
    if missing:
        raise ProfileError(f"segment_profiles rows lack column(s) {missing}")


def profiles_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[SegmentProfile]:
    """Segment profiles, ordered by segment id, from one snapshot's `segment_profiles` rows."""
    rows = list(rows)
    if not rows:
        raise ProfileError("no segment_profiles rows: nothing to describe")
    _require_bookkeeping(rows)
    columns = _feature_columns(rows)
    base = _base_means(rows, columns)
    profiles = [
        SegmentProfile(
            segment_id=int(row["segment_id"]),
            customers=int(row["customers"]),
            customer_share=float(row["customer_share"]),
            revenue_share=float(row["revenue_share"]),
            predicted_value_share=None
            if row.get(PREDICTED_VALUE_SHARE) is None
            else float(row[PREDICTED_VALUE_SHARE]),
            features=tuple(
                Feature(
                    name=column, unit=unit_of(column), mean=_checked_mean(row, column), base_mean=base[column]
                )
                for column in columns
            ),
        )
        for row in rows
    ]
    ids = [profile.segment_id for profile in profiles]
    if len(set(ids)) != len(ids):
        raise ProfileError(f"segment_profiles repeats segment ids: {sorted(ids)}")
    return sorted(profiles, key=lambda profile: profile.segment_id)
