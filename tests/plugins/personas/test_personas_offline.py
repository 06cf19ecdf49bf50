import json

import pytest

from segmentation.personas.offline import (
    OFFLINE_MODEL,
    OfflineWriter,
    archetype_of,
    assign_archetypes,
    position_of,
)
from segmentation.personas.profile import profiles_from_rows
from segmentation.personas.step import draft_personas
from segmentation.personas.validation import validate_answer


def _rows(*segments):
    """segments: (customers, revenue_share, recency_days, frequency, monetary, tenure_days)."""
    total = sum(segment[0] for segment in segments)
    return [
        {
            "segment_id": segment_id,
            "customers": customers,
            "customer_share": customers / total,
            "revenue_share": revenue_share,
            "recency_days": recency,
            "frequency": frequency,
            "monetary": monetary,
            "tenure_days": tenure,
        }
        for segment_id, (customers, revenue_share, recency, frequency, monetary, tenure) in enumerate(
            segments
        )
    ]


def _with_return_ratios(rows, return_ratios):
    return [{**row, "return_ratio": ratio} for row, ratio in zip(rows, return_ratios, strict=True)]


def test_high_spend_with_long_recency_is_a_lapsed_high_value_persona():
    profiles = profiles_from_rows(
        _rows(
            (500, 0.45, 420.0, 2.0, 600.0, 900.0),  # spent a lot, long gone
            (1500, 0.40, 40.0, 2.0, 150.0, 600.0),
            (1000, 0.15, 200.0, 1.0, 90.0, 500.0),
        )
    )

    position = position_of(profiles[0])
    assert (position.monetary, position.recency) == ("high", "high")
    assert archetype_of(profiles[0]).title == "Lapsed High-Value Customers"

    persona = draft_personas(profiles, OfflineWriter()).personas[0]
    assert persona.title == "Lapsed High-Value Customers"
    assert "600.00 currency units" in persona.persona and "420.0 days" in persona.persona
    assert persona.summary.startswith("500 customers (16.7% of all customers) bringing 45.0% of revenue")
    assert persona.recommended_channel == "email"
    assert len(persona.next_marketing_steps) == 3


def test_each_rfm_position_gets_its_archetype(profiles):
    assert [archetype_of(profile).title for profile in profiles] == [
        "Dormant Bargain Hunters",  # low spend, long recency
        "Champions",  # high spend, frequent
        "Drifting Customers",  # average spend, long recency
        "New Arrivals",  # short tenure, recent
    ]


def test_offline_answer_is_deterministic_grounded_and_marked_offline(profiles, prompt):
    first = OfflineWriter().write(prompt, profiles)
    second = OfflineWriter().write(prompt, profiles)

    assert first.answer == second.answer
    assert (first.backend, first.model) == ("offline", OFFLINE_MODEL)
    assert (first.input_tokens, first.output_tokens) == (None, None)
    assert json.loads(first.answer) == first.raw_response
    assert len(validate_answer(first.answer, prompt, "offline")) == 4


def test_segments_sharing_an_archetype_get_distinct_titles():
    profiles = profiles_from_rows(
        _rows(
            (1000, 0.30, 100.0, 1.5, 120.0, 500.0),
            (1000, 0.35, 110.0, 1.6, 125.0, 520.0),
            (1000, 0.35, 105.0, 1.5, 122.0, 510.0),
        )
    )

    titles = [persona.title for persona in draft_personas(profiles, OfflineWriter()).personas]

    assert titles == [f"Steady Core Customers (Segment {i})" for i in range(3)]


def test_two_segments_fitting_one_archetype_do_not_share_it():
    """The profile `make run` printed: segments 1 and 4 both spend and order far above the base."""
    profiles = profiles_from_rows(
        _rows(
            (40395, 0.136, 110.0, 2.2, 144.0, 400.0),
            (4002, 0.358, 57.0, 16.0, 3812.0, 1100.0),  # the best customers by far
            (13142, 0.064, 601.0, 2.6, 206.0, 900.0),
            (7268, 0.173, 65.0, 4.3, 1017.0, 800.0),
            (18801, 0.269, 110.0, 8.4, 609.0, 1000.0),  # frequent and big-spending, less so
        )
    )
    assert archetype_of(profiles[1]).title == archetype_of(profiles[4]).title == "Champions"

    titles = [archetype.title for archetype in assign_archetypes(profiles)]

    assert titles[1] == "Champions"
    assert titles[4] == "Loyal Regulars"
    assert len(set(titles)) == len(titles)
    personas = draft_personas(profiles, OfflineWriter()).personas
    assert [persona.title for persona in personas] == titles


def test_the_tie_between_equally_strong_segments_goes_to_the_lower_id():
    profiles = profiles_from_rows(
        _rows(
            (1000, 0.10, 100.0, 1.0, 50.0, 500.0),
            (500, 0.45, 60.0, 4.0, 600.0, 700.0),
            (500, 0.45, 60.0, 4.0, 600.0, 700.0),
        )
    )

    assert [archetype.title for archetype in assign_archetypes(profiles)][1:] == [
        "Champions",
        "Loyal Regulars",
    ]


def test_a_runner_up_that_fits_nothing_else_shares_its_archetype_instead_of_being_called_average():
    rows = _with_return_ratios(
        _rows(
            (4000, 0.80, 60.0, 3.0, 300.0, 700.0),
            (500, 0.10, 60.0, 3.0, 300.0, 700.0),
            (500, 0.10, 60.0, 3.0, 300.0, 700.0),
        ),
        (0.02, 0.60, 0.55),
    )

    personas = draft_personas(profiles_from_rows(rows), OfflineWriter()).personas

    assert [persona.title for persona in personas] == [
        "Steady Core Customers",
        "Serial Returners (Segment 1)",
        "Serial Returners (Segment 2)",
    ]


@pytest.mark.parametrize("missing", ["recency_days", "frequency", "monetary", "tenure_days"])
def test_any_feature_set_gets_valid_personas(missing):
    rows = _rows(
        (500, 0.45, 420.0, 2.0, 600.0, 900.0),
        (1500, 0.40, 40.0, 4.0, 150.0, 60.0),
        (1000, 0.15, 200.0, 1.0, 90.0, 500.0),
    )
    rows = [{key: value for key, value in row.items() if key != missing} for row in rows]

    personas = draft_personas(profiles_from_rows(rows), OfflineWriter()).personas

    assert [persona.segment_id for persona in personas] == [0, 1, 2]


def test_a_segment_dominated_by_returns_is_a_serial_returner_persona():
    rows = _with_return_ratios(
        _rows(
            (800, 0.30, 60.0, 3.0, 300.0, 700.0),
            (200, 0.05, 60.0, 3.0, 280.0, 700.0),
            (1000, 0.65, 50.0, 4.0, 320.0, 800.0),
        ),
        (0.05, 0.62, 0.04),
    )
    profiles = profiles_from_rows(rows)

    assert position_of(profiles[1]).returns_dominant
    assert [archetype_of(profile).title for profile in profiles].count("Serial Returners") == 1
    persona = draft_personas(profiles, OfflineWriter()).personas[1]
    assert persona.title == "Serial Returners"
    assert "62.0%" in persona.persona
