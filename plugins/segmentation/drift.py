"""Drift alerts: once a snapshot is published, say so when its segments moved more than the deployment
accepts against the previous snapshot.

Drift is news, not a failure: the snapshot stays published and the run goes on. The findings are logged
and, when the `segmentation_alerts` connection exists, sent through it like a failure alert (see
segmentation.alerts). They come from the published `segment_stability` row and `segment_profiles` drift
figures (`include/sql/segment_drift.sql`):
- the segments were rebased (k-means started afresh), so ids may describe other customers than before;
- a segment is new (a split, or a centroid that moved further than `max_segment_shift`);
- a segment's size changed by more than `drift_alert_size_change_pct` percent;
- a segment kept less than `drift_alert_kept_pct` percent of its previous customers (those still in the base).
A first snapshot has nothing to drift from and alerts nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

Row = Mapping[str, Any]


@dataclass(frozen=True)
class DriftThresholds:
    """Percentages, as the params give them."""

    size_change_pct: float
    kept_pct: float


@dataclass(frozen=True)
class DriftAlert:
    """What moved in one snapshot, in words, with where to look."""

    dag_id: str
    run_id: str
    date: str
    findings: tuple[str, ...]
    log_url: str
    task_id: str | None = None
    event: str = "segment drift"

    def summary(self) -> str:
        return (
            f"{self.event}: dag={self.dag_id} date={self.date} run={self.run_id}: "
            f"{'; '.join(self.findings)} log={self.log_url}"
        )

    def payload(self) -> dict[str, Any]:
        return {"text": self.summary(), "alert": {**asdict(self), "findings": list(self.findings)}}


def _named(row: Row) -> str:
    """The segment as marketing knows it: its id and the persona title it had in the previous snapshot."""
    title = row.get("previous_title")
    return f'segment {row["segment_id"]} ("{title}")' if title else f"segment {row['segment_id']}"


def _rebased(first: Row, _thresholds: DriftThresholds) -> list[str]:
    if first["training"] != "rebased":
        return []
    reason = f": {first['rebase_reason']}" if first.get("rebase_reason") else ""
    return [f"the segments were rebased{reason}; segment ids may now describe other customers"]


def _new_segment(row: Row, _thresholds: DriftThresholds) -> list[str]:
    if row["previous_customers"] is not None:
        return []
    return [f"segment {row['segment_id']} is new ({row['customers']:,} customers)"]


def _size_changed(row: Row, thresholds: DriftThresholds) -> list[str]:
    change = row["size_change"]
    if change is None or abs(change) * 100 <= thresholds.size_change_pct:
        return []
    direction = "grew" if change > 0 else "shrank"
    return [
        f"{_named(row)} {direction} {abs(change):.1%} ({row['previous_customers']:,} -> "
        f"{row['customers']:,} customers; alert beyond {thresholds.size_change_pct:g} %)"
    ]


def _kept_few(row: Row, thresholds: DriftThresholds) -> list[str]:
    kept = row["kept_share"]
    if kept is None or kept * 100 >= thresholds.kept_pct:
        return []
    return [f"{_named(row)} kept {kept:.1%} of its customers (alert below {thresholds.kept_pct:g} %)"]


SNAPSHOT_CHECKS: tuple[Callable[[Row, DriftThresholds], list[str]], ...] = (_rebased,)
SEGMENT_CHECKS: tuple[Callable[[Row, DriftThresholds], list[str]], ...] = (
    _new_segment,
    _size_changed,
    _kept_few,
)


def drift_findings(rows: Sequence[Row], thresholds: DriftThresholds) -> list[str]:
    """Every threshold the snapshot crossed, in words; `rows` are segment_drift.sql's, one per segment."""
    if not rows or rows[0]["previous_snapshot_date"] is None:
        return []
    findings = [finding for check in SNAPSHOT_CHECKS for finding in check(rows[0], thresholds)]
    return findings + [
        finding for row in rows for check in SEGMENT_CHECKS for finding in check(row, thresholds)
    ]


def alert_drift(
    rows: Sequence[Row], thresholds: DriftThresholds, *, snapshot_date: str, ti: Any
) -> list[str]:
    """Logs the snapshot's drift findings and sends them through the alerts connection; returns them."""
    from segmentation.alerts import notify_through

    findings = drift_findings(rows, thresholds)
    if not findings:
        log.info("no segment drifted past the alert thresholds")
        return []
    alert = DriftAlert(
        dag_id=ti.dag_id,
        run_id=ti.run_id,
        date=snapshot_date,
        findings=tuple(findings),
        log_url=ti.log_url,
        task_id=ti.task_id,
    )
    log.warning("%s", alert.summary())
    notify_through(alert)
    return findings
