"""The persona writer protocol every backend implements (Gemini, offline), and what a writer hands back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from segmentation.personas.profile import SegmentProfile
from segmentation.personas.prompt import Prompt


class PersonaGenerationError(RuntimeError):
    """The backend gave no usable answer (exhausted retries, blocked or truncated candidate, ...)."""


class GeminiRequestRefused(PersonaGenerationError):
    """Gemini refused the request itself (a 4xx other than 408 and 429): the same request fails again."""


@dataclass(frozen=True)
class Generation:
    """One backend call: the JSON answer still to be validated, with its cost and provenance."""

    backend: str
    model: str
    answer: str
    raw_response: dict[str, Any]
    latency_ms: int
    input_tokens: int | None = None
    output_tokens: int | None = None


class PersonaWriter(Protocol):
    name: str

    def write(self, prompt: Prompt, profiles: Sequence[SegmentProfile]) -> Generation: ...
