"""What the run report shows, read from one snapshot's tables through the Google provider's `BigQueryHook`.

Everything is aggregated in BigQuery except two bounded samples: at most `sample_size` customers (their
features and segment) for the scatter plot and the choice-of-k scan. Values travel as query parameters;
only table and column names, checked to be plain identifiers, are rendered into SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from google.cloud.bigquery import ScalarQueryParameter

from segmentation.paths import sql_dir
from segmentation.personas.profile import PREDICTED_VALUE, PREDICTED_VALUE_SHARE
from segmentation.personas.store import Warehouse, render_sql, run_query
from segmentation.report.choice_of_k import ModelInput
from segmentation.tables import PROFILE_BOOKKEEPING_COLUMNS

# The customer value model's columns of segment_profiles: shown in the value section, not as features.
VALUE_COLUMNS = frozenset({PREDICTED_VALUE, PREDICTED_VALUE_SHARE})
SAMPLE_SIZE = 20_000
HISTORY_SNAPSHOTS = 30
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_PROFILES_QUERY = """\
SELECT * EXCEPT (snapshot_date)
FROM {{ table('segment_profiles') }}
WHERE snapshot_date = @snapshot_date
ORDER BY segment_id"""

_PERSONAS_QUERY = """\
SELECT segment_id, title, persona, summary, next_marketing_steps, recommended_channel, backend, model,
  prompt_version
FROM {{ table('segment_personas') }}
WHERE snapshot_date = @snapshot_date
ORDER BY segment_id"""

_EVALUATIONS_QUERY = """\
SELECT trial_id, k, davies_bouldin_index, mean_squared_distance, training_rows, is_selected
FROM {{ table('model_evaluations') }}
WHERE snapshot_date = @snapshot_date
ORDER BY k, trial_id"""


_VALUE_EVALUATIONS_QUERY = """\
SELECT model, horizon_days, customers, mean_absolute_error, root_mean_squared_error, spearman,
  top_decile_capture, deciles
FROM {{ table('value_model_evaluations') }}
WHERE snapshot_date = @snapshot_date
ORDER BY model"""

_STABILITY_QUERY = """\
SELECT training, rebase_reason, previous_snapshot_date, kept_share, unchanged_kept_share, new_segments
FROM {{ table('segment_stability') }}
WHERE snapshot_date = @snapshot_date"""

# The model input's preparation (include/sql/model_input.sql), for the choice-of-k scan: the standardization
# BigQuery ML applied (segment_centroids: the same mean and stddev on every segment's row of a feature) and
# the bounds of the features the selected model clustered (model_evaluations.feature_preparation).
_STANDARDIZATION_QUERY = """\
SELECT feature, MAX(feature_mean) AS mean, MAX(feature_stddev) AS stddev
FROM {{ table('segment_centroids') }}
WHERE snapshot_date = @snapshot_date
GROUP BY feature
ORDER BY feature"""

_BOUNDS_QUERY = """\
SELECT prepared.feature, prepared.lower_bound, prepared.upper_bound
FROM {{ table('model_evaluations') }} AS evaluation, UNNEST(evaluation.feature_preparation) AS prepared
WHERE evaluation.snapshot_date = @snapshot_date AND evaluation.is_selected AND prepared.clustered
ORDER BY prepared.feature"""

_SHIFTS_QUERY = """\
SELECT segment_id, previous_segment_id, centroid_shift
FROM {{ table('segment_id_mapping') }}
WHERE snapshot_date = @snapshot_date"""


class ReportError(ValueError):
    """The snapshot's tables cannot make a report; the message names what is missing."""


@dataclass(frozen=True)
class Persona:
    """A segment's persona as the persona step stored it: text from a model, so untrusted."""

    title: str
    persona: str
    summary: str
    next_marketing_steps: tuple[str, ...]
    recommended_channel: str


@dataclass(frozen=True)
class Segment:
    segment_id: int
    customers: int
    customer_share: float
    revenue_share: float
    persona: Persona | None
    # How far its centroid moved from the previous snapshot's (standardized units); None: a new segment.
    centroid_shift: float | None = None
    is_new: bool = False
    # Drift figures of segment_profiles against the previous snapshot; None: new, or not recorded.
    previous_customers: int | None = None
    size_change: float | None = None
    kept_share: float | None = None

    @property
    def title(self) -> str:
        return self.persona.title if self.persona else f"Segment {self.segment_id}"


