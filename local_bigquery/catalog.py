"""Datasets, tables and models: DuckDB schemas and tables, plus the BigQuery metadata DuckDB has no place for.

The metadata lives in the same DuckDB file as the data, so a job's data and metadata change in one
transaction: a failed job leaves both as they were.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from local_bigquery.errors import Duplicate, InvalidRequest, NotFound, ResourceInUse
from local_bigquery.translate import TableRef, schema_name, validate_ids
from local_bigquery.types import column_definitions, quote_identifier, schema_for_relation

META = "_local_bigquery"
LOCATION = "US"

# What a dataset resource keeps. maxTimeTravelHours is only recorded: time travel queries are refused here.
# https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets#Dataset
_DATASET_SETTINGS = (
    "description",
    "friendlyName",
    "labels",
    "defaultTableExpirationMs",
    "maxTimeTravelHours",
)
_DEFAULT_TIME_TRAVEL_HOURS = "168"

_METADATA_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {META};
CREATE TABLE IF NOT EXISTS {META}.datasets (
    project VARCHAR, dataset_id VARCHAR, resource JSON, PRIMARY KEY (project, dataset_id));
CREATE TABLE IF NOT EXISTS {META}.tables (
    project VARCHAR, dataset_id VARCHAR, table_id VARCHAR, resource JSON,
    PRIMARY KEY (project, dataset_id, table_id));
CREATE TABLE IF NOT EXISTS {META}.models (
    project VARCHAR, dataset_id VARCHAR, model_id VARCHAR, payload BLOB, resource JSON,
    created_ms BIGINT, modified_ms BIGINT, PRIMARY KEY (project, dataset_id, model_id));
CREATE TABLE IF NOT EXISTS {META}.jobs (
    project VARCHAR, job_id VARCHAR, resource JSON, PRIMARY KEY (project, job_id));
"""


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> list[tuple]:
    """Execute a statement and drain its result: DuckDB refuses new work while a result is pending."""
    return con.execute(sql, params).fetchall()


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> tuple | None:
    rows = run_sql(con, sql, params)
    return rows[0] if rows else None


def now_ms() -> int:
    return int(time.time() * 1000)


def _dataset_not_found(project: str, dataset: str) -> NotFound:
    return NotFound(f"Not found: Dataset {project}:{dataset} was not found in location {LOCATION}")


def table_not_found(ref: TableRef) -> NotFound:
    return NotFound(f"Not found: Table {ref} was not found in location {LOCATION}")


@dataclass(frozen=True)
class StoredModel:
    ref: TableRef
    payload: bytes
    resource: dict
    created_ms: int
    modified_ms: int


