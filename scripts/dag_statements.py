"""Every BigQuery job one run of the DAG sends, rendered for a run's settings as Airflow renders it.

The SQL tasks (`BigQueryInsertJobOperator`) are rendered with the DAG's own template environment, params
and macros; the Python tasks' jobs (the persona step's MERGE, the report's reads) with the renderers and
query parameters those tasks use. `make preflight` dry-runs them on a real project; the GoogleSQL
contract tests analyze them with ZetaSQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DAG_FILE = ROOT / "dags" / "customer_segmentation.py"
DAG_ID = "customer_segmentation"


@dataclass(frozen=True)
class Job:
    """One query job: the task that sends it, its GoogleSQL text and its query parameters (REST form)."""

    task_id: str
    sql: str
    parameters: tuple[dict[str, Any], ...] = field(default=())

    @property
    def parameter_types(self) -> dict[str, str]:
        """Each named parameter's GoogleSQL type, e.g. {"snapshot_date": "DATE"}."""
        return {
            parameter["name"]: googlesql_type(parameter["parameterType"]) for parameter in self.parameters
        }


def googlesql_type(parameter_type: Mapping[str, Any]) -> str:
    """A REST QueryParameterType as its GoogleSQL type name."""
    kind = parameter_type["type"]
    if kind == "ARRAY":
        return f"ARRAY<{googlesql_type(parameter_type['arrayType'])}>"
    if kind == "STRUCT":
        fields = ", ".join(f"{f['name']} {googlesql_type(f['type'])}" for f in parameter_type["structTypes"])
        return f"STRUCT<{fields}>"
    return kind


@cache
def load_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    if bag.import_errors:
        raise RuntimeError(f"the DAG does not import: {bag.import_errors}")
    return bag.dags[DAG_ID]


def run_context(params: Mapping[str, Any], logical_date: dt.datetime) -> dict[str, Any]:
    """The template context of a run at `logical_date`.

    `@daily` is a cron trigger timetable in Airflow 3: a run's data interval is the instant it is for.
    """
    import pendulum

    logical = pendulum.instance(logical_date)
    return {
        "params": dict(params),
        "ds": logical.to_date_string(),
        "ds_nodash": logical.format("YYYYMMDD"),
        "logical_date": logical,
        "data_interval_start": logical,
        "data_interval_end": logical,
    }


def sql_tasks(dag: Any) -> list[Any]:
    """The DAG's query-job tasks, in the order a run executes them."""
    return [task for task in dag.topological_sort() if hasattr(task, "configuration")]


def render_task(dag: Any, task: Any, conf: Mapping[str, Any], logical_date: dt.datetime) -> str:
    params = {name: task.params[name] for name in task.params} | dict(conf)
    return task.render_template(
        task.configuration["query"]["query"],
        run_context(params, logical_date),
        dag.get_template_env(),
    )


# Python tasks that run an include/sql file with the DAG's templates (segmentation.continuity.WarehouseJobs).
WAREHOUSE_JOB_FILES = {"alert_segment_drift": "segment_drift.sql"}


def render_warehouse_job(dag: Any, task_id: str, conf: Mapping[str, Any], logical_date: dt.datetime) -> str:
    task = dag.get_task(task_id)
    params = {name: task.params[name] for name in task.params} | dict(conf)
    template = dag.get_template_env().get_template(WAREHOUSE_JOB_FILES[task_id])
    return template.render(**run_context(params, logical_date))


def dag_jobs(conf: Mapping[str, Any], logical_date: dt.datetime) -> list[Job]:
    """Every job of a run with `conf` (the run's settings over the DAG's defaults), in run order."""
    from segmentation.config import PipelineConfig

    dag = load_dag()
    jobs = [Job(task.task_id, render_task(dag, task, conf, logical_date)) for task in sql_tasks(dag)]
    jobs += [
        Job(task_id, render_warehouse_job(dag, task_id, conf, logical_date))
        for task_id in WAREHOUSE_JOB_FILES
    ]
    defaults = {name: dag.params[name] for name in dag.params}
    config = PipelineConfig.from_params(defaults | dict(conf))
    return jobs + python_task_jobs(config, logical_date.date())


