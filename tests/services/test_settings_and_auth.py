"""Settings from the environment, and the API key: required beyond loopback, checked on every data endpoint."""

from __future__ import annotations

import pytest

from segmentation.config import ConfigError
from services.segments.settings import Settings
from tests.services.conftest import api_client, make_service

KEY = "k3y-for-tests-0123456789"


def test_settings_come_from_the_pipelines_environment(tmp_path):
    secret = tmp_path / "api-key"
    secret.write_text(KEY + "\n")
    settings = Settings.from_environment(
        {
            "SEGMENTATION_PROJECT_ID": "my-project",
            "SEGMENTATION_DATASET": "segments_prod",
            "SEGMENTS_API_KEY_FILE": str(secret),
            "SEGMENTS_REFRESH_SECONDS": "15",
        },
        host="0.0.0.0",
        port=8080,
    )
    assert (settings.project_id, settings.dataset, settings.refresh_seconds) == (
        "my-project",
        "segments_prod",
        15,
    )
    assert settings.api_key.get_secret_value() == KEY
    assert KEY not in repr(settings)


@pytest.mark.parametrize(
    ("environ", "host", "message"),
    [
        ({}, "0.0.0.0", "set SEGMENTS_API_KEY or SEGMENTS_API_KEY_FILE"),
        ({"SEGMENTS_API_KEY": "short"}, "0.0.0.0", "at least 16 characters"),
        ({"SEGMENTS_API_KEY": KEY, "SEGMENTS_API_KEY_FILE": "/x"}, "127.0.0.1", "not both"),
        ({"SEGMENTS_API_KEY_FILE": "/nonexistent/key"}, "127.0.0.1", "cannot read the API key"),
        ({"SEGMENTS_REFRESH_SECONDS": "-1"}, "127.0.0.1", "refresh_seconds"),
        ({"SEGMENTATION_DATASET": "no-dashes;"}, "127.0.0.1", "dataset"),
    ],
)
def test_bad_settings_fail_naming_the_problem(environ, host, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_environment(environ, host=host)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_needs_no_key(host):
    assert Settings.from_environment({}, host=host).api_key is None


@pytest.fixture(scope="module")
def guarded_api(bq_client, published):
    service = make_service(bq_client, published.dataset, host="0.0.0.0", api_key=KEY)
    assert service.refresh()
    with api_client(service) as client:
        yield client


@pytest.mark.parametrize("path", ["/segments", "/segments/1", "/snapshots", "/customers/1"])
def test_every_data_endpoint_requires_the_key(guarded_api, path):
    for headers in ({}, {"X-API-Key": "wrong-key-wrong-key"}):
        response = guarded_api.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert guarded_api.get(path, headers={"X-API-Key": KEY}).status_code in (200, 404)


def test_health_docs_and_the_explorer_page_need_no_key(guarded_api):
    for path in ("/healthz", "/openapi.json", "/explorer/"):
        assert guarded_api.get(path).status_code == 200, path
