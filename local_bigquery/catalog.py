"""Datasets, tables and models: DuckDB schemas and tables, plus the BigQuery metadata DuckDB has no place for.

The metadata lives in the same DuckDB file as the data, so a job's data and metadata change in one
transaction: a failed job leaves both as they were.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb

from local_bigquery.column_defaults import default_value_sql
from local_bigquery.errors import Duplicate, InvalidRequest, NotFound, ResourceInUse, Unsupported
from local_bigquery.translate import TableRef, range_partitioning, schema_name, validate_ids
from local_bigquery.types import (
    PARAMETERIZED_DECIMALS,
    column_definitions,
    duckdb_type_for_field,
    quote_identifier,
    required_subfields,
    schema_for_relation,
)

META = "_local_bigquery"
LOCATION = "US"
# The one user of a local server: it runs every job and holds every permission.
LOCAL_USER = "local@local-bigquery"

# What a dataset resource keeps. maxTimeTravelHours is only recorded: time travel queries are refused here.
# https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets#Dataset
_DATASET_SETTINGS = (
    "description",
    "friendlyName",
    "labels",
    "defaultTableExpirationMs",
    "maxTimeTravelHours",
    "isCaseInsensitive",
    "defaultRoundingMode",
)
_DEFAULT_TIME_TRAVEL_HOURS = "168"

# What a table resource keeps besides its schema (https://cloud.google.com/bigquery/docs/reference/rest/v2/tables).
# tableConstraints (primary and foreign keys) are metadata: BigQuery does not enforce them either.
_TABLE_SETTINGS = (
    "description",
    "friendlyName",
    "labels",
    "timePartitioning",
    "rangePartitioning",
    "clustering",
    "requirePartitionFilter",
    "expirationTime",
    "view",
    "tableConstraints",
    "defaultRoundingMode",
)
_PATCHABLE_TABLE_SETTINGS = (
    "description",
    "friendlyName",
    "labels",
    "expirationTime",
    "clustering",
    "tableConstraints",
    "defaultRoundingMode",
)

# The attributes of a column BigQuery keeps that DuckDB's column types cannot carry; descriptions are kept
# apart (fieldDescriptions). https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#TableFieldSchema
_FIELD_ATTRIBUTES = (
    "defaultValueExpression",
    "policyTags",
    "roundingMode",
    "maxLength",
    "precision",
    "scale",
)

# How NUMERIC and BIGNUMERIC values with more decimals than the column keeps are rounded when stored. DuckDB
# rounds half away from zero, BigQuery's default; ROUND_HALF_EVEN is refused rather than stored and ignored.
# https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#RoundingMode
_ROUNDING_MODES = ("ROUNDING_MODE_UNSPECIFIED", "ROUND_HALF_AWAY_FROM_ZERO", "ROUND_HALF_EVEN")


def check_rounding_mode(mode: str | None, where: str) -> None:
    if mode is None:
        return
    if mode not in _ROUNDING_MODES:
        raise InvalidRequest(
            f"Invalid rounding mode {mode!r} for {where}: one of {', '.join(_ROUNDING_MODES)}."
        )
    if mode == "ROUND_HALF_EVEN":
        raise Unsupported(f"rounding mode ROUND_HALF_EVEN ({where}): values are rounded half away from zero")


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


# Kept in a table's stored metadata, never shown as such in its resource.
_FIELD_METADATA_KEYS = ("fieldDescriptions", "fieldAttributes", "requiredSubfields")
_INTERNAL_TABLE_KEYS = (*_FIELD_METADATA_KEYS, "noSchema")


def _checked_range_partitioning(resource: dict, fields: list[dict]) -> dict:
    """A table resource's rangePartitioning: an INT64 field of its schema and a valid range.

    https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#RangePartitioning
    """
    spec = resource["rangePartitioning"]
    name, bounds = spec.get("field"), spec.get("range") or {}
    types = {field["name"]: str(field.get("type", "")).upper() for field in fields}
    if types.get(name) not in ("INTEGER", "INT64"):
        raise InvalidRequest(f"rangePartitioning.field must be an INT64 field of the schema; got {name!r}.")
    try:
        numbers = [int(bounds[key]) for key in ("start", "end", "interval")]
    except (KeyError, TypeError, ValueError):
        raise InvalidRequest("rangePartitioning.range needs integer start, end and interval.") from None
    return range_partitioning(name, *numbers, error=InvalidRequest)


def _field_metadata(fields: list[dict]) -> dict:
    """What a REST schema says of its columns beyond their types: descriptions and attributes. Empty
    policy tags (`{"names": []}`) remove the tags, as on BigQuery."""
    descriptions = {field["name"]: field["description"] for field in fields if field.get("description")}
    attributes = {}
    for field in fields:
        kept = {key: field[key] for key in _FIELD_ATTRIBUTES if field.get(key)}
        if kept.get("precision") is not None:
            # DuckDB's DECIMAL(38, 0) of a BIGNUMERIC(38) reads as NUMERIC: the schema says which it is.
            kept["type"] = PARAMETERIZED_DECIMALS[str(field["type"]).upper()]
        if not (kept.get("policyTags") or {}).get("names"):
            kept.pop("policyTags", None)
        if kept:
            attributes[field["name"]] = kept
    metadata = {}
    if descriptions:
        metadata["fieldDescriptions"] = descriptions
    required = [".".join(path) for field in fields for path in required_subfields(field)]
    if required:
        metadata["requiredSubfields"] = required
    if attributes:
        metadata["fieldAttributes"] = attributes
    return metadata


def _mark_required(fields: list[dict], path: list[str]) -> None:
    for field in fields:
        if field["name"] == path[0]:
            if len(path) == 1:
                field["mode"] = "REQUIRED"
            else:
                _mark_required(field.get("fields") or [], path[1:])


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
        self._case_insensitive_datasets: set[tuple[str, str]] | None = None

    # ---- datasets ------------------------------------------------------------------------------------

    def dataset_exists(self, project: str, dataset: str) -> bool:
        return self._one(
            f"SELECT 1 FROM {META}.datasets WHERE project = ? AND dataset_id = ?", project, dataset
        )

    def project_has_datasets(self, project: str) -> bool:
        return self._one(f"SELECT 1 FROM {META}.datasets WHERE project = ? LIMIT 1", project)

    def require_dataset(self, project: str, dataset: str) -> None:
        if not self.dataset_exists(project, dataset):
            raise _dataset_not_found(project, dataset)

    def create_dataset(self, project: str, dataset: str, resource: dict, exists_ok: bool = False) -> dict:
        validate_ids(project, dataset)
        check_rounding_mode(resource.get("defaultRoundingMode"), f"dataset {project}:{dataset}")
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
        self._case_insensitive_datasets = None
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
        check_rounding_mode(changes.get("defaultRoundingMode"), f"dataset {project}:{dataset}")
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
        self._case_insensitive_datasets = None
        return self.get_dataset(project, dataset)

    def list_datasets(self, project: str, include_hidden: bool = False) -> list[dict]:
        """The project's datasets; hidden ones (named with a leading underscore, such as a session's) only
        with `include_hidden` (datasets.list `all=true`).

        https://cloud.google.com/bigquery/docs/datasets#hidden_datasets
        """
        rows = self.con.execute(
            f"SELECT dataset_id FROM {META}.datasets WHERE project = ? ORDER BY dataset_id", [project]
        ).fetchall()
        shown = [dataset for (dataset,) in rows if include_hidden or not dataset.startswith("_")]
        return [self.get_dataset(project, dataset) for dataset in shown]

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
        self._case_insensitive_datasets = None

    # ---- tables and views ----------------------------------------------------------------------------

    def _case_insensitive(self) -> set[tuple[str, str]]:
        if self._case_insensitive_datasets is None:
            rows = run_sql(
                self.con,
                f"SELECT project, dataset_id FROM {META}.datasets "
                "WHERE json_extract(resource, '$.isCaseInsensitive')::VARCHAR = 'true'",
            )
            self._case_insensitive_datasets = set(rows)
        return self._case_insensitive_datasets

    def canonical(self, ref: TableRef) -> TableRef:
        """`ref` as it is stored. In a dataset with isCaseInsensitive, table names are case-insensitive: any
        spelling names the table (https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets#Dataset)."""
        if (ref.project, ref.dataset) not in self._case_insensitive():
            return ref
        row = first_row(
            self.con,
            f"SELECT table_id FROM {META}.tables WHERE project = ? AND dataset_id = ? "
            "AND lower(table_id) = lower(?) ORDER BY table_id = ? DESC LIMIT 1",
            [ref.project, ref.dataset, ref.table, ref.table],
        )
        return TableRef(ref.project, ref.dataset, row[0]) if row else ref

    def table_exists(self, ref: TableRef) -> bool:
        return self._stored(ref) is not None

    def require_table(self, ref: TableRef) -> str:
        """The kind (TABLE or VIEW) of a table that must exist; NotFound names its dataset or the table."""
        kind = self.table_kind(ref)
        if kind is None:
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)
        return kind

    def _table_metadata(self, ref: TableRef) -> dict:
        stored = self._stored(ref)
        if stored is None:
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)
        return stored

    def create_table(self, ref: TableRef, resource: dict) -> dict:
        """tables.insert: an empty table from a REST schema, or a view from `view.query`. A table without a
        schema exists only here until a schema is given (a patch, a load, a query's results)."""
        validate_ids(ref.project, ref.dataset, ref.table)
        self.require_dataset(ref.project, ref.dataset)
        if self.table_exists(ref):
            raise Duplicate(f"Already Exists: Table {ref}")
        if "view" in resource:
            raise InvalidRequest("internal: views are created through the query engine")
        external = resource.get("externalDataConfiguration")
        if external:
            uris = ", ".join(external.get("sourceUris") or []) or "no sourceUris"
            raise Unsupported(f"external tables (externalDataConfiguration reading {uris})")
        self._check_rounding_modes(ref, resource)
        fields = (resource.get("schema") or {}).get("fields") or []
        if resource.get("rangePartitioning"):
            resource = {**resource, "rangePartitioning": _checked_range_partitioning(resource, fields)}
        if fields:
            self._create_columns(ref, fields)
        self.record_table(ref, resource)
        if not fields:
            self._store_metadata(ref, {**self._table_metadata(ref), "noSchema": True})
        return self.get_table(ref)

    def clone_table(self, base: TableRef, clone: TableRef) -> None:
        """A table clone: the base table's columns (types, modes, defaults, descriptions), settings and rows
        now, and a cloneDefinition naming the base; it expires only if given an expiration of its own.

        https://cloud.google.com/bigquery/docs/table-clones-intro#table_clone_metadata
        """
        base = self.canonical(base)
        resource = self.get_table(base)
        resource.pop("expirationTime", None)
        fields = self._copy_columns_and_rows(base, clone, resource)
        self.record_table(clone, resource)
        clone_time = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        definition = {"baseTableReference": base.rest(), "cloneTime": clone_time}
        stored = self._table_metadata(clone) | {"cloneDefinition": definition}
        self._store_metadata(clone, stored | ({} if fields else {"noSchema": True}))

    def copy_table(self, base: TableRef, copy: TableRef) -> None:
        """A copy job's new table: the base table's columns (types, modes, defaults, descriptions),
        partitioning and clustering, and its rows now.

        https://cloud.google.com/bigquery/docs/managing-tables#copy-table
        """
        base = self.canonical(base)
        resource = self.get_table(base)
        settings = ("schema", "timePartitioning", "rangePartitioning", "clustering", "requirePartitionFilter")
        resource = {key: resource[key] for key in settings if key in resource}
        fields = self._copy_columns_and_rows(base, copy, resource)
        self.record_table(copy, resource)
        if not fields:
            self._store_metadata(copy, self._table_metadata(copy) | {"noSchema": True})

    def snapshot_table(self, base: TableRef, snapshot: TableRef, expiration_ms: str | None = None) -> None:
        """A table snapshot: the base table's columns and rows now, read-only, of type SNAPSHOT with a
        snapshotDefinition naming the base and the time.

        https://cloud.google.com/bigquery/docs/table-snapshots-intro
        """
        base = self.canonical(base)
        resource = {
            key: value for key, value in self.get_table(base).items() if key in ("schema", "description")
        }
        fields = self._copy_columns_and_rows(base, snapshot, resource)
        self.record_table(
            snapshot, resource | ({"expirationTime": expiration_ms} if expiration_ms else {}), "SNAPSHOT"
        )
        snapshot_time = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        definition = {"baseTableReference": base.rest(), "snapshotTime": snapshot_time}
        stored = self._table_metadata(snapshot) | {"snapshotDefinition": definition}
        self._store_metadata(snapshot, stored | ({} if fields else {"noSchema": True}))

    def _copy_columns_and_rows(self, base: TableRef, copy: TableRef, resource: dict) -> list[dict]:
        fields = (resource.get("schema") or {}).get("fields") or []
        if fields:
            self._create_columns(copy, fields)
            self._copy_column_defaults(base, copy)
            run_sql(self.con, f"INSERT INTO {copy.duckdb_name} SELECT * FROM {base.duckdb_name}")
        return fields

    def _copy_column_defaults(self, base: TableRef, copy: TableRef) -> None:
        """The base table's column defaults, those of DDL (`label STRING DEFAULT 'none'`) as well."""
        defaults = self.con.execute(
            "SELECT column_name, column_default FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
            "AND column_default IS NOT NULL",
            [base.schema_name, base.table],
        ).fetchall()
        for name, default in defaults:
            run_sql(
                self.con,
                f"ALTER TABLE {copy.duckdb_name} ALTER COLUMN {quote_identifier(name)} SET DEFAULT {default}",
            )

    def _check_rounding_modes(self, ref: TableRef, resource: dict) -> None:
        check_rounding_mode(resource.get("defaultRoundingMode"), f"table {ref}")
        for field in (resource.get("schema") or {}).get("fields") or []:
            check_rounding_mode(field.get("roundingMode"), f"field {field.get('name')} of {ref}")

    def _create_columns(self, ref: TableRef, fields: list[dict]) -> None:
        run_sql(self.con, f"CREATE TABLE {ref.duckdb_name} ({column_definitions(fields)})")
        for field in fields:
            self._set_default(ref, field)

    def _set_default(self, ref: TableRef, field: dict) -> None:
        """The column's DEFAULT, so that INSERTs and insertAll rows without the column get the value."""
        column = f"ALTER TABLE {ref.duckdb_name} ALTER COLUMN {quote_identifier(field['name'])}"
        expression = field.get("defaultValueExpression")
        if expression:
            run_sql(self.con, f"{column} SET DEFAULT {default_value_sql(expression, field['name'])}")
        else:
            run_sql(self.con, f"{column} DROP DEFAULT")

    def record_table(self, ref: TableRef, resource: dict, kind: str = "TABLE") -> None:
        """Store (or replace) the metadata of a table or view that now exists in DuckDB."""
        ref = self.canonical(ref)
        stamp = str(now_ms())
        previous = self._stored(ref)
        stored = {key: resource[key] for key in _TABLE_SETTINGS if resource.get(key) is not None}
        stored |= {
            "type": kind,
            "creationTime": previous.get("creationTime", stamp) if previous else stamp,
            "lastModifiedTime": stamp,
        }
        stored |= _field_metadata((resource.get("schema") or {}).get("fields", []))
        run_sql(
            self.con,
            f"INSERT OR REPLACE INTO {META}.tables VALUES (?, ?, ?, ?)",
            [ref.project, ref.dataset, ref.table, json.dumps(stored)],
        )

    def _stored(self, ref: TableRef) -> dict | None:
        ref = self.canonical(ref)
        row = first_row(
            self.con,
            f"SELECT resource FROM {META}.tables WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [ref.project, ref.dataset, ref.table],
        )
        return json.loads(row[0]) if row else None

    def touch_table(self, ref: TableRef) -> None:
        ref = self.canonical(ref)
        (updated,) = first_row(
            self.con,
            f"UPDATE {META}.tables SET resource = json_merge_patch(resource, ?) "
            "WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [json.dumps({"lastModifiedTime": str(now_ms())}), ref.project, ref.dataset, ref.table],
        )
        if not updated:
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)

    def _columns(self, ref: TableRef) -> duckdb.DuckDBPyRelation | None:
        """DuckDB's binding of the table alone (no query runs); None for a table without a schema."""
        try:
            return self.con.sql(f"SELECT * FROM {ref.duckdb_name} LIMIT 0")
        except duckdb.CatalogException:
            if (self._stored(ref) or {}).get("noSchema"):
                return None
            raise

    def column_names(self, ref: TableRef) -> list[str]:
        """The table's column names, from DuckDB's binding of the table alone: no query runs."""
        relation = self._columns(ref)
        return relation.columns if relation is not None else []

    def table_schema(self, ref: TableRef) -> dict:
        ref = self.canonical(ref)
        relation = self._columns(ref)
        if relation is None:
            return {"fields": []}
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
        ref = self.canonical(ref)
        stored = self._table_metadata(ref)
        schema = self.table_schema(ref)
        attributes = stored.get("fieldAttributes", {})
        for field in schema["fields"]:
            if field["name"] in stored.get("fieldDescriptions", {}):
                field["description"] = stored["fieldDescriptions"][field["name"]]
            field |= attributes.get(field["name"], {})
        for path in stored.get("requiredSubfields", []):
            _mark_required(schema["fields"], path.split("."))
        resource = {
            "kind": "bigquery#table",
            "id": f"{ref.project}:{ref.dataset}.{ref.table}",
            "tableReference": ref.rest(),
            "location": LOCATION,
            **({"schema": schema} if schema["fields"] else {}),
            **{k: v for k, v in stored.items() if k not in _INTERNAL_TABLE_KEYS},
        }
        if stored["type"] in ("TABLE", "SNAPSHOT"):
            rows = self.row_count(ref)
            resource |= {"numRows": str(rows), "numBytes": "0", "numLongTermBytes": "0"}
        return resource

    def columns_with_defaults(self, ref: TableRef) -> set[str]:
        attributes = self._table_metadata(ref).get("fieldAttributes", {})
        return {name for name, kept in attributes.items() if kept.get("defaultValueExpression")}

    def row_count(self, ref: TableRef) -> int:
        if self._columns(ref) is None:
            return 0
        return first_row(self.con, f"SELECT count(*) FROM {ref.duckdb_name}")[0]

    def annotate_columns(self, ref: TableRef, attributes: Mapping[str, dict]) -> None:
        """Add schema attributes (type parameters, …) to columns, by name."""
        stored = self._table_metadata(ref)
        kept = stored.setdefault("fieldAttributes", {})
        for name, given in attributes.items():
            kept[name] = {**kept.get(name, {}), **given}
        self._store_metadata(ref, stored)

    def describe_columns(self, ref: TableRef, descriptions: Mapping[str, str]) -> None:
        stored = self._table_metadata(ref)
        stored.setdefault("fieldDescriptions", {}).update(descriptions)
        self._store_metadata(ref, stored)

    def _store_metadata(self, ref: TableRef, stored: dict) -> None:
        ref = self.canonical(ref)
        run_sql(
            self.con,
            f"UPDATE {META}.tables SET resource = ? WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [json.dumps(stored), ref.project, ref.dataset, ref.table],
        )

    def patch_table(self, ref: TableRef, changes: dict) -> dict:
        """tables.patch / tables.update: the settings given, a null one removed; a schema given replaces the
        descriptions and attributes of the columns and may add columns or relax REQUIRED ones.

        https://cloud.google.com/bigquery/docs/managing-table-schemas
        """
        ref = self.canonical(ref)
        stored = self._table_metadata(ref)
        self._check_rounding_modes(ref, changes)
        for key in _PATCHABLE_TABLE_SETTINGS:
            if key in changes:
                stored[key] = changes[key]
            if key in stored and stored[key] is None:
                del stored[key]
        if key_constraints := stored.get("tableConstraints"):
            self._check_constraints(ref, key_constraints)
        fields = (changes.get("schema") or {}).get("fields")
        if fields:
            self._patch_schema(ref, stored, fields)
            stored.pop("noSchema", None)
            stored = {k: v for k, v in stored.items() if k not in _FIELD_METADATA_KEYS} | _field_metadata(
                fields
            )
        stored["lastModifiedTime"] = str(now_ms())
        self._store_metadata(ref, stored)
        return self.get_table(ref)

    def _patch_schema(self, ref: TableRef, stored: dict, fields: list[dict]) -> None:
        if stored.get("noSchema"):
            self._create_columns(ref, fields)
            return
        current = {field["name"].casefold(): field for field in self.table_schema(ref)["fields"]}
        mismatch = f"Provided Schema does not match Table {ref}."
        given = {field["name"].casefold() for field in fields}
        for key, field in current.items():
            if key not in given:
                raise InvalidRequest(f"{mismatch} Field {field['name']} is missing in new schema")
        for field in fields:
            existing = current.get(field["name"].casefold())
            mode = str(field.get("mode") or "NULLABLE").upper()
            column = quote_identifier(field["name"])
            if existing is None:
                if mode == "REQUIRED":
                    raise InvalidRequest(f"{mismatch} Cannot add required field {field['name']}")
                run_sql(
                    self.con,
                    f"ALTER TABLE {ref.duckdb_name} ADD COLUMN {column} {duckdb_type_for_field(field)}",
                )
            elif duckdb_type_for_field(existing) != duckdb_type_for_field(field):
                raise InvalidRequest(
                    f"{mismatch} Field {field['name']} has changed type from {existing['type']} to {field['type']}"
                )
            elif existing["mode"] == "REQUIRED" and mode == "NULLABLE":
                run_sql(self.con, f"ALTER TABLE {ref.duckdb_name} ALTER COLUMN {column} DROP NOT NULL")
            elif existing["mode"] != mode:
                raise InvalidRequest(
                    f"{mismatch} Field {field['name']} has changed mode from {existing['mode']} to {mode}"
                )
            self._set_default(ref, field)

    def _check_constraints(self, ref: TableRef, constraints: dict) -> None:
        """Primary and foreign keys name columns of this table (and of the referenced one)."""
        columns = {name.casefold() for name in self.column_names(ref)}
        named = list((constraints.get("primaryKey") or {}).get("columns") or [])
        for key in constraints.get("foreignKeys") or []:
            named += [pair.get("referencingColumn", "") for pair in key.get("columnReferences") or []]
            referenced = key.get("referencedTable") or {}
            other = TableRef(
                referenced.get("projectId") or ref.project,
                referenced.get("datasetId") or "",
                referenced.get("tableId") or "",
            )
            self.require_table(other)
            other_columns = {name.casefold() for name in self.column_names(other)}
            for pair in key.get("columnReferences") or []:
                if pair.get("referencedColumn", "").casefold() not in other_columns:
                    raise InvalidRequest(
                        f"Invalid foreign key: column {pair.get('referencedColumn')} is not in table {other}."
                    )
        for name in named:
            if name.casefold() not in columns:
                raise InvalidRequest(f"Invalid table constraint: column {name} is not in table {ref}.")

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
            entry |= {
                k: stored[k]
                for k in ("timePartitioning", "rangePartitioning", "clustering", "labels")
                if k in stored
            }
            listed.append(entry)
        return listed

    def table_kind(self, ref: TableRef) -> str | None:
        stored = self._stored(ref)
        return stored["type"] if stored else None

    def table_version(self, ref: TableRef) -> tuple[str, str, str] | None:
        """A table's or view's kind, creation and last modification time: what changes when it changes."""
        stored = self._stored(ref)
        return (stored["type"], stored["creationTime"], stored["lastModifiedTime"]) if stored else None

    def drop_table(self, ref: TableRef, missing_ok: bool = False) -> bool:
        ref = self.canonical(ref)
        stored = self._stored(ref)
        if stored is None:
            if missing_ok:
                return False
            self.require_dataset(ref.project, ref.dataset)
            raise table_not_found(ref)
        if not stored.get("noSchema"):
            run_sql(self.con, f"DROP {'VIEW' if stored['type'] == 'VIEW' else 'TABLE'} {ref.duckdb_name}")
        self.forget_table(ref)
        return True

    def rename_table(self, ref: TableRef, new_name: str) -> None:
        """The table under another name in its dataset, with its rows, columns and metadata."""
        ref = self.canonical(ref)
        stored = self._table_metadata(ref)
        if not stored.get("noSchema"):
            run_sql(self.con, f"ALTER TABLE {ref.duckdb_name} RENAME TO {quote_identifier(new_name)}")
        run_sql(
            self.con,
            f"UPDATE {META}.tables SET table_id = ? WHERE project = ? AND dataset_id = ? AND table_id = ?",
            [new_name, ref.project, ref.dataset, ref.table],
        )
        self.touch_table(TableRef(ref.project, ref.dataset, new_name))

    def forget_table(self, ref: TableRef) -> None:
        ref = self.canonical(ref)
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
