"""The report's figures, drawn with matplotlib's Agg renderer into PNG bytes that depend on the data only.

Figures are built with the object-oriented API (no pyplot, so no global figure state in a worker), have
fixed pixel sizes, and are saved without the software tag or any timestamp, so the same data gives the
same bytes. Text from the persona step (titles) is drawn literally: math parsing is off.
"""

from __future__ import annotations

import io
from collections.abc import Generator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date

import matplotlib
import matplotlib.style
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from segmentation.report.choice_of_k import KScan
from segmentation.report.data import Segment

DPI = 100
# Width and height in inches; at DPI the PNGs are 1200x750, 1400x800, 1500x480 and 1200x500 pixels.
SCATTER_SIZE = (12.0, 7.5)
PROFILE_SIZE = (14.0, 8.0)
CHOICE_OF_K_SIZE = (15.0, 4.8)
HISTORY_SIZE = (12.0, 5.0)
Z_SCORE_LIMIT = 2.5
LABEL_LENGTH = 38
HISTORY_LABEL_LENGTH = 24

STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "text.parse_math": False,  # a persona title with "$" is text, not a formula
    "svg.hashsalt": "segmentation-report",  # stable ids should the figures ever be saved as SVG
    "path.simplify": True,
}

Color = tuple[float, float, float, float]


@contextmanager
def report_style() -> Generator[None]:
    """matplotlib's defaults plus the report's style, whatever the worker's matplotlibrc says."""
    with matplotlib.style.context(["default", STYLE]):
        yield


def png_bytes(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer, metadata={"Software": None})
    return buffer.getvalue()


def segment_colors(segment_ids: Sequence[int]) -> dict[int, Color]:
    """One distinct colour per segment id, the same in every figure of a report."""
    ids = sorted(set(segment_ids))
    if len(ids) <= 20:
        palette = matplotlib.colormaps["tab10" if len(ids) <= 10 else "tab20"]
        return {segment_id: palette(position) for position, segment_id in enumerate(ids)}
    spectrum = matplotlib.colormaps["turbo"]
    return {segment_id: spectrum(position / (len(ids) - 1)) for position, segment_id in enumerate(ids)}


def shortened(text: str, length: int = LABEL_LENGTH) -> str:
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def segment_label(segment: Segment) -> str:
    return f"{segment.segment_id} · {shortened(segment.title)}"


def _legend_layout(entries: int) -> dict[str, int]:
    """Legend font size and columns that keep up to 100 segments beside the plot."""
    if entries <= 20:
        return {"fontsize": 9, "ncols": 1}
    return {"fontsize": 7, "ncols": 1 if entries <= 40 else 2}


def _thousands(value: float, _position: int) -> str:
    return f"{value:,.0f}"


def segment_scatter(
    sample: pd.DataFrame,
    segments: Sequence[Segment],
    colors: Mapping[int, Color],
    *,
    snapshot_date: date,
    customers: int,
) -> Figure:
    """Sampled customers by recency and spend, coloured by segment, each segment labelled at its median."""
    figure = Figure(figsize=SCATTER_SIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    recency = sample["recency_days"].astype(float)
    monetary = sample["monetary"].astype(float).clip(lower=0)
    # One call in the sample's hash order, so no segment is systematically painted over another.
    axes.scatter(
        recency,
        monetary,
        c=[colors[int(segment_id)] for segment_id in sample["segment_id"]],
        s=6,
        alpha=0.45,
        linewidths=0,
        rasterized=True,
    )
    # symlog is a log scale above 1 that still shows customers whose kept spend is 0.
    axes.set_yscale("symlog", linthresh=1.0)
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.set_xlabel("recency: days since the latest order")
    axes.set_ylabel("monetary: total kept spend (log scale, 0 at the bottom)")
    axes.set_title(
        f"Customers by recency and spend, {snapshot_date}\n"
        f"sample of {len(sample):,} of {customers:,} customers"
    )
    for segment in segments:
        members = sample[sample["segment_id"] == segment.segment_id]
        if members.empty:
            continue
        axes.annotate(
            str(segment.segment_id),
            (float(members["recency_days"].median()), float(members["monetary"].clip(lower=0).median())),
            ha="center",
            va="center",
            color="white",
            fontweight="bold",
            bbox={"boxstyle": "circle", "facecolor": colors[segment.segment_id], "edgecolor": "black"},
        )
    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            color=colors[segment.segment_id],
            label=f"{segment_label(segment)} ({segment.customer_share:.0%})",
        )
        for segment in segments
    ]
    figure.legend(
        handles=handles,
        loc="outside right upper",
        title="segment · persona (share)",
        **_legend_layout(len(handles)),
    )
    return figure


