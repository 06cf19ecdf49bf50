"""GoogleSQL statements → DuckDB SQL: sqlglot does the dialect; these small transforms do the rest.

Each transform takes a parsed statement and rewrites it in place for what sqlglot leaves alone:
BigQuery's `project.dataset.table` names, `@named` / `?` parameters, script variables, and the
features we refuse rather than run differently from BigQuery.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import ErrorLevel, UnsupportedError

from local_bigquery import rewriting, semantics
from local_bigquery.errors import BigQueryError, InvalidQuery, InvalidRequest, Unsupported
from local_bigquery.types import quote_identifier

# sqlglot logs every BigQuery-only property it drops; we read those from the AST ourselves.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

LOCAL_RELATION = "local_relation"
_PROJECT_ID = re.compile(r"^[a-z][a-z0-9.:-]{0,126}[a-z0-9]$|^[a-z0-9-]{1,63}$", re.IGNORECASE)
_DATASET_ID = re.compile(r"^[A-Za-z0-9_]{1,1024}$")
_TABLE_ID = re.compile(r"^[\w\- ]{1,1024}$", re.UNICODE)


@dataclass(frozen=True, order=True)
class TableRef:
    """A BigQuery table, view or model: `project.dataset.table`."""

    project: str
    dataset: str
    table: str

    @property
    def schema_name(self) -> str:
        return schema_name(self.project, self.dataset)

    @property
    def duckdb_name(self) -> str:
        return f"{quote_identifier(self.schema_name)}.{quote_identifier(self.table)}"

    def __str__(self) -> str:
        return f"{self.project}:{self.dataset}.{self.table}"

    def rest(self, id_key: str = "tableId") -> dict:
        return {"projectId": self.project, "datasetId": self.dataset, id_key: self.table}


def schema_name(project: str, dataset: str) -> str:
    """The DuckDB schema holding a dataset; dataset ids have no dots, so the name is unambiguous."""
    return f"{project}.{dataset}"


def validate_ids(project: str, dataset: str | None = None, table: str | None = None) -> None:
    if not _PROJECT_ID.match(project):
        raise InvalidQuery(f"Invalid project ID '{project}'.")
    if dataset is not None and not _DATASET_ID.match(dataset):
        raise InvalidQuery(
            f"Invalid dataset ID '{dataset}'. Dataset IDs must be alphanumeric (plus underscores) "
            "and must be at most 1024 characters long."
        )
    if table is not None and not _TABLE_ID.match(table):
        raise InvalidQuery(f"Invalid table ID '{table}'.")


@dataclass(frozen=True)
class NameResolver:
    """Resolves GoogleSQL table names with the job's default project and dataset, and the temporary tables
    of its script or session, named by their name alone (which they take before the default dataset's)."""

    default_project: str
    default_dataset: str | None = None
    temporary: dict[str, TableRef] = field(default_factory=dict, compare=False)

    def resolve(self, table: exp.Table) -> TableRef:
        parts = [part.name for part in table.parts]
        if len(parts) == 1 and parts[0] in self.temporary:
            return self.temporary[parts[0]]
        if len(parts) == 3:
            project, dataset, name = parts
        elif len(parts) == 2:
            project, (dataset, name) = self.default_project, parts
        elif len(parts) == 1 and self.default_dataset:
            project, dataset, name = self.default_project, self.default_dataset, parts[0]
        elif len(parts) == 1:
            raise InvalidQuery(f'Table "{parts[0]}" must be qualified with a dataset (e.g. dataset.table).')
        else:
            raise InvalidQuery(f"Invalid table name {table.sql('bigquery')}: too many name parts.")
        if not _DATASET_ID.match(dataset):
            raise InvalidRequest(
                f'Invalid dataset ID "{dataset}". Dataset IDs must be alphanumeric (plus underscores and '
                "dashes) and must be at most 1024 characters long.",
                location=".".join(parts),
            )
        validate_ids(project, dataset, name)
        return TableRef(project, dataset, name)


# ---- transforms -------------------------------------------------------------------------------------


# DuckDB's functions that read the engine's own settings and state; GoogleSQL has none of them
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-all), so a query naming one is
# refused rather than answered with DuckDB's internals.
_ENGINE_STATE_FUNCTIONS = (
    exp.CurrentDatabase,
    exp.CurrentSchema,
    exp.CurrentSchemas,
    exp.CurrentCatalog,
    exp.CurrentRole,
)
_ENGINE_STATE_FUNCTION_NAMES = {"CURRENT_SETTING", "GETVARIABLE", "VERSION", "PRAGMA_VERSION"}