@dataclass(frozen=True)
class RunMetadata:
    snapshot_date: date
    project_id: str
    dataset: str
    training_rows: int
    k: int
    davies_bouldin_index: float | None
    persona_backend: str | None
    persona_model: str | None
    prompt_version: str | None
    stability: Stability | None = None


@dataclass(frozen=True)
class Stability:
    """How the snapshot's model started and how many customers kept their segment (segment_stability)."""

    training: str
    rebase_reason: str | None
    previous_snapshot_date: date | None
    kept_share: float | None
    unchanged_kept_share: float | None
    new_segments: int


@dataclass(frozen=True)
class RunCosts:
    run_id: str
    jobs: int
    bytes_processed: int
    bytes_billed: int
    slot_ms: int
    gemini_input_tokens: int | None
    gemini_output_tokens: int | None


@dataclass(frozen=True)
class ReportData:
    metadata: RunMetadata
    segments: tuple[Segment, ...]
    # Per segment (index segment_id) the mean of every profiled feature, in original units.
    feature_means: pd.DataFrame
    # Per feature (index) its `mean` and `stddev` over every customer of the snapshot.
    feature_spread: pd.DataFrame
    # One row per k the model tried: k, davies_bouldin_index, mean_squared_distance, is_selected.
    evaluations: pd.DataFrame
    # Up to SAMPLE_SIZE customers in a fixed pseudo-random order: segment_id, customer_id, features.
    sample: pd.DataFrame
    # Last snapshots up to this one: snapshot_date, segment_id, customers, title.
    history: pd.DataFrame
    # The customer value backtest, one row per model (value_model, last_period), with its `deciles`
    # (decile, customers, mean_predicted_value, mean_actual_value); empty before the value model existed.
    value_evaluations: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Per segment (index segment_id): avg_predicted_value, predicted_value_share, revenue_share.
    segment_values: pd.DataFrame = field(default_factory=pd.DataFrame)
    # What the snapshot's latest recorded run cost (run_costs), when one is recorded.
    costs: RunCosts | None = None
    # Against the previous snapshot (report_segment_transitions.sql): previous_segment_id, segment_id,
    # customers, previous_snapshot_date, previous_title, title; empty on a first snapshot.
    transitions: pd.DataFrame = field(default_factory=pd.DataFrame)
    # How the run prepared the features its model trained on; None for snapshots published before the
    # feature preparation was recorded.
    model_input: ModelInput | None = None


def _quoted_columns(columns: Sequence[str]) -> list[str]:
    unsafe = [column for column in columns if not _IDENTIFIER.match(column)]
    if unsafe:
        raise ReportError(f"segment_profiles has column names that are no plain identifiers: {unsafe}")
    return list(columns)


class ReportQueries:
    """The report's read queries for one warehouse, run as BigQuery jobs through the connection."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.hook = warehouse.bigquery_hook()
        self.warehouse = warehouse

    def frame(self, sql: str, **parameters: tuple[str, Any]) -> pd.DataFrame:
        """The query's result; `parameters` maps each name to its (GoogleSQL type, value)."""
        named = [ScalarQueryParameter(name, kind, value) for name, (kind, value) in parameters.items()]
        job = run_query(self.hook, self.warehouse, sql, named)
        return job.result().to_arrow(create_bqstorage_client=False).to_pandas()

    def template(self, text: str, **variables: Any) -> str:
        return render_sql(text, self.warehouse, **variables)

    def sql_file(self, name: str, **variables: Any) -> str:
        return self.template((sql_dir() / name).read_text(), **variables)


def _personas(frame: pd.DataFrame) -> dict[int, Persona]:
    return {
        int(row.segment_id): Persona(
            title=row.title,
            persona=row.persona,
            summary=row.summary,
            next_marketing_steps=tuple(
                row.next_marketing_steps if row.next_marketing_steps is not None else ()
            ),
            recommended_channel=row.recommended_channel,
        )
        for row in frame.itertuples(index=False)
    }


