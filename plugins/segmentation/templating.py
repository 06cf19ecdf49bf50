"""Jinja macros for the SQL templates: table names and column lists, derived from the run's params only.

Each macro validates the params through `PipelineConfig` before returning anything, so a value that
breaks BigQuery's naming rules never reaches a rendered statement, and identifiers are quoted here
in one place rather than in every template. Templates read settings through `config()`, the validated
and typed `PipelineConfig`, never `params` themselves: a raw param is what the run's conf said
(`num_clusters: 4.0`), the config is what it means (`4`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import pass_context

from segmentation.config import PipelineConfig
from segmentation.continuity import (
    MATCH_TASK,
    PLAN_TASK,
    SegmentMatch,
    TrainingPlan,
    model_feature_name,
    numeric_model_features,
)
from segmentation.features import (
    FEATURE_BOUNDS,
    ORDER_HISTORY,
    SPEND_WINDOWS_MONTHS,
    CategorySpend,
    Column,
    category_spends,
    feature_columns,
    history_column,
    history_cut_offs,
)
from segmentation.sources import mapped_columns
from segmentation.tables import (
    CURRENT_VIEW,
    HISTORY_VIEW,
    MEMBERS_VIEW,
    MODEL,
    PERSONAS,
    RUN_COSTS,
    VALUE_BACKTEST_MODEL,
    VALUE_MODEL,
    VALUE_TRAINING_TABLES,
    Table,
    ViewColumn,
    current_view_columns,
    partitioned_table,
    partitioned_tables,
)

SOURCE_TABLES = frozenset({"users", "orders", "order_items", "products"})
STAGING_RETENTION = timedelta(days=7)
# The customer value model learns spend to this power (include/sql/customer_value_model.sql says why).
VALUE_LABEL_POWER = 0.3


def _config(context: Any) -> PipelineConfig:
    return PipelineConfig.from_params(context["params"])


@pass_context
def config(context: Any) -> PipelineConfig:
    """The run's settings, validated and typed, for templates to read instead of raw params."""
    return _config(context)


def _path(*parts: str) -> str:
    return "`" + ".".join(part for part in parts if part) + "`"


def _dataset_object(config: PipelineConfig, name: str) -> str:
    """A dataset-qualified name; without a project BigQuery resolves it in the job's (the connection's)."""
    return _path(config.project_id, config.dataset, name)


@pass_context
def dataset(context: Any) -> str:
    """The output dataset, for DDL on the dataset itself."""
    config = _config(context)
    return _path(config.project_id, config.dataset)


@pass_context
def table(context: Any, name: str) -> str:
    """A table, view or model of the pipeline in the configured dataset."""
    config = _config(context)
    if name not in {MODEL, CURRENT_VIEW, PERSONAS, VALUE_MODEL, MEMBERS_VIEW, HISTORY_VIEW, RUN_COSTS}:
        partitioned_table(config, name)  # refuses names that are no pipeline table
    return _dataset_object(config, name)


@pass_context
def staging_table(context: Any, name: str) -> str:
    """The run's staging copy of a partitioned table, where gates inspect rows before they are published, or a
    table only the run uses (the order history, the clipping bounds, the value models' training sets)."""
    config = _config(context)
    if name not in (*VALUE_TRAINING_TABLES, ORDER_HISTORY, FEATURE_BOUNDS):
        partitioned_table(config, name)
    return _dataset_object(config, f"_staging_{name}_{context['ds_nodash']}")


@pass_context
def staging_model(context: Any, name: str) -> str:
    """The run's own copy of a model: a failed gate never replaces the model that is served."""
    if name not in {VALUE_MODEL, VALUE_BACKTEST_MODEL}:
        raise KeyError(f"{name!r} is no staged model; known: {sorted({VALUE_MODEL, VALUE_BACKTEST_MODEL})}")
    return _dataset_object(_config(context), f"_staging_{name}_{context['ds_nodash']}")


def snapshot_cut_off(data_interval_end: datetime) -> datetime:
    """The instant a snapshot counts orders up to: the start (00:00 UTC) of the day its run's data interval
    ends in. A scheduled run's interval ends there already; a manual run triggered at 13:47 on day D is
    cut off at D 00:00 like the scheduled run of D, so it reproduces that snapshot instead of replacing it
    with a partial day."""
    return data_interval_end.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pass_context
def cut_off_at(context: Any) -> datetime:
    """The run's cut-off instant (see snapshot_cut_off), for messages and TIMESTAMP literals."""
    return snapshot_cut_off(context["data_interval_end"])


@pass_context
def cut_off(context: Any, days_before: int = 0) -> str:
    """The instant features are measured at, as a TIMESTAMP literal: the run's cut-off, or whole days
    before it (the value model trains on features as of the cut-off minus its horizon)."""
    if isinstance(days_before, bool) or not isinstance(days_before, int) or days_before < 0:
        raise ValueError(f"cut_off takes a whole number of days >= 0, got {days_before!r}")
    return f"TIMESTAMP '{cut_off_at(context) - timedelta(days=days_before)}'"


def staging_expiration() -> str:
    """When a staging table a failed run leaves behind expires: a week after the job's SQL was rendered.

    Publishing drops the table long before; the expiry only cleans up after runs that never publish.
    """
    expires = datetime.now(UTC) + STAGING_RETENTION
    return f"TIMESTAMP '{expires:%Y-%m-%d %H:%M:%S}+00'"