# BigQuery's RANGE and GEOGRAPHY types, which this server neither stores nor computes with (the geography
# functions are refused by name too), and what makes or takes RANGE and INTERVAL values (INTERVAL values
# used as arguments of date and time arithmetic are computed; an INTERVAL result is refused in `types`).
# https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types
_UNSUPPORTED_TYPES = {exp.DataType.Type.RANGE: "RANGE", exp.DataType.Type.GEOGRAPHY: "GEOGRAPHY"}
# https://cloud.google.com/bigquery/docs/reference/standard-sql/range-functions
_RANGE_FUNCTIONS = {
    "RANGE",
    "RANGE_START",
    "RANGE_END",
    "RANGE_CONTAINS",
    "RANGE_OVERLAPS",
    "RANGE_INTERSECT",
    "GENERATE_RANGE_ARRAY",
    "RANGE_SESSIONIZE",
}
# https://cloud.google.com/bigquery/docs/reference/standard-sql/interval_functions
_INTERVAL_FUNCTIONS = (exp.JustifyDays, exp.JustifyHours, exp.JustifyInterval, exp.MakeInterval)


def _reject_unsupported_types(nodes: rewriting.TreeIndex) -> None:
    for data_type in nodes.find_all(exp.DataType):
        kind = _UNSUPPORTED_TYPES.get(data_type.this)
        if kind and isinstance(data_type.parent, exp.ColumnDef):
            # The wording of a REST schema's field of that type (see `types`).
            raise Unsupported(f"column type {kind} (field {data_type.parent.name})")
        if kind:
            raise Unsupported(f"{kind} values")
    for function in nodes.find_all(exp.Anonymous):
        if function.name.upper() in _RANGE_FUNCTIONS:
            raise Unsupported("RANGE values")
    if nodes.find(*_INTERVAL_FUNCTIONS):
        raise Unsupported("INTERVAL values")


def reject_unsupported(statement: exp.Expression) -> None:
    """Refuse, with a clear message, what DuckDB would run differently from BigQuery."""
    nodes = rewriting.TreeIndex(statement)  # one walk for the checks below
    for function in nodes.find_all(exp.Anonymous, *_ENGINE_STATE_FUNCTIONS):
        name = function.name.upper() if isinstance(function, exp.Anonymous) else function.sql_name()
        if name in _ENGINE_STATE_FUNCTION_NAMES or not isinstance(function, exp.Anonymous):
            raise Unsupported(
                f"function {name} (it reads DuckDB's own settings and state; GoogleSQL has none)"
            )
    for table in nodes.find_all(exp.Table):
        if any("INFORMATION_SCHEMA" in part.name.upper() for part in table.parts):
            raise Unsupported("INFORMATION_SCHEMA views")
    if nodes.find(exp.Version):
        raise Unsupported("FOR SYSTEM_TIME AS OF (time travel)")
    _reject_unsupported_types(nodes)
    for function in nodes.find_all(exp.Anonymous):
        if function.name.upper().startswith("ST_"):
            raise Unsupported(f"geography function {function.name.upper()}")
    for call in nodes.find_all(exp.Dot):
        if call.this.name.upper() == "HLL_COUNT" and isinstance(call.expression, exp.Anonymous):
            # BigQuery's HyperLogLog++ sketch bytes cannot be reproduced, nor merged with real ones.
            # https://cloud.google.com/bigquery/docs/reference/standard-sql/hll_functions
            raise Unsupported("HLL_COUNT sketches (HLL_COUNT.INIT, MERGE, MERGE_PARTIAL, EXTRACT)")


def _cte_names(statement: exp.Expression) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def _is_storage_table(table: exp.Table, cte_names: set[str]) -> bool:
    if table.meta.get(LOCAL_RELATION) or not isinstance(table.this, exp.Identifier):
        return False
    return not (len(table.parts) == 1 and table.name.lower() in cte_names)


def qualify_tables(statement: exp.Expression, resolver: NameResolver) -> list[TableRef]:
    """Point every stored-table name at its DuckDB schema; returns the tables named, in order."""
    cte_names = _cte_names(statement)
    references = []
    for table in list(statement.find_all(exp.Table)):
        if not _is_storage_table(table, cte_names):
            continue
        ref = resolver.resolve(table)
        references.append(ref)
        table.set("catalog", None)
        table.set("db", exp.to_identifier(ref.schema_name, quoted=True))
        table.set("this", exp.to_identifier(ref.table, quoted=True))
    return references