def _annotate_cells(axes, values: np.ndarray) -> None:
    for (row, column), value in np.ndenumerate(values):
        axes.text(
            column,
            row,
            f"{value:+.1f}",
            ha="center",
            va="center",
            fontsize=8,
            color="white" if abs(value) > 0.6 * Z_SCORE_LIMIT else "black",
        )


def segment_profile(
    segments: Sequence[Segment],
    z_scores: pd.DataFrame,
    base_means: pd.Series,
) -> Figure:
    """Feature means of each segment as z-scores against the whole base, beside its shares."""
    figure = Figure(figsize=PROFILE_SIZE, dpi=DPI, layout="constrained")
    grid = figure.add_gridspec(1, 2, width_ratios=[3, 1])
    heatmap = figure.add_subplot(grid[0])
    shares = figure.add_subplot(grid[1], sharey=heatmap)
    values = z_scores.to_numpy(dtype=float)
    image = heatmap.imshow(
        values.clip(-Z_SCORE_LIMIT, Z_SCORE_LIMIT),
        cmap="RdBu_r",
        vmin=-Z_SCORE_LIMIT,
        vmax=Z_SCORE_LIMIT,
        aspect="auto",
    )
    if values.size <= 400:
        _annotate_cells(heatmap, values)
    heatmap.grid(False)
    heatmap.set_xticks(
        range(len(z_scores.columns)),
        labels=[f"{name}\nbase mean {base_means[name]:,.3g}" for name in z_scores.columns],
        rotation=30,
        ha="right",
        fontsize=9,
    )
    heatmap.set_yticks(range(len(segments)), labels=[segment_label(segment) for segment in segments])
    heatmap.set_title("Segment profile: feature means vs the whole base (z-scores)")
    figure.colorbar(image, ax=heatmap, label="(segment mean - base mean) / base std dev", shrink=0.8)

    positions = np.arange(len(segments))
    customer_shares = [segment.customer_share for segment in segments]
    revenue_shares = [segment.revenue_share for segment in segments]
    shares.barh(positions - 0.2, customer_shares, height=0.4, color="#4c72b0", label="customers")
    shares.barh(positions + 0.2, revenue_shares, height=0.4, color="#dd8452", label="revenue")
    shares.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    shares.tick_params(labelleft=False)
    shares.set_xlim(0, max(max(customer_shares), max(revenue_shares)) * 1.25)
    shares.set_title("Share of the base")
    # Below the axes, where it can hide no bar.
    shares.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncols=2, fontsize=9)
    return figure


def _davies_bouldin_panel(axes, evaluations: pd.DataFrame, chosen_k: int) -> None:
    scored = evaluations.dropna(subset=["davies_bouldin_index"])
    axes.plot(scored["k"], scored["davies_bouldin_index"], marker="o", color="#4c72b0")
    chosen = scored[scored["k"] == chosen_k]
    axes.scatter(
        chosen["k"], chosen["davies_bouldin_index"], s=160, facecolors="none", edgecolors="red", zorder=3
    )
    if len(evaluations) > 1:
        axes.set_title("Davies-Bouldin index per trial (lower is better)")
    else:
        axes.set_title(f"Davies-Bouldin index (k fixed at {chosen_k}, no trials)")
    axes.set_xlabel("k")


