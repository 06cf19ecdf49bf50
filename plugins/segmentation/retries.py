"""Retry what a retry can fix, fail at once what it cannot.

Transient failures (quota, network, a backend hiccup, a model answer that failed validation) get the
task's retries with exponential backoff. Invalid settings, missing or bad inputs and failed quality
gates do not: a retry would run with the same settings on the same data, so it only delays the alert
by the whole backoff.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import RetryDecision, RetryPolicy

# Every gate in include/sql/gates raises ERROR('<gate> gate failed: <what is wrong>').
GATE_FAILED = "gate failed:"

# By import path, so that parsing the DAG does not import the persona step's client libraries.
NOT_RETRYABLE = frozenset(
    {
        "segmentation.config.ConfigError",
        "segmentation.sources.SourceMappingError",
        "segmentation.personas.profile.ProfileError",
        "segmentation.personas.writer.GeminiRequestRefused",  # a 4xx: the same request fails again
        "pydantic_core._pydantic_core.ValidationError",  # settings the persona step refused
        "segmentation.run_outputs.MissingRunOutputs",  # the persona step or the report already failed
    }
)


def _is_not_retryable(exception: BaseException) -> bool:
    return any(f"{cls.__module__}.{cls.__qualname__}" in NOT_RETRYABLE for cls in type(exception).__mro__)


# BigQuery refused the SQL itself, or the job would bill more than maximum_bytes_billed allows: the same
# text on the same data fails the same way again.
REFUSED_REASONS = frozenset({"invalidQuery", "bytesBilledLimitExceeded"})


def _is_invalid_query(exception: BaseException) -> bool:
    errors = getattr(exception, "errors", None) or []
    return any(isinstance(error, dict) and error.get("reason") in REFUSED_REASONS for error in errors)


class FailFastOnBadInput(RetryPolicy):
    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Any = None
    ) -> RetryDecision:
        if _is_not_retryable(exception):
            return RetryDecision.fail(f"{type(exception).__name__}: a retry would see the same input")
        if GATE_FAILED in str(exception):
            return RetryDecision.fail("a quality gate failed: a retry would read the same data")
        if _is_invalid_query(exception):
            return RetryDecision.fail("BigQuery refused the query: a retry would send the same SQL")
        return RetryDecision.default()

    def serialize(self) -> dict[str, Any]:
        return {"__type": type(self).__name__}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> FailFastOnBadInput:
        return cls()