@dataclass
class Binding:
    """A value bound to a DuckDB `$name` parameter, cast to its BigQuery type."""

    value: Any
    duckdb_type: str


def _bound(name: str, binding: Binding) -> exp.Expression:
    return exp.cast(
        exp.Parameter(this=exp.var(name)), exp.DataType.build(binding.duckdb_type, dialect="duckdb")
    )


def bind_query_parameters(
    statement: exp.Expression, named: Mapping[str, Binding], positional: list[Binding]
) -> dict[str, Any]:
    """Replace `@name` and `?` with typed DuckDB parameters; returns the values to execute with."""
    values: dict[str, Any] = {}
    lowered = {name.lower(): (name, binding) for name, binding in named.items()}
    # DuckDB names its parameters by number here: a BigQuery parameter name may be any quoted text.
    numbers = {key: number for number, key in enumerate(lowered)}
    for parameter in list(statement.find_all(exp.Parameter)):
        key = parameter.name.lower()
        if key not in lowered:
            raise InvalidQuery(f"Query parameter '{parameter.name}' not found")
        _, binding = lowered[key]
        bound_name = f"param_{numbers[key]}"
        values[bound_name] = binding.value
        parameter.replace(_bound(bound_name, binding))
    placeholders = list(statement.find_all(exp.Placeholder))
    if len(placeholders) > len(positional):
        raise InvalidQuery(
            f"Positional query parameters: the query has {len(placeholders)} but {len(positional)} were given"
        )
    for index, (placeholder, binding) in enumerate(zip(placeholders, positional, strict=False), start=1):
        bound_name = f"position_{index}"
        values[bound_name] = binding.value
        placeholder.replace(_bound(bound_name, binding))
    return values


def bind_script_variables(
    statement: exp.Expression, variables: Mapping[str, Binding], column_names: set[str]
) -> dict[str, Any]:
    """Replace references to DECLAREd script variables with typed parameters.

    As in BigQuery, a column of a table the statement reads takes precedence over a variable of the same name.
    """
    values: dict[str, Any] = {}
    for column in list(statement.find_all(exp.Column)):
        key = column.name.lower()
        if column.table or key not in variables or key in column_names:
            continue
        bound_name = f"var_{key}"
        values[bound_name] = variables[key].value
        bound = _bound(bound_name, variables[key])
        in_projection = isinstance(column.parent, exp.Select) and column.arg_key == "expressions"
        column.replace(bound.as_(column.name) if in_projection else bound)
    return values


def array_agg_limit_as_slice(statement: exp.Expression) -> None:
    """`ARRAY_AGG(x ORDER BY y LIMIT n)` → `ARRAY_AGG(x ORDER BY y)[1:n]`: DuckDB has no LIMIT in aggregates.
    With IGNORE NULLS the NULLs are dropped before the first n are taken.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#array_agg
    """
    for aggregate in list(statement.find_all(exp.ArrayAgg)):
        limit = aggregate.this
        if not isinstance(limit, exp.Limit):
            continue
        aggregate.set("this", limit.this)
        whole = aggregate.parent if isinstance(aggregate.parent, exp.IgnoreNulls) else aggregate
        sliced = exp.Anonymous(
            this="LIST_SLICE", expressions=[whole.copy(), exp.Literal.number(1), limit.expression]
        )
        whole.replace(sliced)


def string_agg_limit_as_slice(statement: exp.Expression) -> None:
    """`STRING_AGG(x, sep ORDER BY y LIMIT n)` joins the first n non-NULL values: the ordered list of them,
    sliced, joined. DuckDB has no LIMIT in aggregates.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#string_agg
    """
    for aggregate in list(statement.find_all(exp.GroupConcat)):
        limit = aggregate.this
        if not isinstance(limit, exp.Limit):
            continue
        ordered = limit.this
        value = ordered.this if isinstance(ordered, exp.Order) else ordered
        values = exp.Filter(
            this=exp.ArrayAgg(this=ordered.copy()),
            expression=exp.Where(this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))),
        )
        first = exp.Anonymous(
            this="LIST_SLICE", expressions=[values, exp.Literal.number(1), limit.expression]
        )
        separator = aggregate.args.get("separator") or exp.Literal.string(",")
        aggregate.replace(exp.Anonymous(this="ARRAY_TO_STRING", expressions=[first, separator.copy()]))


