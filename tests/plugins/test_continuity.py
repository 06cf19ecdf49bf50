"""segmentation.continuity: when a run continues or rebases, and how segment ids follow centroids."""

from __future__ import annotations

from datetime import date

import pytest

from segmentation.config import PipelineConfig
from segmentation.continuity import (
    NoFeatureVaries,
    match_segments,
    matching_input,
    numeric_model_features,
    plan_training,
)
from segmentation.retries import GATE_FAILED

FEATURES = sorted(numeric_model_features(PipelineConfig()))
HISTORY = {
    "previous_snapshot": date(2024, 6, 28),
    "previous_k": 5,
    "previous_features": FEATURES,
    "seeds": 5,
    "previous_davies_bouldin": 1.0,
    "baseline_davies_bouldin": 0.95,
}


def test_a_run_continues_from_the_previous_snapshot_with_its_k():
    plan = plan_training(PipelineConfig(), HISTORY)
    assert plan.continues and plan.num_clusters == 5 and plan.previous_snapshot == date(2024, 6, 28)
    assert plan.rebase_reason is None
    tuned = plan_training(PipelineConfig(num_clusters=None, k_min=3, k_max=8), HISTORY)
    assert tuned.continues and tuned.num_clusters == 5 and not tuned.tuned


@pytest.mark.parametrize(
    ("settings", "history", "reason"),
    [
        ({}, {"previous_snapshot": None}, "no earlier snapshot"),
        ({"rebase_segments": True}, {}, "the rebase_segments param asks for it"),
        ({"log_transform_monetary": True}, {}, "the model features changed"),
        ({"num_clusters": 6}, {}, "num_clusters changed from 5 to 6"),
        ({"num_clusters": None, "k_min": 6, "k_max": 9}, {}, "k 5 of the previous snapshot is outside"),
        ({}, {"seeds": 4}, "a previous centroid has no customer nearest to it"),
        ({}, {"previous_davies_bouldin": 1.2}, "Davies-Bouldin index drifted to 1.200 from 0.950"),
    ],
)
def test_a_run_rebases_only_for_a_documented_reason(settings, history, reason):
    config = PipelineConfig(**settings)
    plan = plan_training(config, HISTORY | history)
    assert plan.training == "rebased" and reason in plan.rebase_reason
    if config.k_range:
        assert plan.tuned and (plan.k_min, plan.k_max) == config.k_range
    else:
        assert plan.num_clusters == config.num_clusters


def test_a_drift_within_the_threshold_continues():
    assert plan_training(
        PipelineConfig(max_quality_drift_pct=30), HISTORY | {"previous_davies_bouldin": 1.2}
    ).continues


def test_a_feature_without_spread_is_left_out_named_and_a_change_of_features_rebases():
    constant = HISTORY | {"constant_features": ["return_ratio"]}
    plan = plan_training(PipelineConfig(), constant)
    assert plan.left_out_features == ("return_ratio",)
    assert plan.training == "rebased"  # yesterday clustered return_ratio
    assert "left out without spread: return_ratio" in plan.rebase_reason
    settled = constant | {"previous_features": [f for f in FEATURES if f != "return_ratio"]}
    assert plan_training(PipelineConfig(), settled).continues
    assert plan_training(PipelineConfig(), settled | {"previous_snapshot": None}).left_out_features == (
        "return_ratio",
    )
    # Only the model's own features can be left out: nothing else from the query reaches the SQL.
    assert plan_training(PipelineConfig(), HISTORY | {"constant_features": ["x; DROP"]}).continues


def test_a_snapshot_where_no_feature_varies_fails_like_a_gate():
    with pytest.raises(NoFeatureVaries, match="no numeric feature varies") as failure:
        plan_training(PipelineConfig(), HISTORY | {"constant_features": FEATURES})
    assert GATE_FAILED in str(failure.value)


def test_ids_follow_the_nearest_previous_centroid_whatever_the_models_numbering():
    previous = {3: [0.0, 0.0], 5: [4.0, 0.0], 8: [0.0, 4.0]}
    centroids = {1: [0.1, 3.9], 2: [0.2, -0.1], 3: [3.8, 0.3]}
    matches = {m.centroid_id: m for m in match_segments(centroids, previous, max_shift=1.0, first_new_id=9)}
    assert {c: m.segment_id for c, m in matches.items()} == {1: 8, 2: 3, 3: 5}
    assert matches[2].previous_segment_id == 3 and matches[2].centroid_shift == pytest.approx(
        0.2236, abs=1e-4
    )


def test_the_assignment_minimises_the_total_distance_not_each_greedily():
    previous = {1: [0.0], 2: [1.0]}
    centroids = {1: [0.6], 2: [1.7]}  # greedy would give centroid 1 segment 2 (0.4) and leave 2 unmatched
    matches = match_segments(centroids, previous, max_shift=1.0, first_new_id=3)
    assert [(m.centroid_id, m.segment_id) for m in matches] == [(1, 1), (2, 2)]


def test_a_split_or_a_far_centroid_gets_a_new_id_never_used_before():
    previous = {1: [0.0, 0.0], 2: [5.0, 5.0]}
    centroids = {1: [0.1, 0.0], 2: [5.0, 5.2], 3: [9.0, -9.0]}
    matches = match_segments(centroids, previous, max_shift=1.0, first_new_id=7)
    assert [(m.segment_id, m.previous_segment_id) for m in matches] == [(1, 1), (2, 2), (7, None)]
    moved = match_segments({1: [0.0, 0.0], 2: [5.0, 7.0]}, previous, max_shift=1.0, first_new_id=3)
    assert [m.segment_id for m in moved] == [1, 3], "a centroid that moved too far is a new segment"


def test_without_a_previous_snapshot_the_model_numbering_stands():
    matches = match_segments({2: [1.0], 1: [0.0]}, {}, max_shift=1.0, first_new_id=1)
    assert [(m.centroid_id, m.segment_id) for m in matches] == [(1, 1), (2, 2)]


def test_matching_input_lines_up_both_sides_feature_by_feature():
    rows = [
        {"side": "new", "id": 1, "feature": "b", "value": 2.0},
        {"side": "new", "id": 1, "feature": "a", "value": 1.0},
        {"side": "previous", "id": 4, "feature": "a", "value": 3.0},
        {"side": "previous", "id": 4, "feature": "b", "value": 4.0},
    ]
    assert matching_input(rows) == ({1: [1.0, 2.0]}, {4: [3.0, 4.0]})
