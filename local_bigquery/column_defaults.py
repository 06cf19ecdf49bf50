"""Column default values given in a REST schema (`defaultValueExpression`), as DuckDB column defaults.

BigQuery allows only literals (of any type, ARRAY and STRUCT of them too) and a few functions of no
arguments that read no table: https://cloud.google.com/bigquery/docs/default-values. Anything else is
refused before it reaches DuckDB, so a schema cannot smuggle a query (or a file read) into a table.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from local_bigquery import dialect
from local_bigquery.errors import InvalidRequest

_ALLOWED_FUNCTIONS = (
    exp.CurrentTimestamp,
    exp.CurrentDate,
    exp.CurrentDatetime,
    exp.CurrentTime,
    exp.Uuid,  # GENERATE_UUID()
    exp.Rand,
    exp.SessionUser,
)
_ALLOWED_NODES = (
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Neg,
    exp.Paren,
    exp.Array,
    exp.Struct,
    exp.PropertyEQ,
    exp.Alias,
    exp.Identifier,
    exp.Cast,
    exp.DataType,
    exp.DataTypeParam,
    *_ALLOWED_FUNCTIONS,
)


def default_value_sql(expression: str, field_name: str) -> str:
    """The DuckDB SQL of a field's `defaultValueExpression`; InvalidRequest if BigQuery would refuse it."""
    from local_bigquery.translate import to_duckdb

    problem = InvalidRequest(
        f"Invalid default value expression {expression!r} for field {field_name}: a default value is a "
        "literal or one of CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_DATETIME, CURRENT_TIME, GENERATE_UUID, "
        "RAND, SESSION_USER (or an ARRAY or STRUCT of them)."
    )
    try:
        (statement,) = dialect.parse(f"SELECT {expression}")
    except (ParseError, TokenError, ValueError):
        raise problem from None
    clauses = [key for key, value in statement.args.items() if value and key != "expressions"]
    if not isinstance(statement, exp.Select) or len(statement.expressions) != 1 or clauses:
        raise problem
    value = statement.expressions[0]
    if any(not isinstance(node, _ALLOWED_NODES) for node in value.walk()):
        raise problem
    return to_duckdb(value)
