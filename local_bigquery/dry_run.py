"""Dry runs: a query job checked without running it, with an estimate of the bytes it would process.

BigQuery's dry run (`configuration.dryRun`) validates a job and estimates its cost without running it
(https://cloud.google.com/bigquery/docs/running-queries#dry-run). Here every statement of the job is parsed,
translated and bound against the catalog — DuckDB plans it (EXPLAIN) but does not execute it — and
nothing is written: no dataset, table, row, model or query result. BigQuery ML functions in a query are
evaluated in memory to bind the query around them; nothing of that is kept.

`totalBytesProcessed` follows BigQuery's data size rules
(https://cloud.google.com/bigquery/pricing#data_size_calculation) over the columns the job reads of the
tables it reads: 8 bytes per INT64, FLOAT64, DATE, DATETIME, TIME or TIMESTAMP value, 1 per BOOL, 16 per
NUMERIC or INTERVAL, 32 per BIGNUMERIC, 2 + the UTF-8 length per STRING (2 + length per BYTES), and
0 for NULL. Partition pruning is not modelled, so the estimate is an upper bound, as BigQuery's own is
for queries whose filters it cannot evaluate before running.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import traverse_scope

from local_bigquery import dialect
from local_bigquery.engine import release_relation
from local_bigquery.translate import LOCAL_RELATION, TableRef

if TYPE_CHECKING:
    from local_bigquery.engine import ScriptRun

# Logical bytes per non-NULL value of the fixed-size types, by the REST schema's type names.
FIXED_SIZES = {
    "INTEGER": 8,
    "INT64": 8,
    "FLOAT": 8,
    "FLOAT64": 8,
    "DATE": 8,
    "DATETIME": 8,
    "TIME": 8,
    "TIMESTAMP": 8,
    "BOOLEAN": 1,
    "BOOL": 1,
    "NUMERIC": 16,
    "INTERVAL": 16,
    "BIGNUMERIC": 32,
}
_DATASET_STATEMENTS = ("SCHEMA", "DATABASE")
MB = 1024 * 1024
MIN_BILLED_PER_TABLE = 10 * MB


def dry_run_statistics(run: ScriptRun, statements: list[exp.Expression]) -> dict:
    """The statistics of a dry run of `statements`; raises what running them would raise first."""
    created: set[TableRef] = set()
    created_datasets: set[tuple[str, str]] = set()
    schema = None
    operation = _ddl_operation(run, statements[0]) if len(statements) == 1 else None
    try:
        for statement in statements:
            schema = _check(run, statement, created, created_datasets)
    finally:
        for name in run._relation_names:  # BigQuery ML results bound in memory for the check
            release_relation(run.con, name)
    reads = job_reads(run, statements)
    processed = str(reads.processed)
    query = {
        "statementType": "SCRIPT" if len(statements) > 1 else statement_type(statements[0]),
        "totalBytesProcessed": processed,
        "totalBytesBilled": "0",
        "cacheHit": False,
        "referencedTables": reads.referenced_tables(),
    }
    if schema is not None and len(statements) == 1:
        query["schema"] = schema
    if operation:
        query["ddlOperationPerformed"] = operation
    return {"query": query, "totalBytesProcessed": processed}


def _ddl_operation(run: ScriptRun, statement: exp.Expression) -> str | None:
    """What a CREATE TABLE / VIEW would do, which a dry run reports as BigQuery does: CREATE, REPLACE or, for
    IF NOT EXISTS of an existing one, SKIP.

    https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobStatistics2.FIELDS.ddl_operation_performed
    """
    if not isinstance(statement, exp.Create) or statement.args.get("kind", "").upper() not in (
        "TABLE",
        "VIEW",
    ):
        return None
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    if not run.catalog.table_kind(run.resolve(target)):
        return "CREATE"
    return "SKIP" if statement.args.get("exists") else "REPLACE" if statement.args.get("replace") else None


@dataclass(frozen=True)
class JobReads:
    """What a job reads of stored tables: the bytes it processes and bills on demand, and the tables."""

    processed: int
    billed: int
    tables: frozenset[TableRef]

    def referenced_tables(self) -> list[dict]:
        return [ref.rest() for ref in sorted(self.tables)]


def job_reads(run: ScriptRun, statements: list[exp.Expression]) -> JobReads:
    """Each statement is billed on its own, as each statement of a script is a child job of its own: the
    bytes of the columns it reads of every table it references, however often it references one, and on
    demand at least 10 MB per table, in whole MB.

    https://cloud.google.com/bigquery/docs/estimate-costs#query_size_calculation,
    https://cloud.google.com/bigquery/pricing#on_demand_pricing,
    https://cloud.google.com/bigquery/docs/multi-statement-queries#cost
    """
    processed = billed = 0
    tables: set[TableRef] = set()
    for statement in statements:
        for ref, columns in read_columns(run, statement).items():
            size = column_bytes(run, ref, columns)
            processed += size
            billed += max(MIN_BILLED_PER_TABLE, -(-size // MB) * MB)
            tables.add(ref)
    return JobReads(processed, billed, frozenset(tables))


def statement_type(statement: exp.Expression) -> str:
    if isinstance(statement, exp.Query):
        return "SELECT"
    if isinstance(statement, exp.Create):
        kind = statement.args.get("kind", "").upper()
        if kind == "TABLE" and statement.expression is not None:
            return "CREATE_TABLE_AS_SELECT"
        return f"CREATE_{kind}"
    if isinstance(statement, exp.Drop):
        return f"DROP_{statement.args.get('kind', 'TABLE').upper()}"
    return type(statement).__name__.upper()


# ---- checking -------------------------------------------------------------------------------------------


def _check(
    run: ScriptRun,
    statement: exp.Expression,
    created: set[TableRef],
    created_datasets: set[tuple[str, str]],
) -> dict | None:
    """Validates one statement as running it would; returns a query's result schema."""
    if isinstance(statement, exp.Query):
        return _plan(run, statement, created)
    if isinstance(statement, exp.Insert | exp.Update | exp.Delete | exp.Merge):
        target = run.resolve(_target(statement))
        if target not in created:
            run.catalog.require_table(target)
        _plan(run, statement, created, checked=[target])
        # A DML dry run answers with the schema of the table it writes.
        return None if target in created else run.catalog.table_schema(target)
    elif isinstance(statement, exp.Create):
        return _check_create(run, statement, created, created_datasets)
    elif isinstance(statement, exp.Alter | exp.TruncateTable):
        target = run.resolve(statement.this if isinstance(statement, exp.Alter) else statement.expressions[0])
        if target not in created:
            run.catalog.require_table(target)
    elif isinstance(statement, exp.Drop):
        _check_drop(run, statement, created)
    elif isinstance(statement, exp.Declare | exp.Set | dialect.Assert):
        run.run_statement(statement)  # script variables and assertions write nothing
    elif not isinstance(statement, exp.Transaction | exp.Commit):
        run._handler(statement)  # refuses what a run would refuse
    return None


