"""Runs a GoogleSQL script statement by statement on DuckDB, the way a BigQuery query job would.

One `ScriptRun` per job. It is also the statement context the BigQuery ML code works through: it
resolves names, runs sub-queries, registers computed relations and reaches the model store.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa
from sqlglot import exp

from local_bigquery import dialect, functions, sandbox, semantics
from local_bigquery.catalog import Catalog, ModelStore, first_row, run_sql
from local_bigquery.errors import AccessDenied, BigQueryError, Duplicate, InvalidQuery, NotFound, Unsupported
from local_bigquery.semantics import BIGNUMERIC, NUMERIC
from local_bigquery.translate import (
    LOCAL_RELATION,
    TIMESTAMP_OPTIONS,
    Binding,
    NameResolver,
    TableRef,
    bind_query_parameters,
    bind_script_variables,
    qualify_tables,
    reject_unsupported,
    take_table_properties,
    to_duckdb,
    validate_ids,
)
from local_bigquery.types import (
    BIGNUMERIC_SCALE,
    decimal_parameters,
    quote_identifier,
    refuse_null_array_elements,
    schema_for_relation,
)

_ERROR_PREFIX = re.compile(r"^[A-Za-z ]*Error: ")
# DuckDB's types of stored columns and bound parameters as GoogleSQL names them, for operand type checks.
_GOOGLESQL_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "DOUBLE": "FLOAT64",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
    NUMERIC.sql("duckdb").upper().replace(" ", ""): "NUMERIC",
    BIGNUMERIC.sql("duckdb").upper().replace(" ", ""): "BIGNUMERIC",
}
# "… does not exist", or "… is not in the catalog, but it exists in the inet extension" (which stays off).
_MISSING_FUNCTION = re.compile(
    r'^(Scalar|Aggregate) Function with name "?(?P<name>[\w.]+)"? (does not exist|is not in the catalog)'
)
_DIVISION_BY_ZERO = re.compile(r"^Division by zero in expression \((?P<expression>.*?)\)\. ")

# DuckDB's wording of a value error → BigQuery's, which users and tests match on: the conversion functions'
# "Bad int64 value" / "Invalid date" family and the arithmetic overflows.
# https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions
_VALUE_ERRORS = tuple(
    (re.compile(pattern, re.DOTALL), message)
    for pattern, message in (
        (r"^Could not convert string '(?P<value>.*)' to INT(64|32|16|8)\b", "Bad int64 value: {value}"),
        (r"^Could not convert string '(?P<value>.*)' to (DOUBLE|FLOAT)\b", "Bad double value: {value}"),
        (r"^Could not convert string '(?P<value>.*)' to BOOL", "Bad bool value: {value}"),
        (r'^Could not convert string "(?P<value>.*)" to DECIMAL\(38,9\)', "Invalid NUMERIC value: {value}"),
        (r'^Could not convert string "(?P<value>.*)" to DECIMAL', "Invalid BIGNUMERIC value: {value}"),
        (r"^Could not cast value (?P<value>\S+) to DECIMAL\(38,9\)", "numeric out of range: {value}"),
        (r"^Could not cast value (?P<value>\S+) to DECIMAL", "bignumeric out of range: {value}"),
        (r'^invalid date field format: "(?P<value>.*)", expected', "Invalid date: '{value}'"),
        (r'^invalid timestamp field format: "(?P<value>.*)", expected', "Invalid timestamp: '{value}'"),
        (r"^Overflow in \w+ of INT\d+ \((?P<value>.*?)\)!", "Integer Overflow: {value}"),
        (
            r"^Type DOUBLE with value (?P<value>-?(nan|inf)) can't be cast",
            "Illegal conversion of non-finite floating point number to an integer: {value}",
        ),
        (
            r"^Type DOUBLE with value (?P<value>\S+) can't be cast .* type INT64",
            "int64 out of range: {value}",
        ),
        (r"^Type INT128 with value (?P<value>\S+) can't be cast .* type INT64", "int64 overflow: {value}"),
        (r"^Unknown TimeZone '(?P<value>[^']*)'", "Invalid time zone: {value}"),
        (
            r"^(?P<value>MERGE) INTO command cannot affect the same target row more than once",
            "UPDATE/{value} must match at most one source row for each target row",
        ),
        (r"^Date out of range: (?P<value>.*)", "Out-of-range datetime field in parsing function: {value}"),
        # The server's own functions (`semantics.register_functions`) raise ValueError with BigQuery's words.
        (r"^Python exception occurred while executing the UDF: ValueError: (?P<value>.*)", "{value}"),
    )
)


def _bigquery_value_error(message: str) -> str | None:
    for pattern, bigquery_message in _VALUE_ERRORS:
        found = pattern.match(message)
        if found:
            return bigquery_message.format(value=found["value"])
    return None


def bigquery_error(
    error: duckdb.Error, statements: Collection[exp.Expression] = (), default_project: str | None = None
) -> BigQueryError:
    """A DuckDB failure in BigQuery's terms, keeping DuckDB's explanation of what is wrong; `statements`
    (as parsed, with their positions) are those that failed, for errors that point into them."""
    message = _ERROR_PREFIX.sub("", str(error).strip(), count=1)
    if isinstance(error, duckdb.PermissionException):
        return Unsupported(f"file, network and settings access from queries ({message})")
    division = _DIVISION_BY_ZERO.match(message)
    if division:
        return InvalidQuery(f"division by zero: {division['expression']}")
    value_error = _bigquery_value_error(message)
    if value_error:
        return InvalidQuery(value_error)
    missing = _MISSING_FUNCTION.match(message)
    if isinstance(error, duckdb.CatalogException) and missing:
        named = functions.missing_function_error(missing["name"].lower(), statements, default_project)
        return named or InvalidQuery(f"Function not found: {message}")
    if isinstance(error, duckdb.CatalogException):
        return NotFound(f"Not found: {message}")
    if isinstance(error, duckdb.ParserException):
        return InvalidQuery(f"Syntax error: {message}")
    return InvalidQuery(message)


def release_relation(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Unregister a relation registered for one job. After a failed statement the transaction is aborted
    and DuckDB refuses even this; the job's rollback drops the registration anyway, and the statement's own
    error (an ERROR() a gate raised, say) is the one to report, not "Current transaction is aborted"."""
    with contextlib.suppress(duckdb.TransactionException):
        con.unregister(name)


