"""Are the numbers a persona quotes ones the prompt showed? Rounding is allowed, inventing is not.

A quoted number is grounded when it is some shown figure rounded to the precision the number is written
with: "23%" matches 23.4%, "1.9x" matches 1.85, "1,200" matches 1234 (trailing zeros are read as rounding,
but never below two significant digits, so "100" does not stand for anything between 50 and 150).
Numbers written as words ("twenty percent", "two hundred") are read and grounded the same way; a lone
"one" is left alone, since it is mostly a pronoun ("no one", "one of"). Letter-and-digit codes such as
"SAVE20" or "20OFF" are never grounded: they read as offer codes nobody issued.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.,])"  # not the tail of a word or of another number: "Q4", "B2B" are names
    r"(?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<thousands>\s?[kK](?![A-Za-z]))?"
)

_UNITS = dict(
    zero=0, one=1, two=2, three=3, four=4, five=5, six=6, seven=7, eight=8, nine=9, ten=10, eleven=11,
    twelve=12, thirteen=13, fourteen=14, fifteen=15, sixteen=16, seventeen=17, eighteen=18, nineteen=19,
)  # fmt: skip
_TENS = dict(twenty=20, thirty=30, forty=40, fifty=50, sixty=60, seventy=70, eighty=80, ninety=90)
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
_NUMBER_IN_WORDS = re.compile(rf"\b(?:{_WORD})(?:(?:[\s-]+|\s+and\s+)(?:{_WORD}))*\b", re.IGNORECASE)
# Letters and a run of two or more digits in one token, either way round; ordinals ("21st") are not codes.
_CODE = re.compile(
    r"\b(?:[A-Za-z]+\d{2,}[A-Za-z0-9]*|\d{2,}(?!st\b|nd\b|rd\b|th\b)[A-Za-z]{2,}[A-Za-z0-9]*)\b"
)


@dataclass(frozen=True)
class QuotedNumber:
    text: str
    value: Decimal
    tolerance: Decimal

    def matches(self, figure: Decimal) -> bool:
        return abs(self.value - figure) <= self.tolerance


def _rounding_tolerance(digits: str) -> Decimal:
    """Half a unit in the last place the number is written to; trailing zeros count as rounding."""
    if "." in digits:
        return Decimal(5).scaleb(-len(digits.split(".")[1]) - 1)
    trailing_zeros = len(digits) - len(digits.rstrip("0"))
    rounded_places = max(0, min(trailing_zeros, len(digits) - 2))
    return Decimal(5).scaleb(rounded_places - 1)


def _words_value(words: str) -> int:
    """The value of number words: "two hundred and five" -> 205, "twenty-five thousand" -> 25000."""
    total = current = 0
    for word in re.findall(r"[a-z]+", words.lower()):
        if word in _UNITS or word in _TENS:
            current += _UNITS.get(word, 0) + _TENS.get(word, 0)
        elif word == "hundred":
            current = (current or 1) * 100
        elif word in _SCALES:
            total += (current or 1) * _SCALES[word]
            current = 0
    return total + current


def numbers_in_words(text: str) -> list[QuotedNumber]:
    numbers = []
    for match in _NUMBER_IN_WORDS.finditer(text):
        if match.group(0).lower() == "one":
            continue
        value = _words_value(match.group(0))
        numbers.append(QuotedNumber(match.group(0), Decimal(value), _rounding_tolerance(str(value))))
    return numbers


def codes(text: str) -> list[str]:
    """Letter-and-digit tokens such as "SAVE20": offer codes no figure can ground."""
    return _CODE.findall(text)


def quoted_numbers(text: str) -> list[QuotedNumber]:
    numbers = []
    for match in _NUMBER.finditer(text):
        digits = match["digits"].replace(",", "")
        scale = Decimal(1000) if match["thousands"] else Decimal(1)
        numbers.append(
            QuotedNumber(match.group(0), Decimal(digits) * scale, _rounding_tolerance(digits) * scale)
        )
    return numbers


def ungrounded_numbers(text: str, figures: Iterable[Decimal]) -> list[str]:
    """The numbers in `text`, as written (in digits, in words or inside codes), that match none of `figures`."""
    figures = list(figures)
    prose = _CODE.sub(" ", text)  # a code's digits are part of the code, not a figure quoted
    quoted = quoted_numbers(prose) + numbers_in_words(prose)
    return [number.text for number in quoted if not any(map(number.matches, figures))] + codes(text)
