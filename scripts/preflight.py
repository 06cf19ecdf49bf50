"""Preflight: will the DAG run on your BigQuery? Checked before the first run, without writing anything.

For the settings a run would use (the DAG's defaults, your SEGMENTATION_* environment, a run conf on top)
it renders every job the run sends and dry-runs each on BigQuery through the DAG's own Airflow connection:
BigQuery validates the SQL, your permissions and the location, and estimates the bytes each job would
process (https://cloud.google.com/bigquery/docs/running-queries#dry-run). A dry run of a job reading a
table the run itself creates first (the dataset, staging tables, the model) cannot succeed before the
first run: that job is reported as checked by the run. It also checks the connection's project, where
the output dataset is (or will be created) and that the source is in the same location, and with
--gemini makes one tiny Gemini call with the persona step's settings.

    make preflight
    PYTHONPATH=.:plugins .venv/bin/python scripts/preflight.py [--conf '{"project_id": ...}'] \\
        [--date 2024-06-29] [--gemini]

Exit status: 0 when nothing failed, 1 when a check failed, 2 for invalid settings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scripts.dag_statements import Job, dag_jobs, load_dag

OK, CREATED_BY_THE_RUN, FAILED = "ok", "checked by the run", "FAILED"
_NOT_FOUND = re.compile(r"Not found: (?:Dataset|Table|Model) ([\w.:-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str = ""
    bytes_processed: int | None = None


def settings(conf: Mapping[str, Any]) -> Any:
    """The run's settings: the DAG's params (deployment defaults) with `conf` on top, validated."""
    from segmentation.config import PipelineConfig

    dag = load_dag()
    return PipelineConfig.from_params({name: dag.params[name] for name in dag.params} | dict(conf))


def bigquery_client(config: Any) -> Any:
    """The client the DAG's tasks use: the Google provider's hook on the configured connection."""
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    hook = BigQueryHook(gcp_conn_id=config.gcp_conn_id, location=config.location, use_legacy_sql=False)
    return hook.get_client(project_id=config.project_id or hook.project_id, location=config.location)


def created_by_the_run(missing: str | None, config: Any) -> bool:
    """Whether a missing object is the run's own: the dataset, or anything in it (tables, staging
    tables, models), all of which earlier tasks of the run create. Anything else missing is a problem."""
    return missing is not None and (missing == config.dataset or missing.startswith(f"{config.dataset}."))


def missing_object(message: str, project: str) -> str | None:
    """What a "Not found" error names, as dataset or dataset.table when it is in `project`."""
    match = _NOT_FOUND.search(message)
    return match[1].replace(":", ".").removeprefix(f"{project}.") if match else None


def dry_run(client: Any, job: Job, config: Any) -> Check:
    from google.api_core import exceptions
    from google.cloud import bigquery

    job_config = bigquery.QueryJobConfig(
        dry_run=True,
        use_query_cache=False,
        use_legacy_sql=False,
        query_parameters=[_query_parameter(parameter) for parameter in job.parameters],
    )
    try:
        result = client.query(job.sql, job_config=job_config, location=config.location)
    except exceptions.GoogleAPICallError as error:
        message = getattr(error, "message", str(error))
        missing = missing_object(message, config.project_id or client.project)
        if created_by_the_run(missing, config):
            return _query_of_the_runs_table(client, job, config, job_config) or Check(
                job.task_id, CREATED_BY_THE_RUN, f"reads {missing}, which the run creates first"
            )
        return Check(job.task_id, FAILED, message.splitlines()[0])
    return Check(job.task_id, OK, bytes_processed=result.total_bytes_processed or 0)


def _query_of_the_runs_table(client: Any, job: Job, config: Any, job_config: Any) -> Check | None:
    """A CREATE TABLE ... AS SELECT whose table the run creates (in a dataset that does not exist yet)
    still costs what its SELECT reads: that SELECT, dry-run alone, estimates it, and fails on what is
    missing outside the run's dataset. None when the SELECT too reads what the run creates."""
    import sqlglot
    from google.api_core import exceptions
    from sqlglot import exp

    try:
        statements = sqlglot.parse(job.sql, read="bigquery")
    except sqlglot.errors.SqlglotError:
        return None
    if len(statements) != 1 or not isinstance(statements[0], exp.Create):
        return None
    query = statements[0].expression
    if not isinstance(query, exp.Query):
        return None
    try:
        result = client.query(query.sql("bigquery"), job_config=job_config, location=config.location)
    except exceptions.GoogleAPICallError as error:
        message = getattr(error, "message", str(error))
        if created_by_the_run(missing_object(message, config.project_id or client.project), config):
            return None
        return Check(job.task_id, FAILED, message.splitlines()[0])
    detail = "its SELECT; the table it writes is the run's own"
    return Check(job.task_id, OK, detail, bytes_processed=result.total_bytes_processed or 0)


def _query_parameter(resource: Mapping[str, Any]) -> Any:
    from google.cloud import bigquery

    kind = resource["parameterType"]["type"]
    if kind == "ARRAY":
        return bigquery.ArrayQueryParameter.from_api_repr(resource)
    if kind == "STRUCT":
        return bigquery.StructQueryParameter.from_api_repr(resource)
    return bigquery.ScalarQueryParameter.from_api_repr(resource)


