"""Retry what a retry can fix, fail at once what it cannot.

Transient failures (quota, network, a backend hiccup) get the task's retries with exponential backoff.
Invalid settings and failed quality gates do not: a retry would run with the same settings on the
same data, so it only delays the alert by the whole backoff.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import RetryDecision, RetryPolicy

from segmentation.config import ConfigError

# Every gate in include/sql/gates raises ERROR('<gate> gate failed: <what is wrong>').
GATE_FAILED = "gate failed:"


class FailFastOnBadInput(RetryPolicy):
    def evaluate(
        self, exception: BaseException, try_number: int, max_tries: int, context: Any = None
    ) -> RetryDecision:
        if isinstance(exception, ConfigError):
            return RetryDecision.fail("invalid settings: a retry would run with the same settings")
        if GATE_FAILED in str(exception):
            return RetryDecision.fail("a quality gate failed: a retry would read the same data")
        return RetryDecision.default()

    def serialize(self) -> dict[str, Any]:
        return {"__type": type(self).__name__}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> FailFastOnBadInput:
        return cls()