@pass_context
def source_table(context: Any, name: str) -> str:
    if name not in SOURCE_TABLES:
        raise KeyError(f"{name!r} is no source table; known: {sorted(SOURCE_TABLES)}")
    config = _config(context)
    return _path(config.source_project, config.source_dataset, name)


@pass_context
def transactions_table(context: Any) -> str:
    return _path(*_config(context).transactions_table.split("."))


@pass_context
def transactions_column(context: Any, field: str) -> str | None:
    """The transactions table's column for a field, quoted; None for an optional field left unmapped."""
    column = mapped_columns(_config(context).transactions_columns).get(field)
    return None if column is None else f"`{column}`"


@pass_context
def table_schema(context: Any, name: str) -> Table:
    return partitioned_table(_config(context), name)


@pass_context
def all_tables(context: Any) -> tuple[Table, ...]:
    return partitioned_tables(_config(context))


@pass_context
def current_view_schema(context: Any) -> tuple[ViewColumn, ...]:
    return current_view_columns(_config(context))


@pass_context
def features(context: Any) -> tuple[Column, ...]:
    return feature_columns(_config(context))


@pass_context
def spend_features(context: Any) -> tuple[CategorySpend, ...]:
    return category_spends(_config(context))


@pass_context
def cut_offs(context: Any) -> tuple[int, ...]:
    """The cut-offs the run measures at, in days before its own (customer_order_history keeps each)."""
    return history_cut_offs(_config(context))


@pass_context
def tuned_k_range(context: Any) -> tuple[int, int] | None:
    """(k_min, k_max) when the model tunes k over a range; None when num_clusters fixes it."""
    return _config(context).k_range


@pass_context
def trained_model(context: Any) -> str:
    """The model the run trains: a staging model of its own, published (copied over the served model) only
    once every gate has passed and only when the run's date is the latest snapshot."""
    config = _config(context)
    return _dataset_object(config, f"_staging_{MODEL}_{context['ds_nodash']}")


def _run_xcom(context: Any, task_id: str, outside_a_run: Any) -> Any:
    """What an upstream task of the run returned. Rendered outside a run (no task instance: template
    checks, previews) the templates show `outside_a_run`, a cold start."""
    task_instance = context.get("ti")
    if task_instance is None:
        return outside_a_run
    value = task_instance.xcom_pull(task_ids=task_id)
    if value is None:
        raise ValueError(f"{task_id} has not run for this date: the SQL depends on what it decided")
    return value


@pass_context
def training_plan(context: Any) -> TrainingPlan:
    """How the run trains: continuing from the previous snapshot's centroids, or rebasing."""
    config = _config(context)
    cold_start = TrainingPlan.rebase(config, "rendered outside a run")
    return TrainingPlan.model_validate(_run_xcom(context, PLAN_TASK, cold_start.model_dump()))


@pass_context
def segment_matches(context: Any) -> tuple[SegmentMatch, ...]:
    """The segment id each centroid of the run's model gets (see segmentation.continuity)."""
    plan = training_plan(context)
    fresh = [SegmentMatch(centroid_id=k, segment_id=k).model_dump() for k in range(1, (plan.k_max or 1) + 1)]
    return tuple(SegmentMatch.model_validate(row) for row in _run_xcom(context, MATCH_TASK, fresh))


@pass_context
def model_features(context: Any) -> tuple[str, ...]:
    """The numeric columns of the model input (model_input.sql), which centroids are compared on."""
    return numeric_model_features(_config(context))


@pass_context
def model_feature(context: Any, column: str) -> str:
    """The model input's name for a numeric column of customer_features (log_monetary for monetary when
    log_transform_monetary is set)."""
    return model_feature_name(_config(context), column)


def sql_float(value: float | None) -> str:
    """A FLOAT64 literal (NULL for None); refuses anything that is not a finite number."""
    if value is None:
        return "CAST(NULL AS FLOAT64)"
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {value!r}")
    return f"CAST({number!r} AS FLOAT64)"


def sql_int(value: int | None) -> str:
    """An INT64 literal (NULL for None); refuses anything that is not an integer."""
    if value is None:
        return "CAST(NULL AS INT64)"
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"not an integer: {value!r}")
    return str(value)


def sql_string(value: str) -> str:
    """A GoogleSQL string literal holding `value`, double-quoted when that spares escaping an apostrophe."""
    quote = '"' if "'" in value and '"' not in value else "'"
    escaped = value.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\n")
    return quote + escaped + quote


MACROS = {
    "config": config,
    "dataset": dataset,
    "table": table,
    "staging_table": staging_table,
    "staging_expiration": staging_expiration,
    "staging_model": staging_model,
    "cut_off": cut_off,
    "cut_off_at": cut_off_at,
    "value_label_power": VALUE_LABEL_POWER,
    "source_table": source_table,
    "transactions_table": transactions_table,
    "transactions_column": transactions_column,
    "table_schema": table_schema,
    "all_tables": all_tables,
    "current_view_schema": current_view_schema,
    "features": features,
    "spend_features": spend_features,
    "spend_windows_months": SPEND_WINDOWS_MONTHS,
    "cut_offs": cut_offs,
    "history_column": history_column,
    "tuned_k_range": tuned_k_range,
    "sql_string": sql_string,
    "sql_float": sql_float,
    "sql_int": sql_int,
    "trained_model": trained_model,
    "training_plan": training_plan,
    "segment_matches": segment_matches,
    "model_features": model_features,
    "model_feature": model_feature,
}