def _scan_panel(axes, ks: Sequence[int], values: Sequence[float], chosen_k: int, color: str, label: str):
    axes.plot(ks, values, marker="o", color=color, label=label)
    axes.axvline(chosen_k, color="red", linestyle="--", linewidth=1)
    axes.set_xlabel("k")


def choice_of_k(evaluations: pd.DataFrame, scan: KScan, chosen_k: int) -> Figure:
    """Why k: the model's Davies-Bouldin index per trial, then elbow and silhouette on a sample."""
    figure = Figure(figsize=CHOICE_OF_K_SIZE, dpi=DPI, layout="constrained")
    davies_bouldin, elbow, silhouette = figure.subplots(1, 3)
    _davies_bouldin_panel(davies_bouldin, evaluations, chosen_k)
    _scan_panel(elbow, scan.ks, scan.mean_squared_distance, chosen_k, "#55a868", f"sample of {scan.rows:,}")
    tried = evaluations.dropna(subset=["mean_squared_distance"])
    elbow.plot(
        tried["k"], tried["mean_squared_distance"], marker="s", color="#8172b3", label="model, all customers"
    )
    elbow.set_title("Elbow: mean squared distance to the centroid")
    elbow.legend(fontsize=9)
    _scan_panel(silhouette, scan.ks, scan.silhouette, chosen_k, "#c44e52", f"sample of {scan.rows:,}")
    silhouette.set_title("Silhouette (higher is better)")
    silhouette.legend(fontsize=9)
    ks = [*scan.ks, *evaluations["k"].astype(int)]
    for axes in (davies_bouldin, elbow, silhouette):
        axes.set_xlim(min(ks) - 0.5, max(ks) + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def _title_changes(history: pd.DataFrame) -> pd.DataFrame:
    """The (snapshot, segment) bars whose persona title differs from that segment's bar the snapshot
    before: where a label goes, so that every bar reads the title of its own day, the latest label left
    of it."""
    titled = history.dropna(subset=["title"]).sort_values(["segment_id", "snapshot_date"])
    changed = titled["title"] != titled.groupby("segment_id")["title"].shift()
    return titled[changed]


def segment_history(history: pd.DataFrame, colors: Mapping[int, Color]) -> Figure | None:
    """Segment sizes in the last snapshots as stacked bars, each labelled with the persona title of its
    own snapshot where the title changed; None until there are two snapshots."""
    sizes = history.pivot_table(
        index="snapshot_date", columns="segment_id", values="customers", aggfunc="sum", fill_value=0
    ).sort_index()
    if len(sizes) < 2:
        return None
    figure = Figure(figsize=HISTORY_SIZE, dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_axisbelow(True)
    axes.grid(axis="x", visible=False)
    positions = np.arange(len(sizes))
    bottom = np.zeros(len(sizes))
    middles = {}
    for segment_id in sizes.columns:
        counts = sizes[segment_id].to_numpy(dtype=float)
        axes.bar(
            positions, counts, bottom=bottom, color=colors[int(segment_id)], label=f"segment {segment_id}"
        )
        middles[int(segment_id)] = bottom + counts / 2
        bottom += counts
    day_position = {day: position for position, day in enumerate(sizes.index)}
    for row in _title_changes(history).itertuples(index=False):
        position = day_position[row.snapshot_date]
        axes.text(
            position,
            middles[int(row.segment_id)][position],
            shortened(row.title, HISTORY_LABEL_LENGTH),
            ha="center",
            va="center",
            fontsize=7,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.75, "linewidth": 0},
        )
    step = max(1, len(sizes) // 15)
    axes.set_xticks(
        positions[::step], labels=[str(day) for day in sizes.index[::step]], rotation=30, ha="right"
    )
    axes.yaxis.set_major_formatter(FuncFormatter(_thousands))
    axes.set_ylabel("customers")
    axes.set_title(f"Segment sizes over the last {len(sizes)} snapshots, with each day's persona titles")
    figure.legend(loc="outside right upper", title="segment", **_legend_layout(len(sizes.columns)))
    return figure


def transition_heatmap(matrix: pd.DataFrame) -> Figure:
    """Customers per previous segment (rows) and segment now (columns); colour: share of the row."""
    rows, columns = matrix.shape
    figure = Figure(
        figsize=(max(7.0, 1.4 * columns + 4), max(3.5, 0.55 * rows + 2.5)), dpi=DPI, layout="constrained"
    )
    axes = figure.add_subplot()
    counts = matrix.to_numpy(dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    if counts.size <= 900:
        for (row, column), count in np.ndenumerate(counts):
            if count:
                axes.text(
                    column,
                    row,
                    f"{count:,.0f}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if shares[row, column] > 0.6 else "black",
                )
    axes.grid(False)
    axes.set_xticks(
        range(columns),
        labels=[shortened(name, LABEL_LENGTH) for name in matrix.columns],
        rotation=30,
        ha="right",
        fontsize=8,
    )
    axes.set_yticks(range(rows), labels=[shortened(name, LABEL_LENGTH) for name in matrix.index], fontsize=8)
    axes.set_xlabel("segment now")
    axes.set_ylabel("segment in the previous snapshot")
    axes.set_title("Where the previous snapshot's customers are now")
    figure.colorbar(image, ax=axes, label="share of the row's customers", shrink=0.8)
    return figure


VALUE_MODEL_LABELS = {"value_model": "value model", "last_period": "last period (baseline)"}


def value_calibration(evaluations: pd.DataFrame) -> Figure:
    """Per predicted decile of the backtest, the mean predicted and the mean actual spend of each model."""
    figure = Figure(figsize=(9, 4), dpi=DPI, layout="constrained")
    panels = figure.subplots(1, len(evaluations), sharey=True, squeeze=False)[0]
    for axes, row in zip(panels, evaluations.itertuples(index=False), strict=True):
        deciles = pd.DataFrame(list(row.deciles)).sort_values("decile")
        axes.bar(deciles["decile"], deciles["mean_actual_value"], color="#9ecae1", label="actual")
        axes.plot(
            deciles["decile"], deciles["mean_predicted_value"], "o-", color="#d62728", label="predicted"
        )
        axes.set_xticks(range(1, 11))
        axes.set_xlabel("predicted decile (1 = highest)")
        axes.set_title(
            f"{VALUE_MODEL_LABELS.get(row.model, row.model)}\n"
            f"Spearman {row.spearman:.2f}, top decile holds {row.top_decile_capture:.0%} of spend"
        )
    panels[0].set_ylabel(f"mean spend in the {int(evaluations['horizon_days'].iloc[0])}-day window")
    panels[0].legend()
    return figure


def segment_value(segments: Sequence[Segment], values: pd.DataFrame, colors: Mapping[int, Color]) -> Figure:
    """Each segment's share of predicted value beside its share of past revenue, mean value annotated."""
    figure = Figure(figsize=(9, 0.6 * len(segments) + 1.5), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    positions = np.arange(len(segments))
    predicted = [values.loc[s.segment_id, "predicted_value_share"] for s in segments]
    revenue = [values.loc[s.segment_id, "revenue_share"] for s in segments]
    axes.barh(
        positions - 0.2,
        predicted,
        0.4,
        color=[colors[s.segment_id] for s in segments],
        label="predicted value",
    )
    axes.barh(positions + 0.2, revenue, 0.4, color="#bbbbbb", label="past revenue")
    for position, segment, share in zip(positions, segments, predicted, strict=True):
        mean = values.loc[segment.segment_id, "avg_predicted_value"]
        axes.annotate(f" {mean:,.2f} per customer", (share, position - 0.2), va="center", fontsize=8)
    axes.set_yticks(positions, [segment_label(segment) for segment in segments])
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:.0%}"))
    axes.set_xlabel("share of all customers' predicted value / of past revenue")
    axes.legend(loc="lower right")
    return figure
