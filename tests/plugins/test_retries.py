"""What the DAG's retry policy retries: transient failures yes; bad SQL, gates and settings no."""

from google.api_core import exceptions

from segmentation.config import ConfigError
from segmentation.retries import FailFastOnBadInput


def _decision(error: BaseException):
    return FailFastOnBadInput().evaluate(error, try_number=1, max_tries=4)


def test_refused_sql_fails_at_once():
    refused = exceptions.BadRequest(
        "Syntax error", errors=[{"reason": "invalidQuery", "message": "Syntax error"}]
    )
    assert _decision(refused).action.value == "fail"


def test_failed_gate_and_bad_settings_fail_at_once():
    assert _decision(exceptions.BadRequest("customer_features gate failed: 3 rows")).action.value == "fail"
    assert _decision(ConfigError("dataset: invalid")).action.value == "fail"


def test_transient_errors_keep_the_tasks_retries():
    assert _decision(exceptions.ServiceUnavailable("backend error")).action.value == "default"
    assert (
        _decision(exceptions.TooManyRequests("quota", errors=[{"reason": "rateLimitExceeded"}])).action.value
        == "default"
    )