def ieee_divide_as_double_division(statement: exp.Expression) -> None:
    """`IEEE_DIVIDE(x, y)`: DuckDB's double division already gives ±inf and NaN where BigQuery's does."""
    for function in list(statement.find_all(exp.Anonymous)):
        if function.name.upper() == "IEEE_DIVIDE":
            x, y = function.expressions
            as_double = exp.DataType.build("DOUBLE")
            quotient = exp.Div(this=exp.cast(x, as_double), expression=exp.cast(y, as_double))
            quotient.meta["ieee"] = True
            function.replace(exp.paren(quotient))


_FORMAT_SPECIFIER = re.compile(r"%(?:%|[-+ #0']*(?:\d+|\*)?(?:\.\d+)?[a-zA-Z])")


def format_as_printf(statement: exp.Expression) -> None:
    """GoogleSQL's `FORMAT('%d rows', n)` is printf-style; DuckDB's FORMAT takes `{}` placeholders.

    `%t` / `%T` (a value's text) become `%s` of the value cast to a string, which DuckDB's printf needs;
    NULL's text is `NULL`. Nested FORMATs are rewritten innermost first, so none is left in an argument.
    """
    for node in reversed(list(statement.find_all(exp.Format))):
        template, arguments = node.this, [argument.copy() for argument in node.expressions]
        if isinstance(template, exp.Literal) and template.is_string:
            specifiers = [m for m in _FORMAT_SPECIFIER.finditer(template.this) if m.group() != "%%"]
            text = template.this
            for position, specifier in reversed(list(enumerate(specifiers))):
                if specifier.group()[-1] in "tT" and position < len(arguments):
                    text = text[: specifier.start()] + "%s" + text[specifier.end() :]
                    as_text = exp.cast(arguments[position], exp.DataType.build("VARCHAR"))
                    arguments[position] = exp.func("COALESCE", as_text, exp.Literal.string("NULL"))
            template = exp.Literal.string(text)
        node.replace(exp.Anonymous(this="PRINTF", expressions=[template, *arguments]))


def timestamp_diff_as_whole_intervals(statement: exp.Expression) -> None:
    """TIMESTAMP_DIFF counts whole intervals (a DAY is 24 hours); DuckDB's DATE_DIFF counts boundaries."""
    for node in list(statement.find_all(exp.TimestampDiff)):
        unit = exp.Literal.string(node.text("unit").upper() or "DAY")
        node.replace(exp.Anonymous(this="DATE_SUB", expressions=[unit, node.expression, node.this]))


def float_literals_as_double(statement: exp.Expression) -> None:
    """GoogleSQL types `1.5` as FLOAT64; DuckDB would make it a DECIMAL and change arithmetic results."""
    for literal in list(statement.find_all(exp.Literal)):
        text = literal.this
        if literal.is_string or not any(mark in text.lower() for mark in (".", "e")):
            continue
        if isinstance(literal.parent, exp.Cast | exp.DataType | exp.DataTypeParam):
            continue
        literal.replace(exp.cast(literal.copy(), exp.DataType.build("DOUBLE")))


_INTERVAL_PARTS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")
# How an interval literal's text groups its parts: `Y-M D H:M:S[.F]`, each group with its own sign.
_INTERVAL_GROUPS = ((("YEAR", "MONTH"), "-"), (("DAY",), None), (("HOUR", "MINUTE", "SECOND"), ":"))
_INTERVAL_NUMBER = re.compile(r"^\d+$")
_INTERVAL_SECONDS = re.compile(r"^\d+(\.\d{1,6})?$")