@dataclass
class QueryResult:
    """Rows a statement produced, readable page by page."""

    schema: dict
    total_rows: int
    fetch: Callable[[int, int], pa.Table]

    @classmethod
    def from_arrow(cls, schema: dict, table: pa.Table) -> QueryResult:
        return cls(schema, table.num_rows, lambda start, count: table.slice(start, count))


@dataclass
class Outcome:
    """What one statement did, for the job's statistics."""

    statement_type: str
    result: QueryResult | None = None
    affected_rows: int | None = None
    ddl_target: TableRef | None = None
    ddl_operation: str | None = None


@dataclass
class ScriptRun:
    catalog: Catalog
    resolver: NameResolver
    named_parameters: dict[str, Binding] = field(default_factory=dict)
    positional_parameters: list[Binding] = field(default_factory=list)
    variables: dict[str, Binding] = field(default_factory=dict)
    # Where CREATE TEMP TABLE puts its tables: a hidden dataset of the script, dropped when it ends, or of
    # its session, which keeps them (`keeps_temporary_tables`).
    temporary_dataset: str = field(default_factory=lambda: f"_script_{uuid.uuid4().hex}")
    keeps_temporary_tables: bool = False
    # CREATE TEMP FUNCTION statements of the script, by lower-case name.
    temporary_functions: dict[str, exp.Create] = field(default_factory=dict)
    _relation_names: list[str] = field(default_factory=list)
    _counter: itertools.count = field(default_factory=itertools.count)
    _read_types: dict[str, str] = field(default_factory=dict)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        return self.catalog.con

    @property
    def models(self) -> ModelStore:
        return self.catalog.models

    # ---- the statement context offered to BigQuery ML ------------------------------------------------

    def resolve(self, table: exp.Table) -> TableRef:
        return self.resolver.resolve(table)

    def query_arrow(self, query: exp.Expression) -> pa.Table:
        """Rows of a GoogleSQL query, a parenthesised query or a table name."""
        if isinstance(query, exp.Table):
            query = exp.select("*").from_(query.copy())
        elif isinstance(query, exp.Subquery):
            query = query.this
        sql, values = self.prepare(query.copy())
        return self._arrow(sql, values)

    def relation_for(self, data: pa.Table) -> exp.Table:
        name = f"_local_relation_{next(self._counter)}"
        self.con.register(name, data)
        self._relation_names.append(name)
        table = exp.to_table(name)
        table.meta[LOCAL_RELATION] = True
        return table

    # ---- running ------------------------------------------------------------------------------------

    def run(self, statements: list[exp.Expression]) -> list[Outcome]:
        try:
            return [self.run_statement(statement) for statement in statements]
        finally:
            for name in self._relation_names:
                release_relation(self.con, name)

    def drop_temporary_tables(self) -> None:
        """The end of a script outside a session: its temporary tables go. After the script's transaction
        commits, as DuckDB cannot commit a table created, written and dropped in one transaction."""
        project = self.resolver.default_project
        if not self.keeps_temporary_tables and self.catalog.dataset_exists(project, self.temporary_dataset):
            self.catalog.delete_dataset(project, self.temporary_dataset, delete_contents=True)

    def run_statement(self, statement: exp.Expression) -> Outcome:
        handler = self._handler(statement)
        try:
            return handler(statement)
        except duckdb.Error as error:
            raise bigquery_error(error, [statement], self.resolver.default_project) from None

    def _handler(self, statement: exp.Expression) -> Callable[[exp.Expression], Outcome]:
        if isinstance(statement, exp.Query):
            return self._query
        handlers: dict[type, Callable[[exp.Expression], Outcome]] = {
            exp.Insert: self._dml,
            exp.Update: self._dml,
            exp.Delete: self._dml,
            exp.Merge: self._dml,
            exp.Create: self._create,
            exp.Drop: self._drop,
            exp.TruncateTable: self._truncate,
            exp.Alter: self._alter,
            dialect.AlterModel: self._alter_model,
            exp.Declare: self._declare,
            exp.Set: self._set,
            dialect.Assert: self._assert,
            exp.Transaction: self._transaction_boundary,
            exp.Commit: self._transaction_boundary,
        }
        for statement_type, handler in handlers.items():
            if isinstance(statement, statement_type):
                return handler
        if isinstance(statement, exp.Rollback):
            raise Unsupported("ROLLBACK TRANSACTION (a failing job rolls back by itself)")
        text = statement.sql("bigquery")
        refused = dialect.refused_statement(text)
        if refused:
            raise Unsupported(refused)
        words = text.split()
        raise Unsupported(f"statement {' '.join(words[:2]) if words else type(statement).__name__}")

    def prepare(self, statement: exp.Expression, checked: Collection[TableRef] = ()) -> tuple[str, dict]:
        """Translate one statement to DuckDB SQL and its parameter values, checking that the tables it names
        exist, once each, except those in `checked`, which the caller already looked up."""
        inline_temporary_functions(statement, self.temporary_functions)
        reject_unsupported(statement)
        sandbox.refuse_table_functions(statement)
        if any(dialect.ml_function_kind(node) for node in statement.walk()):
            from local_bigquery import bqml

            statement = bqml.replace_ml_functions(statement, self)
        self._expand_wildcard_tables(statement)
        created = self._created_table(statement)
        inserted = self.resolve(_target_table(statement)) if isinstance(statement, exp.Insert) else None
        named = [ref for ref in qualify_tables(statement, self.resolver) if ref != created]
        for ref in dict.fromkeys(named):
            if ref not in checked:
                self._require_readable(ref)
        values = bind_query_parameters(statement, self.named_parameters, self.positional_parameters)
        if self.variables:
            # An INSERT's own columns are not in scope of its VALUES or SELECT, so they shadow no variable.
            in_scope = [ref for ref in named if ref != inserted]
            values |= bind_script_variables(statement, self.variables, self._column_names(in_scope))
        self._read_types = self._column_types(named)
        tables: dict[str, dict[str, str]] = {}
        functions.check_operand_types(statement, lambda operand: self._operand_type(operand, tables))
        return to_duckdb(statement, self._read_types), values

    def _operand_type(self, operand: exp.Expression, tables: dict[str, dict[str, str]]) -> str | None:
        """An operand's GoogleSQL type where it is certain: a literal, a bound parameter, or a column named
        with the alias of a stored table its SELECT reads; `tables` keeps the tables' column types."""
        if isinstance(operand, exp.Literal):
            if operand.is_string:
                return "STRING"
            return "FLOAT64" if any(mark in operand.this.lower() for mark in ".e") else "INT64"
        if isinstance(operand, exp.Boolean):
            return "BOOL"
        if isinstance(operand, exp.Cast) and isinstance(operand.this, exp.Parameter):
            return _GOOGLESQL_TYPES.get(operand.to.sql("duckdb").upper().replace(" ", ""))
        select = (
            operand.find_ancestor(exp.Select) if isinstance(operand, exp.Column) and operand.table else None
        )
        sources = [select.args.get("from_"), *(select.args.get("joins") or [])] if select else []
        for source in filter(None, sources):
            table = source.this
            if (
                isinstance(table, exp.Table)
                and table.db
                and table.alias_or_name.lower() == operand.table.lower()
            ):
                name = f"{quote_identifier(table.db)}.{quote_identifier(table.name)}"
                if name not in tables:
                    relation = self.con.sql(f"SELECT * FROM {name} LIMIT 0")
                    columns = zip(relation.columns, relation.types, strict=True)
                    tables[name] = {column.lower(): str(kind).upper() for column, kind in columns}
                return _GOOGLESQL_TYPES.get(tables[name].get(operand.name.lower(), ""))
        return None

    def _require_readable(self, ref: TableRef) -> None:
        """A table the statement reads must exist. In a project other than the job's that holds no dataset
        here — one the user could not see on BigQuery either — BigQuery denies access rather than say
        what is missing (https://cloud.google.com/bigquery/docs/access-control)."""
        if (
            ref.project.lower() != self.resolver.default_project.lower()
            and self.catalog.table_kind(ref) is None
            and not self.catalog.project_has_datasets(ref.project)
        ):
            raise AccessDenied(
                f"Access Denied: Table {ref}: User does not have permission to query table {ref}, "
                "or perhaps it does not exist."
            )
        self.catalog.require_table(ref)

    def _expand_wildcard_tables(self, statement: exp.Expression) -> None:
        """`dataset.prefix*`: every table of the dataset named prefix…, its rows together, with the rest of
        each name as `_TABLE_SUFFIX`.

        https://cloud.google.com/bigquery/docs/querying-wildcard-tables
        """
        for table in list(statement.find_all(exp.Table)):
            if not table.name.endswith("*") or table.meta.get(LOCAL_RELATION):
                continue
            prefix = table.name[:-1]
            pattern = table.copy()
            pattern.set("this", exp.to_identifier(prefix or "_", quoted=True))
            ref = self.resolve(pattern)
            matching = [
                listed["tableReference"]["tableId"]
                for listed in self.catalog.list_tables(ref.project, ref.dataset)
                if listed["tableReference"]["tableId"].startswith(prefix) and listed["type"] == "TABLE"
            ]
            if not matching:
                raise NotFound(f"Not found: Table {ref.project}:{ref.dataset}.{table.name} matches no table")
            parts = [
                exp.select("*", exp.alias_(exp.Literal.string(name[len(prefix) :]), "_TABLE_SUFFIX")).from_(
                    exp.table_(name, db=ref.dataset, catalog=ref.project, quoted=True)
                )
                for name in matching
            ]
            union = parts[0]
            for part in parts[1:]:
                union = exp.Union(this=union, expression=part, distinct=False, by_name=True)
            alias = table.alias or prefix or "wildcard"
            table.replace(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier(alias))))

    def _column_names(self, tables: list[TableRef]) -> set[str]:
        return {name.lower() for ref in set(tables) for name in self.catalog.column_names(ref)}

    def _column_types(self, tables: list[TableRef]) -> dict[str, str]:
        """DuckDB types of the tables' columns by lower-case name; a name two tables type differently is left
        out, since which one a bare reference means is not known here."""
        types: dict[str, str] = {}
        ambiguous = set()
        for ref in dict.fromkeys(tables):
            relation = self.con.sql(f"SELECT * FROM {ref.duckdb_name} LIMIT 0")
            for name, duckdb_type in zip(relation.columns, relation.types, strict=True):
                key, text = name.lower(), str(duckdb_type).upper().replace(" ", "")
                if types.setdefault(key, text) != text:
                    ambiguous.add(key)
        return {name: text for name, text in types.items() if name not in ambiguous}

    def _created_table(self, statement: exp.Expression) -> TableRef | None:
        """The table a CREATE writes, which need not exist yet."""
        if not isinstance(statement, exp.Create) or statement.args.get("kind", "").upper() not in (
            "TABLE",
            "VIEW",
        ):
            return None
        target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        return self.resolve(target)

    def _arrow(self, sql: str, values: dict) -> pa.Table:
        return self.con.sql(sql, params=values or None).to_arrow_table()

    def _relation(self, sql: str, values: dict) -> duckdb.DuckDBPyRelation:
        return self.con.sql(sql, params=values or None)

    # ---- statement handlers ---------------------------------------------------------------------------

    def _query(self, statement: exp.Expression) -> Outcome:
        semantics.name_result_columns(statement)
        sql, values = self.prepare(statement)
        bignumeric = BIGNUMERIC.sql("duckdb") in sql or any(
            duckdb_type.endswith(f",{BIGNUMERIC_SCALE})") for duckdb_type in self._read_types.values()
        )
        relation = _decimals_as_bigquery_types(self._relation(sql, values), bignumeric)
        # Rows first: an ERROR() the query raises is its outcome, even where it leaves a column untyped.
        rows = relation.to_arrow_table()
        schema = schema_for_relation(relation.columns, relation.types)
        refuse_null_array_elements(rows, schema)
        return Outcome("SELECT", result=QueryResult.from_arrow(schema, rows))

    def _dml(self, statement: exp.Expression) -> Outcome:
        target = self.resolve(_target_table(statement))
        kind = self.catalog.require_table(target)
        if kind == "VIEW":
            raise InvalidQuery(f"Cannot modify view {target}: DML statements need a table.")
        if kind == "SNAPSHOT":
            raise InvalidQuery(f"Cannot modify table snapshot {target}: table snapshots are read-only.")
        if isinstance(statement, exp.Insert):
            fields = self.catalog.table_schema(target)["fields"]
            semantics.refuse_values_that_do_not_coerce(statement, fields)
        sql, values = self.prepare(statement, checked=[target])
        affected = first_row(self.con, sql, values or None)[0]
        self.catalog.touch_table(target)
        return Outcome(type(statement).__name__.upper(), affected_rows=affected, ddl_target=target)

    def _create(self, statement: exp.Create) -> Outcome:
        kind = statement.args.get("kind", "").upper()
        creators = {"TABLE": self._create_table, "VIEW": self._create_view, "SCHEMA": self._create_schema}
        if kind == "MODEL":
            from local_bigquery import bqml

            operation = bqml.execute_model_statement(statement, self)
            return Outcome("CREATE_MODEL", ddl_target=self.resolve(statement.this), ddl_operation=operation)
        if kind == "FUNCTION":
            return self._create_function(statement)
        if kind not in creators:
            raise Unsupported(f"CREATE {kind}")
        if statement.find(exp.MaterializedProperty):
            # A plain view would answer the same rows but accept queries BigQuery refuses to materialize.
            raise Unsupported("materialized views (CREATE MATERIALIZED VIEW)")
        return creators[kind](statement)

    def _create_function(self, statement: exp.Create) -> Outcome:
        """`CREATE TEMP FUNCTION f(x T, …) [RETURNS R] AS (expression)`: a SQL function of the script, which
        its later statements call by name (see `inline_temporary_functions`).

        https://cloud.google.com/bigquery/docs/user-defined-functions#sql-udf-structure
        """
        properties = [*(statement.args["properties"].expressions if statement.args.get("properties") else [])]
        function = statement.this
        if isinstance(statement.expression, exp.Query):
            raise Unsupported("table functions (CREATE TABLE FUNCTION)")
        if not any(isinstance(p, exp.TemporaryProperty) for p in properties):
            raise Unsupported("CREATE FUNCTION (persistent user-defined functions in a dataset)")
        if any(isinstance(p, exp.LanguageProperty) for p in properties):
            raise Unsupported("JavaScript user-defined functions (CREATE TEMP FUNCTION … LANGUAGE js)")
        if not isinstance(function, exp.UserDefinedFunction) or not isinstance(
            statement.expression, exp.Paren
        ):
            raise Unsupported("CREATE TEMP FUNCTION other than a SQL expression (f(x T) AS (expression))")
        name = function.this.name
        key = name.lower()
        if key in self.temporary_functions and not statement.args.get("replace"):
            if statement.args.get("exists"):
                return Outcome("CREATE_FUNCTION", ddl_operation="SKIP")
            raise InvalidQuery(f"Function {name} already exists")
        self.temporary_functions[key] = statement
        return Outcome("CREATE_FUNCTION", ddl_operation="CREATE")

    def _make_temporary(self, statement: exp.Create) -> None:
        """`CREATE TEMP TABLE t`: t is a table of the script's (or session's) hidden dataset, which the rest
        of the script names by t alone; it goes when the script (or session) ends.

        https://cloud.google.com/bigquery/docs/multi-statement-queries#temporary_tables
        """
        table = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
        if len(table.parts) != 1:
            raise InvalidQuery(
                f"Temporary table name {table.sql('bigquery')} cannot be qualified: name it alone."
            )
        for prop in [
            p for p in statement.args["properties"].expressions if isinstance(p, exp.TemporaryProperty)
        ]:
            prop.pop()
        project = self.resolver.default_project
        if not self.catalog.dataset_exists(project, self.temporary_dataset):
            self.catalog.create_dataset(project, self.temporary_dataset, {})
        self.resolver.temporary[table.name] = TableRef(project, self.temporary_dataset, table.name)

    def _existing_target(self, statement: exp.Create, what: str) -> tuple[TableRef, str | None]:
        """The object a CREATE names and the kind of what has that name now (None: nothing yet)."""
        ref = self._created_table(statement)
        self.catalog.require_dataset(ref.project, ref.dataset)
        existing = self.catalog.table_kind(ref)
        if existing and not statement.args.get("replace") and not statement.args.get("exists"):
            raise Duplicate(f"Already Exists: {what} {ref}")
        return ref, existing

    def table_properties(self, statement: exp.Create) -> dict:
        """The statement's table properties as REST fields, timestamp options evaluated to epoch ms."""
        properties = take_table_properties(statement)
        for option, field_name in TIMESTAMP_OPTIONS.items():
            if field_name in properties:
                properties[field_name] = str(self._epoch_ms(option, properties[field_name]))
        return properties

    def _epoch_ms(self, option: str, value: exp.Expression) -> int:
        sql = to_duckdb(exp.select(exp.func("epoch_ms", exp.cast(value.copy(), "TIMESTAMPTZ"))))
        try:
            return first_row(self.con, sql)[0]
        except duckdb.Error as problem:
            raise InvalidQuery(
                f"OPTIONS {option} = {value.sql('bigquery')} is not a TIMESTAMP: {str(problem).splitlines()[0]}"
            ) from None

    def _create_table(self, statement: exp.Create) -> Outcome:
        properties = statement.args.get("properties")
        if properties and any(isinstance(p, exp.TemporaryProperty) for p in properties.expressions):
            self._make_temporary(statement)
        ref, existing = self._existing_target(statement, "Table")
        kind = "CREATE_TABLE_AS_SELECT" if statement.expression else "CREATE_TABLE"
        if existing and statement.args.get("exists"):
            result = self._declared_result(statement) or self._empty_result(ref)
            return Outcome(kind, result=result, ddl_target=ref, ddl_operation="SKIP")
        if statement.meta.get(dialect.SNAPSHOT):
            return self._snapshot_table(statement, ref, existing)
        if statement.args.get("clone"):
            return self._clone_table(statement.args["clone"], ref, existing)
        properties = self.table_properties(statement)
        descriptions = _take_column_descriptions(statement)
        parameters = _take_type_parameters(statement)
        # `CREATE TABLE t (columns) AS SELECT …`: DuckDB takes no column list with AS, so the table is
        # created from its list and the query's rows inserted by position.
        declared = isinstance(statement.this, exp.Schema) and statement.expression is not None
        query = statement.expression.pop() if declared else None
        sql, values = self.prepare(statement)
        if existing == "VIEW":
            self.catalog.drop_table(ref)
        run_sql(self.con, sql, values or None)
        if query is not None:
            rows_sql, row_values = self.prepare(query)
            run_sql(self.con, f"INSERT INTO {ref.duckdb_name} {rows_sql}", row_values or None)
        self.catalog.record_table(ref, properties)
        if descriptions:
            self.catalog.describe_columns(ref, descriptions)
        if parameters:
            self.catalog.annotate_columns(ref, parameters)
        check_partition_column(self.catalog, ref, properties)
        check_clustering_fields(self.catalog, ref, properties)
        return Outcome(
            kind,
            result=self._empty_result(ref),
            ddl_target=ref,
            ddl_operation="REPLACE" if existing and statement.args.get("replace") else "CREATE",
        )

    def _declared_result(self, statement: exp.Create) -> QueryResult | None:
        """No rows in the schema a CREATE TABLE's column list declares, which BigQuery answers a CREATE TABLE
        IF NOT EXISTS with even where the table exists with other columns and nothing is created."""
        columns = statement.this.expressions if isinstance(statement.this, exp.Schema) else []
        definitions = [column for column in columns if isinstance(column, exp.ColumnDef)]
        if not definitions or any(column.args.get("kind") is None for column in definitions):
            return None
        typed_nulls = exp.select(
            *(
                exp.alias_(exp.cast(exp.null(), c.args["kind"].copy()), c.name, quoted=True)
                for c in definitions
            )
        )
        sql, values = self.prepare(typed_nulls)
        relation = self._relation(sql, values).limit(0)
        schema = schema_for_relation(relation.columns, relation.types)
        return QueryResult.from_arrow(schema, relation.to_arrow_table())

    def _snapshot_table(self, statement: exp.Create, ref: TableRef, existing: str | None) -> Outcome:
        """`CREATE SNAPSHOT TABLE s CLONE t`: a read-only copy of t as it is now.

        https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#create_snapshot_table_statement
        """
        clone = statement.args.get("clone")
        if clone is None:
            raise InvalidQuery("CREATE SNAPSHOT TABLE needs CLONE <table>.")
        base = self.resolve(clone.this)
        if self.catalog.require_table(base) != "TABLE":
            raise InvalidQuery(f"Cannot snapshot {base}: only tables have table snapshots.")
        if existing:
            raise Duplicate(f"Already Exists: Table {ref}")
        self.catalog.snapshot_table(base, ref)
        return Outcome(
            "CREATE_SNAPSHOT_TABLE", result=self._empty_result(ref), ddl_target=ref, ddl_operation="CREATE"
        )

    def _clone_table(self, clone: exp.Clone, ref: TableRef, existing: str | None) -> Outcome:
        """`CREATE TABLE t CLONE base`: the base table's schema, settings and rows as they are now, changed
        independently of the base from then on. https://cloud.google.com/bigquery/docs/table-clones-intro"""
        base = self.resolve(clone.this)
        base_kind = self.catalog.require_table(base)
        if base_kind == "VIEW":
            raise InvalidQuery(f"Cannot clone {base}: only tables can be cloned, not views.")
        if self.catalog.canonical(base) == self.catalog.canonical(ref):
            raise InvalidQuery(f"Cannot clone {base} into itself.")
        if existing:
            self.catalog.drop_table(ref)
        # A clone of a table snapshot restores it: a table of its rows, as any other.
        # https://cloud.google.com/bigquery/docs/table-snapshots-restore
        (self.catalog.copy_table if base_kind == "SNAPSHOT" else self.catalog.clone_table)(base, ref)
        return Outcome(
            "CREATE_TABLE",
            result=self._empty_result(ref),
            ddl_target=ref,
            ddl_operation="REPLACE" if existing else "CREATE",
        )

    def _empty_result(self, ref: TableRef) -> QueryResult:
        """What BigQuery answers a CREATE TABLE / VIEW query with: no rows, the new table's schema."""
        relation = self.con.sql(f"SELECT * FROM {ref.duckdb_name} LIMIT 0")
        return QueryResult.from_arrow(self.catalog.table_schema(ref), relation.to_arrow_table())

    def _create_view(self, statement: exp.Create) -> Outcome:
        ref, existing = self._existing_target(statement, "Table")
        if existing and statement.args.get("exists"):
            return Outcome("CREATE_VIEW", ddl_target=ref, ddl_operation="SKIP")
        properties = self.table_properties(statement)
        properties["view"] = {"query": statement.expression.sql("bigquery"), "useLegacySql": False}
        # `CREATE VIEW v (column OPTIONS (description = …), …)`: the view's own column names, each
        # described like a table's column; BigQuery shows them in the view's schema.
        # https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#view_column_name_list
        named = _view_column_names(statement)
        descriptions = _take_column_descriptions(statement)
        if named:
            properties["view"]["useExplicitColumnNames"] = True
        if named:
            self._check_view_column_count(ref, named, statement.expression)
        sql, values = self.prepare(statement)
        if values:
            raise InvalidQuery("Views cannot reference query parameters or script variables.")
        if existing == "TABLE":
            self.catalog.drop_table(ref)
        run_sql(self.con, sql)
        self.catalog.record_table(ref, properties, kind="VIEW")
        if descriptions:
            self.catalog.describe_columns(ref, descriptions)
        return Outcome(
            "CREATE_VIEW",
            result=self._empty_result(ref),
            ddl_target=ref,
            ddl_operation="REPLACE" if statement.args.get("replace") else "CREATE",
        )

    def _check_view_column_count(self, ref: TableRef, named: list[str], query: exp.Expression) -> None:
        """A view's column name list names every column of its query, no more and no fewer (in the words of
        ZetaSQL's analyzer)."""
        rows_sql, _ = self.prepare(query.copy())
        produced = len(self.con.sql(f"SELECT * FROM ({rows_sql}) LIMIT 0").columns)
        if produced != len(named):
            raise InvalidQuery(
                f"The number of view column names ({len(named)}) must be equal to the number of columns "
                f"from the view query ({produced}) of {ref}."
            )

    def _schema_name(self, table: exp.Table) -> tuple[str, str]:
        parts = [part.name for part in table.parts]
        if len(parts) == 1 and "." in parts[0]:
            parts = parts[0].rsplit(".", 1)
        project, dataset = parts if len(parts) == 2 else (self.resolver.default_project, parts[0])
        validate_ids(project, dataset)
        return project, dataset

    def _create_schema(self, statement: exp.Create) -> Outcome:
        project, dataset = self._schema_name(statement.this)
        exists_ok = bool(statement.args.get("exists"))
        if self.catalog.dataset_exists(project, dataset) and not exists_ok:
            raise Duplicate(f"Already Exists: Dataset {project}:{dataset}")
        options = self.table_properties(statement)
        self.catalog.create_dataset(project, dataset, options, exists_ok=exists_ok)
        return Outcome("CREATE_SCHEMA", ddl_operation="CREATE")

    def _drop(self, statement: exp.Drop) -> Outcome:
        kind = statement.args.get("kind", "").upper()
        missing_ok = bool(statement.args.get("exists"))
        (table,) = statement.args["tables"]
        if kind == "SCHEMA":
            project, dataset = self._schema_name(table)
            if missing_ok and not self.catalog.dataset_exists(project, dataset):
                return Outcome("DROP_SCHEMA", ddl_operation="SKIP")
            self.catalog.delete_dataset(project, dataset, delete_contents=bool(statement.args.get("cascade")))
            return Outcome("DROP_SCHEMA", ddl_operation="DROP")
        ref = self.resolve(table)
        if kind == "MODEL":
            from local_bigquery import bqml

            operation = bqml.execute_model_statement(statement, self)
            return Outcome("DROP_MODEL", ddl_target=ref, ddl_operation=operation)
        if kind not in ("TABLE", "VIEW", "SNAPSHOT"):
            raise Unsupported(f"DROP {kind}")
        actual = self.catalog.table_kind(ref)
        if actual is not None and actual != kind:
            what = {"SNAPSHOT": "table snapshot", "VIEW": "view", "TABLE": "table"}[actual]
            statement_name = "DROP SNAPSHOT TABLE" if actual == "SNAPSHOT" else f"DROP {actual}"
            raise InvalidQuery(f"{ref} is a {what}; use {statement_name} to drop it.")
        dropped = self.catalog.drop_table(ref, missing_ok=missing_ok)
        statement_type = "DROP_SNAPSHOT_TABLE" if kind == "SNAPSHOT" else f"DROP_{kind}"
        return Outcome(statement_type, ddl_target=ref, ddl_operation="DROP" if dropped else "SKIP")

    def _truncate(self, statement: exp.TruncateTable) -> Outcome:
        (table,) = statement.expressions
        ref = self.resolve(table)
        self.catalog.require_table(ref)
        affected = first_row(self.con, f"DELETE FROM {ref.duckdb_name}")[0]
        self.catalog.touch_table(ref)
        return Outcome("TRUNCATE_TABLE", affected_rows=affected, ddl_target=ref)

    def _alter_model(self, statement: dialect.AlterModel) -> Outcome:
        from local_bigquery import bqml

        operation = bqml.alter_model(statement, self)
        return Outcome("ALTER_MODEL", ddl_target=self.resolve(statement.this), ddl_operation=operation)

    def _alter(self, statement: exp.Alter) -> Outcome:
        if statement.args.get("kind", "").upper() != "TABLE":
            raise Unsupported(f"ALTER {statement.args.get('kind')}")
        ref = self.resolve(statement.this)
        if statement.args.get("exists") and self.catalog.table_kind(ref) is None:
            return Outcome("ALTER_TABLE", ddl_target=ref, ddl_operation="SKIP")
        self.catalog.require_table(ref)
        # Read the columns once per statement and record descriptions once: per action, both cost a
        # catalog round trip that grows with the table's width, so a wide ADD COLUMN list went quadratic.
        actions = statement.args.get("actions") or []
        if len(actions) == 1 and isinstance(actions[0], exp.AlterRename):
            return self._rename_table(ref, actions[0].this)
        existing = {name.lower() for name in self.catalog.column_names(ref)}
        descriptions: dict[str, str] = {}
        for action in actions:
            if isinstance(action, exp.ColumnDef):
                self._add_column(ref, action, existing, descriptions)
            elif isinstance(action, exp.Drop) and action.args.get("kind", "").upper() == "COLUMN":
                self._drop_column(ref, action)
            elif isinstance(action, exp.AlterSet) and all(
                isinstance(e, exp.Properties) for e in action.expressions
            ):
                (properties,) = action.expressions
                self.catalog.patch_table(ref, self.table_properties(exp.Create(properties=properties)))
            else:
                raise Unsupported(f"ALTER TABLE {action.sql('bigquery')[:60]}")
        if descriptions:
            self.catalog.describe_columns(ref, descriptions)
        self.catalog.touch_table(ref)
        return Outcome("ALTER_TABLE", ddl_target=ref, ddl_operation="ALTER")

    def _rename_table(self, ref: TableRef, new_name: exp.Table) -> Outcome:
        """`ALTER TABLE t RENAME TO new_name`: the table (rows, schema, settings) under a new name in its
        dataset; the new name must be free.

        https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#alter_table_rename_to_statement
        """
        parts = [part.name for part in new_name.parts]
        if parts[:-1] and parts[:-1] != [ref.project, ref.dataset][-len(parts[:-1]) :]:
            raise InvalidQuery(
                f"ALTER TABLE RENAME TO cannot move {ref} to another dataset: {'.'.join(parts)}"
            )
        renamed = TableRef(ref.project, ref.dataset, parts[-1])
        validate_ids(renamed.project, renamed.dataset, renamed.table)
        if self.catalog.table_kind(renamed) is not None:
            raise Duplicate(f"Already Exists: Table {renamed}")
        self.catalog.rename_table(ref, renamed.table)
        return Outcome("ALTER_TABLE", ddl_target=renamed, ddl_operation="ALTER")

    def _drop_column(self, ref: TableRef, drop: exp.Drop) -> None:
        """`ALTER TABLE … DROP COLUMN [IF EXISTS] c`: the column and its data go.

        https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#alter_table_drop_column_statement
        """
        (column,) = drop.args["tables"]
        existing = {name.lower(): name for name in self.catalog.column_names(ref)}
        if column.name.lower() not in existing:
            if drop.args.get("exists"):
                return
            raise InvalidQuery(f"Column not found: {column.name} in table {ref}")
        name = quote_identifier(existing[column.name.lower()])
        run_sql(self.con, f"ALTER TABLE {ref.duckdb_name} DROP COLUMN {name}")

    def _add_column(
        self, ref: TableRef, column: exp.ColumnDef, existing: set[str], descriptions: dict[str, str]
    ) -> None:
        """Adds `column` unless it is in `existing` (lower-cased names, updated); its description goes
        into `descriptions` for the caller to record."""
        if column.name.lower() in existing:
            if column.args.get("exists"):
                return
            raise InvalidQuery(f"Column already exists: {column.name}")
        description = None
        for constraint in column.args.get("constraints") or []:
            if isinstance(constraint.args.get("kind"), exp.Properties):
                description = take_table_properties(exp.Create(properties=constraint.args["kind"])).get(
                    "description"
                )
            else:
                raise Unsupported(f"column constraint {constraint.sql('bigquery')} in ADD COLUMN")
        column_type = column.args["kind"].sql("duckdb")
        run_sql(
            self.con,
            f"ALTER TABLE {ref.duckdb_name} ADD COLUMN {quote_identifier(column.name)} {column_type}",
        )
        existing.add(column.name.lower())
        if description:
            descriptions[column.name] = description

    # ---- scripting --------------------------------------------------------------------------------------

    def _evaluate(self, expression: exp.Expression, duckdb_type: str | None) -> Binding:
        value = expression.copy()
        if duckdb_type:
            value = exp.cast(value, exp.DataType.build(duckdb_type, dialect="duckdb"))
        relation = self._relation(*self.prepare(exp.select(value.as_("value"))))
        (column_type,) = relation.types
        return Binding(relation.to_arrow_table().column(0).to_pylist()[0], duckdb_type or str(column_type))

    def _declare(self, statement: exp.Declare) -> Outcome:
        for item in statement.expressions:
            kind = item.args.get("kind")
            duckdb_type = kind.sql("duckdb") if kind else None
            default = item.args.get("default")
            default = default if isinstance(default, exp.Expression) else None
            if default is None and duckdb_type is None:
                raise InvalidQuery("DECLARE needs a type or a DEFAULT value.")
            for name in item.this:
                key = name.name.lower()
                if key in self.variables:
                    raise InvalidQuery(f"Variable {name.name} is already declared.")
                self.variables[key] = (
                    self._evaluate(default, duckdb_type)
                    if default is not None
                    else Binding(None, duckdb_type)
                )
        return Outcome("DECLARE")

    def _set(self, statement: exp.Set) -> Outcome:
        for item in statement.expressions:
            assignment = item.this
            if not isinstance(assignment, exp.EQ):
                raise Unsupported(f"SET {item.sql('bigquery')}")
            targets, values = assignment.this, assignment.expression
            if isinstance(targets, exp.Tuple):
                pairs = list(zip(targets.expressions, values.expressions, strict=True))
            else:
                pairs = [(targets, values)]
            for target, value in pairs:
                key = target.name.lower()
                if key not in self.variables:
                    raise InvalidQuery(f"Unrecognized variable {target.name}: DECLARE it before SET.")
                self.variables[key] = self._evaluate(value, self.variables[key].duckdb_type)
        return Outcome("SET")

    def _assert(self, statement: dialect.Assert) -> Outcome:
        holds = self._evaluate(statement.this, "BOOLEAN").value
        if holds is not True:
            message = statement.args.get("message")
            raise InvalidQuery(
                message.this if message else f"Assertion failed: {statement.this.sql('bigquery')}"
            )
        return Outcome("ASSERT")

    def _transaction_boundary(self, statement: exp.Expression) -> Outcome:
        # Every job already runs in one DuckDB transaction, so a script's own boundaries add nothing.
        return Outcome(
            "BEGIN_TRANSACTION" if isinstance(statement, exp.Transaction) else "COMMIT_TRANSACTION"
        )


