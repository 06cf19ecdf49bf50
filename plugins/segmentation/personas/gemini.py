"""The production writer: one Gemini `generateContent` call on Vertex AI, credentials from an Airflow connection.

The client comes from the Google provider's `GenAIGenerativeModelHook.get_genai_client`, so credentials and
project follow the connection. The hook's own `generate_content` returns only the text, and we need the
candidate's finish reason and the token counts, so we call the client it builds; endpoint, timeout and
retries travel as per-request `http_options` (google-genai retries nothing unless asked to).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import httpx
from airflow.providers.google.cloud.hooks.gen_ai import GenAIGenerativeModelHook
from google.genai import errors, types

from segmentation.gemini_settings import GeminiSettings, endpoint_problem
from segmentation.personas.profile import SegmentProfile
from segmentation.personas.prompt import Prompt
from segmentation.personas.response import response_json_schema
from segmentation.personas.writer import GeminiRequestRefused, Generation, PersonaGenerationError

log = logging.getLogger(__name__)

RETRIABLE_STATUS_CODES = (408, 429, 500, 502, 503, 504)


def _http_options(settings: GeminiSettings) -> types.HttpOptions:
    # Settings are validated when built; a copy made with model_copy(update=...) is not, so check again
    # right before the token would travel.
    if settings.base_url and (problem := endpoint_problem(settings.base_url)):
        raise GeminiRequestRefused(problem)
    return types.HttpOptions(
        base_url=settings.base_url,
        timeout=int(settings.timeout_seconds * 1000),
        retry_options=types.HttpRetryOptions(
            attempts=settings.max_attempts,
            initial_delay=settings.initial_backoff_seconds,
            max_delay=settings.max_backoff_seconds,
            exp_base=2,
            jitter=settings.initial_backoff_seconds,
            http_status_codes=list(RETRIABLE_STATUS_CODES),
        ),
    )


def _generate_config(settings: GeminiSettings) -> types.GenerateContentConfig:
    thinking = None
    if settings.thinking_budget is not None:
        thinking = types.ThinkingConfig(thinking_budget=settings.thinking_budget)
    return types.GenerateContentConfig(
        temperature=settings.temperature,
        max_output_tokens=settings.max_output_tokens,
        response_mime_type="application/json",
        response_json_schema=response_json_schema(),
        thinking_config=thinking,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        http_options=_http_options(settings),
    )


def _blocked_categories(candidate: types.Candidate) -> list[str]:
    return [
        str(rating.category.value)
        for rating in candidate.safety_ratings or []
        if rating.blocked and rating.category
    ]


def _answer_text(response: types.GenerateContentResponse) -> str:
    """The candidate's text, or a PersonaGenerationError saying why there is none worth validating."""
    feedback = response.prompt_feedback
    if feedback and feedback.block_reason:
        raise PersonaGenerationError(
            f"Gemini blocked the prompt ({feedback.block_reason.value}): {feedback.block_reason_message or ''}"
        )
    if not response.candidates:
        raise PersonaGenerationError("Gemini returned no candidate")
    candidate = response.candidates[0]
    if candidate.finish_reason != types.FinishReason.STOP:
        reason = candidate.finish_reason.value if candidate.finish_reason else "none"
        blocked = _blocked_categories(candidate)
        raise PersonaGenerationError(
            f"Gemini withheld or cut the answer: finish_reason={reason}"
            + (f", blocked categories {blocked}" if blocked else "")
        )
    if not response.text:
        raise PersonaGenerationError("Gemini's candidate has no text")
    return response.text


def _raw(response: types.GenerateContentResponse) -> dict[str, Any]:
    return response.model_dump(
        mode="json", exclude_none=True, exclude={"sdk_http_response", "automatic_function_calling_history"}
    )


def _call_failure(settings: GeminiSettings, problem: Exception) -> PersonaGenerationError:
    code = getattr(problem, "code", None)
    retried = (
        isinstance(problem, httpx.TimeoutException | httpx.ConnectError) or code in RETRIABLE_STATUS_CODES
    )
    detail = (
        f"timed out (limit {settings.timeout_seconds:g}s per attempt)"
        if isinstance(problem, httpx.TimeoutException)
        else str(problem)
    )
    if not retried:
        # The task's retries would send the same request again: fail the task at once (see retries.py).
        return GeminiRequestRefused(
            f"Gemini {settings.model} generateContent failed (not retriable): {detail}"
        )
    return PersonaGenerationError(
        f"Gemini {settings.model} generateContent failed after {settings.max_attempts} attempt(s): {detail}"
    )


class GeminiWriter:
    name = "gemini"

    def __init__(self, gcp_conn_id: str, settings: GeminiSettings) -> None:
        self.gcp_conn_id = gcp_conn_id
        self.settings = settings

    def _client(self):
        hook = GenAIGenerativeModelHook(gcp_conn_id=self.gcp_conn_id)
        project_id = self.settings.project_id or hook.project_id
        if not project_id:
            raise PersonaGenerationError(
                f"no Google Cloud project for Gemini: set `project` in connection {self.gcp_conn_id!r} "
                "or gemini project_id"
            )
        return hook.get_genai_client(project_id=project_id, location=self.settings.location)

    def write(self, prompt: Prompt, profiles: Sequence[SegmentProfile]) -> Generation:
        client = self._client()
        started = time.monotonic()
        try:
            response = client.models.generate_content(
                model=self.settings.model, contents=prompt.text, config=_generate_config(self.settings)
            )
        except (errors.APIError, httpx.TimeoutException, httpx.ConnectError) as problem:
            raise _call_failure(self.settings, problem) from problem
        latency_ms = round((time.monotonic() - started) * 1000)
        usage = response.usage_metadata or types.GenerateContentResponseUsageMetadata()
        output_tokens = (usage.candidates_token_count or 0) + (usage.thoughts_token_count or 0)
        log.info(
            "Gemini %s answered in %d ms: %s input tokens, %s output tokens",
            self.settings.model,
            latency_ms,
            usage.prompt_token_count,
            output_tokens,
        )
        return Generation(
            backend=self.name,
            model=response.model_version or self.settings.model,
            answer=_answer_text(response),
            raw_response=_raw(response),
            latency_ms=latency_ms,
            input_tokens=usage.prompt_token_count,
            output_tokens=output_tokens,
        )