def _interval_text(text: str, first: str, last: str) -> str:
    """DuckDB's interval text (`1 years 2 months …`) of a GoogleSQL literal `INTERVAL 'text' first TO last`.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical#interval_literals
    """
    invalid = InvalidQuery(f"Invalid interval literal '{text}': expected the parts {first} TO {last}")
    if first not in _INTERVAL_PARTS or last not in _INTERVAL_PARTS:
        raise invalid
    parts = _INTERVAL_PARTS[_INTERVAL_PARTS.index(first) : _INTERVAL_PARTS.index(last) + 1]
    groups = [([p for p in names if p in parts], separator) for names, separator in _INTERVAL_GROUPS]
    groups = [(names, separator) for names, separator in groups if names]
    values = text.split()
    if len(parts) < 2 or len(values) != len(groups):
        raise invalid
    pieces = []
    for (names, separator), value in zip(groups, values, strict=True):
        sign = "-" if value.startswith("-") else ""
        numbers = value.lstrip("+-").split(separator) if separator else [value.lstrip("+-")]
        if len(numbers) != len(names):
            raise invalid
        for name, number in zip(names, numbers, strict=True):
            if not (_INTERVAL_SECONDS if name == "SECOND" else _INTERVAL_NUMBER).match(number):
                raise invalid
            pieces.append(f"{sign}{number} {name.lower()}s")
    return " ".join(pieces)


def interval_literals_with_part_ranges(statement: exp.Expression) -> None:
    """`INTERVAL '1 2:3:4' DAY TO SECOND` (a range of parts, which DuckDB's INTERVAL lacks) as DuckDB's
    `INTERVAL '1 days 2 hours 3 minutes 4 seconds'`."""
    for interval in list(statement.find_all(exp.Interval)):
        span = interval.args.get("unit")
        if isinstance(span, exp.IntervalSpan) and isinstance(interval.this, exp.Literal):
            text = _interval_text(interval.this.name, span.this.name.upper(), span.expression.name.upper())
            interval.replace(exp.Interval(this=exp.Literal.string(text)))


def approx_quantiles_as_exact_quantiles(statement: exp.Expression) -> None:
    """`APPROX_QUANTILES(x, n)` → `QUANTILE_DISC(x, [0, 1/n, …, 1])`: n + 1 boundaries, the first the minimum
    and the last the maximum, NULLs ignored, each a value of the input (so of its type)
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/approximate_aggregate_functions#approx_quantiles).
    BigQuery's answer is approximate; the exact one is within its error, and unlike DuckDB's t-digest
    APPROX_QUANTILE it does not depend on the order rows arrive in.
    """
    for node in list(statement.find_all(exp.ApproxQuantiles)):
        count = node.expression
        if not (isinstance(count, exp.Literal) and count.is_int and int(count.this) > 0):
            raise Unsupported("APPROX_QUANTILES needs a positive integer literal number of quantiles")
        number = int(count.this)
        fractions = exp.Array(
            expressions=[
                exp.cast(exp.Literal.number(repr(i / number)), exp.DataType.build("DOUBLE"))
                for i in range(number + 1)
            ]
        )
        node.replace(exp.Anonymous(this="QUANTILE_DISC", expressions=[node.this.copy(), fractions]))


_LIST_AGGREGATES = {exp.Min: "LIST_MIN", exp.Max: "LIST_MAX", exp.Sum: "LIST_SUM", exp.Avg: "LIST_AVG"}
# Where a subquery stands for rows rather than for one value, so it cannot become a function call.
_ROW_CONSUMERS = (
    exp.Query,
    exp.DDL,
    exp.DML,
    exp.From,
    exp.Join,
    exp.In,
    exp.Lateral,
    exp.Any,
    exp.All,
    exp.Unnest,
)
_NOT_PER_ELEMENT = (
    exp.Query,
    exp.Subquery,
    exp.AggFunc,
    exp.Window,
    exp.Distinct,
    exp.Parameter,
    exp.Placeholder,
)


def unnest_aggregates_as_list_functions(statement: exp.Expression) -> None:
    """`(SELECT MIN(c.distance) FROM UNNEST(arr) AS c)` → `LIST_MIN(LIST_TRANSFORM(arr, LAMBDA c: c.distance))`.

    DuckDB runs such a correlated subquery as a join over every element of every row, seconds for a million
    rows; its list functions give the same value and type (NULL elements skipped, NULL for an empty or NULL
    array) in milliseconds. Only MIN, MAX, SUM and AVG of an expression of the element alone, in a
    subquery with nothing else, are rewritten.
    """
    for subquery in list(statement.find_all(exp.Subquery)):
        rewritten = _list_aggregate(subquery)
        if rewritten is not None:
            subquery.replace(rewritten)


def _set_args(expression: exp.Expression) -> set[str]:
    return {key for key, value in expression.args.items() if value}