def location_checks(client: Any, config: Any) -> list[Check]:
    """The connection's project, the output dataset's location and the source's, which must be one."""
    from google.api_core import exceptions

    checks = [Check("connection", OK, f"{config.gcp_conn_id}: jobs run in project {client.project}")]
    project = config.project_id or client.project
    try:
        dataset = client.get_dataset(f"{project}.{config.dataset}")
    except exceptions.NotFound:
        checks.append(
            Check("output dataset", OK, f"{project}.{config.dataset} will be created in {config.location}")
        )
    except exceptions.GoogleAPICallError as error:
        checks.append(Check("output dataset", FAILED, f"{project}.{config.dataset}: {error.message}"))
    else:
        if dataset.location.casefold() != config.location.casefold():
            checks.append(
                Check(
                    "output dataset",
                    FAILED,
                    f"{project}.{config.dataset} is in {dataset.location}, but location is {config.location}",
                )
            )
        else:
            checks.append(Check("output dataset", OK, f"{project}.{config.dataset} is in {dataset.location}"))
    checks.append(_source_check(client, config))
    return checks


def _source_check(client: Any, config: Any) -> Check:
    from google.api_core import exceptions

    if config.source_kind == "transactions":
        from segmentation.sources import SourceMappingError, check_transactions_table

        try:
            check_transactions_table(client, config.transactions_table, config.transactions_columns)
        except SourceMappingError as error:
            return Check("source", FAILED, str(error))
        source = config.transactions_table.rsplit(".", 1)[0]
    else:
        source = f"{config.source_project}.{config.source_dataset}"
    source = source if source.count(".") else f"{client.project}.{source}"
    try:
        location = client.get_dataset(source).location
    except exceptions.GoogleAPICallError as error:
        return Check("source", FAILED, f"{source}: {error.message}")
    if location.casefold() != config.location.casefold():
        return Check(
            "source",
            FAILED,
            f"{source} is in {location}, but location is {config.location}: a query reads one location",
        )
    return Check("source", OK, f"{source} is in {location}")


def gemini_check(config: Any) -> Check:
    """One tiny Gemini call with the persona step's connection, endpoint and retry settings."""
    from segmentation.gemini_settings import gemini_settings
    from segmentation.personas.gemini import GeminiWriter, _generate_config

    settings_ = gemini_settings(config.gemini)
    writer = GeminiWriter(config.gemini_conn_id or config.gcp_conn_id, settings_)
    tiny = _generate_config(settings_).model_copy(
        update={"max_output_tokens": 16, "response_mime_type": None, "response_json_schema": None}
    )
    try:
        client = writer._client()  # kept: the SDK closes its HTTP client when the client object goes
        response = client.models.generate_content(
            model=settings_.model, contents="Answer with the single word OK.", config=tiny
        )
    except Exception as error:  # whatever the SDK raises is the answer to report
        return Check("gemini", FAILED, f"{settings_.model}: {type(error).__name__}: {error}")
    usage = response.usage_metadata
    tokens = f"{usage.prompt_token_count} input tokens" if usage else "no usage reported"
    return Check("gemini", OK, f"{response.model_version or settings_.model} answered ({tokens})")


def preflight(conf: Mapping[str, Any], day: dt.date, *, gemini: bool = False) -> list[Check]:
    config = settings(conf)
    client = bigquery_client(config)
    checks = location_checks(client, config)
    logical = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    checks += [dry_run(client, job, config) for job in dag_jobs(conf, logical)]
    if gemini:
        checks.append(gemini_check(config))
    return checks


def report(checks: Sequence[Check]) -> str:
    width = max(len(check.name) for check in checks)
    lines = []
    for check in checks:
        estimate = "" if check.bytes_processed is None else f"{check.bytes_processed / 1e6:12,.3f} MB"
        lines.append(f"{check.name:<{width}}  {check.status:<18}  {estimate:>15}  {check.detail}".rstrip())
    estimated = sum(check.bytes_processed or 0 for check in checks)
    failed = sum(check.status == FAILED for check in checks)
    lines.append(
        f"{len(checks)} checks, {failed} failed; the dry-run jobs would process {estimated / 1e6:,.3f} MB"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    from segmentation.config import ConfigError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conf", default="{}", help="the run's conf as JSON, over the DAG's defaults")
    parser.add_argument("--date", type=dt.date.fromisoformat, help="the run's logical date (default: today)")
    parser.add_argument("--gemini", action="store_true", help="also make one tiny Gemini call")
    args = parser.parse_args(argv)
    os.environ.setdefault("SEGMENTATION_DEADLINE_MINUTES", "off")  # parsing the DAG needs no deadline
    try:
        checks = preflight(
            json.loads(args.conf), args.date or dt.datetime.now(dt.UTC).date(), gemini=args.gemini
        )
    except ConfigError as error:
        print(f"invalid settings: {error}", file=sys.stderr)
        return 2
    print(report(checks))
    return exit_status(checks)


def exit_status(checks: Sequence[Check]) -> int:
    return 1 if any(check.status == FAILED for check in checks) else 0


if __name__ == "__main__":
    sys.exit(main())