def python_task_jobs(config: Any, day: dt.date) -> list[Job]:
    """The jobs the persona step and the report send, with parameters as those tasks bind them."""
    from google.cloud.bigquery import ScalarQueryParameter

    from segmentation.personas import store
    from segmentation.report import data
    from segmentation.tables import PROFILE_BOOKKEEPING_COLUMNS, partitioned_table

    warehouse = store.Warehouse(config.gcp_conn_id, config.project_id, config.dataset, config.location)
    on_day = (ScalarQueryParameter("snapshot_date", "DATE", day).to_api_repr(),)
    profiled = [
        column.name
        for column in partitioned_table(config, "segment_profiles").columns
        if column.is_numeric and column.name not in PROFILE_BOOKKEEPING_COLUMNS | data.VALUE_COLUMNS
    ]

    def report(sql: str, *extra: ScalarQueryParameter) -> tuple[str, tuple[dict, ...]]:
        return sql, on_day + tuple(parameter.to_api_repr() for parameter in extra)

    persona_jobs = {
        "personas.generate_personas:profiles": (store.render_sql(store._PROFILES_QUERY, warehouse), on_day),
        "personas.generate_personas:table": (store.sql_file("segment_personas_table.sql", warehouse), ()),
        "personas.generate_personas:refresh": (store.sql_file("persona_refresh.sql", warehouse), on_day),
        "personas.generate_personas:merge": (
            store.sql_file("segment_personas.sql", warehouse),
            tuple(parameter.to_api_repr() for parameter in _merge_parameters(day)),
        ),
    }
    report_jobs = {
        "report:profiles": report(data.render_sql(data._PROFILES_QUERY, warehouse)),
        "report:evaluations": report(data.render_sql(data._EVALUATIONS_QUERY, warehouse)),
        "report:personas": report(data.render_sql(data._PERSONAS_QUERY, warehouse)),
        "report:customer_sample": report(
            data.render_sql(_read("report_customer_sample.sql"), warehouse),
            ScalarQueryParameter("sample_size", "INT64", data.SAMPLE_SIZE),
        ),
        "report:segment_history": report(
            data.render_sql(_read("report_segment_history.sql"), warehouse),
            ScalarQueryParameter("snapshots", "INT64", data.HISTORY_SNAPSHOTS),
        ),
        "report:run_costs": report(data.render_sql(_read("report_run_costs.sql"), warehouse)),
        "report:segment_transitions": report(
            data.render_sql(_read("report_segment_transitions.sql"), warehouse)
        ),
        "report:feature_spread": report(
            data.render_sql(_read("report_feature_spread.sql"), warehouse, columns=profiled)
        ),
    }
    cost_jobs = {
        "record_costs:table": (store.sql_file("run_costs_table.sql", warehouse), ()),
        "record_costs:replace": (
            store.sql_file("run_costs.sql", warehouse),
            tuple(parameter.to_api_repr() for parameter in _cost_parameters(day)),
        ),
    }
    jobs = persona_jobs | cost_jobs | report_jobs
    return [Job(task_id, sql, parameters) for task_id, (sql, parameters) in jobs.items()]


def _read(name: str) -> str:
    from segmentation.paths import sql_dir

    return (sql_dir() / name).read_text()


def _cost_parameters(day: dt.date) -> list[Any]:
    """run_costs' parameters for one job and the Gemini row, built by the record_costs task's own code."""
    from google.cloud.bigquery import ScalarQueryParameter

    from segmentation.costs import COST_FIELDS, costs_parameter

    row = dict.fromkeys(COST_FIELDS, None) | {"task_id": "setup.create_tables", "job_id": "job_1"}
    return [
        ScalarQueryParameter("snapshot_date", "DATE", day),
        ScalarQueryParameter("run_id", "STRING", "scheduled__2024-06-29"),
        ScalarQueryParameter("recorded_at", "TIMESTAMP", dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)),
        costs_parameter([row]),
    ]


def _merge_parameters(day: dt.date) -> list[Any]:
    """The persona MERGE's parameters for one example persona, built by the persona step's own code."""
    from segmentation.personas.prompt import Prompt
    from segmentation.personas.response import Persona
    from segmentation.personas.store import Draft, merge_parameters
    from segmentation.personas.writer import Generation

    persona = Persona(
        segment_id=1,
        title="Loyal regulars",
        persona="Frequent buyers with a steady basket.",
        summary="High value, low churn risk in the last year.",
        next_marketing_steps=["Send a thank-you offer", "Invite to loyalty tier", "Ask for a review"],
        recommended_channel="email",
    )
    generation = Generation("offline", "rules-1", "{}", {}, latency_ms=1)
    prompt = Prompt(text="profiles", version="1", segment_ids=(1,), figures={})
    generated_at = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    carried_from = day - dt.timedelta(days=1)
    return merge_parameters(day, Draft(prompt, generation, [persona]), generated_at, carried_from, [2])
