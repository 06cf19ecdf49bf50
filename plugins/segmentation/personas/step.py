"""The persona step end to end: profiles in, at most one model call, full validation, one MERGE out.

Personas follow change, not the calendar (segmentation.personas.refresh): a segment keeps its previous
persona unless it is new or moved past the refresh thresholds, and only the segments that changed go to the
writer — none at all on a quiet day, so no model call. Nothing is written unless the whole answer
validated, so a misbehaving model fails the task with the reasons and writes nothing: publishing the
snapshot already removed the personas of the segments it replaced, so a snapshot never shows another
clustering's personas.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from airflow.sdk import BaseHook, Variable
from airflow.sdk.exceptions import AirflowNotFoundException

from segmentation.gemini_settings import GeminiOptions, GeminiSettings, gemini_settings
from segmentation.personas.gemini import GeminiWriter
from segmentation.personas.offline import OfflineWriter
from segmentation.personas.profile import ProfileError, SegmentProfile, profiles_from_rows
from segmentation.personas.prompt import build_prompt
from segmentation.personas.refresh import (
    RefreshPlan,
    RefreshThresholds,
    SegmentHistory,
    default_thresholds,
    plan_refresh,
)
from segmentation.personas.store import Draft, PersonaStore, Warehouse
from segmentation.personas.validation import PersonaValidationError, validate_answer
from segmentation.personas.writer import PersonaWriter
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


def draft_personas(
    profiles: Sequence[SegmentProfile],
    writer: PersonaWriter,
    segment_ids: Sequence[int] | None = None,
    titles_taken: Sequence[str] = (),
) -> Draft:
    """One prompt for the segments `segment_ids` (all when None) against the whole base of `profiles`, one
    backend call, and the answer validated in full (PersonaValidationError otherwise); the new titles must
    differ from `titles_taken`, those the other segments keep."""
    prompt = build_prompt(profiles, segment_ids, titles_taken)
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


def _summary(
    snapshot_date: date, plan: RefreshPlan, draft: Draft | None, generated_at: datetime
) -> dict[str, Any]:
    generation = draft.generation if draft else None
    titles = {segment_id: segment.title for segment_id, segment in plan.carried.items()}
    titles |= {persona.segment_id: persona.title for persona in draft.personas} if draft else {}
    return {
        "snapshot_date": snapshot_date.isoformat(),
        "segments": len(titles),
        "titles": {str(segment_id): titles[segment_id] for segment_id in sorted(titles)},
        "refreshed": {str(segment_id): reason for segment_id, reason in sorted(plan.refresh.items())},
        "carried": {
            str(segment_id): segment.written_for_snapshot.isoformat()
            for segment_id, segment in sorted(plan.carried.items())
        },
        "backend": generation.backend if generation else None,
        "model": generation.model if generation else None,
        "prompt_version": draft.prompt.version if draft else None,
        "prompt_sha256": draft.prompt.sha256 if draft else None,
        "input_tokens": generation.input_tokens if generation else None,
        "output_tokens": generation.output_tokens if generation else None,
        "latency_ms": generation.latency_ms if generation else None,
        "generated_at": generated_at.isoformat(),
    }


def _log_plan(snapshot: date, plan: RefreshPlan) -> None:
    for segment_id, reason in sorted(plan.refresh.items()):
        log.info("%s segment %d gets a new persona: %s", snapshot, segment_id, reason)
    for segment_id, segment in sorted(plan.carried.items()):
        log.info(
            "%s segment %d keeps its persona %r, written for %s",
            snapshot,
            segment_id,
            segment.title,
            segment.written_for_snapshot,
        )


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
    thresholds: RefreshThresholds | None = None,
    job_labels: Mapping[str, str] | None = None,
    maximum_bytes_billed: int | None = None,
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
    :param thresholds: how far a segment may move before its persona is rewritten; None: the params'
        defaults (persona_refresh_shift, persona_refresh_size_pct).
    :param job_labels: the labels of the run's BigQuery jobs (plugins/segmentation/costs.py).
    :param maximum_bytes_billed: the run's cap on the bytes each of its query jobs may bill (None: none).
    """
    snapshot = snapshot_date if isinstance(snapshot_date, date) else date.fromisoformat(snapshot_date)
    store = PersonaStore(
        Warehouse(gcp_conn_id, project_id, dataset, location, job_labels or {}, maximum_bytes_billed)
    )
    store.create_table()
    histories = [SegmentHistory.from_row(row) for row in store.segment_histories(snapshot)]
    if not histories:
        raise ProfileError(
            f"no rows in {store.warehouse.table('segment_profiles')} for snapshot_date {snapshot}; "
            "the profiles step must run first"
        )
    requested = backend or Variable.get(BACKEND_VARIABLE, default="auto")
    chosen = resolve_backend(requested, gemini_conn_id or gcp_conn_id)
    plan = plan_refresh(histories, thresholds or default_thresholds(), chosen)
    _log_plan(snapshot, plan)
    draft = None
    if plan.refresh:  # a quiet day reads no profile and calls no model
        profiles = profiles_from_rows(store.profile_rows(snapshot))
        writer = make_writer(chosen, gemini_conn_id or gcp_conn_id, gemini)
        draft = draft_personas(profiles, writer, sorted(plan.refresh), plan.carried_titles)
    generated_at = datetime.now(UTC)
    store.replace_personas(snapshot, draft, generated_at, plan.carried_from, sorted(plan.carried))
    summary = _summary(snapshot, plan, draft, generated_at)
    log.info(
        "Wrote %d personas for %s (%d new, %d carried over) with backend=%s model=%s "
        "(input tokens %s, output tokens %s, %s ms)",
        summary["segments"],
        snapshot,
        len(plan.refresh),
        len(plan.carried),
        summary["backend"],
        summary["model"],
        summary["input_tokens"],
        summary["output_tokens"],
        summary["latency_ms"],
    )
    return summary
