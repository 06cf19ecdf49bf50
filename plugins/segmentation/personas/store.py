"""BigQuery side of the persona step, through the Google provider's `BigQueryHook`.

Reads one snapshot's `segment_profiles` and what include/sql/persona_refresh.sql says about each
segment's previous persona, and replaces that snapshot's `segment_personas` with a single MERGE of the
personas written this run and the ones carried over. Table names are the only things rendered into SQL
text (checked to be plain identifiers); every value, above all the model's text, travels as a typed query
parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import jinja2
from airflow.providers.google.cloud.hooks.bigquery import BigQueryHook
from google.cloud.bigquery import (
    ArrayQueryParameter,
    ArrayQueryParameterType,
    QueryJob,
    ScalarQueryParameter,
    ScalarQueryParameterType,
    StructQueryParameter,
    StructQueryParameterType,
)

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
    # The run's labels (plugins/segmentation/costs.py), carried by every job sent for it.
    job_labels: Mapping[str, str] = field(default_factory=dict, compare=False)
    # The run's cap on the bytes one query job may bill (None: no cap), as on every other job of the run.
    maximum_bytes_billed: int | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not re.match(OPTIONAL_PROJECT_ID_PATTERN, self.project_id):
            raise ValueError(f"not a BigQuery project id: {self.project_id!r}")
        if not re.match(DATASET_PATTERN, self.dataset):
            raise ValueError(f"not a BigQuery dataset name: {self.dataset!r}")

    def table(self, name: str) -> str:
        """The table's quoted path, the way the DAG's `table()` macro writes it."""
        return "`" + ".".join(part for part in (self.project_id, self.dataset, name) if part) + "`"

    def bigquery_hook(self) -> BigQueryHook:
        return BigQueryHook(gcp_conn_id=self.gcp_conn_id, location=self.location, use_legacy_sql=False)


def render_sql(template: str, warehouse: Warehouse, **variables: Any) -> str:
    """A query rendered with the pipeline's `table()` macro (and `variables`, for the template's own)."""
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    return environment.from_string(template).render(table=warehouse.table, **variables)


def run_query(
    hook: BigQueryHook, warehouse: Warehouse, sql: str, parameters: Sequence[QueryParameter] = ()
) -> QueryJob:
    """Starts `sql` as a GoogleSQL query job with named `parameters`, the run's labels and its cap on
    bytes billed, in the warehouse's project (the connection's when it names none) and location."""
    query = {
        "query": sql,
        "useLegacySql": False,
        "parameterMode": "NAMED",
        "queryParameters": [parameter.to_api_repr() for parameter in parameters],
    }
    if warehouse.maximum_bytes_billed is not None:
        # JobConfigurationQuery.maximumBytesBilled is an int64 sent as a string:
        # https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobConfigurationQuery
        query["maximumBytesBilled"] = str(warehouse.maximum_bytes_billed)
    configuration = {"query": query, "labels": dict(warehouse.job_labels)}
    return hook.insert_job(
        configuration=configuration, project_id=warehouse.project_id, location=warehouse.location
    )


def sql_file(file_name: str, warehouse: Warehouse) -> str:
    """An `include/sql` file rendered with the pipeline's `table()` macro."""
    return render_sql((sql_dir() / file_name).read_text(), warehouse)


# Declared, not inferred from the values: a run that carries every persona over sends an empty array.
PERSONA_TYPE = StructQueryParameterType(
    ScalarQueryParameterType("INT64", name="segment_id"),
    ScalarQueryParameterType("STRING", name="title"),
    ScalarQueryParameterType("STRING", name="persona"),
    ScalarQueryParameterType("STRING", name="summary"),
    ArrayQueryParameterType(ScalarQueryParameterType("STRING"), name="next_marketing_steps"),
    ScalarQueryParameterType("STRING", name="recommended_channel"),
)


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


