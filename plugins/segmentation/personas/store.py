"""BigQuery side of the persona step, through the Google provider's `BigQueryHook`.

Reads one snapshot's `segment_profiles` and replaces that snapshot's `segment_personas` with a single
MERGE. Table names are the only things rendered into SQL text (checked to be plain identifiers); every
value, above all the model's text, travels as a typed query parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import jinja2
from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
from google.cloud.bigquery import ArrayQueryParameter, ScalarQueryParameter, StructQueryParameter

from segmentation.config import DATASET_PATTERN, OPTIONAL_PROJECT_ID_PATTERN
from segmentation.paths import sql_dir
from segmentation.personas.prompt import Prompt
from segmentation.personas.response import Persona
from segmentation.personas.writer import Generation

_PROFILES_QUERY = """\
SELECT *
FROM {{ table('segment_profiles') }}
WHERE snapshot_date = @snapshot_date
ORDER BY segment_id"""

QueryParameter = ScalarQueryParameter | ArrayQueryParameter | StructQueryParameter


@dataclass(frozen=True)
class Warehouse:
    """Where the pipeline's tables live and which Airflow connection reaches them.

    An empty project means the connection's, as everywhere in the pipeline.
    """

    gcp_conn_id: str
    project_id: str
    dataset: str
    location: str | None = None

    def __post_init__(self) -> None:
        if not re.match(OPTIONAL_PROJECT_ID_PATTERN, self.project_id):
            raise ValueError(f"not a BigQuery project id: {self.project_id!r}")
        if not re.match(DATASET_PATTERN, self.dataset):
            raise ValueError(f"not a BigQuery dataset name: {self.dataset!r}")

    def table(self, name: str) -> str:
        """The table's quoted path, the way the DAG's `table()` macro writes it."""
        return "`" + ".".join(part for part in (self.project_id, self.dataset, name) if part) + "`"


def render_sql(template: str, warehouse: Warehouse) -> str:
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return environment.from_string(template).render(table=warehouse.table)


def sql_file(file_name: str, warehouse: Warehouse) -> str:
    """An `include/sql` file rendered with the pipeline's `table()` macro."""
    return render_sql((sql_dir() / file_name).read_text(), warehouse)


def _persona_parameter(persona: Persona) -> StructQueryParameter:
    return StructQueryParameter(
        None,
        ScalarQueryParameter("segment_id", "INT64", persona.segment_id),
        ScalarQueryParameter("title", "STRING", persona.title),
        ScalarQueryParameter("persona", "STRING", persona.persona),
        ScalarQueryParameter("summary", "STRING", persona.summary),
        ArrayQueryParameter("next_marketing_steps", "STRING", persona.next_marketing_steps),
        ScalarQueryParameter("recommended_channel", "STRING", persona.recommended_channel),
    )


def merge_parameters(
    snapshot_date: date,
    personas: Sequence[Persona],
    generation: Generation,
    prompt: Prompt,
    generated_at: datetime,
) -> list[QueryParameter]:
    return [
        ScalarQueryParameter("snapshot_date", "DATE", snapshot_date),
        ArrayQueryParameter("personas", "STRUCT", [_persona_parameter(persona) for persona in personas]),
        ScalarQueryParameter("backend", "STRING", generation.backend),
        ScalarQueryParameter("model", "STRING", generation.model),
        ScalarQueryParameter("prompt_version", "STRING", prompt.version),
        ScalarQueryParameter("prompt_sha256", "STRING", prompt.sha256),
        ScalarQueryParameter("input_tokens", "INT64", generation.input_tokens),
        ScalarQueryParameter("output_tokens", "INT64", generation.output_tokens),
        ScalarQueryParameter("latency_ms", "INT64", generation.latency_ms),
        ScalarQueryParameter("generated_at", "TIMESTAMP", generated_at),
        ScalarQueryParameter("raw_response", "STRING", json.dumps(generation.raw_response)),
    ]


class PersonaStore:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.hook = BigQueryHook(
            gcp_conn_id=warehouse.gcp_conn_id, location=warehouse.location, use_legacy_sql=False
        )

    def _query(self, sql: str, parameters: Sequence[QueryParameter] = ()):
        configuration = {
            "query": {
                "query": sql,
                "useLegacySql": False,
                "parameterMode": "NAMED",
                "queryParameters": [parameter.to_api_repr() for parameter in parameters],
            }
        }
        return self.hook.insert_job(
            configuration=configuration,
            project_id=self.warehouse.project_id,
            location=self.warehouse.location,
        )

    def profile_rows(self, snapshot_date: date) -> list[dict[str, Any]]:
        sql = render_sql(_PROFILES_QUERY, self.warehouse)
        job = self._query(sql, [ScalarQueryParameter("snapshot_date", "DATE", snapshot_date)])
        return [dict(row.items()) for row in job.result()]

    def replace_personas(
        self,
        snapshot_date: date,
        personas: Sequence[Persona],
        generation: Generation,
        prompt: Prompt,
        generated_at: datetime,
    ) -> None:
        """One atomic MERGE: the snapshot's rows become exactly `personas`; other snapshots are untouched."""
        self._query(sql_file("segment_personas_table.sql", self.warehouse))
        parameters = merge_parameters(snapshot_date, personas, generation, prompt, generated_at)
        self._query(sql_file("segment_personas.sql", self.warehouse), parameters)
