"""A snapshot's report as files: the PNG figures and one self-contained HTML page embedding them.

`render_report` is a pure function of the loaded data: the same data renders to the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
from matplotlib.colors import to_hex

from segmentation.personas.profile import CORE_FEATURE_UNITS
from segmentation.report import changes, charts
from segmentation.report.choice_of_k import candidate_ks, model_matrix, scan_k
from segmentation.report.data import ReportData
from segmentation.report.page import PAGE_FILE, ChartImage, render_page

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


def _scatter_chart(data: ReportData, colors: Mapping[int, charts.Color]) -> ChartImage:
    figure = charts.segment_scatter(
        data.sample,
        data.segments,
        colors,
        snapshot_date=data.metadata.snapshot_date,
        customers=data.metadata.training_rows,
    )
    return ChartImage(
        "segments.png",
        "Customers by segment",
        f"A fixed pseudo-random sample of {len(data.sample):,} customers; each segment's number sits "
        "at its median recency and spend.",
        charts.png_bytes(figure),
    )


def _profile_chart(data: ReportData) -> ChartImage:
    z_scores = profile_z_scores(data.feature_means, data.feature_spread)
    return ChartImage(
        "segment_profile.png",
        "Segment profile",
        "Red: above the base average, blue: below, in standard deviations of all customers; "
        "right: each segment's share of customers and of revenue.",
        charts.png_bytes(charts.segment_profile(data.segments, z_scores, data.feature_spread["mean"])),
    )


def _choice_of_k_chart(data: ReportData, *, log_transform_monetary: bool) -> ChartImage:
    chosen_k = data.metadata.k
    tried = data.evaluations["k"].astype(int).tolist()
    matrix = model_matrix(
        data.sample, model_input=data.model_input, log_transform_monetary=log_transform_monetary
    )
    scan = scan_k(matrix, candidate_ks(tried, chosen_k))
    if len(tried) > 1:
        how = (
            f"The model tried k = {', '.join(map(str, tried))} and kept k = {chosen_k}, "
            "the lowest Davies-Bouldin index."
        )
    else:
        how = f"k = {chosen_k} was fixed by the run's settings."
    return ChartImage(
        "choice_of_k.png",
        "Choice of k",
        f"{how} Elbow and silhouette are recomputed with scikit-learn on {scan.rows:,} sampled customers"
        + (
            ", unclipped (the snapshot did not record its model input's preparation)."
            if data.model_input is None
            else ", prepared as the model's input: clipped to the run's bounds and standardized."
        ),
        charts.png_bytes(charts.choice_of_k(data.evaluations, scan, chosen_k)),
    )


def _history_chart(data: ReportData, colors: Mapping[int, charts.Color]) -> ChartImage | None:
    figure = charts.segment_history(data.history, colors)
    if figure is None:
        return None
    return ChartImage(
        "segment_history.png",
        "Segment sizes over time",
        "Customers per segment in each of the last snapshots. Each bar is labelled with the persona title "
        "its own snapshot gave the segment, where that title changed; ids follow centroids from one "
        "snapshot to the next, except across a rebase.",
        charts.png_bytes(figure),
    )


def _transitions_chart(data: ReportData) -> ChartImage | None:
    previous = changes.previous_snapshot(data.transitions)
    if previous is None:
        return None
    return ChartImage(
        "segment_transitions.png",
        "Transitions",
        f"Customers by their segment in the previous snapshot, {previous} (rows) and now (columns), each named by its own day's "
        "persona; the colour is the share of the row.",
        charts.png_bytes(charts.transition_heatmap(changes.transition_matrix(data.transitions))),
    )


def _value_calibration_chart(data: ReportData) -> ChartImage | None:
    if data.value_evaluations.empty:
        return None
    horizon = int(data.value_evaluations["horizon_days"].iloc[0])
    return ChartImage(
        "value_calibration.png",
        "Predicted customer value, backtested",
        f"The value model trained {2 * horizon} days before the cut-off and the last-period baseline "
        f"predicted each customer's spend in the {horizon} days before the cut-off, a window the model "
        "never saw; per predicted decile, the mean predicted (line) and actual (bars) spend.",
        charts.png_bytes(charts.value_calibration(data.value_evaluations)),
    )


def _segment_value_chart(data: ReportData, colors: Mapping[int, charts.Color]) -> ChartImage | None:
    if data.segment_values.empty:
        return None
    return ChartImage(
        "segment_value.png",
        "Value per segment",
        "Each segment's share of the value the model predicts for the next period, next to its share of "
        "past revenue, and its mean predicted value per customer.",
        charts.png_bytes(charts.segment_value(data.segments, data.segment_values, colors)),
    )


def _charts(
    data: ReportData, colors: Mapping[int, charts.Color], *, log_transform_monetary: bool
) -> list[ChartImage]:
    drawn = [
        _scatter_chart(data, colors),
        _profile_chart(data),
        _choice_of_k_chart(data, log_transform_monetary=log_transform_monetary),
        _history_chart(data, colors),
        _segment_value_chart(data, colors),
        _value_calibration_chart(data),
    ]
    return [chart for chart in drawn if chart is not None]


def render_report(data: ReportData, *, log_transform_monetary: bool = False) -> dict[str, bytes]:
    """File name -> content: the PNGs, then the HTML page that embeds them."""
    colors = _colors(data)
    with charts.report_style():
        images = _charts(data, colors, log_transform_monetary=log_transform_monetary)
        transitions = _transitions_chart(data)
    page = render_page(
        data,
        images,
        {segment_id: to_hex(color) for segment_id, color in colors.items()},
        transitions_chart=transitions,
    )
    drawn = [*([transitions] if transitions else []), *images]
    return {**{image.file_name: image.png for image in drawn}, PAGE_FILE: page.encode()}
