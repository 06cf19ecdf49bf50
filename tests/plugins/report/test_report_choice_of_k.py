"""The choice-of-k scan and the profile's z-scores, on small frames."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from segmentation.report.choice_of_k import ModelInput, candidate_ks, model_matrix, scan_k
from segmentation.report.render import profile_z_scores


@pytest.mark.parametrize(
    ("tried", "chosen", "expected"),
    [
        ([3, 4, 5, 6], 4, [3, 4, 5, 6]),  # a tuned range: exactly the trials
        ([5], 5, [3, 4, 5, 6, 7]),  # fixed k: its neighbours
        ([2], 2, [2, 3, 4]),  # never below 2
    ],
)
def test_candidate_ks(tried, chosen, expected):
    assert candidate_ks(tried, chosen) == expected


def test_a_wide_range_is_thinned_but_keeps_both_ends_and_the_chosen_k():
    ks = candidate_ks(list(range(2, 101)), 37)

    assert len(ks) <= 12 and ks == sorted(set(ks))
    assert {2, 37, 100} <= set(ks)


def test_model_matrix_standardizes_numbers_and_one_hot_encodes_categories():
    sample = pd.DataFrame(
        {
            "segment_id": [1, 1, 2, 2],
            "customer_id": [10, 11, 12, 13],
            "monetary": [0.0, np.e - 1, np.e**2 - 1, np.nan],
            "frequency": [1, 1, 1, 1],
            "gender": ["F", "M", "F", None],
        }
    )

    matrix = model_matrix(sample, log_transform_monetary=True)

    # ln(1 + monetary) = 0, 1, 2 and the mean (1) for the missing value, standardized; a constant
    # column stays 0; gender becomes indicator columns for missing, F and M.
    spread = np.sqrt(0.5)
    expected = [
        [-1 / spread, 0, 0, 1, 0],
        [0, 0, 0, 0, 1],
        [1 / spread, 0, 0, 1, 0],
        [0, 0, 1, 0, 0],
    ]
    np.testing.assert_allclose(matrix, expected)


def test_model_matrix_prepares_the_sample_as_the_runs_model_input():
    """Clipped to the run's bounds, monetary log-transformed, a left-out feature dropped, standardized with
    the snapshot's mean and stddev rather than the sample's own."""
    sample = pd.DataFrame(
        {
            "segment_id": [1, 1, 2],
            "customer_id": [10, 11, 12],
            "monetary": [5_000_000.0, np.e - 1, np.nan],
            "frequency": [900, 2, 0],
            "return_ratio": [0.0, 0.0, 0.0],  # no spread: the model left it out
        }
    )
    model_input = ModelInput(
        standardization={"frequency": (3.0, 2.0), "log_monetary": (2.0, 0.5)},
        bounds={"frequency": (1.0, 9.0), "monetary": (1.0, np.e**3 - 1)},
    )

    matrix = model_matrix(sample, model_input=model_input)

    expected = [
        [(9 - 3) / 2, (3 - 2) / 0.5],  # clipped at both upper bounds
        [(2 - 3) / 2, (1 - 2) / 0.5],
        [(1 - 3) / 2, 0.0],  # frequency clipped at its lower bound; NULL monetary imputed with the mean
    ]
    np.testing.assert_allclose(matrix, expected)


def test_scan_finds_the_structure_of_well_separated_groups():
    random = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10]])
    rows = np.concatenate([centre + random.normal(size=(100, 2)) for centre in centres])

    scan = scan_k(rows, [2, 3, 4, 5])

    assert scan.ks == (2, 3, 4, 5) and scan.rows == 300
    assert scan.ks[int(np.argmax(scan.silhouette))] == 3
    assert list(scan.mean_squared_distance) == sorted(scan.mean_squared_distance, reverse=True)
    assert scan_k(rows, [2, 3, 4, 5]) == scan  # seeded: the same scan every time


def test_scan_skips_ks_the_sample_cannot_support():
    scan = scan_k(np.arange(8, dtype=float).reshape(4, 2), [2, 3, 4, 5])

    assert scan.ks == (2, 3)
    assert all(math.isfinite(value) for value in scan.silhouette)


def test_z_scores_against_the_base_keep_core_features_then_the_most_distinctive():
    means = pd.DataFrame(
        {
            "monetary": [300.0, 100.0],
            "spend_a": [1.0, 1.0],
            "spend_b": [9.0, 1.0],
            "recency_days": [10.0, 50.0],
        },
        index=pd.Index([1, 2], name="segment_id"),
    )
    spread = pd.DataFrame(
        {"mean": [200.0, 1.0, 5.0, 30.0], "stddev": [100.0, 0.0, 2.0, 20.0]},
        index=["monetary", "spend_a", "spend_b", "recency_days"],
    )

    z_scores = profile_z_scores(means, spread)

    assert list(z_scores.columns) == ["recency_days", "monetary", "spend_b", "spend_a"]
    assert z_scores.loc[1].tolist() == [-1.0, 1.0, 2.0, 0.0]  # no spread: no deviation
    assert z_scores.loc[2].tolist() == [1.0, -1.0, -2.0, 0.0]
