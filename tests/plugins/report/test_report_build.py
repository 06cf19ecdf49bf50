"""build_report against the local BigQuery server: real BigQueryHook and client, real files, real images."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from segmentation.report import ReportError, build_report
from tests.plugins.report.conftest import DAY, GROUPS, PNG_SIZES, PREVIOUS_DAY, build_into

ALL_FILES = sorted([*PNG_SIZES, "report.html"])


class _Page(HTMLParser):
    """The page's images and segment sections, as a browser would parse them."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.images: list[dict[str, str]] = []
        self.section_ids: list[str] = []
        self.tags: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        attributes = {name: value or "" for name, value in attrs}
        if tag == "img":
            self.images.append(attributes)
        if tag == "section":
            self.section_ids.append(attributes["id"])


def _files(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def test_report_has_every_chart_at_its_size_and_names_every_segment(published):
    folder = published.parent
    assert (folder.name, published.name) == (DAY.isoformat(), "report.html")
    assert sorted(path.name for path in folder.iterdir()) == ALL_FILES
    for name, size in PNG_SIZES.items():
        with Image.open(folder / name) as image:
            assert (image.format, image.size) == ("PNG", size), name
            assert "Software" not in image.info  # no version stamp: same data, same bytes
    text = published.read_text()
    page = _Page(text)
    assert page.section_ids == [f"segment-{segment_id}" for segment_id in GROUPS]
    for segment_id in (1, 3):
        assert f"{segment_id} · Persona {segment_id} of {DAY}" in text
        assert f"Step 3 for {segment_id}." in text
    # Self-contained: every chart is embedded, byte for byte the PNG written beside the page.
    assert all(image["src"].startswith("data:image/png;base64,") for image in page.images)
    embedded = sorted(base64.b64decode(image["src"].split(",", 1)[1]) for image in page.images)
    assert embedded == sorted((folder / name).read_bytes() for name in PNG_SIZES)


def test_report_shows_the_runs_metadata(published):
    text = published.read_text()

    assert f"<tr><th>Snapshot date</th><td>{DAY}</td></tr>" in text
    assert "<tr><th>Customers segmented</th><td>300</td></tr>" in text
    assert "<tr><th>Segments (k)</th><td>3</td></tr>" in text
    assert "<tr><th>Davies-Bouldin index</th><td>0.620</td></tr>" in text
    assert "<tr><th>How k was chosen</th><td>lowest Davies-Bouldin index among k = 2..4</td></tr>" in text
    assert "<tr><th>Persona writer</th><td>offline / rfm-archetypes-1</td></tr>" in text
    assert "<tr><th>Prompt version</th><td>personas-test</td></tr>" in text
    assert f"<tr><th>Training</th><td>continued, previous snapshot {PREVIOUS_DAY}</td></tr>" in text
    assert (
        "<tr><th>Kept their segment</th><td>97.5% of customers, 99.6% of those without a new order; "
        "1 new segment(s)</td></tr>"
    ) in text
    assert "of revenue; centroid moved 0.250 (standardized)</p>" in text
    assert "of revenue; new today</p>" in text


def test_persona_text_is_escaped_everywhere(published):
    text = published.read_text()

    assert "2 · &lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in text
    assert "Tom&#39;s &#34;best&#34; customers &amp; &lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;" in text
    assert "&lt;a href=&#34;javascript:alert(1)&#34;&gt;click&lt;/a&gt;" in text
    assert "&#34;&gt;&lt;script&gt;x()&lt;/script&gt;" in text
    assert "<script" not in text.lower() and 'href="javascript' not in text
    assert _Page(text).tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "code", "table", "tr",
        "th", "td", "div", "section", "ol", "li", "figure", "img", "figcaption",
    }  # fmt: skip


def test_rerunning_a_date_replaces_its_report_with_identical_bytes(two_snapshots, published):
    folder = published.parent
    first = _files(folder)
    (folder / "left_over.png").write_bytes(b"from an earlier render")

    assert build_into(two_snapshots, folder.parent) == str(published)

    assert _files(folder) == first
    # Nothing but the dated folder: no staging or replaced copies left behind.
    assert [path.name for path in folder.parent.iterdir()] == [DAY.isoformat()]


def test_first_snapshot_has_no_history_and_fixed_k_says_so(warehouse, tmp_path):
    warehouse.add_snapshot(DAY, tuned=False)

    page_path = Path(build_into(warehouse, tmp_path))

    assert sorted(path.name for path in page_path.parent.iterdir()) == sorted(
        ["segments.png", "segment_profile.png", "choice_of_k.png", "report.html"]
    )
    text = page_path.read_text()
    assert "k = 3 was fixed by the run&#39;s settings." in text
    assert "<th>How k was chosen</th><td>fixed by the run&#39;s settings</td>" in text
    assert "segment_history.png" not in text


def test_a_date_without_segments_fails_naming_the_table_and_writes_nothing(two_snapshots, tmp_path):
    missing = DAY.replace(day=3)
    message = rf"segment_profiles of {two_snapshots.dataset} has no rows for snapshot {missing}"

    with pytest.raises(ReportError, match=message):
        build_into(two_snapshots, tmp_path / "reports", missing)

    assert not (tmp_path / "reports").exists()


def test_a_bad_snapshot_date_is_refused():
    message = re.escape("snapshot_date must be a date like 2024-06-29, got '06/02/2024'")
    with pytest.raises(ReportError, match=message):
        build_report(snapshot_date="06/02/2024", project_id="local-project", dataset="d")
