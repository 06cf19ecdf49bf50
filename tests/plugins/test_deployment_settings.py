"""Settings a run combines with the deployment's: Gemini's options and endpoint, connections, report root.

A run's conf is untrusted input: it may choose how Gemini is called, never where the connection's token
goes nor where on the worker a report is written; and every problem is found by validate_config's checks
before the first BigQuery job.
"""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from segmentation.config import ConfigError, PipelineConfig
from segmentation.gemini_settings import ENDPOINTS_ENVIRONMENT_VARIABLE, GeminiSettings, gemini_settings
from segmentation.preflight import check_deployment
from segmentation.retries import FailFastOnBadInput


@pytest.mark.parametrize(
    ("gemini", "named"),
    [
        ({"temprature": 0.2}, "gemini.temprature: Extra inputs are not permitted"),
        ({"temperature": 5}, "gemini.temperature: Input should be less than or equal to 2"),
        ({"max_attempts": 0}, "gemini.max_attempts"),
        ({"timeout_seconds": -1}, "gemini.timeout_seconds"),
        # google-genai builds https://{location}-aiplatform.googleapis.com: a location must not move the host
        ({"location": "evil.example/#"}, "gemini.location: String should match pattern"),
        ({"model": "../../other"}, "gemini.model"),
    ],
)
def test_a_runs_gemini_settings_are_validated_with_the_rest(gemini, named):
    with pytest.raises(ConfigError, match="invalid pipeline settings") as refused:
        PipelineConfig.from_params({"gemini": gemini})
    assert named in str(refused.value)


def test_a_run_cannot_choose_the_gemini_endpoint():
    with pytest.raises(ConfigError, match=r"gemini\.base_url cannot be set by a run"):
        PipelineConfig.from_params({"gemini": {"base_url": "http://127.0.0.1:9/"}})


@pytest.mark.parametrize(
    "base_url",
    ["https://aiplatform.googleapis.com", "https://europe-west4-aiplatform.googleapis.com/"],
)
def test_vertex_ai_endpoints_are_allowed(base_url, monkeypatch):
    monkeypatch.delenv(ENDPOINTS_ENVIRONMENT_VARIABLE, raising=False)
    assert GeminiSettings(base_url=base_url).base_url == base_url


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8123",
        "http://europe-west4-aiplatform.googleapis.com",  # the token in clear text
        "https://aiplatform.googleapis.com.evil.example",
        "https://evil.example/aiplatform.googleapis.com",
        "https://aiplatform.googleapis.com:8443",
    ],
)
def test_other_endpoints_are_refused_unless_the_deployment_lists_them(base_url, monkeypatch):
    monkeypatch.delenv(ENDPOINTS_ENVIRONMENT_VARIABLE, raising=False)
    with pytest.raises(ValidationError, match="neither a Vertex AI endpoint"):
        GeminiSettings(base_url=base_url)
    monkeypatch.setenv(ENDPOINTS_ENVIRONMENT_VARIABLE, f"https://proxy.internal, {base_url}")
    assert GeminiSettings(base_url=base_url).base_url == base_url


def test_the_run_options_go_over_the_deployments_variable():
    deployment = {"model": "gemini-2.5-pro", "temperature": 0.1, "location": "europe-west4"}
    settings = gemini_settings(
        PipelineConfig.from_params({"gemini": {"temperature": 0.7}}).gemini, deployment
    )
    assert (settings.model, settings.temperature, settings.location) == (
        "gemini-2.5-pro",
        0.7,
        "europe-west4",
    )


def _refused(conf: dict) -> ConfigError:
    with pytest.raises(ConfigError) as refused:
        check_deployment(PipelineConfig.from_params(conf))
    assert FailFastOnBadInput().evaluate(refused.value, 1, 4).action.value == "fail"
    return refused.value


def test_a_missing_gemini_connection_is_a_configuration_error():
    assert "gemini_conn_id: there is no Airflow connection 'no_such_gemini'" in str(
        _refused({"gemini_conn_id": "no_such_gemini", "persona_backend": "offline"})
    )
    assert "gcp_conn_id (the Gemini connection): there is no Airflow connection 'nowhere'" in str(
        _refused({"gcp_conn_id": "nowhere", "persona_backend": "gemini"})
    )


