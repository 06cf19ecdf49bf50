"""Are the numbers a persona quotes ones the prompt showed? Rounding is allowed, inventing is not.

A quoted number is grounded when it is some shown figure rounded to the precision the number is written
with: "23%" matches 23.4%, "1.9x" matches 1.85, "1,200" matches 1234 (trailing zeros are read as rounding,
but never below two significant digits, so "100" does not stand for anything between 50 and 150).
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
    """The numbers in `text`, as written, that match none of `figures`."""
    figures = list(figures)
    return [number.text for number in quoted_numbers(text) if not any(map(number.matches, figures))]
