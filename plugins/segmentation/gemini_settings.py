"""Gemini's settings: what a run may choose, and the endpoint only the deployment may set.

A run's conf is untrusted: whoever may trigger the DAG must not be able to send the Gemini connection's
OAuth token somewhere else. So a run chooses the model and how to call it (`GeminiOptions`, the `gemini`
param), while the endpoint (`base_url`) comes only from the deployment's Airflow Variable
`segmentation_gemini`, and even there only a Vertex AI host or an endpoint the deployment's environment
lists in `SEGMENTATION_GEMINI_ENDPOINTS` is accepted. Without a `base_url` google-genai derives the host
from `location`, which is therefore held to the shape of a Google Cloud region.

This module is imported when the DAG is parsed, so it needs neither google-genai nor a provider hook.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

GEMINI_VARIABLE = "segmentation_gemini"  # JSON object of GeminiSettings fields: the deployment's defaults
ENDPOINTS_ENVIRONMENT_VARIABLE = "SEGMENTATION_GEMINI_ENDPOINTS"  # comma-separated private endpoint URLs
# Vertex AI's global and regional endpoints: aiplatform.googleapis.com, us-central1-aiplatform.googleapis.com
# (https://cloud.google.com/vertex-ai/docs/reference/rest#service-endpoint).
VERTEX_AI_HOST = re.compile(r"^([a-z]+-[a-z]+[0-9]+-)?aiplatform\.googleapis\.com$")
# A Google Cloud region (us-central1, europe-west4, northamerica-northeast1) or Vertex AI's `global`.
GEMINI_LOCATION_PATTERN = r"^(global|[a-z]+-[a-z]+[0-9]+)$"
# A publisher model id or version: gemini-2.5-flash, gemini-2.0-flash-001.
GEMINI_MODEL_PATTERN = r"^[a-z0-9][a-z0-9.@-]{0,127}$"
PROJECT_ID_PATTERN = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$"


class GeminiOptions(BaseModel):
    """What a run may set in its `gemini` param, over the deployment's Variable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(default="gemini-2.5-flash", pattern=GEMINI_MODEL_PATTERN)
    location: str = Field(default="us-central1", pattern=GEMINI_LOCATION_PATTERN)
    project_id: str | None = Field(
        default=None, pattern=PROJECT_ID_PATTERN, description="Defaults to the connection's project."
    )
    temperature: float = Field(default=0.4, ge=0, le=2)
    timeout_seconds: float = Field(default=120, gt=0, le=600, description="Per attempt.")
    max_attempts: int = Field(default=5, ge=1, le=10)
    initial_backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    max_backoff_seconds: float = Field(default=32.0, ge=0, le=600)
    max_output_tokens: int = Field(default=8192, ge=1, le=65536)
    thinking_budget: int | None = Field(
        default=0,
        ge=-1,
        le=32768,
        description="Thinking tokens are billed as output; 0 turns thinking off, -1 lets the model decide, "
        "None leaves the model's default.",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_endpoint_from_a_run(cls, data: Any) -> Any:
        # Named here rather than left to extra="forbid", so the refusal says why; GeminiSettings, which
        # has the field and is built from the deployment's Variable, inherits this check but skips it.
        if isinstance(data, Mapping) and "base_url" in data and cls is GeminiOptions:
            raise ValueError(
                "gemini.base_url cannot be set by a run: the Gemini endpoint comes from the deployment "
                f"(Airflow Variable {GEMINI_VARIABLE}), so a run's conf cannot redirect the connection's token"
            )
        return data


def private_endpoints(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The endpoints besides Vertex AI's that the deployment allows, from SEGMENTATION_GEMINI_ENDPOINTS."""
    listed = environ.get(ENDPOINTS_ENVIRONMENT_VARIABLE, "")
    return frozenset(url.strip().rstrip("/") for url in listed.split(",") if url.strip())


def endpoint_problem(base_url: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Why the token may not go to `base_url`, or None when it is Vertex AI or an allowed private endpoint."""
    if base_url.rstrip("/") in private_endpoints(environ):
        return None
    parts = urlsplit(base_url)
    if parts.scheme == "https" and parts.port in (None, 443) and VERTEX_AI_HOST.match(parts.hostname or ""):
        return None
    return (
        f"gemini base_url {base_url!r} is neither a Vertex AI endpoint (https://[region-]aiplatform.googleapis.com) "
        f"nor listed in {ENDPOINTS_ENVIRONMENT_VARIABLE}"
    )


class GeminiSettings(GeminiOptions):
    """Every Gemini setting of a run: the deployment's Variable, the run's options over it."""

    base_url: str | None = Field(
        default=None,
        description=f"A private endpoint or proxy instead of Vertex AI's; it must be listed in "
        f"{ENDPOINTS_ENVIRONMENT_VARIABLE}.",
    )

    @field_validator("base_url")
    @classmethod
    def _allowed_endpoint(cls, base_url: str | None) -> str | None:
        if base_url is not None and (problem := endpoint_problem(base_url)):
            raise ValueError(problem)
        return base_url


def gemini_settings(
    overrides: GeminiOptions | Mapping[str, Any] | None, deployment: Mapping[str, Any] | None = None
) -> GeminiSettings:
    """The deployment's settings (the `segmentation_gemini` Variable unless given) with a run's on top."""
    if isinstance(overrides, GeminiSettings):
        return overrides
    if deployment is None:
        from airflow.sdk import Variable

        deployment = Variable.get(GEMINI_VARIABLE, default={}, deserialize_json=True)
    if not isinstance(overrides, GeminiOptions):
        overrides = GeminiOptions.model_validate(overrides or {})
    return GeminiSettings.model_validate({**deployment, **overrides.model_dump(exclude_unset=True)})
