"""Where reports go: `<destination>/<snapshot date>/`, a local folder or a GCS bucket and prefix.

A destination is one string: `gs://bucket/prefix` publishes through the Google provider's `GCSHook` with
the run's connection; anything else is a local folder (relative paths are relative to the worker's
working directory). Publishing a date again replaces that date's report as a whole: no file of an earlier
render is left beside the new one.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from airflow.providers.google.cloud.hooks.gcs import GCSHook

from segmentation.report.data import ReportError
from segmentation.report.page import PAGE_FILE

DEFAULT_DESTINATION = ".local/reports"
GCS_SCHEME = "gs://"
# GCS bucket naming rules (the dotted, domain-named form included).
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")
_CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".png": "image/png"}

log = logging.getLogger(__name__)


def content_type(file_name: str) -> str:
    return _CONTENT_TYPES.get(Path(file_name).suffix, "application/octet-stream")


@dataclass(frozen=True)
class LocalFolder:
    root: Path

    def publish(self, folder: str, files: Mapping[str, bytes]) -> str:
        """Writes `files` into `<root>/<folder>/`, swapped in whole; returns the page's absolute path."""
        target = self.root.resolve() / folder
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder}.", dir=target.parent))
        try:
            staging.chmod(0o755)  # mkdtemp's private mode would hide the report from whoever serves it
            for name, content in files.items():
                (staging / name).write_bytes(content)
            self._swap_in(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return str(target / PAGE_FILE)

    @staticmethod
    def _swap_in(staging: Path, target: Path) -> None:
        if not target.exists():
            staging.rename(target)
            return
        replaced = staging.with_name(staging.name + ".replaced")
        target.rename(replaced)
        staging.rename(target)
        shutil.rmtree(replaced)


@dataclass(frozen=True)
class GcsPrefix:
    bucket: str
    prefix: str
    gcp_conn_id: str

    def publish(self, folder: str, files: Mapping[str, bytes]) -> str:
        """Uploads `files` under `<prefix>/<folder>/`, then deletes that folder's objects not among them."""
        hook = GCSHook(gcp_conn_id=self.gcp_conn_id)
        directory = "/".join(part for part in (self.prefix, folder) if part) + "/"
        for name, content in files.items():
            hook.upload(self.bucket, directory + name, data=content, mime_type=content_type(name))
        written = {directory + name for name in files}
        for stale in sorted(set(hook.list(self.bucket, prefix=directory)) - written):
            hook.delete(self.bucket, stale)
        return f"{GCS_SCHEME}{self.bucket}/{directory}{PAGE_FILE}"


def parse_destination(destination: str, gcp_conn_id: str) -> LocalFolder | GcsPrefix:
    destination = destination.strip() or DEFAULT_DESTINATION
    if not destination.startswith(GCS_SCHEME):
        return LocalFolder(Path(destination))
    bucket, _, prefix = destination.removeprefix(GCS_SCHEME).partition("/")
    if not _BUCKET.match(bucket):
        raise ReportError(f"report destination {destination!r} names no valid GCS bucket ({bucket!r})")
    return GcsPrefix(bucket, prefix.strip("/"), gcp_conn_id)