def _check_create(
    run: ScriptRun,
    statement: exp.Create,
    created: set[TableRef],
    created_datasets: set[tuple[str, str]],
) -> dict | None:
    """Checks a CREATE; a CREATE TABLE's dry run answers with the schema the table would have."""
    kind = statement.args.get("kind", "").upper()
    if kind in _DATASET_STATEMENTS:
        created_datasets.add(run._schema_name(statement.this))
        return None
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    ref = run.resolve(target)
    if (ref.project, ref.dataset) not in created_datasets:
        run.catalog.require_dataset(ref.project, ref.dataset)
    if kind == "MODEL":
        from local_bigquery.bqml import options, regression

        # The model's options are checked as training would check them; nothing is trained.
        (regression if regression.is_linear_reg(statement) else options).options_from_create(statement)
    elif kind not in ("TABLE", "VIEW"):
        run._handler(statement)
        return None
    schema = None
    clone = statement.args.get("clone")
    if clone is not None:
        base = run.resolve(clone.this)
        if base not in created:
            run.catalog.require_table(base)
            schema = run.catalog.table_schema(base)
    elif statement.expression is not None:
        schema = _plan(run, statement.expression, created)
    elif kind == "TABLE" and isinstance(statement.this, exp.Schema):
        schema = _declared_schema(run, statement.this, created)
    created.add(ref)
    return schema if kind == "TABLE" else None


