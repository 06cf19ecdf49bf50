"""The report's HTML page: one self-contained file, charts embedded as data URIs, every value escaped.

Persona text is written by a language model and is untrusted, so the template is rendered with Jinja2's
autoescape on: no value, whatever it holds, can add markup or script to the page.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import jinja2

from segmentation.report import changes
from segmentation.report.data import ReportData

TEMPLATE = "report.html.j2"
PAGE_FILE = "report.html"
_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


@dataclass(frozen=True)
class ChartImage:
    file_name: str
    heading: str
    caption: str
    png: bytes

    @property
    def base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")

    @property
    def size(self) -> tuple[int, int]:
        """Width and height in pixels, from the PNG's header chunk."""
        return struct.unpack(">II", self.png[16:24])

    @property
    def width(self) -> int:
        return self.size[0]

    @property
    def height(self) -> int:
        return self.size[1]


def _k_choice(data: ReportData) -> str:
    tried = data.evaluations["k"].astype(int).tolist()
    if len(tried) > 1:
        return f"lowest Davies-Bouldin index among k = {min(tried)}..{max(tried)}"
    return "fixed by the run's settings"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def _what_changed(data: ReportData) -> dict | None:
    """The "What changed" section: share kept and the biggest movers; None on a first snapshot."""
    previous = changes.previous_snapshot(data.transitions)
    if previous is None:
        return None
    return {
        "previous_snapshot_date": previous,
        "kept_share": changes.kept_share(data.transitions),
        "movers": changes.biggest_movers(data.transitions),
        "drifted": [segment for segment in data.segments if segment.previous_customers is not None],
    }


def _change(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def render_page(
    data: ReportData,
    charts: Sequence[ChartImage],
    colors: Mapping[int, str],
    *,
    transitions_chart: ChartImage | None = None,
) -> str:
    """The page for `data`; `colors` gives each segment id its charts' colour as a CSS hex string."""
    index = data.metadata.davies_bouldin_index
    return _ENVIRONMENT.get_template(TEMPLATE).render(
        meta=data.metadata,
        davies_bouldin="n/a" if index is None else f"{index:.3f}",
        k_choice=_k_choice(data),
        costs=data.costs,
        segments=data.segments,
        share=_share,
        colors=colors,
        charts=charts,
        changes=_what_changed(data),
        transitions_chart=transitions_chart,
        change=_change,
    )