def test_the_deployments_gemini_variable_is_validated_too(monkeypatch):
    monkeypatch.delenv(ENDPOINTS_ENVIRONMENT_VARIABLE, raising=False)
    variable = {"base_url": "https://attacker.example", "max_output_tokens": 0}
    monkeypatch.setenv("AIRFLOW_VAR_SEGMENTATION_GEMINI", json.dumps(variable))
    message = str(_refused({"persona_backend": "offline"}))
    assert "Variable segmentation_gemini" in message
    assert "neither a Vertex AI endpoint" in message and "max_output_tokens" in message


def test_a_bad_persona_backend_variable_is_named(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_SEGMENTATION_PERSONA_BACKEND", "gpt")
    assert "Variable segmentation_persona_backend is 'gpt'" in str(_refused({}))


def test_a_valid_run_passes(monkeypatch):
    monkeypatch.delenv("AIRFLOW_VAR_SEGMENTATION_GEMINI", raising=False)
    check_deployment(PipelineConfig.from_params({"persona_backend": "gemini"}))  # google_cloud_default


@pytest.mark.parametrize(
    "destination", ["../elsewhere", ".local/reports/../../etc", "/tmp/reports", ".local/other"]
)
def test_a_local_report_destination_stays_inside_the_report_root(destination, monkeypatch):
    monkeypatch.delenv("SEGMENTATION_REPORT_ROOT", raising=False)
    monkeypatch.delenv("SEGMENTATION_REPORT_DESTINATION", raising=False)
    with pytest.raises(ConfigError, match=r"report_destination .* is outside the report root"):
        PipelineConfig.from_params({"report_destination": destination})


def test_the_report_root_is_the_deployments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGMENTATION_REPORT_ROOT", raising=False)
    monkeypatch.setenv("SEGMENTATION_REPORT_DESTINATION", str(tmp_path / "reports"))
    assert PipelineConfig.from_params({"report_destination": "reports/team-a"}).report_destination
    monkeypatch.setenv("SEGMENTATION_REPORT_ROOT", str(tmp_path / "shared"))
    assert PipelineConfig.from_params({"report_destination": str(tmp_path / "shared" / "x")})
    with pytest.raises(ConfigError, match="outside the report root"):
        PipelineConfig.from_params({"report_destination": "reports/team-a"})


@pytest.mark.parametrize("destination", ["gs://", "gs://Upper_Case/x", "gs://a/x"])
def test_a_gcs_destination_needs_a_valid_bucket(destination):
    with pytest.raises(ConfigError, match="names no valid GCS bucket"):
        PipelineConfig.from_params({"report_destination": destination})


def test_on_cloud_composer_reports_default_to_the_environments_bucket(monkeypatch):
    monkeypatch.delenv("SEGMENTATION_REPORT_DESTINATION", raising=False)
    monkeypatch.setenv("GCS_BUCKET", "us-central1-prod-1a2b3c4d-bucket")
    deployment = PipelineConfig.from_environment()
    assert deployment.report_destination == "gs://us-central1-prod-1a2b3c4d-bucket/data/reports"
    check_deployment(deployment)
    monkeypatch.setenv("SEGMENTATION_REPORT_DESTINATION", "gs://marketing-reports/segments")
    assert PipelineConfig.from_environment().report_destination == "gs://marketing-reports/segments"


def test_a_deployment_naming_no_lasting_report_folder_must_send_reports_to_gcs(monkeypatch):
    """Without Composer's bucket, a worker's local folder is lost with the worker: validate_config says
    what to set, before any BigQuery job; a deployment naming its folder (as local runs do) keeps it."""
    for variable in ("SEGMENTATION_REPORT_DESTINATION", "SEGMENTATION_REPORT_ROOT", "GCS_BUCKET"):
        monkeypatch.delenv(variable, raising=False)
    deployment = PipelineConfig.from_environment()
    assert deployment.report_destination == ".local/reports"
    with pytest.raises(
        ConfigError, match="is a folder on the worker, lost when the worker is replaced"
    ) as refused:
        check_deployment(deployment)
    assert "SEGMENTATION_REPORT_DESTINATION to gs://bucket/prefix" in str(refused.value)
    check_deployment(PipelineConfig.from_params({"report_destination": "gs://marketing-reports/segments"}))
    monkeypatch.setenv("SEGMENTATION_REPORT_ROOT", ".local")
    check_deployment(deployment)