def _decimals_as_bigquery_types(
    relation: duckdb.DuckDBPyRelation, bignumeric: bool
) -> duckdb.DuckDBPyRelation:
    """DuckDB widens a decimal's scale through arithmetic (NUMERIC * NUMERIC has scale 18); BigQuery keeps
    NUMERIC at scale 9, rounding. A result decimal is NUMERIC unless BIGNUMERIC is stored or named in the
    query, where scales above 9 are BIGNUMERIC's.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#decimal_types
    """
    projections, changed = [], False
    for name, duckdb_type in zip(relation.columns, relation.types, strict=True):
        column = quote_identifier(name)
        if duckdb_type.id == "decimal":
            scale = dict(duckdb_type.children)["scale"]
            target = BIGNUMERIC if bignumeric and scale > 9 else NUMERIC
            wanted = target.sql("duckdb")
            if str(duckdb_type).replace(" ", "") != wanted.replace(" ", ""):
                projections.append(f"CAST({column} AS {wanted}) AS {column}")
                changed = True
                continue
        projections.append(column)
    return relation.project(", ".join(projections)) if changed else relation


def _target_table(statement: exp.Expression) -> exp.Table:
    this = statement.this
    return this if isinstance(this, exp.Table) else this.find(exp.Table)


def _view_column_names(statement: exp.Create) -> list[str]:
    """The names of a CREATE VIEW's column list (empty without one)."""
    schema = statement.this
    return [column.name for column in schema.expressions] if isinstance(schema, exp.Schema) else []


