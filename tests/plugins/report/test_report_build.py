"""build_report against the local BigQuery server: real BigQueryHook and client, real files, real images."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from segmentation.report import ReportError, build_report
from tests.plugins.report.conftest import DAY, GROUPS, PNG_SIZES, PREVIOUS_DAY


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


def test_report_has_every_chart_at_its_size_and_names_every_segment(warehouse, build, tmp_path):
    warehouse.add_snapshot(PREVIOUS_DAY)
    warehouse.add_snapshot(DAY)

    page_path = Path(build())

    folder = tmp_path / "reports" / DAY.isoformat()
    assert page_path == folder / "report.html"
    assert sorted(path.name for path in folder.iterdir()) == sorted([*PNG_SIZES, "report.html"])
    for name, size in PNG_SIZES.items():
        with Image.open(folder / name) as image:
            assert (image.format, image.size) == ("PNG", size), name
    text = page_path.read_text()
    page = _Page(text)
    assert page.section_ids == [f"segment-{segment_id}" for segment_id in GROUPS]
    for segment_id in GROUPS:
        assert f"{segment_id} · Persona {segment_id} of {DAY}" in text
        assert f"Step 3 for {segment_id}." in text
    # Self-contained: every chart is embedded, byte for byte the PNG written beside the page.
    embedded = sorted(
        base64.b64decode(image["src"].removeprefix("data:image/png;base64,")) for image in page.images
    )
    assert embedded == sorted((folder / name).read_bytes() for name in PNG_SIZES)
    assert not [image for image in page.images if not image["src"].startswith("data:image/png;base64,")]
    assert "<th>Segments (k)</th><td>3</td>" in text
    assert "<th>Davies-Bouldin index</th><td>0.620</td>" in text
    assert "lowest Davies-Bouldin index among k = 2..4" in text
    assert "<th>Customers segmented</th><td>300</td>" in text
    assert "offline / rfm-archetypes-1" in text
    assert "<th>Prompt version</th><td>personas-test</td>" in text


def test_persona_text_is_escaped_everywhere(warehouse, build):
    hostile = {
        "title": '<script>alert("title")</script>',
        "persona": 'Tom\'s "best" customers & <img src=x onerror=alert(1)>',
        "summary": "</p><script>steal()</script>",
        "next_marketing_steps": ['<a href="javascript:alert(1)">click</a>', "ok", "ok"],
        "recommended_channel": '"><script>x()</script>',
    }
    warehouse.add_snapshot(DAY, personas={2: hostile})

    text = Path(build()).read_text()

    assert "&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt;" in text
    assert "Tom&#39;s &#34;best&#34; customers &amp; &lt;img src=x onerror=alert(1)&gt;" in text
    assert "&lt;/p&gt;&lt;script&gt;steal()&lt;/script&gt;" in text
    assert "&lt;a href=&#34;javascript:alert(1)&#34;&gt;click&lt;/a&gt;" in text
    assert "&#34;&gt;&lt;script&gt;x()&lt;/script&gt;" in text
    assert "<script" not in text.lower() and 'href="javascript' not in text
    assert _Page(text).tags <= {
        "html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "code", "table", "tr",
        "th", "td", "div", "section", "ol", "li", "figure", "img", "figcaption",
    }  # fmt: skip


def test_rerunning_a_date_replaces_its_report_with_identical_bytes(warehouse, build, tmp_path):
    warehouse.add_snapshot(PREVIOUS_DAY)
    warehouse.add_snapshot(DAY)
    page_path = Path(build())
    folder = page_path.parent
    first = {path.name: path.read_bytes() for path in folder.iterdir()}
    (folder / "left_over.png").write_bytes(b"from an earlier render")

    assert Path(build()) == page_path

    assert {path.name: path.read_bytes() for path in folder.iterdir()} == first
    # Nothing but the dated folder: no staging or replaced copies left behind.
    assert [path.name for path in (tmp_path / "reports").iterdir()] == [DAY.isoformat()]


def test_first_snapshot_has_no_history_and_fixed_k_says_so(warehouse, build):
    warehouse.add_snapshot(DAY, tuned=False)

    page_path = Path(build())

    assert sorted(path.name for path in page_path.parent.iterdir()) == sorted(
        ["segments.png", "segment_profile.png", "choice_of_k.png", "report.html"]
    )
    text = page_path.read_text()
    assert "k = 3 was fixed by the run&#39;s settings." in text
    assert "<th>How k was chosen</th><td>fixed by the run&#39;s settings</td>" in text
    assert "segment_history.png" not in text


def test_a_date_without_segments_fails_naming_the_table_and_writes_nothing(warehouse, build, tmp_path):
    warehouse.add_snapshot(PREVIOUS_DAY)

    with pytest.raises(
        ReportError, match=rf"segment_profiles of {warehouse.dataset} has no rows for snapshot {DAY}"
    ):
        build()

    assert not (tmp_path / "reports").exists()


def test_a_bad_snapshot_date_is_refused():
    with pytest.raises(
        ReportError, match=re.escape("snapshot_date must be a date like 2024-06-29, got '06/02/2024'")
    ):
        build_report(snapshot_date="06/02/2024", project_id="local-project", dataset="d")
