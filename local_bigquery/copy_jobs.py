"""Copy jobs of tables: `configuration.copy` with operationType COPY (the default), CLONE, SNAPSHOT or
RESTORE.

https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobConfigurationTableCopy and
https://cloud.google.com/bigquery/docs/managing-tables#copy-table: one or more source tables (several must
have the same schema) into a destination, which CREATE_IF_NEEDED (the default) creates and CREATE_NEVER
requires; WRITE_EMPTY (the default) fails with `duplicate` if the destination has rows, WRITE_TRUNCATE
replaces its rows and schema, WRITE_APPEND adds the rows to a table of the same schema. CLONE
(https://cloud.google.com/bigquery/docs/table-clones-create) makes a table clone of one source, SNAPSHOT
(https://cloud.google.com/bigquery/docs/table-snapshots-create) a table snapshot of one, expiring at
destinationExpirationTime, and RESTORE (https://cloud.google.com/bigquery/docs/table-snapshots-restore)
copies table snapshots into a table. The caller runs the job in a transaction, so a failing job changes
nothing.
"""

from __future__ import annotations

import datetime as dt

from local_bigquery.catalog import LOCATION, Catalog, run_sql
from local_bigquery.errors import Duplicate, InvalidRequest, NotFound
from local_bigquery.translate import TableRef

_WRITE_DISPOSITIONS = ("WRITE_EMPTY", "WRITE_TRUNCATE", "WRITE_APPEND")
_CREATE_DISPOSITIONS = ("CREATE_IF_NEEDED", "CREATE_NEVER")


# What each operation copies from.
_SOURCE_KINDS = {"COPY": "TABLE", "CLONE": "TABLE", "SNAPSHOT": "TABLE", "RESTORE": "SNAPSHOT"}


def _expiration_ms(config: dict) -> str | None:
    """destinationExpirationTime (RFC 3339) as the table's expirationTime, epoch milliseconds."""
    expiration = config.get("destinationExpirationTime")
    if not expiration:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(expiration).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(
            f"Invalid destinationExpirationTime {expiration!r}: expected an RFC 3339 time."
        ) from None
    return str(int(moment.replace(tzinfo=moment.tzinfo or dt.UTC).timestamp() * 1000))


def _columns(schema: dict) -> list[tuple]:
    return [
        (field["name"].lower(), field["type"], field.get("mode", "NULLABLE")) for field in schema["fields"]
    ]


def _check_options(config: dict, operation: str, sources: list[TableRef]) -> tuple[str, str]:
    if operation not in _SOURCE_KINDS:
        raise InvalidRequest(f"Invalid operationType {operation}: expected COPY, CLONE, SNAPSHOT or RESTORE.")
    write = config.get("writeDisposition") or "WRITE_EMPTY"
    create = config.get("createDisposition") or "CREATE_IF_NEEDED"
    if write not in _WRITE_DISPOSITIONS:
        raise InvalidRequest(
            f"Invalid writeDisposition {write}: expected one of {', '.join(_WRITE_DISPOSITIONS)}."
        )
    if create not in _CREATE_DISPOSITIONS:
        raise InvalidRequest(
            f"Invalid createDisposition {create}: expected CREATE_IF_NEEDED or CREATE_NEVER."
        )
    if operation in ("CLONE", "SNAPSHOT") and (len(sources) != 1 or write == "WRITE_APPEND"):
        raise InvalidRequest(
            f"A {operation} copy job copies one source table, with WRITE_EMPTY or WRITE_TRUNCATE."
        )
    return write, create


def copy_tables(
    catalog: Catalog, sources: list[TableRef], destination: TableRef, config: dict
) -> dict[str, str]:
    """Run a table copy job; returns its statistics.copy."""
    operation = (config.get("operationType") or "COPY").upper()
    write, create = _check_options(config, operation, sources)
    for source in sources:
        kind = catalog.require_table(source)
        if kind != _SOURCE_KINDS[operation]:
            wanted = "table snapshots" if operation == "RESTORE" else "tables"
            raise InvalidRequest(
                f"Cannot {operation.lower()} {source}: it is a {kind.lower()}, and {operation} copies {wanted}."
            )
        if catalog.canonical(source) == catalog.canonical(destination):
            raise InvalidRequest(f"Cannot copy {source} onto itself.")
    schema = catalog.table_schema(sources[0])
    for source in sources[1:]:
        if _columns(catalog.table_schema(source)) != _columns(schema):
            raise InvalidRequest(f"Cannot copy tables of different schemas: {sources[0]} and {source}.")
    catalog.require_dataset(destination.project, destination.dataset)
    existing = catalog.table_kind(destination)
    if existing is None and create == "CREATE_NEVER":
        raise NotFound(f"Not found: Table {destination} was not found in location {LOCATION}")
    if existing == "VIEW" or (existing == "SNAPSHOT" and write != "WRITE_TRUNCATE"):
        raise InvalidRequest(f"Cannot copy into {destination}: it is a {existing.lower()}, not a table.")
    makes_new_table = operation in ("CLONE", "SNAPSHOT")
    if existing and write == "WRITE_EMPTY" and (makes_new_table or catalog.row_count(destination)):
        raise Duplicate(f"Already Exists: Table {destination}")
    if existing and write != "WRITE_TRUNCATE":
        if _columns(catalog.table_schema(destination)) != _columns(schema):
            raise InvalidRequest(f"Provided Schema does not match Table {destination}.")
        rest = sources
    else:
        if existing:
            catalog.drop_table(destination)
        if operation == "SNAPSHOT":
            catalog.snapshot_table(sources[0], destination, _expiration_ms(config))
        else:
            (catalog.clone_table if operation == "CLONE" else catalog.copy_table)(sources[0], destination)
        rest = sources[1:]
    for source in rest:
        run_sql(
            catalog.con, f"INSERT INTO {destination.duckdb_name} BY NAME SELECT * FROM {source.duckdb_name}"
        )
    catalog.touch_table(destination)
    copied = sum(catalog.row_count(source) for source in sources)
    return {"copiedRows": str(copied), "copiedLogicalBytes": "0"}