_LENGTH_FUNCTIONS = {exp.DataType.Type.TEXT: "LENGTH", exp.DataType.Type.BINARY: "OCTET_LENGTH"}
_DECIMAL_TYPES = {exp.DataType.Type.DECIMAL: "NUMERIC", exp.DataType.Type.BIGDECIMAL: "BIGNUMERIC"}


def _take_type_parameters(statement: exp.Create) -> dict[str, dict]:
    """`STRING(L)`, `BYTES(L)`, `NUMERIC(P, S)`, `BIGNUMERIC(P, S)` columns of a CREATE TABLE: their parameters
    as a REST schema gives them (maxLength, precision, scale). A length becomes a CHECK, as DuckDB checks no
    VARCHAR(L); a decimal's are DuckDB's DECIMAL(P, S).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#parameterized_data_types
    """
    schema = statement.this
    parameters: dict[str, dict] = {}
    for column in schema.expressions if isinstance(schema, exp.Schema) else []:
        kind = column.args.get("kind") if isinstance(column, exp.ColumnDef) else None
        if not isinstance(kind, exp.DataType) or not kind.expressions:
            continue
        values = [param.name for param in kind.expressions]
        if kind.this in _LENGTH_FUNCTIONS:
            if not values[0].isdigit() or int(values[0]) < 1:
                raise InvalidQuery(
                    f"Invalid length {values[0]} for column {column.name}: a positive integer."
                )
            kind.set("expressions", [])
            length = exp.func(_LENGTH_FUNCTIONS[kind.this], exp.column(column.name, quoted=True))
            check = exp.CheckColumnConstraint(
                this=exp.LTE(this=length, expression=exp.Literal.number(values[0]))
            )
            column.append("constraints", exp.ColumnConstraint(kind=check))
            parameters[column.name] = {"maxLength": values[0]}
        elif kind.this in _DECIMAL_TYPES:
            bq_type = _DECIMAL_TYPES[kind.this]
            scale = values[1] if len(values) > 1 else None
            precision, _ = decimal_parameters(bq_type, values[0], scale, column.name, InvalidQuery)
            parameters[column.name] = {"type": bq_type, "precision": str(precision)}
            if scale is not None:
                parameters[column.name]["scale"] = scale
    return parameters


