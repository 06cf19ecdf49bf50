"""Which segments get a new persona: personas follow change, not the calendar.

A segment keeps the persona it had at the previous snapshot — the same text, with the snapshot it was written
for — unless one of the refresh rules below says it changed. Drift is measured against the snapshot the
persona was written for, not against yesterday, so slow drift adds up until it crosses a threshold. Only the
segments that changed go to the writer; a day on which nothing changed makes no model call at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from segmentation.config import PipelineConfig
from segmentation.personas.prompt import PROMPT_VERSION


@dataclass(frozen=True)
class RefreshThresholds:
    """How far a segment may move from the profile its persona describes before the persona is rewritten.

    :param max_shift: its centroid's Euclidean shift, standardized units of the snapshot's features.
    :param max_size_change_pct: the change of its customer count, percent of the count then.
    """

    max_shift: float
    max_size_change_pct: float


def default_thresholds() -> RefreshThresholds:
    """The thresholds of the DAG's params when the caller names none."""
    fields = PipelineConfig.model_fields
    return RefreshThresholds(
        max_shift=fields["persona_refresh_shift"].default,
        max_size_change_pct=fields["persona_refresh_size_pct"].default,
    )


@dataclass(frozen=True)
class SegmentHistory:
    """One row of include/sql/persona_refresh.sql: a segment of the snapshot and its previous persona."""

    segment_id: int
    customers: int
    persona_snapshot: date | None = None
    written_for_snapshot: date | None = None
    title: str | None = None
    backend: str | None = None
    prompt_version: str | None = None
    written_for_customers: int | None = None
    centroid_shift: float | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> SegmentHistory:
        return cls(**{name: row.get(name) for name in cls.__dataclass_fields__})


Rule = Callable[[SegmentHistory, RefreshThresholds, str], str | None]


def _new_segment(segment: SegmentHistory, thresholds: RefreshThresholds, backend: str) -> str | None:
    return None if segment.persona_snapshot else "a new segment (no persona at the previous snapshot)"


def _other_writer(segment: SegmentHistory, thresholds: RefreshThresholds, backend: str) -> str | None:
    if segment.backend == backend:
        return None
    return f"written by {segment.backend}, this run writes with {backend}"


def _other_prompt(segment: SegmentHistory, thresholds: RefreshThresholds, backend: str) -> str | None:
    if segment.prompt_version == PROMPT_VERSION:
        return None
    return f"written with prompt {segment.prompt_version}, now {PROMPT_VERSION}"


def _centroid_moved(segment: SegmentHistory, thresholds: RefreshThresholds, backend: str) -> str | None:
    if segment.centroid_shift is None:
        return f"no centroid of {segment.written_for_snapshot} to compare with"
    if segment.centroid_shift <= thresholds.max_shift:
        return None
    return (
        f"centroid moved {segment.centroid_shift:.3f} since {segment.written_for_snapshot} "
        f"(more than {thresholds.max_shift:g})"
    )


def _size_changed(segment: SegmentHistory, thresholds: RefreshThresholds, backend: str) -> str | None:
    if not segment.written_for_customers:
        return f"no profile of {segment.written_for_snapshot} to compare with"
    change_pct = abs(segment.customers - segment.written_for_customers) / segment.written_for_customers * 100
    if change_pct <= thresholds.max_size_change_pct:
        return None
    return (
        f"size changed {change_pct:.1f} % since {segment.written_for_snapshot} "
        f"({segment.written_for_customers} -> {segment.customers} customers, "
        f"more than {thresholds.max_size_change_pct:g} %)"
    )


# In order: the first rule that fires is the reason logged and returned.
REFRESH_RULES: tuple[Rule, ...] = (_new_segment, _other_writer, _other_prompt, _centroid_moved, _size_changed)


def refresh_reason(segment: SegmentHistory, thresholds: RefreshThresholds, backend: str) -> str | None:
    """Why the segment needs a new persona written by `backend`, or None when its persona carries over."""
    return next((reason for rule in REFRESH_RULES if (reason := rule(segment, thresholds, backend))), None)


@dataclass(frozen=True)
class RefreshPlan:
    """The snapshot's segments split into those written afresh (with why) and those carried over."""

    refresh: Mapping[int, str]
    carried: Mapping[int, SegmentHistory]

    @property
    def carried_from(self) -> date | None:
        """The snapshot the carried personas are copied from (they all come from one: the previous)."""
        return next((segment.persona_snapshot for segment in self.carried.values()), None)

    @property
    def carried_titles(self) -> tuple[str, ...]:
        return tuple(segment.title for segment in self.carried.values() if segment.title)


def plan_refresh(
    segments: Sequence[SegmentHistory], thresholds: RefreshThresholds, backend: str
) -> RefreshPlan:
    refresh, carried = {}, {}
    for segment in segments:
        reason = refresh_reason(segment, thresholds, backend)
        if reason:
            refresh[segment.segment_id] = reason
        else:
            carried[segment.segment_id] = segment
    return RefreshPlan(refresh=refresh, carried=carried)