def _declared_schema(run: ScriptRun, columns: exp.Schema, created: set[TableRef]) -> dict | None:
    """The schema of `CREATE TABLE t (column type, …)`: that of a row of typed NULLs, NOT NULL columns
    REQUIRED."""
    definitions = [column for column in columns.expressions if isinstance(column, exp.ColumnDef)]
    if not definitions or any(column.args.get("kind") is None for column in definitions):
        return None
    row = exp.select(
        *(exp.alias_(exp.cast(exp.null(), column.args["kind"].copy()), column.name) for column in definitions)
    )
    schema = _plan(run, row, created)
    required = {
        column.name
        for column in definitions
        if any(isinstance(c.kind, exp.NotNullColumnConstraint) for c in column.constraints)
    }
    for field in schema["fields"] if schema else []:
        if field["name"] in required:
            field["mode"] = "REQUIRED"
    return schema


def _check_drop(run: ScriptRun, statement: exp.Drop, created: set[TableRef]) -> None:
    kind = statement.args.get("kind", "TABLE").upper()
    if statement.args.get("exists") or kind not in ("TABLE", "VIEW"):
        return
    (table,) = statement.args["tables"]
    ref = run.resolve(table)
    if ref not in created:
        run.catalog.require_table(ref)
    created.discard(ref)


def _plan(
    run: ScriptRun, statement: exp.Expression, created: set[TableRef], checked: Iterable[TableRef] = ()
) -> dict | None:
    """Translates and binds the statement (DuckDB's EXPLAIN plans it without running it).

    A statement reading a table the same script creates first cannot be bound before the script runs;
    only what it names is checked then.
    """
    if _reads(run, statement) & created:
        return None
    sql, values = run.prepare(statement.copy(), checked=[*checked])
    run.con.execute(f"EXPLAIN {sql}", values or None)
    if isinstance(statement, exp.Query):
        from local_bigquery.types import schema_for_relation

        relation = run.con.sql(sql, params=values or None)  # bound, not executed
        return schema_for_relation(relation.columns, relation.types)
    return None


def _target(statement: exp.Expression) -> exp.Table:
    target = statement.this
    return target.this if isinstance(target, exp.Schema) else target


# ---- what a job reads -----------------------------------------------------------------------------------


def _storage_tables(statement: exp.Expression) -> list[exp.Table]:
    ctes = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    return [
        table
        for table in statement.find_all(exp.Table)
        if isinstance(table.this, exp.Identifier)
        and not table.meta.get(LOCAL_RELATION)
        and not (len(table.parts) == 1 and table.name.lower() in ctes)
        and not isinstance(table.parent, dialect.MLFunction | exp.Predict)  # a MODEL argument
    ]


def _reads(run: ScriptRun, statement: exp.Expression) -> set[TableRef]:
    return {run.resolve(table) for table in _storage_tables(statement)}


def read_columns(run: ScriptRun, statement: exp.Expression) -> dict[TableRef, set[str]]:
    """The columns the statement reads of each existing table it reads (a DML target's included)."""
    statement = statement.copy()
    tables = {}
    views: dict[TableRef, set[str]] = {}
    for table in _storage_tables(statement):
        ref = run.resolve(table)
        kind = run.catalog.table_kind(ref)
        if kind == "VIEW":
            _merge(views, _view_reads(run, ref))
        if kind != "TABLE":
            continue
        tables[ref] = {name.lower() for name in run.catalog.column_names(ref)}
        table.set("catalog", exp.to_identifier(ref.project, quoted=True))
        table.set("db", exp.to_identifier(ref.dataset, quoted=True))
        table.set("this", exp.to_identifier(ref.table, quoted=True))
    writes = isinstance(statement, exp.Insert) or (
        isinstance(statement, exp.Create)
        and statement.args.get("kind", "").upper() in ("TABLE", "VIEW", "MODEL")
    )
    if writes:  # what a CREATE or INSERT writes, it does not read
        tables.pop(run.resolve(_target(statement)), None)
    if not tables:
        return views
    query = statement.expression if writes else statement
    if isinstance(query, exp.Query):
        with contextlib.suppress(Exception):  # sqlglot cannot qualify it: count the names it mentions
            return _merge(_columns_by_scope(query, tables), views)
    return _merge(_columns_by_name(statement, tables), views)


