"""The report's "What changed": transitions against the previous snapshot as a matrix and in words.

Rows come from `include/sql/report_segment_transitions.sql`: previous_segment_id (NULL: new to the base),
segment_id (NULL: left the base), customers, and each side's persona title on its own day.
"""

from __future__ import annotations

import pandas as pd

NEW = "new customers"
LEFT = "left the base"
MOVERS = 5


def previous_snapshot(transitions: pd.DataFrame):
    """The snapshot the transitions compare with; None on a first snapshot (everyone is new)."""
    if transitions.empty:
        return None
    previous = transitions["previous_snapshot_date"].dropna()
    return previous.iloc[0] if len(previous) else None


def previous_name(row) -> str:
    """The previous side of a transition as marketing knew it that day."""
    if pd.isna(row.previous_segment_id):
        return NEW
    return _named(int(row.previous_segment_id), row.previous_title)


def current_name(row) -> str:
    if pd.isna(row.segment_id):
        return LEFT
    return _named(int(row.segment_id), row.title)


def _named(segment_id: int, title: object) -> str:
    return f"{title} (segment {segment_id})" if isinstance(title, str) and title else f"segment {segment_id}"


def transition_matrix(transitions: pd.DataFrame) -> pd.DataFrame:
    """Customers per previous segment (rows; new customers last) and segment (columns; left the base last),
    labelled by name."""
    frame = transitions.assign(
        previous=[previous_name(row) for row in transitions.itertuples(index=False)],
        current=[current_name(row) for row in transitions.itertuples(index=False)],
        previous_order=transitions.previous_segment_id.fillna(float("inf")),
        current_order=transitions.segment_id.fillna(float("inf")),
    )
    rows = frame.sort_values("previous_order").previous.drop_duplicates().tolist()
    columns = frame.sort_values("current_order").current.drop_duplicates().tolist()
    matrix = frame.pivot_table(
        index="previous", columns="current", values="customers", aggfunc="sum", fill_value=0
    )
    return matrix.reindex(index=rows, columns=columns, fill_value=0).astype(int)


def _sentence(row) -> str:
    customers = int(row.customers)
    noun = "customer" if customers == 1 else "customers"
    if pd.isna(row.previous_segment_id):
        return f"{customers:,} new {noun} joined {current_name(row)}"
    if pd.isna(row.segment_id):
        return f"{customers:,} {noun} of {previous_name(row)} left the base"
    return f"{customers:,} {noun} moved from {previous_name(row)} to {current_name(row)}"


def biggest_movers(transitions: pd.DataFrame, limit: int = MOVERS) -> list[str]:
    """The largest changes of segment, in words, largest first (ties by segment ids)."""
    changed = transitions[
        transitions.previous_segment_id.isna()
        | transitions.segment_id.isna()
        | (transitions.previous_segment_id != transitions.segment_id)
    ]
    ordered = changed.assign(
        previous_order=changed.previous_segment_id.fillna(-1), current_order=changed.segment_id.fillna(-1)
    ).sort_values(["customers", "previous_order", "current_order"], ascending=[False, True, True])
    return [_sentence(row) for row in ordered.head(limit).itertuples(index=False)]


def kept_share(transitions: pd.DataFrame) -> float | None:
    """Share of the customers in both snapshots who kept their segment."""
    both = transitions.dropna(subset=["previous_segment_id", "segment_id"])
    total = int(both.customers.sum())
    if not total:
        return None
    return int(both[both.previous_segment_id == both.segment_id].customers.sum()) / total