def _take_column_descriptions(statement: exp.Create) -> dict[str, str]:
    """Remove the columns' `OPTIONS(description = …)` from a CREATE TABLE or VIEW, by column name."""
    schema = statement.this
    descriptions = {}
    for column in schema.expressions if isinstance(schema, exp.Schema) else []:
        if not isinstance(column, exp.ColumnDef):
            continue
        for constraint in list(column.args.get("constraints") or []):
            if isinstance(constraint.args.get("kind"), exp.Properties):
                options = take_table_properties(exp.Create(properties=constraint.args["kind"]))
                if "description" in options:
                    descriptions[column.name] = options["description"]
                constraint.pop()
    return descriptions


def check_clustering_fields(
    catalog: Catalog, ref: TableRef, properties: dict, error: type[BigQueryError] = InvalidQuery
) -> None:
    """Clustering names columns of the table, as BigQuery checks when the table is created: a query error
    in DDL, an `invalid` job configuration for a query's destination."""
    fields = {f["name"].lower() for f in catalog.table_schema(ref)["fields"]}
    for name in (properties.get("clustering") or {}).get("fields") or []:
        if name.lower() not in fields:
            raise error(
                f"The field specified for clustering cannot be found in the schema. Invalid field: {name}."
            )


# How deep temporary functions may call one another (a function calling itself would never end).
_MAX_FUNCTION_NESTING = 16


