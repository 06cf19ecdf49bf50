"""The embedded writer for runs without Gemini: names segments from their RFM position, deterministically.

Each segment is placed high / mid / low on recency, frequency, monetary value and tenure relative to the
whole customer base. Archetypes are handed out in order, each to the segment that fits its rule most
strongly, so two segments never share a title: the runner-up falls through to the next archetype it fits
(a second big-spending frequent segment becomes Loyal Regulars rather than a second Champions). Several
segments share a title, told apart by their ids, only when they are all average customers or a runner-up
fits nothing else but average. Figures are rendered with the prompt's own `FigureSheet`, so every number
quoted is one the validator finds in the profile.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from segmentation.personas.profile import SegmentProfile
from segmentation.personas.prompt import FigureSheet, Prompt
from segmentation.personas.writer import Generation

OFFLINE_MODEL = "rfm-archetypes-2"

# A segment is "high" or "low" on a dimension when its mean is this far above or below the base mean.
_HIGH, _LOW = 1.15, 0.85
# Returns drive a persona only when they dominate: at least twice the base's return ratio.
_RETURNS_DOMINANT = 2.0


@dataclass(frozen=True)
class Position:
    """Where a segment sits against the base; None when the feature set lacks that dimension.

    An archetype only fits on dimensions that are present, so the figures it quotes always exist.
    """

    recency: str | None
    frequency: str | None
    monetary: str | None
    tenure: str | None
    returns_dominant: bool = False


def _level(index: float | None) -> str | None:
    if index is None:
        return None
    return "high" if index >= _HIGH else "low" if index <= _LOW else "mid"


def position_of(profile: SegmentProfile) -> Position:
    def level(name: str) -> str | None:
        feature = profile.feature(name)
        return _level(feature.index) if feature else None

    returns = profile.feature("return_ratio")
    return Position(
        recency=level("recency_days"),
        frequency=level("frequency"),
        monetary=level("monetary"),
        tenure=level("tenure_days"),
        returns_dominant=bool(returns and returns.index is not None and returns.index >= _RETURNS_DOMINANT),
    )


@dataclass(frozen=True)
class Archetype:
    title: str
    fits: Callable[[Position], bool]
    persona: str
    summary: str
    steps: tuple[str, str, str]
    channel: str
    # (feature, +1 or -1): how far a segment sits above (+1) or below (-1) the base on these features
    # decides which of the segments that fit the archetype gets it. Empty: any number of segments may share it.
    leans: tuple[tuple[str, int], ...] = ()

    def strength(self, profile: SegmentProfile) -> float:
        """Sum of the signed log-indices of the features the archetype leans on (0 = the base average)."""
        total = 0.0
        for name, direction in self.leans:
            feature = profile.feature(name)
            if feature and feature.index:
                total += direction * math.log(feature.index)
        return total


_SIZE = "{customers} customers ({customer_share} of all customers) bringing {revenue_share} of revenue"

# Each rule stands on its own (no rule relies on an earlier one having failed), because a segment that loses
# an archetype to a stronger one falls through to the next it fits. In order of precedence.
ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        title="Serial Returners",
        fits=lambda p: p.returns_dominant,
        persona=(
            "Customers who send back much of what they buy: a return ratio of {return_ratio} "
            "({return_ratio_vs_base} the customer-base average). They shop to try on, and every return costs "
            "shipping and handling on top of the lost sale."
        ),
        summary=_SIZE + "; their margin depends on fewer returns, not more orders.",
        steps=(
            "Add size guides, fit reviews and detailed photos to the product pages they return most from.",
            "Steer them to in-store or drop-off returns instead of paid courier pick-ups.",
            "Leave them out of discount pushes that encourage speculative over-ordering.",
        ),
        channel="email",
        leans=(("return_ratio", 1),),
    ),
    Archetype(
        title="Lapsed High-Value Customers",
        fits=lambda p: p.monetary == "high" and p.recency == "high",
        persona=(
            "Former big spenders, averaging {monetary} ({monetary_vs_base} the customer-base average), who have gone "
            "quiet: their last order was {recency_days} ago on average. They trusted the store with large "
            "baskets before, so they are worth a personal effort to win back."
        ),
        summary=_SIZE + "; high value at high risk of churning for good.",
        steps=(
            "Send a personal win-back email recalling their favourite categories with a loyalty-tier reward.",
            "Ask for quick feedback on why they stopped ordering and share the answers with merchandising.",
            "Retarget them on paid social with new arrivals in the categories they used to buy.",
        ),
        channel="email",
        leans=(("monetary", 1), ("recency_days", 1)),
    ),
    Archetype(
        title="Champions",
        fits=lambda p: p.monetary == "high" and p.frequency == "high" and p.recency != "high",
        persona=(
            "The store's best customers: they order often ({frequency} on average, {frequency_vs_base} the "
            "customer-base average) and spend {monetary} each, and they are still active. They respond to recognition "
            "more than to discounts."
        ),
        summary=_SIZE + "; protect this group first.",
        steps=(
            "Invite them to a VIP tier with early access to launches and free express shipping.",
            "Ask for reviews and referrals with a double-sided referral reward.",
            "Exclude them from blanket discount campaigns to protect margin.",
        ),
        channel="loyalty_program",
        leans=(("monetary", 1), ("frequency", 1)),
    ),
    Archetype(
        title="Big-Ticket Occasionals",
        fits=lambda p: p.monetary == "high" and p.frequency != "high" and p.recency != "high",
        persona=(
            "Customers who do not order often but spend {monetary} on average ({monetary_vs_base} the "
            "customer-base average). Each purchase is considered; they research before buying and value "
            "quality and service."
        ),
        summary=_SIZE + "; raising their purchase frequency is the main lever.",
        steps=(
            "Follow each purchase with care guides and complementary premium products.",
            "Send replenishment and upgrade reminders timed to their typical buying cycle.",
            "Offer white-glove service such as extended returns on high-value orders.",
        ),
        channel="email",
        leans=(("monetary", 1), ("frequency", -1)),
    ),
    Archetype(
        title="Loyal Regulars",
        fits=lambda p: p.frequency == "high" and p.recency != "high",
        persona=(
            "Habitual shoppers who order often ({frequency} on average, {frequency_vs_base} the "
            "customer-base average). They like the store's routine and convenience."
        ),
        summary=_SIZE + "; steady repeat revenue to keep in the habit.",
        steps=(
            "Recommend bundles and complementary items to lift the average basket.",
            "Reward streaks of repeat orders through the loyalty programme.",
            "Send app push alerts for restocks of the items they buy repeatedly.",
        ),
        channel="push",
        leans=(("frequency", 1),),
    ),
    Archetype(
        title="New Arrivals",
        fits=lambda p: p.tenure == "low" and p.recency != "high",
        persona=(
            "Recently acquired customers: {tenure_days} with the store on average ({tenure_days_vs_base} the "
            "customer-base average). They are still forming an opinion of the brand and of its service."
        ),
        summary=_SIZE + "; the second order decides whether they stay.",
        steps=(
            "Run a welcome journey that introduces best sellers and the returns policy.",
            "Offer an incentive on the second order, valid for a limited time.",
            "Ask about their preferences to personalise later recommendations.",
        ),
        channel="email",
        leans=(("tenure_days", -1),),
    ),
    Archetype(
        title="Dormant Bargain Hunters",
        fits=lambda p: p.recency == "high" and p.monetary == "low",
        persona=(
            "Low spenders ({monetary} on average) who have not ordered for {recency_days} on average. They came "
            "for a deal and have drifted away."
        ),
        summary=_SIZE + "; cheap to reactivate, low value if not.",
        steps=(
            "Include them only in low-cost automated reactivation flows.",
            "Promote clearance and value ranges rather than full-price launches.",
            "Suppress them from paid media until they engage again.",
        ),
        channel="email",
        leans=(("recency_days", 1), ("monetary", -1)),
    ),
    Archetype(
        title="Drifting Customers",
        fits=lambda p: p.recency == "high",
        persona=(
            "Customers whose last order was {recency_days} ago on average "
            "({recency_days_vs_base} the customer-base average). Their interest is fading but not gone."
        ),
        summary=_SIZE + "; reach them before they lapse.",
        steps=(
            "Send a 'we saved your favourites' reminder built from their browsing and purchase history.",
            "Test a time-limited free-shipping offer to prompt the next order.",
            "Retarget them on social with seasonal collections.",
        ),
        channel="paid_social",
        leans=(("recency_days", 1),),
    ),
    Archetype(
        title="Steady Core Customers",
        fits=lambda p: True,
        persona=(
            "Mainstream customers close to the store's average on most measures. They buy at a normal pace "
            "and respond to relevant, well-timed offers."
        ),
        summary=_SIZE + "; a stable base to nurture.",
        steps=(
            "Personalise the regular newsletter with recommendations from their purchase history.",
            "Invite them to join the loyalty programme to lift repeat purchases.",
            "Cross-sell adjacent categories they have not bought yet.",
        ),
        channel="email",
    ),
)


def _facts(profile: SegmentProfile) -> dict[str, str]:
    """The figures an archetype may quote, formatted exactly as the prompt shows them."""
    sheet = FigureSheet()
    facts = {
        "customers": sheet.number(profile.customers, 0),
        "customer_share": sheet.percent(profile.customer_share),
        "revenue_share": sheet.percent(profile.revenue_share),
    }
    if profile.predicted_value_share is not None:
        facts["predicted_value_share"] = sheet.percent(profile.predicted_value_share)
    for feature in profile.features:
        facts[feature.name] = sheet.amount(feature.mean, feature.unit)
        if feature.index is not None:
            facts[f"{feature.name}_vs_base"] = f"{sheet.number(feature.index, 2)}x"
    return facts


def archetype_of(profile: SegmentProfile) -> Archetype:
    """The first archetype a segment fits on its own, before others compete for it."""
    position = position_of(profile)
    return next(archetype for archetype in ARCHETYPES if archetype.fits(position))


def assign_archetypes(
    profiles: Sequence[SegmentProfile], titles_taken: frozenset[str] = frozenset()
) -> list[Archetype]:
    """An archetype per segment: each in turn goes to the strongest of the unassigned segments it fits
    (ties to the lower segment id); a catch-all archetype goes to all of them. An archetype whose title a
    segment outside `profiles` keeps is not handed out again.

    A segment left with only the catch-all keeps the archetype it fits first, shared, rather than being
    called average.
    """
    positions = [position_of(profile) for profile in profiles]
    assigned: dict[int, Archetype] = {}
    for archetype in ARCHETYPES:
        candidates = [
            index
            for index, position in enumerate(positions)
            if index not in assigned and archetype.fits(position)
        ]
        if archetype.leans and archetype.title in titles_taken:
            continue
        if not archetype.leans:
            assigned.update({index: archetype_of(profiles[index]) for index in candidates})
        elif candidates:
            strongest = max(
                candidates,
                key=lambda index: (archetype.strength(profiles[index]), -profiles[index].segment_id),
            )
            assigned[strongest] = archetype
    return [assigned[index] for index in range(len(profiles))]


def _predicted_value(facts: dict[str, str]) -> str:
    """What the customer value model expects of the segment, when the profile has it."""
    if "predicted_value_share" not in facts or "avg_predicted_value" not in facts:
        return ""
    return (
        f" Predicted to bring {facts['predicted_value_share']} of next period's value, "
        f"{facts['avg_predicted_value']} per customer."
    )


def _persona(profile: SegmentProfile, archetype: Archetype, title: str) -> dict[str, object]:
    facts = _facts(profile)
    return {
        "segment_id": profile.segment_id,
        "title": title,
        "persona": archetype.persona.format_map(facts),
        "summary": archetype.summary.format_map(facts) + _predicted_value(facts),
        "next_marketing_steps": list(archetype.steps),
        "recommended_channel": archetype.channel,
    }


def _titles(
    profiles: Sequence[SegmentProfile], archetypes: list[Archetype], titles_taken: frozenset[str]
) -> list[str]:
    """Archetype titles, made distinct with the segment id where segments share an archetype or another
    segment keeps its title."""
    counts = Counter(archetype.title for archetype in archetypes)
    return [
        archetype.title
        if counts[archetype.title] == 1 and archetype.title not in titles_taken
        else f"{archetype.title} (Segment {profile.segment_id})"
        for profile, archetype in zip(profiles, archetypes, strict=True)
    ]


class OfflineWriter:
    name = "offline"

    def write(self, prompt: Prompt, profiles: Sequence[SegmentProfile]) -> Generation:
        started = time.monotonic()
        described = [profile for profile in profiles if profile.segment_id in prompt.segment_ids]
        taken = frozenset(prompt.titles_taken)
        archetypes = assign_archetypes(described, taken)
        personas = [
            _persona(profile, archetype, title)
            for profile, archetype, title in zip(
                described, archetypes, _titles(described, archetypes, taken), strict=True
            )
        ]
        document = {"personas": personas}
        return Generation(
            backend=self.name,
            model=OFFLINE_MODEL,
            answer=json.dumps(document),
            raw_response=document,
            latency_ms=round((time.monotonic() - started) * 1000),
        )
