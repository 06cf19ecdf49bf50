"""The service's settings, from the environment, validated before anything talks to BigQuery.

Where the tables are comes from the pipeline's own configuration (`SEGMENTATION_PROJECT_ID`,
`SEGMENTATION_DATASET`, ...: `segmentation.config.ENVIRONMENT_VARIABLES`), so the service reads what the DAG
writes. The API key comes from `SEGMENTS_API_KEY` or, better on Cloud Run, from a file
(`SEGMENTS_API_KEY_FILE`, e.g. a mounted Secret Manager secret); it is required unless the service only
listens on the loopback interface.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from segmentation.config import DATASET_PATTERN, OPTIONAL_PROJECT_ID_PATTERN, ConfigError, PipelineConfig

API_KEY_VARIABLE = "SEGMENTS_API_KEY"
API_KEY_FILE_VARIABLE = "SEGMENTS_API_KEY_FILE"
# Setting -> environment variable, for the settings that are the service's own.
SERVICE_VARIABLES = {
    "refresh_seconds": "SEGMENTS_REFRESH_SECONDS",
    "history_snapshots": "SEGMENTS_HISTORY_SNAPSHOTS",
    "cached_snapshots": "SEGMENTS_CACHED_SNAPSHOTS",
}
LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    project_id: str = Field("", pattern=OPTIONAL_PROJECT_ID_PATTERN, description="Empty: the client's.")
    dataset: str = Field("customer_segmentation", pattern=DATASET_PATTERN)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: SecretStr | None = Field(None, description="Required on every data endpoint when set.")
    refresh_seconds: float = Field(60.0, gt=0, description="How often the tables' metadata is polled.")
    history_snapshots: int = Field(30, ge=1, le=3660, description="Snapshots a segment history covers.")
    cached_snapshots: int = Field(2, ge=0, le=30, description="Older snapshots kept loaded for as-of reads.")
    default_page_size: int = Field(100, ge=1)
    max_page_size: int = Field(1000, ge=1)

    @model_validator(mode="after")
    def _key_unless_loopback(self) -> Settings:
        if self.api_key is None and not is_loopback(self.host):
            raise ValueError(
                f"the service listens on {self.host}, beyond loopback: set {API_KEY_VARIABLE} or "
                f"{API_KEY_FILE_VARIABLE} (or listen on 127.0.0.1)"
            )
        if self.api_key is not None and len(self.api_key.get_secret_value()) < 16:
            raise ValueError("the API key must be at least 16 characters")
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size must not exceed max_page_size")
        return self

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] = os.environ, *, host: str = "127.0.0.1", port: int = 8000
    ) -> Settings:
        """The deployment's settings; ConfigError names every problem."""
        pipeline = PipelineConfig.from_environment(environ)
        values = {
            setting: environ[variable]
            for setting, variable in SERVICE_VARIABLES.items()
            if environ.get(variable)
        }
        api_key = read_api_key(environ)
        try:
            return cls(
                project_id=pipeline.project_id,
                dataset=pipeline.dataset,
                host=host,
                port=port,
                api_key=api_key,
                **values,
            )
        except ValidationError as error:
            problems = "; ".join(
                issue["msg"].removeprefix("Value error, ")
                if issue["type"] == "value_error"
                else f"{'.'.join(map(str, issue['loc']))}: {issue['msg']}"
                for issue in error.errors()
            )
            raise ConfigError(f"invalid segments service settings: {problems}") from None


def read_api_key(environ: Mapping[str, str]) -> str | None:
    """The key from its variable, or the first line of its file; both set is ambiguous and refused."""
    value, path = environ.get(API_KEY_VARIABLE), environ.get(API_KEY_FILE_VARIABLE)
    if value and path:
        raise ConfigError(f"set {API_KEY_VARIABLE} or {API_KEY_FILE_VARIABLE}, not both")
    if not path:
        return value or None
    try:
        key = Path(path).read_text().strip()
    except OSError as error:
        raise ConfigError(
            f"{API_KEY_FILE_VARIABLE}={path}: cannot read the API key ({error.strerror})"
        ) from None
    if not key:
        raise ConfigError(f"{API_KEY_FILE_VARIABLE}={path} is empty")
    return key