def _is_value(subquery: exp.Subquery) -> bool:
    """Whether the subquery is a scalar: a projected column or an operand, not rows something reads."""
    if isinstance(subquery.parent, exp.Select):
        return subquery.arg_key == "expressions"
    return not isinstance(subquery.parent, _ROW_CONSUMERS)


def _list_aggregate(subquery: exp.Subquery) -> exp.Expression | None:
    select = subquery.this
    if not _is_value(subquery) or _set_args(subquery) != {"this"}:
        return None
    if not isinstance(select, exp.Select) or _set_args(select) != {"expressions", "from_"}:
        return None
    unnest = select.args["from_"].this
    if (
        len(select.expressions) != 1
        or not isinstance(unnest, exp.Unnest)
        or _set_args(unnest)
        != {
            "expressions",
            "alias",
        }
    ):
        return None
    aggregate = select.expressions[0].unalias()
    alias = unnest.args["alias"]
    if type(aggregate) not in _LIST_AGGREGATES or _set_args(aggregate) != {"this"}:
        return None
    if len(unnest.expressions) != 1 or alias.this or len(alias.columns) != 1:
        return None
    element, value = alias.columns[0].name.lower(), aggregate.this
    if any(isinstance(node, _NOT_PER_ELEMENT) for node in value.walk()) or any(
        column.parts[0].name.lower() != element for column in value.find_all(exp.Column)
    ):
        return None
    values = unnest.expressions[0].copy()
    if not (isinstance(value, exp.Column) and len(value.parts) == 1):
        lambda_ = exp.Lambda(this=value.copy(), expressions=[exp.to_identifier(element)])
        values = exp.Anonymous(this="LIST_TRANSFORM", expressions=[values, lambda_])
    return exp.Anonymous(this=_LIST_AGGREGATES[type(aggregate)], expressions=[values])


# What DuckDB spells or computes differently, rewritten once names and parameters are bound.
_DUCKDB_REWRITES = (
    float_literals_as_double,
    array_agg_limit_as_slice,
    string_agg_limit_as_slice,
    ieee_divide_as_double_division,
    format_as_printf,
    timestamp_diff_as_whole_intervals,
    unnest_aggregates_as_list_functions,
    approx_quantiles_as_exact_quantiles,
    interval_literals_with_part_ranges,
)


