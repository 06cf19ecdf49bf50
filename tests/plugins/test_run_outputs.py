"""What a run delivers: the "Run report" link to its report, and the check that personas and report exist."""

from pathlib import Path

import pytest

from segmentation.run_outputs import MissingRunOutputs, browser_url, check_outputs


def test_a_report_in_a_bucket_opens_through_cloud_storages_browser_endpoint():
    assert (
        browser_url("gs://us-central1-prod-bucket/data/reports/2024-06-29/report.html")
        == "https://storage.cloud.google.com/us-central1-prod-bucket/data/reports/2024-06-29/report.html"
    )
    assert (
        browser_url("gs://b-1/my reports/x.html")
        == "https://storage.cloud.google.com/b-1/my%20reports/x.html"
    )


def test_a_local_report_opens_as_a_file(tmp_path):
    page = tmp_path / "2024-06-29" / "report.html"
    assert browser_url(str(page)) == page.as_uri()
    assert browser_url("relative/report.html") == (Path.cwd() / "relative/report.html").as_uri()


def test_a_run_without_personas_or_report_is_incomplete_and_says_which():
    check_outputs("2024-06-29", {"personas.generate_personas": {"personas": 5}, "report": "/r/report.html"})
    with pytest.raises(
        MissingRunOutputs, match=r"^the persona step failed, so snapshot 2024-06-29 is published"
    ):
        check_outputs("2024-06-29", {"personas.generate_personas": None, "report": "/r/report.html"})
    with pytest.raises(
        MissingRunOutputs, match=r"persona step failed.*; the run report of snapshot 2024-06-29"
    ):
        check_outputs("2024-06-29", {})


def test_a_missing_output_is_not_retried():
    from airflow.sdk import RetryAction

    from segmentation.retries import FailFastOnBadInput

    decision = FailFastOnBadInput().evaluate(MissingRunOutputs("x"), try_number=1, max_tries=4)
    assert decision.action == RetryAction.FAIL
