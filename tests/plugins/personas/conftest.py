from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from segmentation.gemini_settings import ENDPOINTS_ENVIRONMENT_VARIABLE, GeminiSettings
from segmentation.personas.profile import SegmentProfile, profiles_from_rows
from segmentation.personas.prompt import Prompt, build_prompt
from tests.fakes.gemini_server import FakeGemini

GEMINI_CONN_ID = "personas_gemini"


def _row(segment_id: int, customers: int, customer_share: float, revenue_share: float, **means: float):
    return {
        "snapshot_date": "2024-06-01",
        "segment_id": segment_id,
        "customers": customers,
        "customer_share": customer_share,
        "revenue_share": revenue_share,
        **means,
    }


@pytest.fixture
def profile_rows() -> list[dict[str, Any]]:
    """Four segments with distinct RFM positions, shaped like `segment_profiles` rows."""
    return [
        _row(0, 1200, 0.4, 0.15, recency_days=300.2, frequency=1.1, monetary=45.5, avg_order_value=41.0,
             tenure_days=500.0, return_ratio=0.05),
        _row(1, 300, 0.1, 0.35, recency_days=20.5, frequency=4.2, monetary=520.0, avg_order_value=123.8,
             tenure_days=700.0, return_ratio=0.08),
        _row(2, 900, 0.3, 0.30, recency_days=400.0, frequency=1.5, monetary=150.0, avg_order_value=100.0,
             tenure_days=800.0, return_ratio=0.12),
        _row(3, 600, 0.2, 0.20, recency_days=30.0, frequency=1.2, monetary=90.0, avg_order_value=75.0,
             tenure_days=60.0, return_ratio=0.02),
    ]  # fmt: skip


@pytest.fixture
def profiles(profile_rows) -> list[SegmentProfile]:
    return profiles_from_rows(profile_rows)


@pytest.fixture
def prompt(profiles) -> Prompt:
    return build_prompt(profiles)


def grounded_persona(segment_id: int, **overrides: Any) -> dict[str, Any]:
    """A valid persona that quotes only its segment id, which every prompt shows."""
    return {
        "segment_id": segment_id,
        "title": f"Segment {segment_id} Shoppers",
        "persona": f"Customers of segment {segment_id} who buy in their own rhythm and like curated picks.",
        "summary": f"Segment {segment_id} is a distinct group worth a tailored message.",
        "next_marketing_steps": [
            "Send a curated newsletter with personal recommendations.",
            "Offer early access to the next seasonal collection.",
            "Ask for a product review after the next delivery.",
        ],
        "recommended_channel": "email",
        **overrides,
    }


@pytest.fixture
def persona_document() -> Callable[..., dict[str, Any]]:
    """`persona_document(ids, {id: overrides})`: an answer document with a grounded persona per id."""

    def build(segment_ids, overrides: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
        overrides = overrides or {}
        return {"personas": [grounded_persona(i, **overrides.get(i, {})) for i in segment_ids]}

    return build


@pytest.fixture
def fake_gemini(monkeypatch) -> Iterator[FakeGemini]:
    """The fake Vertex AI server, reachable through Airflow connection `personas_gemini`, its URL an
    endpoint the deployment allows."""
    with FakeGemini() as gemini:
        monkeypatch.setenv(ENDPOINTS_ENVIRONMENT_VARIABLE, gemini.url)
        monkeypatch.setenv(
            f"AIRFLOW_CONN_{GEMINI_CONN_ID.upper()}", gemini.airflow_connection("persona-project")
        )
        yield gemini


@pytest.fixture
def gemini_settings(fake_gemini) -> GeminiSettings:
    """Fast retries and short timeouts against the fake server."""
    return GeminiSettings(
        base_url=fake_gemini.url,
        timeout_seconds=2,
        max_attempts=3,
        initial_backoff_seconds=0.01,
        max_backoff_seconds=0.05,
    )


# -- customer-level data, for privacy tests ---------------------------------------------------------------

_CUSTOMERS = [
    # customer id, email, name, street address, segment, recency, orders, spend
    (918273645, "ada.quintrell@example.com", "Ada Quintrell", "17 Larkspur Lane", 0, 12.0, 5, 640.25),
    (918273646, "bo.vendramin@example.org", "Bo Vendramin", "3 Harbour Row", 0, 30.0, 3, 410.75),
    (918273647, "cy.oyelaran@example.net", "Cy Oyelaran", "88 Quarry Street", 1, 400.0, 1, 35.10),
    (918273648, "di.marchetti@example.com", "Di Marchetti", "5 Orchard Close", 1, 365.0, 2, 58.40),
    (918273649, "ed.hallgrimsson@example.com", "Ed Hallgrimsson", "41 Mill Road", 1, 290.0, 1, 22.95),
]


def _segment_profile_rows(customers):
    """What segment_profiles holds for these customers: per-segment counts, shares and means."""
    total_customers, total_spend = len(customers), sum(c[7] for c in customers)
    rows = []
    for segment_id in sorted({c[4] for c in customers}):
        members = [c for c in customers if c[4] == segment_id]
        count = len(members)
        rows.append(
            {
                "snapshot_date": "2024-06-01",
                "segment_id": segment_id,
                "customers": count,
                "customer_share": count / total_customers,
                "revenue_share": sum(c[7] for c in members) / total_spend,
                "recency_days": sum(c[5] for c in members) / count,
                "frequency": sum(c[6] for c in members) / count,
                "monetary": sum(c[7] for c in members) / count,
            }
        )
    return rows


@pytest.fixture
def customers() -> list[tuple]:
    """Customers with identifiers, emails, names and addresses: none of it may reach a prompt."""
    return _CUSTOMERS


@pytest.fixture
def customers_profile_rows() -> list[dict[str, Any]]:
    return _segment_profile_rows(_CUSTOMERS)


@pytest.fixture
def gemini_conn_id() -> str:
    return GEMINI_CONN_ID