class Catalog:
    """Reads and writes catalog objects on the caller's connection (and so in the caller's transaction)."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.con = connection
        run_sql(self.con, _METADATA_DDL)
        self.models = ModelStore(self)

    # ---- datasets ------------------------------------------------------------------------------------

    def dataset_exists(self, project: str, dataset: str) -> bool:
        return self._one(
            f"SELECT 1 FROM {META}.datasets WHERE project = ? AND dataset_id = ?", project, dataset
        )

    def require_dataset(self, project: str, dataset: str) -> None:
        if not self.dataset_exists(project, dataset):
            raise _dataset_not_found(project, dataset)

    def create_dataset(self, project: str, dataset: str, resource: dict, exists_ok: bool = False) -> dict:
        validate_ids(project, dataset)
        if self.dataset_exists(project, dataset):
            if exists_ok:
                return self.get_dataset(project, dataset)
            raise Duplicate(f"Already Exists: Dataset {project}:{dataset}")
        stamp = str(now_ms())
        stored = {"maxTimeTravelHours": _DEFAULT_TIME_TRAVEL_HOURS} | {
            key: resource[key] for key in _DATASET_SETTINGS if key in resource
        }
        stored |= {
            "creationTime": stamp,
            "lastModifiedTime": stamp,
            "location": resource.get("location", LOCATION),
        }
        run_sql(self.con, f"CREATE SCHEMA {quote_identifier(schema_name(project, dataset))}")
        run_sql(
            self.con, f"INSERT INTO {META}.datasets VALUES (?, ?, ?)", [project, dataset, json.dumps(stored)]
        )
        return self.get_dataset(project, dataset)

    def get_dataset(self, project: str, dataset: str) -> dict:
        row = first_row(
            self.con,
            f"SELECT resource FROM {META}.datasets WHERE project = ? AND dataset_id = ?",
            [project, dataset],
        )
        if row is None:
            raise _dataset_not_found(project, dataset)
        return {
            "kind": "bigquery#dataset",
            "id": f"{project}:{dataset}",
            "datasetReference": {"projectId": project, "datasetId": dataset},
            **json.loads(row[0]),
        }

    def patch_dataset(self, project: str, dataset: str, changes: dict) -> dict:
        current = self.get_dataset(project, dataset)
        kept = {k: v for k, v in current.items() if k not in ("kind", "id", "datasetReference")}
        for key in _DATASET_SETTINGS:
            if key in changes:
                kept[key] = changes[key]
        kept["lastModifiedTime"] = str(now_ms())
        run_sql(
            self.con,
            f"UPDATE {META}.datasets SET resource = ? WHERE project = ? AND dataset_id = ?",
            [json.dumps(kept), project, dataset],
        )
        return self.get_dataset(project, dataset)

    def list_datasets(self, project: str) -> list[dict]:
        rows = self.con.execute(
            f"SELECT dataset_id FROM {META}.datasets WHERE project = ? ORDER BY dataset_id", [project]
        ).fetchall()
        return [self.get_dataset(project, dataset) for (dataset,) in rows]

    def delete_dataset(self, project: str, dataset: str, delete_contents: bool) -> None:
        self.require_dataset(project, dataset)
        contents = self.list_tables(project, dataset) + self.models.list(project, dataset)
        if contents and not delete_contents:
            raise ResourceInUse(
                f"Dataset {project}:{dataset} is still in use: it holds {len(contents)} tables or models; "
                "pass deleteContents=true to delete them too."
            )
        run_sql(self.con, f"DROP SCHEMA {quote_identifier(schema_name(project, dataset))} CASCADE")
        for table in ("datasets", "tables", "models"):
            run_sql(
                self.con,
                f"DELETE FROM {META}.{table} WHERE project = ? AND dataset_id = ?",
                [project, dataset],
            )

    # ---- tables and views ----------------------------------------------------------------------------

    def table_exists(self, ref: TableRef) -> bool:
        return self._one(
            f"SELECT 1 FROM {META}.tables WHERE project = ? AND dataset_id = ? AND table_id = ?",
            ref.project,
            ref.dataset,
            ref.table,
        )

    def require_table(self, ref: TableRef) -> str:
        """The kind (TABLE or VIEW) of a table that must exist; NotFound names its dataset or the table."""
        kind = self.table_kind(ref)
        if kind is None:
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)
        return kind

    def _table_metadata(self, ref: TableRef) -> dict:
        row = first_row(
            self.con,
            f"SELECT resource FROM {META}.tables WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [ref.project, ref.dataset, ref.table],
        )
        if row is None:
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)
        return json.loads(row[0])

    def create_table(self, ref: TableRef, resource: dict) -> dict:
        """tables.insert: an empty table from a REST schema, or a view from `view.query`."""
        validate_ids(ref.project, ref.dataset, ref.table)
        self.require_dataset(ref.project, ref.dataset)
        if self.table_exists(ref):
            raise Duplicate(f"Already Exists: Table {ref}")
        if "view" in resource:
            raise InvalidRequest("internal: views are created through the query engine")
        fields = (resource.get("schema") or {}).get("fields") or []
        if not fields:
            raise InvalidRequest(f"Table {ref} needs a schema with at least one field.")
        run_sql(self.con, f"CREATE TABLE {ref.duckdb_name} ({column_definitions(fields)})")
        self.record_table(ref, resource)
        return self.get_table(ref)

    def record_table(self, ref: TableRef, resource: dict, kind: str = "TABLE") -> None:
        """Store (or replace) the metadata of a table or view that now exists in DuckDB."""
        stamp = str(now_ms())
        previous = self._stored(ref)
        stored = {
            key: resource[key]
            for key in (
                "description",
                "friendlyName",
                "labels",
                "timePartitioning",
                "rangePartitioning",
                "clustering",
                "requirePartitionFilter",
                "expirationTime",
                "view",
            )
            if key in resource
        }
        stored |= {
            "type": kind,
            "creationTime": previous.get("creationTime", stamp) if previous else stamp,
            "lastModifiedTime": stamp,
        }
        descriptions = {
            field["name"]: field["description"]
            for field in (resource.get("schema") or {}).get("fields", [])
            if field.get("description")
        }
        if descriptions:
            stored["fieldDescriptions"] = descriptions
        run_sql(
            self.con,
            f"INSERT OR REPLACE INTO {META}.tables VALUES (?, ?, ?, ?)",
            [ref.project, ref.dataset, ref.table, json.dumps(stored)],
        )

    def _stored(self, ref: TableRef) -> dict | None:
        row = first_row(
            self.con,
            f"SELECT resource FROM {META}.tables WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [ref.project, ref.dataset, ref.table],
        )
        return json.loads(row[0]) if row else None

    def touch_table(self, ref: TableRef) -> None:
        (updated,) = first_row(
            self.con,
            f"UPDATE {META}.tables SET resource = json_merge_patch(resource, ?) "
            "WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [json.dumps({"lastModifiedTime": str(now_ms())}), ref.project, ref.dataset, ref.table],
        )
        if not updated:
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)

    def column_names(self, ref: TableRef) -> list[str]:
        """The table's column names, from DuckDB's binding of the table alone: no query runs."""
        return self.con.sql(f"SELECT * FROM {ref.duckdb_name} LIMIT 0").columns

    def table_schema(self, ref: TableRef) -> dict:
        relation = self.con.sql(f"SELECT * FROM {ref.duckdb_name} LIMIT 0")
        not_null = {
            name
            for (name,) in self.con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                "AND NOT is_nullable",
                [ref.schema_name, ref.table],
            ).fetchall()
        }
        return schema_for_relation(relation.columns, relation.types, not_null)

    def get_table(self, ref: TableRef) -> dict:
        stored = self._table_metadata(ref)
        schema = self.table_schema(ref)
        for field in schema["fields"]:
            if field["name"] in stored.get("fieldDescriptions", {}):
                field["description"] = stored["fieldDescriptions"][field["name"]]
        resource = {
            "kind": "bigquery#table",
            "id": f"{ref.project}:{ref.dataset}.{ref.table}",
            "tableReference": ref.rest(),
            "location": LOCATION,
            "schema": schema,
            **{k: v for k, v in stored.items() if k != "fieldDescriptions"},
        }
        if stored["type"] == "TABLE":
            rows = self.row_count(ref)
            resource |= {"numRows": str(rows), "numBytes": "0", "numLongTermBytes": "0"}
        return resource

    def row_count(self, ref: TableRef) -> int:
        return first_row(self.con, f"SELECT count(*) FROM {ref.duckdb_name}")[0]

    def describe_columns(self, ref: TableRef, descriptions: Mapping[str, str]) -> None:
        stored = self._table_metadata(ref)
        stored.setdefault("fieldDescriptions", {}).update(descriptions)
        self._store_metadata(ref, stored)

    def _store_metadata(self, ref: TableRef, stored: dict) -> None:
        run_sql(
            self.con,
            f"UPDATE {META}.tables SET resource = ? WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [json.dumps(stored), ref.project, ref.dataset, ref.table],
        )

    def patch_table(self, ref: TableRef, changes: dict) -> dict:
        stored = self._table_metadata(ref)
        for key in ("description", "friendlyName", "labels", "expirationTime", "clustering"):
            if key in changes:
                stored[key] = changes[key]
        stored["lastModifiedTime"] = str(now_ms())
        self._store_metadata(ref, stored)
        return self.get_table(ref)

    def list_tables(self, project: str, dataset: str) -> list[dict]:
        self.require_dataset(project, dataset)
        rows = self.con.execute(
            f"SELECT table_id, resource FROM {META}.tables WHERE project = ? AND dataset_id = ? ORDER BY table_id",
            [project, dataset],
        ).fetchall()
        listed = []
        for table_id, resource in rows:
            stored = json.loads(resource)
            ref = TableRef(project, dataset, table_id)
            entry = {
                "kind": "bigquery#table",
                "id": f"{project}:{dataset}.{table_id}",
                "tableReference": ref.rest(),
                "type": stored["type"],
                "creationTime": stored["creationTime"],
            }
            entry |= {k: stored[k] for k in ("timePartitioning", "clustering", "labels") if k in stored}
            listed.append(entry)
        return listed

    def table_kind(self, ref: TableRef) -> str | None:
        stored = self._stored(ref)
        return stored["type"] if stored else None

    def drop_table(self, ref: TableRef, missing_ok: bool = False) -> bool:
        kind = self.table_kind(ref)
        if kind is None:
            if missing_ok:
                return False
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)
        run_sql(self.con, f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {ref.duckdb_name}")
        self.forget_table(ref)
        return True

    def forget_table(self, ref: TableRef) -> None:
        run_sql(
            self.con,
            f"DELETE FROM {META}.tables WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [ref.project, ref.dataset, ref.table],
        )

    def _one(self, sql: str, *params) -> bool:
        return first_row(self.con, sql, list(params)) is not None


class ModelStore:
    """BigQuery ML models: an opaque payload the model code owns, plus its REST resource fields."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.catalog.con

    def get(self, ref: TableRef) -> StoredModel | None:
        row = first_row(
            self.con,
            f"SELECT payload, resource, created_ms, modified_ms FROM {META}.models "
            "WHERE project = ? AND dataset_id = ? AND model_id = ?",
            [ref.project, ref.dataset, ref.table],
        )
        if row is None:
            return None
        payload, resource, created_ms, modified_ms = row
        return StoredModel(ref, bytes(payload), json.loads(resource), created_ms, modified_ms)

    def require(self, ref: TableRef) -> StoredModel:
        model = self.get(ref)
        if model is None:
            self.catalog.require_dataset(ref.project, ref.dataset)
            raise NotFound(f"Not found: Model {ref} was not found in location {LOCATION}")
        return model

    def put(self, ref: TableRef, payload: bytes, resource: dict) -> None:
        self.catalog.require_dataset(ref.project, ref.dataset)
        previous = self.get(ref)
        stamp = now_ms()
        created = previous.created_ms if previous else stamp
        run_sql(
            self.con,
            f"INSERT OR REPLACE INTO {META}.models VALUES (?, ?, ?, ?, ?, ?, ?)",
            [ref.project, ref.dataset, ref.table, payload, json.dumps(resource), created, stamp],
        )

    def delete(self, ref: TableRef) -> bool:
        existed = self.get(ref) is not None
        run_sql(
            self.con,
            f"DELETE FROM {META}.models WHERE project = ? AND dataset_id = ? AND model_id = ?",
            [ref.project, ref.dataset, ref.table],
        )
        return existed

    def list(self, project: str, dataset: str) -> list[StoredModel]:
        rows = self.con.execute(
            f"SELECT model_id FROM {META}.models WHERE project = ? AND dataset_id = ? ORDER BY model_id",
            [project, dataset],
        ).fetchall()
        return [self.get(TableRef(project, dataset, model_id)) for (model_id,) in rows]
