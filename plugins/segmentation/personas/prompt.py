"""The one prompt per run: the profiles of the segments to describe, and the rules the answer is checked against.

The customer-base figures always cover every segment of the snapshot, also when only some segments are
described (the others keep their personas): then the prompt names the titles those keep, so the new ones
differ.

While a profile is rendered, every number shown is recorded, so the validator can later hold the answer
to exactly what the model saw: a persona may quote its own segment's figures and the customer-base figures
(rounded if it likes), nothing else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from segmentation.personas.profile import CORE_FEATURE_UNITS, Feature, SegmentProfile
from segmentation.personas.response import CHANNELS, LIMITS

# Bump whenever the wording, the rendering of figures or the response schema changes.
PROMPT_VERSION = "personas-2025.1"

# Beyond the core RFM features, a segment shows only the features it differs most on: the extended
# feature set has over a hundred, and tokens cost money while adding little to a persona.
MAX_EXTRA_FEATURES = 6

_DECIMALS_BY_UNIT = {"days": 1, "orders": 2, "currency": 2, "years": 1, "": 2}
_UNIT_LABEL = {"days": " days", "orders": " orders", "currency": " currency units", "years": " years", "": ""}

_INSTRUCTIONS = """\
You are a senior CRM strategist. A k-means model grouped an online store's customers into the segments \
profiled below from their purchase behaviour (recency, frequency, monetary value and related features). \
Write one marketing persona per segment for the marketing team.

Rules:
1. Return exactly one persona for each segment id: {segment_ids}. No other ids, no repeats.
2. Any number you write must be copied from that segment's profile or from the customer-base figures \
below; rounding is fine. Do not compute new numbers and do not invent discounts, dates, prices, \
durations or counts: describe offers in words instead.
3. title: a distinct, memorable name for the segment (at most {title} characters).
4. persona: who these customers are and how they buy, in plain language (at most {persona} characters).
5. summary: one or two sentences on the segment's value and risk (at most {summary} characters).
6. next_marketing_steps: exactly 3 concrete, different actions (each at most {step} characters).
7. recommended_channel: the single best channel, one of: {channels}.
8. Answer with JSON only, following the response schema.
"""


@dataclass(frozen=True)
class Prompt:
    """The prompt text with its identity, and the numbers each segment's persona may quote."""

    text: str
    version: str
    segment_ids: tuple[int, ...]
    figures: Mapping[int, frozenset[Decimal]]
    titles_taken: tuple[str, ...] = ()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


class FigureSheet:
    """Formats numbers for the prompt and remembers each one exactly as it was shown."""

    def __init__(self) -> None:
        self.numbers: set[Decimal] = set()

    def number(self, value: float, decimals: int) -> str:
        text = f"{value:.{decimals}f}"
        self.numbers.add(abs(Decimal(text)))
        return text

    def percent(self, fraction: float) -> str:
        return f"{self.number(fraction * 100, 1)}%"

    def amount(self, value: float, unit: str) -> str:
        if unit == "ratio":
            return self.percent(value)
        return self.number(value, _DECIMALS_BY_UNIT.get(unit, 2)) + _UNIT_LABEL.get(unit, f" {unit}")


def _comparison(feature: Feature, sheet: FigureSheet) -> str:
    if feature.index is None:
        return "customer-base average is zero"
    change = (feature.index - 1) * 100
    sign = "+" if change >= 0 else "-"
    return (
        f"{sheet.number(feature.index, 2)}x the customer-base average, {sign}{sheet.number(abs(change), 0)}%"
    )


def _feature_line(feature: Feature, sheet: FigureSheet) -> str:
    return f"  - {feature.name}: {sheet.amount(feature.mean, feature.unit)} ({_comparison(feature, sheet)})"


def _distinctiveness(feature: Feature) -> float:
    return abs(feature.index - 1) if feature.index is not None else 0.0


def shown_features(profile: SegmentProfile) -> tuple[Feature, ...]:
    """The core features, then the segment's most distinctive others, in table order."""
    extras = [feature for feature in profile.features if feature.name not in CORE_FEATURE_UNITS]
    ranked = sorted(extras, key=lambda feature: (-_distinctiveness(feature), feature.name))
    chosen = {feature.name for feature in ranked[:MAX_EXTRA_FEATURES]}
    return tuple(
        feature for feature in profile.features if feature.name in CORE_FEATURE_UNITS.keys() | chosen
    )


def _segment_block(profile: SegmentProfile, sheet: FigureSheet) -> str:
    sheet.numbers.add(Decimal(profile.segment_id))
    header = (
        f"Segment {profile.segment_id}: {sheet.number(profile.customers, 0)} customers "
        f"({sheet.percent(profile.customer_share)} of all customers), "
        f"{sheet.percent(profile.revenue_share)} of revenue"
        + (
            ""
            if profile.predicted_value_share is None
            else f", {sheet.percent(profile.predicted_value_share)} of the predicted value of the next period"
        )
        + "."
    )
    return "\n".join([header, *(_feature_line(feature, sheet) for feature in shown_features(profile))])


def _base_block(profiles: Sequence[SegmentProfile], sheet: FigureSheet) -> str:
    total = sum(profile.customers for profile in profiles)
    shown = {feature.name for profile in profiles for feature in shown_features(profile)}
    lines = [
        f"Customer base: {sheet.number(total, 0)} customers in {sheet.number(len(profiles), 0)} segments. "
        "Customer-base averages:"
    ]
    lines += [
        f"  - {feature.name}: {sheet.amount(feature.base_mean, feature.unit)}"
        for feature in profiles[0].features
        if feature.name in shown
    ]
    return "\n".join(lines)


def _titles_block(titles_taken: Sequence[str]) -> list[str]:
    if not titles_taken:
        return []
    listed = "; ".join(titles_taken)
    return [f"The other segments keep their personas; do not reuse their titles: {listed}."]


def build_prompt(
    profiles: Sequence[SegmentProfile],
    segment_ids: Sequence[int] | None = None,
    titles_taken: Sequence[str] = (),
) -> Prompt:
    """One prompt describing the segments `segment_ids` (all when None) against the customer base of all
    `profiles`; deterministic for the same arguments."""
    base_sheet = FigureSheet()
    base = _base_block(profiles, base_sheet)
    wanted = None if segment_ids is None else set(segment_ids)
    described = [profile for profile in profiles if wanted is None or profile.segment_id in wanted]
    described_ids = tuple(profile.segment_id for profile in described)
    base_sheet.numbers.update(Decimal(segment_id) for segment_id in described_ids)
    blocks, figures = [], {}
    for profile in described:
        sheet = FigureSheet()
        blocks.append(_segment_block(profile, sheet))
        figures[profile.segment_id] = frozenset(sheet.numbers | base_sheet.numbers)
    instructions = _INSTRUCTIONS.format(
        segment_ids=", ".join(map(str, described_ids)), channels=", ".join(CHANNELS), **LIMITS
    )
    text = "\n\n".join([instructions, *_titles_block(titles_taken), base, *blocks]) + "\n"
    return Prompt(
        text=text,
        version=PROMPT_VERSION,
        segment_ids=described_ids,
        figures=figures,
        titles_taken=tuple(titles_taken),
    )
