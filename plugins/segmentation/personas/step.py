"""The persona step end to end: profiles in, one model call, full validation, one MERGE out.

Nothing is written unless the whole answer validated, so a misbehaving model fails the task with the
reasons and writes nothing: publishing the snapshot already removed the personas of the segments it
replaced, so a snapshot never shows another clustering's personas.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from airflow.sdk import BaseHook, Variable
from airflow.sdk.exceptions import AirflowNotFoundException

from segmentation.gemini_settings import GeminiOptions, GeminiSettings, gemini_settings
from segmentation.personas.gemini import GeminiWriter
from segmentation.personas.offline import OfflineWriter
from segmentation.personas.profile import ProfileError, SegmentProfile, profiles_from_rows
from segmentation.personas.prompt import Prompt, build_prompt
from segmentation.personas.response import Persona
from segmentation.personas.store import PersonaStore, Warehouse
from segmentation.personas.validation import PersonaValidationError, validate_answer
from segmentation.personas.writer import Generation, PersonaWriter
from segmentation.preflight import PERSONA_BACKEND_VARIABLE as BACKEND_VARIABLE
from segmentation.preflight import PERSONA_BACKENDS as BACKENDS

log = logging.getLogger(__name__)


def gemini_credentials_configured(gcp_conn_id: str) -> bool:
    """Whether the connection can reach Vertex AI: it exists and is not anonymous (the local setup)."""
    try:
        connection = BaseHook.get_connection(gcp_conn_id)
    except AirflowNotFoundException:
        return False
    return not connection.extra_dejson.get("is_anonymous", False)


def resolve_backend(requested: str, gemini_conn_id: str) -> str:
    """`gemini` or `offline`; `auto` picks Gemini only when the connection carries credentials."""
    if requested not in BACKENDS:
        raise ValueError(f"unknown persona backend {requested!r}; choose one of {BACKENDS}")
    if requested != "auto":
        return requested
    return "gemini" if gemini_credentials_configured(gemini_conn_id) else "offline"


def make_writer(
    backend: str, gemini_conn_id: str, gemini: GeminiSettings | GeminiOptions | Mapping[str, Any] | None
) -> PersonaWriter:
    if backend == "offline":
        return OfflineWriter()
    return GeminiWriter(gemini_conn_id, gemini_settings(gemini))


@dataclass(frozen=True)
class Draft:
    """Validated personas with the prompt and the generation they came from, ready to store."""

    prompt: Prompt
    generation: Generation
    personas: list[Persona]


def draft_personas(profiles: Sequence[SegmentProfile], writer: PersonaWriter) -> Draft:
    """One prompt, one backend call, and the answer validated in full (PersonaValidationError otherwise)."""
    prompt = build_prompt(profiles)
    log.info(
        "Persona prompt %s (sha256 %s) for segments %s", prompt.version, prompt.sha256, prompt.segment_ids
    )
    generation = writer.write(prompt, profiles)
    try:
        personas = validate_answer(generation.answer, prompt, generation.backend)
    except PersonaValidationError:
        # The answer holds aggregates and prose only; logging it lets an operator see what went wrong.
        log.warning(
            "Rejected %s answer (first 4000 characters): %s", generation.backend, generation.answer[:4000]
        )
        raise
    return Draft(prompt, generation, personas)


def _summary(snapshot_date: date, draft: Draft, generated_at: datetime) -> dict[str, Any]:
    generation = draft.generation
    return {
        "snapshot_date": snapshot_date.isoformat(),
        "segments": len(draft.personas),
        "titles": {str(persona.segment_id): persona.title for persona in draft.personas},
        "backend": generation.backend,
        "model": generation.model,
        "prompt_version": draft.prompt.version,
        "prompt_sha256": draft.prompt.sha256,
        "input_tokens": generation.input_tokens,
        "output_tokens": generation.output_tokens,
        "latency_ms": generation.latency_ms,
        "generated_at": generated_at.isoformat(),
    }


def generate_personas(
    *,
    snapshot_date: date | str,
    project_id: str,
    dataset: str,
    gcp_conn_id: str = "google_cloud_default",
    location: str | None = None,
    backend: str | None = None,
    gemini_conn_id: str | None = None,
    gemini: GeminiSettings | GeminiOptions | Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write `segment_personas` for one snapshot from its `segment_profiles`; returns a summary for XCom.

    :param snapshot_date: the run's snapshot (date or ISO string).
    :param project_id, dataset, location: where `segment_profiles` / `segment_personas` live.
    :param gcp_conn_id: Airflow connection for BigQuery.
    :param backend: "gemini", "offline" or "auto" (Gemini when `gemini_conn_id` has credentials);
        None reads the `segmentation_persona_backend` Variable, "auto" when unset.
    :param gemini_conn_id: Airflow connection for Vertex AI; defaults to `gcp_conn_id`.
    :param gemini: GeminiSettings fields (model, location, temperature, timeout_seconds, max_attempts, ...)
        over those of the `segmentation_gemini` Variable (a JSON object).
    """
    snapshot = snapshot_date if isinstance(snapshot_date, date) else date.fromisoformat(snapshot_date)
    store = PersonaStore(Warehouse(gcp_conn_id, project_id, dataset, location))
    rows = store.profile_rows(snapshot)
    if not rows:
        raise ProfileError(
            f"no rows in {store.warehouse.table('segment_profiles')} for snapshot_date {snapshot}; "
            "the profiles step must run first"
        )
    requested = backend or Variable.get(BACKEND_VARIABLE, default="auto")
    chosen = resolve_backend(requested, gemini_conn_id or gcp_conn_id)
    draft = draft_personas(
        profiles_from_rows(rows), make_writer(chosen, gemini_conn_id or gcp_conn_id, gemini)
    )
    generated_at = datetime.now(UTC)
    store.replace_personas(snapshot, draft.personas, draft.generation, draft.prompt, generated_at)
    summary = _summary(snapshot, draft, generated_at)
    log.info(
        "Wrote %d personas for %s with backend=%s model=%s (input tokens %s, output tokens %s, %d ms)",
        summary["segments"],
        snapshot,
        summary["backend"],
        summary["model"],
        summary["input_tokens"],
        summary["output_tokens"],
        summary["latency_ms"],
    )
    return summary
