"""The GCP connection the BigQuery jobs run with, checked before the first job.

A job needs a project to run (and be billed) in: the `project_id` param, else the connection's. A
connection without one — e.g. an anonymous connection for local_bigquery with no `project` in its extra —
would otherwise make the client look for Application Default Credentials to find a project, failing with a
misleading "default credentials not found" that the task's retries then repeat for a quarter of an hour.
"""

from __future__ import annotations

from typing import Any

from segmentation.config import ConfigError, PipelineConfig


def job_project(config: PipelineConfig, hook: Any) -> str:
    """The project BigQuery jobs run in (`hook`: the connection's GoogleBaseHook); ConfigError if none."""
    project = config.project_id or hook.project_id
    if not project:
        raise ConfigError(
            f"the connection {config.gcp_conn_id!r} has no project and the project_id setting is empty: set "
            f'"project" in the connection\'s extra (e.g. {{"project": "my-project"}}), or set project_id '
            "(SEGMENTATION_PROJECT_ID)"
        )
    return project


def bigquery_client(config: PipelineConfig):
    """A google-cloud-bigquery client on the run's connection, in the project its jobs run in."""
    from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook

    hook = BigQueryHook(gcp_conn_id=config.gcp_conn_id, location=config.location, use_legacy_sql=False)
    return hook.get_client(project_id=job_project(config, hook))