def _segments(
    profiles: pd.DataFrame, personas: Mapping[int, Persona], shifts: pd.DataFrame | None = None
) -> tuple[Segment, ...]:
    moved = {} if shifts is None else {int(row.segment_id): row for row in shifts.itertuples(index=False)}
    return tuple(
        Segment(
            segment_id=int(row.segment_id),
            customers=int(row.customers),
            customer_share=float(row.customer_share),
            # NULL when no customer kept any spend: no revenue to share.
            revenue_share=0.0 if pd.isna(row.revenue_share) else float(row.revenue_share),
            persona=personas.get(int(row.segment_id)),
            centroid_shift=_optional_float(getattr(moved.get(int(row.segment_id)), "centroid_shift", None)),
            is_new=int(row.segment_id) in moved and pd.isna(moved[int(row.segment_id)].previous_segment_id),
            previous_customers=_optional_int(getattr(row, "previous_customers", None)),
            size_change=_optional_float(getattr(row, "size_change", None)),
            kept_share=_optional_float(getattr(row, "kept_share", None)),
        )
        for row in profiles.itertuples(index=False)
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _optional_int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _stability(frame: pd.DataFrame) -> Stability | None:
    """The snapshot's stability figures; None for snapshots published before they were recorded."""
    if frame.empty:
        return None
    row = frame.iloc[0]
    return Stability(
        training=str(row.training),
        rebase_reason=None if pd.isna(row.rebase_reason) else str(row.rebase_reason),
        previous_snapshot_date=None if pd.isna(row.previous_snapshot_date) else row.previous_snapshot_date,
        kept_share=_optional_float(row.kept_share),
        unchanged_kept_share=_optional_float(row.unchanged_kept_share),
        new_segments=int(row.new_segments),
    )


def _feature_means(profiles: pd.DataFrame) -> pd.DataFrame:
    columns = [
        column
        for column in profiles.columns
        if column not in PROFILE_BOOKKEEPING_COLUMNS | VALUE_COLUMNS
        and pd.api.types.is_numeric_dtype(profiles[column])
    ]
    return profiles.set_index("segment_id")[_quoted_columns(columns)].astype(float)


def _segment_values(profiles: pd.DataFrame) -> pd.DataFrame:
    """The value columns of the profiles, when the snapshot has them (older ones read NULL there)."""
    if PREDICTED_VALUE not in profiles or profiles[PREDICTED_VALUE].isna().all():
        return pd.DataFrame()
    columns = [PREDICTED_VALUE, PREDICTED_VALUE_SHARE, "revenue_share"]
    return profiles.set_index("segment_id")[columns].astype(float)


def _feature_spread(queries: ReportQueries, columns: Sequence[str], day: date) -> pd.DataFrame:
    row = queries.frame(
        queries.sql_file("report_feature_spread.sql", columns=columns), snapshot_date=("DATE", day)
    ).iloc[0]
    return pd.DataFrame(
        {
            "mean": [float(row[f"mean_{column}"]) for column in columns],
            "stddev": [float(row[f"stddev_{column}"]) for column in columns],
        },
        index=list(columns),
    )


def _run_costs(queries: ReportQueries, day: date) -> RunCosts | None:
    """The latest recorded run of the snapshot from run_costs; None before any run recorded its costs."""
    from google.api_core.exceptions import NotFound

    try:
        frame = queries.frame(queries.sql_file("report_run_costs.sql"), snapshot_date=("DATE", day))
    except NotFound:
        return None
    if frame.empty:
        return None
    row = frame.iloc[0]

    def count(value: Any) -> int | None:
        return None if pd.isna(value) else int(value)

    return RunCosts(
        run_id=str(row.run_id),
        jobs=int(row.jobs),
        bytes_processed=count(row.bytes_processed) or 0,
        bytes_billed=count(row.bytes_billed) or 0,
        slot_ms=count(row.slot_ms) or 0,
        gemini_input_tokens=count(row.gemini_input_tokens),
        gemini_output_tokens=count(row.gemini_output_tokens),
    )


def _model_input(queries: ReportQueries, day: date) -> ModelInput | None:
    """The snapshot's model input preparation; None when it recorded no bounds or no centroids."""
    on_day = {"snapshot_date": ("DATE", day)}
    standardization = queries.frame(queries.template(_STANDARDIZATION_QUERY), **on_day)
    bounds = queries.frame(queries.template(_BOUNDS_QUERY), **on_day)
    if standardization.empty or bounds.empty:
        return None
    return ModelInput(
        standardization={
            str(row.feature): (float(row.mean), _optional_float(row.stddev) or 0.0)
            for row in standardization.itertuples(index=False)
        },
        bounds={
            str(row.feature): (float(row.lower_bound), float(row.upper_bound))
            for row in bounds.dropna(subset=["lower_bound", "upper_bound"]).itertuples(index=False)
        },
    )


def _selected(evaluations: pd.DataFrame, warehouse: Warehouse, day: date) -> pd.Series:
    selected = evaluations[evaluations["is_selected"].astype(bool)]
    if selected.empty:
        raise ReportError(
            f"model_evaluations of {warehouse.dataset} for snapshot {day} marks no trial as selected"
        )
    return selected.iloc[0]


def _distinct_values(frame: pd.DataFrame, column: str) -> str | None:
    values = sorted(set(frame[column].dropna()))
    return ", ".join(values) if values else None


def load_report_data(warehouse: Warehouse, day: date, *, sample_size: int = SAMPLE_SIZE) -> ReportData:
    """Everything the report of snapshot `day` shows; fails naming the table that lacks the snapshot."""
    queries = ReportQueries(warehouse)
    on_day = {"snapshot_date": ("DATE", day)}
    profiles = queries.frame(queries.template(_PROFILES_QUERY), **on_day)
    if profiles.empty:
        raise ReportError(
            f"segment_profiles of {warehouse.dataset} has no rows for snapshot {day}: "
            "the segments step has not published that date"
        )
    evaluations = queries.frame(queries.template(_EVALUATIONS_QUERY), **on_day)
    if evaluations.empty:
        raise ReportError(f"model_evaluations of {warehouse.dataset} has no rows for snapshot {day}")
    personas = queries.frame(queries.template(_PERSONAS_QUERY), **on_day)
    feature_means = _feature_means(profiles)
    sample = queries.frame(
        queries.sql_file("report_customer_sample.sql"), **on_day, sample_size=("INT64", sample_size)
    )
    history = queries.frame(
        queries.sql_file("report_segment_history.sql"), **on_day, snapshots=("INT64", HISTORY_SNAPSHOTS)
    )
    value_evaluations = queries.frame(queries.template(_VALUE_EVALUATIONS_QUERY), **on_day)
    transitions = queries.frame(queries.sql_file("report_segment_transitions.sql"), **on_day)
    costs = _run_costs(queries, day)
    selected = _selected(evaluations, warehouse, day)
    stability = queries.frame(queries.template(_STABILITY_QUERY), **on_day)
    shifts = queries.frame(queries.template(_SHIFTS_QUERY), **on_day)
    metadata = RunMetadata(
        snapshot_date=day,
        project_id=warehouse.project_id or queries.hook.project_id,
        dataset=warehouse.dataset,
        training_rows=int(selected["training_rows"]),
        k=int(selected["k"]),
        davies_bouldin_index=None
        if pd.isna(selected["davies_bouldin_index"])
        else float(selected["davies_bouldin_index"]),
        persona_backend=_distinct_values(personas, "backend"),
        persona_model=_distinct_values(personas, "model"),
        prompt_version=_distinct_values(personas, "prompt_version"),
        stability=_stability(stability),
    )
    return ReportData(
        metadata=metadata,
        segments=_segments(profiles, _personas(personas), shifts),
        feature_means=feature_means,
        feature_spread=_feature_spread(queries, list(feature_means.columns), day),
        evaluations=evaluations,
        sample=sample,
        history=history,
        value_evaluations=value_evaluations,
        segment_values=_segment_values(profiles),
        costs=costs,
        transitions=transitions,
        model_input=_model_input(queries, day),
    )