@dataclass(frozen=True)
class Draft:
    """Validated personas with the prompt and the generation they came from, ready to store."""

    prompt: Prompt
    generation: Generation
    personas: Sequence[Persona]


# The columns a written persona takes from its run's one backend call, with their query parameter types.
PROVENANCE_TYPES = {
    "backend": "STRING",
    "model": "STRING",
    "prompt_version": "STRING",
    "prompt_sha256": "STRING",
    "input_tokens": "INT64",
    "output_tokens": "INT64",
    "latency_ms": "INT64",
    "raw_response": "STRING",
}


def _provenance(draft: Draft) -> dict[str, Any]:
    generation, prompt = draft.generation, draft.prompt
    return {
        "backend": generation.backend,
        "model": generation.model,
        "prompt_version": prompt.version,
        "prompt_sha256": prompt.sha256,
        "input_tokens": generation.input_tokens,
        "output_tokens": generation.output_tokens,
        "latency_ms": generation.latency_ms,
        "raw_response": json.dumps(generation.raw_response),
    }


def _written_parameters(draft: Draft | None) -> list[QueryParameter]:
    """The personas written this run and their provenance; an empty array and NULLs when none was."""
    personas = [_persona_parameter(persona) for persona in draft.personas] if draft else []
    values = _provenance(draft) if draft else {}
    return [
        ArrayQueryParameter("personas", PERSONA_TYPE, personas),
        *(ScalarQueryParameter(name, kind, values.get(name)) for name, kind in PROVENANCE_TYPES.items()),
    ]


def merge_parameters(
    snapshot_date: date,
    draft: Draft | None,
    generated_at: datetime,
    carried_from: date | None = None,
    carried_segment_ids: Sequence[int] = (),
) -> list[QueryParameter]:
    """The MERGE's parameters: the personas of `draft` (None when every persona carries over) and the segments whose
    personas are copied unchanged from `carried_from`."""
    return [
        ScalarQueryParameter("snapshot_date", "DATE", snapshot_date),
        *_written_parameters(draft),
        ScalarQueryParameter("generated_at", "TIMESTAMP", generated_at),
        ScalarQueryParameter("carried_from", "DATE", carried_from),
        ArrayQueryParameter("carried_segment_ids", "INT64", list(carried_segment_ids)),
    ]


class PersonaStore:
    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.hook = warehouse.bigquery_hook()

    def _query(self, sql: str, parameters: Sequence[QueryParameter] = ()) -> QueryJob:
        return run_query(self.hook, self.warehouse, sql, parameters)

    def profile_rows(self, snapshot_date: date) -> list[dict[str, Any]]:
        sql = render_sql(_PROFILES_QUERY, self.warehouse)
        job = self._query(sql, [ScalarQueryParameter("snapshot_date", "DATE", snapshot_date)])
        return [dict(row.items()) for row in job.result()]

    def create_table(self) -> None:
        """segment_personas when missing (the DAG's setup creates it too), with today's columns."""
        self._query(sql_file("segment_personas_table.sql", self.warehouse))

    def segment_histories(self, snapshot_date: date) -> list[dict[str, Any]]:
        """include/sql/persona_refresh.sql for the snapshot: each segment and its previous persona."""
        sql = sql_file("persona_refresh.sql", self.warehouse)
        job = self._query(sql, [ScalarQueryParameter("snapshot_date", "DATE", snapshot_date)])
        return [dict(row.items()) for row in job.result()]

    def replace_personas(
        self,
        snapshot_date: date,
        draft: Draft | None,
        generated_at: datetime,
        carried_from: date | None = None,
        carried_segment_ids: Sequence[int] = (),
    ) -> None:
        """One atomic MERGE: the snapshot's rows become exactly the written personas and the carried ones;
        other snapshots are untouched. The table must exist (`create_table`)."""
        parameters = merge_parameters(snapshot_date, draft, generated_at, carried_from, carried_segment_ids)
        self._query(sql_file("segment_personas.sql", self.warehouse), parameters)
