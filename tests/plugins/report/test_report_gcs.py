"""Publishing to a GCS bucket through the provider's GCSHook and the real storage client, to a local fake."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from PIL import Image

from segmentation.report import ReportError
from segmentation.report.destination import GcsPrefix, LocalFolder, parse_destination
from tests.plugins.report.conftest import DAY, PNG_SIZES, build_into

BUCKET = "segmentation-reports"


def _client(fake_gcs) -> storage.Client:
    return storage.Client(
        project="local-project",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": fake_gcs.url},
    )


def test_report_is_uploaded_under_the_prefix_replacing_the_dates_old_objects(
    two_snapshots, fake_gcs, tmp_path
):
    folder = f"daily/customer_segmentation/{DAY}/"
    stale = f"{folder}left_over.png"
    fake_gcs.objects[BUCKET] = {
        stale: ("image/png", b"from an earlier render"),
        "daily/keep.txt": ("text/plain", b"x"),
    }

    url = build_into(two_snapshots, f"gs://{BUCKET}/daily/customer_segmentation/")

    assert url == f"gs://{BUCKET}/{folder}report.html"
    bucket = _client(fake_gcs).bucket(BUCKET)
    names = sorted(blob.name for blob in bucket.list_blobs(prefix=folder))
    assert names == sorted(folder + name for name in [*PNG_SIZES, "report.html"])
    assert "daily/keep.txt" in fake_gcs.objects[BUCKET]  # outside the date's folder: untouched
    page = bucket.blob(f"{folder}report.html")
    page.reload()
    assert page.content_type == "text/html; charset=utf-8"
    assert "1 · Persona 1 of 2024-06-02" in page.download_as_text()
    for name, size in PNG_SIZES.items():
        path = tmp_path / name
        bucket.blob(folder + name).download_to_filename(path)
        with Image.open(path) as image:
            assert (image.format, image.size) == ("PNG", size)


@pytest.mark.parametrize(
    ("destination", "expected"),
    [
        ("gs://bucket-1/reports/daily/", GcsPrefix("bucket-1", "reports/daily", "conn")),
        ("gs://bucket-1", GcsPrefix("bucket-1", "", "conn")),
        ("/srv/reports", LocalFolder(Path("/srv/reports"))),
        ("", LocalFolder(Path(".local/reports"))),
    ],
)
def test_destinations(destination, expected):
    assert parse_destination(destination, "conn") == expected


@pytest.mark.parametrize("destination", ["gs://", "gs:///reports", "gs://Upper_Case/x", "gs://a/x"])
def test_a_destination_without_a_valid_bucket_is_refused(destination):
    with pytest.raises(ReportError, match="names no valid GCS bucket"):
        parse_destination(destination, "conn")