def _view_reads(run: ScriptRun, ref: TableRef) -> dict[TableRef, set[str]]:
    """A query of a view is billed for what the view's query reads of its tables
    (https://cloud.google.com/bigquery/docs/views-intro#view_pricing): here every column the view's query
    uses, whichever of the view's columns the outer query selects (an upper bound)."""
    view = run.catalog.get_table(ref).get("view") or {}
    reads: dict[TableRef, set[str]] = {}
    for statement in dialect.parse(view.get("query", "")):
        _merge(reads, read_columns(run, statement))
    return reads


def _merge(into: dict[TableRef, set[str]], other: dict[TableRef, set[str]]) -> dict[TableRef, set[str]]:
    for ref, columns in other.items():
        into[ref] = into.get(ref, set()) | columns
    return into


def _columns_by_scope(query: exp.Query, tables: dict[TableRef, set[str]]) -> dict[TableRef, set[str]]:
    """Each column resolved to the table it comes from, stars expanded, projections nobody uses dropped."""
    schema: dict = {}
    for ref, columns in tables.items():
        schema.setdefault(ref.project, {}).setdefault(ref.dataset, {})[ref.table] = dict.fromkeys(
            columns, "STRING"
        )
    qualified = qualify(query, schema=schema, dialect="bigquery", validate_qualify_columns=False)
    from sqlglot.optimizer.pushdown_projections import pushdown_projections

    pruned = pushdown_projections(qualified)
    read: dict[TableRef, set[str]] = {}
    for scope in traverse_scope(pruned):
        for column in scope.columns:
            source = scope.sources.get(column.table)
            if isinstance(source, exp.Table):
                ref = TableRef(source.catalog, source.db, source.name)
                if ref in tables and column.name.lower() in tables[ref]:
                    read.setdefault(ref, set()).add(column.name.lower())
    return read


def _columns_by_name(statement: exp.Expression, tables: dict[TableRef, set[str]]) -> dict[TableRef, set[str]]:
    """An upper bound: every column of a read table the statement mentions by name, all of them for `*`."""
    mentioned = {column.name.lower() for column in statement.find_all(exp.Column)}
    star = statement.find(exp.Star) is not None
    return {ref: set(columns) if star else columns & mentioned for ref, columns in tables.items()}


def column_bytes(run: ScriptRun, ref: TableRef, columns: set[str]) -> int:
    """The logical bytes of the table's values in `columns`, by BigQuery's data size rules."""
    fields = {field["name"].lower(): field for field in run.catalog.table_schema(ref)["fields"]}
    terms = [_size_sql(fields[name]) for name in sorted(columns) if name in fields]
    if not terms:
        return 0
    total = run.con.execute(f"SELECT {' + '.join(terms)} FROM {ref.duckdb_name}").fetchone()[0]
    return int(total or 0)


def _size_sql(field: dict) -> str:
    name = '"' + field["name"].replace('"', '""') + '"'
    kind, repeated = field["type"].upper(), field.get("mode") == "REPEATED"
    if kind in FIXED_SIZES and not repeated:
        return f"{FIXED_SIZES[kind]} * count({name})"
    if kind in FIXED_SIZES:
        return f"{FIXED_SIZES[kind]} * coalesce(sum(len({name})), 0)"
    if kind == "STRING" and not repeated:
        return f"coalesce(sum(2 + strlen({name})), 0)"
    if kind == "BYTES" and not repeated:
        return f"coalesce(sum(2 + octet_length({name})), 0)"
    # JSON, STRUCT, arrays of variable-size values: the length of their JSON text approximates them.
    return f"coalesce(sum(strlen(CAST(to_json({name}) AS VARCHAR))), 0)"
