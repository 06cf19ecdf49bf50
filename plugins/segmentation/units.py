"""The unit a feature mean or a predicted value is quoted in, from its column name.

The persona prompt and the segments service quote the same figures, so they name their units alike: the
unit of a column listed here, else the one its name implies (spend_… is currency, …_days days, …_share a
ratio), else '' (a plain number). Nothing heavy is imported: the service reads this without Airflow.
"""

from __future__ import annotations

COLUMN_UNITS = {
    "recency_days": "days",
    "frequency": "orders",
    "monetary": "currency",
    "avg_order_value": "currency",
    "tenure_days": "days",
    "return_ratio": "ratio",
    "age": "years",
    "predicted_value": "currency",
    "avg_predicted_value": "currency",
}
# Units of other columns (the extended set's spend_<window>_<department>_<category>, ...), from the name.
_UNIT_BY_PREFIX = (("spend_", "currency"),)
_UNIT_BY_SUFFIX = (("_days", "days"), ("_ratio", "ratio"), ("_rate", "ratio"), ("_share", "ratio"))


def unit_of(column: str) -> str:
    """The unit a column's figures are expressed in; '' when they are plain numbers."""
    if column in COLUMN_UNITS:
        return COLUMN_UNITS[column]
    by_prefix = (unit for prefix, unit in _UNIT_BY_PREFIX if column.startswith(prefix))
    by_suffix = (unit for suffix, unit in _UNIT_BY_SUFFIX if column.endswith(suffix))
    return next(by_prefix, None) or next(by_suffix, "")
