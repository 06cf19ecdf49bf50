"""The two recorded-on-BigQuery corpora never lose ground: a drop below the recorded pass count fails.

The suites come from their published sdists (`pip download` into `.local/conformance/`, kept between
runs), as `make conformance` fetches them; they are not in the lock because crucible pins its own DuckDB and
sqlglot, and bqemulator's corpus ships only in its sdist. When a change raises a count, raise the number in
benchmarks/conformance_floor.json with it.
"""

from __future__ import annotations

import json

import pytest

from benchmarks.conformance import CaseResult, _fold_teardowns, run_suites
from tests.conftest import ROOT

FLOOR = json.loads((ROOT / "benchmarks" / "conformance_floor.json").read_text())


@pytest.fixture(scope="module")
def outcomes():
    """Both corpora, run once by one worker process."""
    return run_suites(sorted(FLOOR))


# Both corpora run in the first test's setup: a few minutes, a quarter of an hour on a loaded 2-core machine.
@pytest.mark.conformance
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("suite", sorted(FLOOR))
def test_no_fewer_cases_pass_than_recorded(outcomes, suite):
    results = outcomes[suite]
    passed = [result for result in results if result.status == "pass"]
    failed = sorted(result.case for result in results if result.status != "pass")
    assert len(passed) >= FLOOR[suite], (
        f"{suite}: {len(passed)} cases pass, fewer than the recorded {FLOOR[suite]}; "
        f"failing now: {failed[:40]}"
    )


def test_a_client_test_with_a_failed_teardown_is_one_case():
    """JUnit writes a teardown error as a second entry of the same test; the call's problem comes first."""
    refused = CaseResult("m::refused", "m", "refused", "not supported by local_bigquery: X")
    passed = CaseResult("m::passed", "m", "pass")
    teardown = "failed on teardown with NotFound"
    entries = [
        refused,
        CaseResult("m::refused", "m", "failed", teardown),
        passed,
        CaseResult("m::passed", "m", "failed", teardown),
        CaseResult("m::clean", "m", "pass"),
    ]
    assert [(case.case, case.status) for case in _fold_teardowns(entries)] == [
        ("m::refused", "refused"),
        ("m::passed", "failed"),
        ("m::clean", "pass"),
    ]
