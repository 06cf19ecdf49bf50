"""What `validate_config` checks beyond the params themselves: the deployment settings they combine with.

A run's params can be valid on their own and still fail late: the Gemini settings are the deployment's
Variable with the run's options on top, and a connection named by a param may not exist. Each is checked
here, before the first BigQuery job, and reported as a ConfigError, which the retry policy does not retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from airflow.sdk import BaseHook, Variable
from airflow.sdk.exceptions import AirflowNotFoundException
from pydantic import ValidationError

from segmentation.config import ConfigError, PipelineConfig, describe, unkept_report_problem
from segmentation.gemini_settings import GEMINI_VARIABLE, gemini_settings

PERSONA_BACKENDS = ("auto", "gemini", "offline")
PERSONA_BACKEND_VARIABLE = "segmentation_persona_backend"  # the deployment's default persona writer


def connection_exists(conn_id: str) -> bool:
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


def gemini_problems(config: PipelineConfig) -> list[str]:
    """The merged Gemini settings (Variable, then the run's gemini param) must validate."""
    try:
        gemini_settings(config.gemini)
    except ValidationError as error:
        detail = describe(error).removeprefix("invalid pipeline settings: ")
        return [f"Gemini settings (Variable {GEMINI_VARIABLE} with the run's gemini over it): {detail}"]
    except (json.JSONDecodeError, TypeError) as error:
        return [f"Variable {GEMINI_VARIABLE} must be a JSON object of Gemini settings: {error}"]
    return []


def persona_connection_problems(config: PipelineConfig) -> list[str]:
    """A persona writer that will call Gemini, or a gemini_conn_id named outright, needs that connection."""
    requested = config.persona_backend or Variable.get(PERSONA_BACKEND_VARIABLE, default="auto")
    if requested not in PERSONA_BACKENDS:
        return [
            f"Variable {PERSONA_BACKEND_VARIABLE} is {requested!r}; choose one of {list(PERSONA_BACKENDS)}"
        ]
    conn_id = config.gemini_conn_id or config.gcp_conn_id
    if (requested == "gemini" or config.gemini_conn_id) and not connection_exists(conn_id):
        setting = "gemini_conn_id" if config.gemini_conn_id else "gcp_conn_id (the Gemini connection)"
        return [f"{setting}: there is no Airflow connection {conn_id!r}"]
    return []


def report_destination_problems(config: PipelineConfig) -> list[str]:
    """A local report destination needs a deployment that keeps its folder."""
    problem = unkept_report_problem(config.report_destination)
    return [problem] if problem else []


CHECKS: tuple[Callable[[PipelineConfig], list[str]], ...] = (
    gemini_problems,
    persona_connection_problems,
    report_destination_problems,
)


def check_deployment(config: PipelineConfig) -> None:
    """ConfigError naming every problem of the run's settings with the deployment's, or nothing."""
    problems = [problem for check in CHECKS for problem in check(config)]
    if problems:
        raise ConfigError("invalid pipeline settings: " + "; ".join(problems))
