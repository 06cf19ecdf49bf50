"""What a run costs: labels on every BigQuery job, a cap on the bytes each may bill, and the run's ledger.

Every query job of the DAG carries the labels dag_id, task_id, snapshot_date and run_id, so billing
exports and INFORMATION_SCHEMA.JOBS attribute its cost to the run; `maximum_bytes_billed` caps each job
(BigQuery fails a job that would bill more, "Query exceeded limit for bytes billed", without charging
it). The Python tasks' jobs carry the same labels. The `record_costs` task writes `run_costs`: every job
of the run, found by its labels, with the bytes it processed and billed and its slot time, and the Gemini
tokens of the persona step; after the report it records the run again, the report's jobs included.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Label keys and values: at most 63 characters, lowercase letters, digits, underscores and dashes, keys
# starting with a letter (https://cloud.google.com/bigquery/docs/labels-intro#requirements).
LABEL_LENGTH = 63
_NOT_IN_LABELS = re.compile(r"[^a-z0-9_-]+")


def label_value(text: str) -> str:
    """`text` as a BigQuery label value: lowercased, every other character run made an underscore."""
    return _NOT_IN_LABELS.sub("_", str(text).lower())[:LABEL_LENGTH]


def job_labels(context: Mapping[str, Any]) -> dict[str, str]:
    return {
        "dag_id": label_value(context["dag"].dag_id),
        "task_id": label_value(context["task"].task_id),
        "snapshot_date": context["ds_nodash"],
        "run_id": label_value(context["run_id"]),
    }


def run_job_configuration(configuration: dict, context: Mapping[str, Any], config: Any) -> dict:
    """A job's configuration as the run sends it: the run's labels, and its cap on the bytes a query job
    may bill when one is set."""
    labelled = {**configuration, "labels": {**configuration.get("labels", {}), **job_labels(context)}}
    if "query" in configuration and config.maximum_bytes_billed is not None:
        labelled["query"] = {**configuration["query"], "maximumBytesBilled": str(config.maximum_bytes_billed)}
    return labelled


def prepare_query_job(context: Mapping[str, Any]) -> None:
    """Before a query job starts: its labels, and the run's cap on bytes billed when one is set."""
    from segmentation.config import PipelineConfig

    task = context["task"]
    config = PipelineConfig.from_params(context["params"])
    task.configuration = run_job_configuration(task.configuration, context, config)


COST_FIELDS = (
    "task_id",
    "job_id",
    "statement_type",
    "total_bytes_processed",
    "total_bytes_billed",
    "total_slot_ms",
    "gemini_input_tokens",
    "gemini_output_tokens",
)
PERSONA_TASK = "personas.generate_personas"


def _job_row(task_id: str, job: Any) -> dict[str, Any]:
    """A job as the jobs API reports it (statistics of a script are its children's totals; a copy job
    processes no bytes)."""
    return dict.fromkeys(COST_FIELDS) | {
        "task_id": task_id,
        "job_id": job.job_id,
        "statement_type": getattr(job, "statement_type", None),
        "total_bytes_processed": getattr(job, "total_bytes_processed", None),
        "total_bytes_billed": getattr(job, "total_bytes_billed", None),
        "total_slot_ms": getattr(job, "slot_millis", None),
    }


def run_jobs(client: Any, labels: Mapping[str, str], since: Any) -> list[Any]:
    """Every job of the run, whichever task sent it: the project's jobs created since the run started that
    carry its dag_id and run_id labels (https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/list
    lists top-level jobs; a script's statistics are its children's totals)."""
    keys = ("dag_id", "run_id")
    return [
        job
        for job in client.list_jobs(min_creation_time=since)
        if all((job.labels or {}).get(key) == labels[key] for key in keys)
    ]


def _gemini_row(input_tokens: int | None, output_tokens: int | None) -> dict[str, Any]:
    return dict.fromkeys(COST_FIELDS) | {
        "task_id": PERSONA_TASK,
        "gemini_input_tokens": input_tokens,
        "gemini_output_tokens": output_tokens,
    }


def costs_parameter(rows: list[dict[str, Any]]) -> Any:
    from google.cloud.bigquery import ArrayQueryParameter, ScalarQueryParameter, StructQueryParameter

    types = dict.fromkeys(("task_id", "job_id", "statement_type"), "STRING")
    return ArrayQueryParameter(
        "costs",
        "STRUCT",
        [
            StructQueryParameter(
                None,
                *(ScalarQueryParameter(name, types.get(name, "INT64"), value) for name, value in row.items()),
            )
            for row in rows
        ],
    )


def write_run_costs(
    *,
    config: Any,
    snapshot_date: str,
    run_id: str,
    labels: Mapping[str, str],
    since: Any,
    task_ids: Mapping[str, str],
    gemini_tokens: tuple[int | None, int | None] = (None, None),
) -> dict[str, Any]:
    """Writes the run's rows of run_costs: every job the run has sent so far (found by its labels, named by
    the task whose label it carries: `task_ids` maps label values to task ids), as the jobs API reports
    it, and Gemini's tokens. The ledger's own table job counts; its final write cannot count itself."""
    import datetime as dt

    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
    from google.cloud.bigquery import QueryJobConfig, ScalarQueryParameter

    from segmentation.personas.store import Warehouse, sql_file

    hook = BigQueryHook(gcp_conn_id=config.gcp_conn_id, location=config.location, use_legacy_sql=False)
    client = hook.get_client(project_id=config.project_id or hook.project_id, location=config.location)
    own = QueryJobConfig(labels=dict(labels))
    if config.maximum_bytes_billed is not None:
        own.maximum_bytes_billed = config.maximum_bytes_billed
    warehouse = Warehouse(config.gcp_conn_id, config.project_id, config.dataset, config.location)
    client.query(
        sql_file("run_costs_table.sql", warehouse), job_config=own, location=config.location
    ).result()
    jobs = sorted(run_jobs(client, labels, since), key=lambda job: job.created)
    rows = [
        _job_row(
            task_ids.get(job.labels["task_id"], job.labels["task_id"]),
            client.get_job(job.job_id, location=config.location),
        )
        for job in jobs
    ]
    if any(tokens is not None for tokens in gemini_tokens):
        rows.append(_gemini_row(*gemini_tokens))
    parameters = [
        ScalarQueryParameter("snapshot_date", "DATE", dt.date.fromisoformat(snapshot_date)),
        ScalarQueryParameter("run_id", "STRING", run_id),
        ScalarQueryParameter("recorded_at", "TIMESTAMP", dt.datetime.now(dt.UTC)),
        costs_parameter(rows),
    ]
    own.query_parameters = parameters
    client.query(sql_file("run_costs.sql", warehouse), job_config=own, location=config.location).result()
    processed = sum(row["total_bytes_processed"] or 0 for row in rows)
    billed = sum(row["total_bytes_billed"] or 0 for row in rows)
    return {"jobs": len(jobs), "bytes_processed": processed, "bytes_billed": billed}
