import hashlib
import re
from decimal import Decimal

from segmentation.personas.grounding import ungrounded_numbers
from segmentation.personas.profile import profiles_from_rows
from segmentation.personas.prompt import PROMPT_VERSION, build_prompt
from segmentation.personas.response import CHANNELS


def test_one_prompt_holds_every_segment_with_units_and_comparisons(prompt):
    assert prompt.segment_ids == (0, 1, 2, 3)
    for segment_id in prompt.segment_ids:
        assert f"Segment {segment_id}:" in prompt.text
    assert "Segment 1: 300 customers (10.0% of all customers), 35.0% of revenue." in prompt.text
    assert "  - recency_days: 20.5 days (0.08x the customer-base average, -92%)" in prompt.text
    assert "  - monetary: 520.00 currency units (3.90x the customer-base average, +290%)" in prompt.text
    assert "  - return_ratio: 8.0% (1.18x the customer-base average, +18%)" in prompt.text
    assert "  - frequency: 1.55 orders" in prompt.text  # the customer-base average
    assert "Return exactly one persona for each segment id: 0, 1, 2, 3." in prompt.text
    assert ", ".join(CHANNELS) in prompt.text


def test_prompt_is_versioned_and_deterministic(profile_rows, prompt):
    again = build_prompt(profiles_from_rows(list(reversed(profile_rows))))

    assert prompt.version == PROMPT_VERSION
    assert again.text == prompt.text
    assert again.sha256 == prompt.sha256 == hashlib.sha256(prompt.text.encode()).hexdigest()


def test_changed_profiles_change_the_hash(profile_rows, prompt):
    profile_rows[0]["monetary"] = 46.5

    assert build_prompt(profiles_from_rows(profile_rows)).sha256 != prompt.sha256


def test_each_segment_may_quote_its_own_and_base_figures_only(prompt):
    segment_1 = prompt.figures[1]

    assert {Decimal("300"), Decimal("10.0"), Decimal("35.0"), Decimal("520.00"), Decimal("3.90")} <= segment_1
    assert {
        Decimal("1.55"),
        Decimal("3000"),
        Decimal("4"),
    } <= segment_1  # base averages, total, segment count
    assert Decimal("45.50") not in segment_1  # segment 0's monetary mean
    assert Decimal("45.50") in prompt.figures[0]


def test_every_number_in_the_profiles_section_is_a_recorded_figure(prompt):
    profiles_section = prompt.text[prompt.text.index("Customer base:") :]
    every_figure = frozenset().union(*prompt.figures.values())

    assert ungrounded_numbers(profiles_section, every_figure) == []


# -- privacy: aggregates only ------------------------------------------------------------------------------


def test_prompt_carries_no_customer_level_data(customers, customers_profile_rows):
    prompt = build_prompt(profiles_from_rows(customers_profile_rows))
    text = prompt.text.lower()

    for customer_id, email, name, address, *_, spend in customers:
        assert str(customer_id) not in text
        assert email.lower() not in text
        assert email.split("@")[1] not in text
        for word in (*name.lower().split(), address.lower().split()[1]):  # names, street names
            assert not re.search(rf"\b{re.escape(word)}\b", text), word
        assert f"{spend:.2f}" not in text  # no single customer's spend either
    assert "@" not in text


def test_extended_features_show_units_and_only_the_most_distinctive(profile_rows):
    spend_columns = [f"spend_12m_women_category_{i:02d}" for i in range(20)]
    for row in profile_rows:
        row.update({column: 10.0 + i for i, column in enumerate(spend_columns)}, age=40.0)
    profile_rows[0]["spend_12m_women_category_07"] = 250.0  # segment 0 stands out here
    profile_rows[0]["age"] = 24.0

    prompt = build_prompt(profiles_from_rows(profile_rows))
    segment_0 = prompt.text[prompt.text.index("Segment 0:") : prompt.text.index("Segment 1:")]
    segment_1 = prompt.text[prompt.text.index("Segment 1:") : prompt.text.index("Segment 2:")]

    assert "  - spend_12m_women_category_07: 250.00 currency units (" in segment_0
    assert "  - age: 24.0 years (" in segment_0
    assert segment_0.count("\n  - ") == 6 + 6  # the core features, then at most six others
    assert "spend_12m_women_category_07" in segment_1  # it differs from the base there too, by contrast
    assert "  - recency_days: " in segment_1