def _function_call(definition: exp.Create, arguments: list[exp.Expression]) -> exp.Expression:
    """A call of a SQL temporary function: its expression with each parameter the argument cast to the
    parameter's type (left as it is for ANY TYPE), cast to its RETURNS type if it declares one."""
    function = definition.this
    parameters = {
        p.name.lower(): (p.args.get("kind"), a) for p, a in zip(function.expressions, arguments, strict=True)
    }
    body = definition.expression.copy()
    for column in list(body.find_all(exp.Column)):
        parts = column.parts
        if parts[0].name.lower() not in parameters:
            continue
        kind, argument = parameters[parts[0].name.lower()]
        value = exp.paren(
            exp.cast(argument.copy(), kind.copy()) if isinstance(kind, exp.DataType) else argument.copy()
        )
        for part in parts[1:]:
            value = exp.Dot(this=value, expression=part.copy())
        column.replace(value)
    returns = next(
        (p.this for p in definition.args["properties"].expressions if isinstance(p, exp.ReturnsProperty)),
        None,
    )
    return exp.cast(body, returns.copy()) if isinstance(returns, exp.DataType) else body


def inline_temporary_functions(statement: exp.Expression, definitions: dict[str, exp.Create]) -> None:
    """Calls of the script's SQL temporary functions become their expressions, innermost calls of calls too:
    a SQL UDF is its expression evaluated with its parameters bound to the arguments.

    https://cloud.google.com/bigquery/docs/user-defined-functions#sql-udf-structure
    """
    for _ in range(_MAX_FUNCTION_NESTING):
        calls = [c for c in statement.find_all(exp.Anonymous) if c.name.lower() in definitions]
        if not calls:
            return
        for call in calls:
            definition = definitions[call.name.lower()]
            expected = len(definition.this.expressions)
            if len(call.expressions) != expected:
                raise InvalidQuery(
                    f"Function {call.name} takes {expected} arguments but is called with {len(call.expressions)}"
                )
            call.replace(_function_call(definition, call.expressions))
    raise InvalidQuery(f"Temporary functions call one another more than {_MAX_FUNCTION_NESTING} deep")


def check_partition_column(
    catalog: Catalog, ref: TableRef, properties: dict, error: type[BigQueryError] = InvalidQuery
) -> None:
    """Time partitioning names a DATE, TIMESTAMP or DATETIME column of the table (or none: ingestion time),
    integer-range partitioning an INT64 one."""
    fields = {f["name"]: f["type"] for f in catalog.table_schema(ref)["fields"]}
    by_range = (properties.get("rangePartitioning") or {}).get("field")
    if by_range is not None and fields.get(by_range) != "INTEGER":
        raise error(
            f"PARTITION BY RANGE_BUCKET must partition by an INT64 column; {by_range} is "
            f"{fields.get(by_range, 'not a column of the table')}."
        )
    partitioning = properties.get("timePartitioning")
    if not partitioning or "field" not in partitioning:
        return
    column = partitioning["field"]
    if column not in fields:
        raise error(
            f"The field specified for partitioning cannot be found in the schema. Invalid field: {column}."
        )
    if fields[column] not in ("DATE", "TIMESTAMP", "DATETIME"):
        raise error(
            f"PARTITION BY expression must be a DATE, TIMESTAMP or DATETIME column; {column} is "
            f"{fields.get(column, 'not a column of the table')}."
        )
