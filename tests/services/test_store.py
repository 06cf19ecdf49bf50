"""What the segment API profiles as a segment's features."""

from __future__ import annotations

from services.segments.store import _segment_profile


def test_drift_figures_of_segment_profiles_are_not_profiled_as_features():
    drift = {"previous_customers": 8, "size_change": 0.25, "kept_share": 0.875, "centroid_shift": 0.1}
    rows = [
        {
            "segment_id": 1,
            "customers": 10,
            "customer_share": 0.5,
            "revenue_share": 0.4,
            "monetary": 5.0,
            **drift,
        },
        {
            "segment_id": 2,
            "customers": 10,
            "customer_share": 0.5,
            "revenue_share": 0.6,
            "monetary": 7.0,
            **drift,
        },
    ]

    profiles = _segment_profile(rows, {})

    assert [[feature["feature"] for feature in profiles[segment_id]] for segment_id in (1, 2)] == [
        ["monetary"],
        ["monetary"],
    ]
