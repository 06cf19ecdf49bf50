"""A snapshot's report as files: the PNG figures and one self-contained HTML page embedding them.

`render_report` is a pure function of the loaded data: the same data renders to the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.colors import to_hex

from segmentation.personas.profile import CORE_FEATURE_UNITS
from segmentation.report import charts
from segmentation.report.choice_of_k import candidate_ks, model_matrix, scan_k
from segmentation.report.data import ReportData
from segmentation.report.page import ChartImage, render_page

REPORT_PAGE = "report.html"
MAX_PROFILE_FEATURES = 12


def profile_z_scores(feature_means: pd.DataFrame, spread: pd.DataFrame) -> pd.DataFrame:
    """Segment means as z-scores against the whole base: the core RFM features, then the most distinctive."""
    deviation = spread["stddev"].where(spread["stddev"] > 0)
    z_scores = ((feature_means - spread["mean"]) / deviation).fillna(0.0)
    core = [name for name in CORE_FEATURE_UNITS if name in z_scores.columns]
    others = z_scores.drop(columns=core).abs().max().sort_values(ascending=False, kind="stable")
    chosen = core + list(others.index[: max(0, MAX_PROFILE_FEATURES - len(core))])
    return z_scores[chosen]


def _colors(data: ReportData) -> dict[int, charts.Color]:
    current = [segment.segment_id for segment in data.segments]
    return charts.segment_colors(current + [int(i) for i in data.history["segment_id"]])


def _charts(
    data: ReportData, colors: Mapping[int, charts.Color], *, log_transform_monetary: bool
) -> list[ChartImage]:
    segments = data.segments
    metadata = data.metadata
    z_scores = profile_z_scores(data.feature_means, data.feature_spread)
    matrix = model_matrix(data.sample, log_transform_monetary=log_transform_monetary)
    scan = scan_k(matrix, candidate_ks(data.evaluations["k"].astype(int).tolist(), metadata.k))
    tuned = len(data.evaluations) > 1
    drawn = [
        ChartImage(
            "segments.png",
            "Customers by segment",
            f"A fixed pseudo-random sample of {len(data.sample):,} customers; each segment's number sits "
            "at its median recency and spend.",
            charts.png_bytes(
                charts.segment_scatter(
                    data.sample,
                    segments,
                    colors,
                    snapshot_date=metadata.snapshot_date,
                    customers=metadata.training_rows,
                )
            ),
        ),
        ChartImage(
            "segment_profile.png",
            "Segment profile",
            "Red: above the base average, blue: below, in standard deviations of all customers; "
            "right: each segment's share of customers and of revenue.",
            charts.png_bytes(charts.segment_profile(segments, z_scores, data.feature_spread["mean"])),
        ),
        ChartImage(
            "choice_of_k.png",
            "Choice of k",
            (
                f"The model tried k = {', '.join(str(k) for k in data.evaluations['k'])} and kept k = "
                f"{metadata.k}, the lowest Davies-Bouldin index."
                if tuned
                else f"k = {metadata.k} was fixed by the run's settings."
            )
            + f" Elbow and silhouette are recomputed with scikit-learn on {scan.rows:,} sampled customers.",
            charts.png_bytes(charts.choice_of_k(data.evaluations, scan, metadata.k)),
        ),
    ]
    history = charts.segment_history(data.history, colors)
    if history is not None:
        drawn.append(
            ChartImage(
                "segment_history.png",
                "Segment sizes over time",
                "Customers per segment in each of the last snapshots. Every snapshot trains its own "
                "model, so a segment id may describe different customers on different days.",
                charts.png_bytes(history),
            )
        )
    return drawn


def render_report(data: ReportData, *, log_transform_monetary: bool = False) -> dict[str, bytes]:
    """File name -> content: the PNGs, then the HTML page that embeds them."""
    colors = _colors(data)
    with charts.report_style():
        images = _charts(data, colors, log_transform_monetary=log_transform_monetary)
    page = render_page(data, images, {segment_id: to_hex(color) for segment_id, color in colors.items()})
    return {**{image.file_name: image.png for image in images}, REPORT_PAGE: page.encode()}
