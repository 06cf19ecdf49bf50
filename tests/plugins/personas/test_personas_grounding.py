from decimal import Decimal

import pytest

from segmentation.personas.grounding import quoted_numbers, ungrounded_numbers

FIGURES = [
    Decimal("23.4"),
    Decimal("1.85"),
    Decimal("1234"),
    Decimal("104.9"),
    Decimal("45.50"),
    Decimal("92"),
]


@pytest.mark.parametrize(
    "text",
    [
        "23.4% of customers",
        "about 23% of customers",  # rounded
        "1.85x the average",
        "1.9x the average",
        "nearly 2x the average",
        "1,234 customers",
        "1,200 customers",  # rounded to hundreds: still two significant digits
        "1.2k customers",
        "105 days",
        "100 days",  # 104.9 rounded to two significant digits
        "45.5 currency units",
        "-92% versus the base",  # sign is phrasing, not a new number
    ],
)
def test_rounded_figures_are_grounded(text):
    assert ungrounded_numbers(text, FIGURES) == []


@pytest.mark.parametrize(
    ("text", "invented"),
    [
        ("a 20% discount", ["20"]),
        ("within 30 days", ["30"]),
        ("23.5% of customers", ["23.5"]),  # more precise than the figure allows
        ("about 90 days", ["90"]),  # 92 rounds to 90 only at one significant digit: too loose
        ("spend 1,300", ["1,300"]),
        ("2,000 customers", ["2,000"]),
    ],
)
def test_invented_numbers_are_caught(text, invented):
    assert ungrounded_numbers(text, FIGURES) == invented


def test_numbers_inside_words_are_names_not_quotes():
    assert quoted_numbers("Q4 B2B shoppers on mp3 players") == []


def test_quoted_numbers_keep_their_written_form():
    assert [number.text for number in quoted_numbers("1,234 buyers, 45.50 each, 1.2k orders.")] == [
        "1,234",
        "45.50",
        "1.2k",
    ]


@pytest.mark.parametrize(
    ("text", "invented"),
    [
        ("a twenty percent discount", ["twenty"]),
        ("Twenty-five days of free shipping", ["Twenty-five"]),
        ("two hundred and fifty loyal buyers", ["two hundred and fifty"]),
        ("use code SAVE20 at checkout", ["SAVE20"]),
        ("code 20OFF, or WELCOME10", ["20OFF", "WELCOME10"]),
    ],
)
def test_numbers_in_words_and_codes_are_caught(text, invented):
    assert ungrounded_numbers(text, FIGURES) == invented


@pytest.mark.parametrize(
    "text",
    [
        "ninety-two days since the last order",  # 92, in words
        "one hundred and five days",  # 104.9, rounded
        "no one buys less often; the one loyal group",  # "one" as a pronoun
        "Q4 B2B shoppers on mp3 players",  # names, not codes
    ],
)
def test_grounded_words_and_names_pass(text):
    assert ungrounded_numbers(text, FIGURES) == []