def to_duckdb(statement: exp.Expression, columns: semantics.ColumnTypes | None = None) -> str:
    """DuckDB SQL for a statement whose table names and parameters are bound; `columns` are the DuckDB types
    of the columns of the tables it reads, by lower-case name (see `semantics`)."""
    semantics.apply(statement, columns or {})
    rewriting.apply_rewrites(statement, _DUCKDB_REWRITES)
    try:
        return statement.sql(dialect="duckdb", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as error:
        raise Unsupported(str(error).splitlines()[0]) from None


# ---- CREATE TABLE properties that sqlglot drops ----------------------------------------------------


_TRUNCATE_UNITS = {"DAY", "HOUR", "MONTH", "YEAR"}


def _partition_spec(expression: exp.Expression) -> dict:
    if expression.name.upper() in ("_PARTITIONDATE", "_PARTITIONTIME"):
        return {"type": "DAY"}  # ingestion time: no column
    if isinstance(expression, exp.Column | exp.Identifier):
        return {"type": "DAY", "field": expression.name}
    if isinstance(expression, exp.Date | exp.Cast) and isinstance(expression.this, exp.Column):
        return {"type": "DAY", "field": expression.this.name}
    if isinstance(expression, exp.DateTrunc | exp.TimestampTrunc | exp.DatetimeTrunc):
        unit = expression.text("unit").upper() or "DAY"
        if unit not in _TRUNCATE_UNITS:
            raise Unsupported(f"partitioning by {unit}")
        return {"type": unit, "field": expression.this.name}
    raise Unsupported(f"PARTITION BY {expression.sql('bigquery')}")


# https://cloud.google.com/bigquery/quotas#partitioned_tables
MAX_PARTITIONS = 10_000


def _integer(node: exp.Expression) -> int | None:
    negative = isinstance(node, exp.Neg)
    literal = node.this if negative else node
    if not (isinstance(literal, exp.Literal) and literal.is_int):
        return None
    return -int(literal.this) if negative else int(literal.this)


def range_partitioning(
    field: str, start: int, end: int, interval: int, error: type[BigQueryError] = InvalidQuery
) -> dict:
    """The REST rangePartitioning of integer-range partitions [start, end) of `interval` each (and the
    partitions of values outside, and of NULL), checked as BigQuery checks it.

    https://cloud.google.com/bigquery/docs/partitioned-tables#integer_range
    """
    if interval <= 0 or end <= start:
        raise error(
            f"Integer range partitioning needs an interval > 0 and an end > start: got start {start}, "
            f"end {end}, interval {interval}."
        )
    if -(-(end - start) // interval) > MAX_PARTITIONS:
        raise error(
            f"Integer range partitioning of {field} from {start} to {end} by {interval} makes more than "
            f"{MAX_PARTITIONS} partitions."
        )
    return {"field": field, "range": {"start": str(start), "end": str(end), "interval": str(interval)}}


def _range_partition_spec(bucket: exp.RangeBucket) -> dict:
    """`PARTITION BY RANGE_BUCKET(column, GENERATE_ARRAY(start, end, interval))` of integer literals."""
    boundaries = bucket.expression
    if isinstance(bucket.this, exp.Column) and isinstance(boundaries, exp.GenerateSeries):
        numbers = [
            _integer(boundaries.args.get(key) or exp.Literal.number(1)) for key in ("start", "end", "step")
        ]
        if None not in numbers:
            return range_partitioning(bucket.this.name, *numbers)
    raise InvalidQuery(
        "PARTITION BY RANGE_BUCKET needs an INT64 column and GENERATE_ARRAY(start, end, interval) of integer "
        f"literals: {bucket.sql('bigquery')}"
    )


def _option_value(value: exp.Expression) -> Any:
    if isinstance(value, exp.Literal):
        return value.this if value.is_string else float(value.this) if "." in value.this else int(value.this)
    if isinstance(value, exp.Boolean):
        return value.this
    if isinstance(value, exp.Array | exp.Tuple):
        return [_option_value(item) for item in value.expressions]
    return value.sql("bigquery")


_OPTION_FIELDS: dict[str, Callable[[Any], tuple[str, Any]]] = {
    "description": lambda v: ("description", v),
    "friendly_name": lambda v: ("friendlyName", v),
    "labels": lambda v: ("labels", {pair[0]: pair[1] for pair in v}),
    "require_partition_filter": lambda v: ("requirePartitionFilter", bool(v)),
    "partition_expiration_days": lambda v: ("partitionExpirationDays", v),
    "default_table_expiration_days": lambda v: ("defaultTableExpirationMs", str(int(v * 86_400_000))),
    "default_partition_expiration_days": lambda v: ("defaultPartitionExpirationMs", str(int(v * 86_400_000))),
}


# Options whose value is a timestamp expression (`TIMESTAMP '…'`, `TIMESTAMP_ADD(CURRENT_TIMESTAMP(), …)`):
# left as expressions in the resource for the engine to evaluate into the REST field's epoch milliseconds.
TIMESTAMP_OPTIONS = {"expiration_timestamp": "expirationTime"}


def take_table_properties(create: exp.Create) -> dict:
    """Remove PARTITION BY / CLUSTER BY / OPTIONS(...) from a CREATE, returned as REST resource fields.

    DuckDB has no place for them; the catalog keeps them instead. The values of TIMESTAMP_OPTIONS stay
    sqlglot expressions until evaluated.
    """
    resource: dict[str, Any] = {}
    properties = create.args.get("properties")
    create.set("properties", None)
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.PartitionedByProperty) and isinstance(prop.this, exp.RangeBucket):
            resource["rangePartitioning"] = _range_partition_spec(prop.this)
        elif isinstance(prop, exp.PartitionedByProperty):
            resource["timePartitioning"] = _partition_spec(prop.this)
        elif isinstance(prop, exp.ClusterProperty | exp.ClusteredByProperty):
            resource["clustering"] = {"fields": [column.name for column in prop.expressions]}
        elif isinstance(prop, exp.LocationProperty):
            resource["location"] = _option_value(prop.this)
        elif isinstance(prop, exp.Property):
            key = prop.name.lower()
            if key in TIMESTAMP_OPTIONS:
                resource[TIMESTAMP_OPTIONS[key]] = prop.args["value"]
                continue
            if key not in _OPTION_FIELDS:
                raise Unsupported(f"option {key} in OPTIONS(...)")
            field, value = _OPTION_FIELDS[key](_option_value(prop.args["value"]))
            resource[field] = value
    return resource
