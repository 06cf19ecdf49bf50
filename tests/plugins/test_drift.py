"""Drift findings in words, from segment_drift.sql's rows: what crosses the thresholds and what does not."""

from __future__ import annotations

import datetime as dt

from segmentation.drift import DriftAlert, DriftThresholds, drift_findings

THRESHOLDS = DriftThresholds(size_change_pct=20, kept_pct=90)
PREVIOUS = dt.date(2024, 6, 1)


def row(segment_id: int, **figures) -> dict:
    return {
        "previous_snapshot_date": PREVIOUS,
        "training": "continued",
        "rebase_reason": None,
        "segment_id": segment_id,
        "customers": 1000,
        "previous_customers": 1000,
        "size_change": 0.0,
        "kept_share": 0.99,
        "centroid_shift": 0.05,
        "previous_title": f"Persona {segment_id}",
        **figures,
    }


def test_a_quiet_snapshot_finds_nothing_and_the_thresholds_themselves_do_not_alert():
    rows = [row(1), row(2, size_change=0.2, customers=1200), row(3, size_change=-0.2, kept_share=0.9)]

    assert drift_findings(rows, THRESHOLDS) == []


def test_each_crossed_threshold_is_one_finding_naming_the_segment_as_marketing_knew_it():
    rows = [
        row(1, customers=1342, size_change=0.342),
        row(2, customers=700, size_change=-0.3, kept_share=0.712, previous_title=None),
        row(
            7, customers=120, previous_customers=None, size_change=None, kept_share=None, previous_title=None
        ),
    ]

    assert drift_findings(rows, THRESHOLDS) == [
        'segment 1 ("Persona 1") grew 34.2% (1,000 -> 1,342 customers; alert beyond 20 %)',
        "segment 2 shrank 30.0% (1,000 -> 700 customers; alert beyond 20 %)",
        "segment 2 kept 71.2% of its customers (alert below 90 %)",
        "segment 7 is new (120 customers)",
    ]


def test_a_rebase_always_alerts_and_a_first_snapshot_never_does():
    rebased = [row(1, training="rebased", rebase_reason="rebase_segments was set")]
    first = [row(1, previous_snapshot_date=None, previous_customers=None, size_change=None, kept_share=None)]

    assert drift_findings(rebased, THRESHOLDS) == [
        "the segments were rebased: rebase_segments was set; segment ids may now describe other customers"
    ]
    assert drift_findings(first, THRESHOLDS) == []
    assert drift_findings([], THRESHOLDS) == []


def test_the_alert_is_one_line_with_its_findings_in_the_payload():
    alert = DriftAlert("customer_segmentation", "manual__1", "2024-06-02", ("a", "b"), "http://log")

    assert alert.summary() == (
        "segment drift: dag=customer_segmentation date=2024-06-02 run=manual__1: a; b log=http://log"
    )
    assert alert.payload()["alert"]["findings"] == ["a", "b"]
    assert alert.payload()["text"] == alert.summary()
