from decimal import Decimal

import pytest

from segmentation.personas.profile import ProfileError, profiles_from_rows


def test_features_are_every_numeric_non_bookkeeping_column(profile_rows):
    profile_rows = [{**row, "weekend_order_share": 0.3, "label": "ignored text"} for row in profile_rows]

    profile = profiles_from_rows(profile_rows)[0]

    assert [feature.name for feature in profile.features] == [
        "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_ratio",
        "weekend_order_share",
    ]  # fmt: skip
    assert [feature.unit for feature in profile.features] == [
        "days", "orders", "currency", "currency", "days", "ratio", "ratio",
    ]  # fmt: skip


def test_base_means_are_weighted_by_segment_size(profiles):
    monetary = profiles[0].feature("monetary")
    expected = (1200 * 45.5 + 300 * 520.0 + 900 * 150.0 + 600 * 90.0) / 3000

    assert monetary.base_mean == pytest.approx(expected)
    assert monetary.index == pytest.approx(45.5 / expected)


def test_profiles_are_ordered_by_segment_id_and_accept_bigquery_numerics(profile_rows):
    rows = [{**row, "monetary": Decimal(str(row["monetary"]))} for row in reversed(profile_rows)]

    assert [profile.segment_id for profile in profiles_from_rows(rows)] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "column", ["user_id", "email", "first_name", "street_address", "postal_code", "latitude"]
)
def test_identifier_like_columns_are_refused(profile_rows, column):
    rows = [{**row, column: 1} for row in profile_rows]

    with pytest.raises(ProfileError, match=rf"'{column}'.*personal identifiers"):
        profiles_from_rows(rows)


def test_a_missing_mean_is_a_clear_error(profile_rows):
    profile_rows[2]["monetary"] = None

    with pytest.raises(ProfileError, match=r"segment 2: feature 'monetary' has no finite mean"):
        profiles_from_rows(profile_rows)


def test_repeated_segment_ids_are_refused(profile_rows):
    profile_rows[1]["segment_id"] = 0

    with pytest.raises(ProfileError, match="repeats segment ids"):
        profiles_from_rows(profile_rows)


def test_missing_bookkeeping_columns_are_named(profile_rows):
    rows = [{key: value for key, value in row.items() if key != "revenue_share"} for row in profile_rows]

    with pytest.raises(ProfileError, match=r"lack column\(s\) \['revenue_share'\]"):
        profiles_from_rows(rows)


def test_no_rows_is_an_error():
    with pytest.raises(ProfileError, match="no segment_profiles rows"):
        profiles_from_rows([])


def test_drift_figures_are_no_features_even_where_null(profile_rows):
    """segment_profiles' drift figures describe the segment's movement, NULL for a new one."""
    rows = [
        {**row, "previous_customers": None, "size_change": None, "kept_share": None, "centroid_shift": None}
        if index == 0
        else {**row, "previous_customers": 100, "size_change": 0.25, "kept_share": 0.9, "centroid_shift": 0.1}
        for index, row in enumerate(profile_rows)
    ]

    profile = profiles_from_rows(rows)[1]

    assert [feature.name for feature in profile.features] == [
        "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_ratio",
    ]  # fmt: skip
