"""Where DuckDB computes a GoogleSQL expression differently from BigQuery: small named rewrites.

sqlglot translates the syntax; these make the answers BigQuery's (values, types and errors), each citing
the GoogleSQL reference it follows. They run on a statement whose names and parameters are bound, before
the DuckDB SQL is generated. Some need the type of an operand: `ColumnTypes` gives the DuckDB types of the
columns of the tables a statement reads, by name, where the name is unambiguous; everything else is typed
from the expression itself (literals, casts, functions of a known result type) or left as it is.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import unicodedata
from collections.abc import Callable, Mapping

import duckdb
import farmhash
from sqlglot import exp

from local_bigquery import functions, json_text, picoseconds, rewriting
from local_bigquery.errors import InvalidQuery
from local_bigquery.types import BIGNUMERIC_SCALE

ColumnTypes = Mapping[str, str]

NUMERIC = exp.DataType.build("DECIMAL(38, 9)", dialect="duckdb")
BIGNUMERIC = exp.DataType.build(f"DECIMAL(38, {BIGNUMERIC_SCALE})", dialect="duckdb")
_DOUBLE = exp.DataType.build("DOUBLE")
_BIGINT = exp.DataType.build("BIGINT")
_INTEGER = exp.DataType.build("INTEGER")
_VARCHAR = exp.DataType.build("VARCHAR")
_BLOB = exp.DataType.build("BLOB")
_DATE = exp.DataType.build("DATE")
_DECIMALS = {exp.DataType.Type.DECIMAL, exp.DataType.Type.BIGDECIMAL}
_INTEGERS = {exp.DataType.Type.BIGINT, exp.DataType.Type.INT}


def _function(name: str, *arguments: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(arguments))


def _error(message: exp.Expression) -> exp.Anonymous:
    return _function("ERROR", message)


def _text(*parts: exp.Expression | str) -> exp.Expression:
    """`part || part || …`, each expression cast to VARCHAR (NULL shows as NULL)."""
    pieces = [
        exp.Literal.string(part)
        if isinstance(part, str)
        else exp.func("COALESCE", exp.cast(part.copy(), _VARCHAR), exp.Literal.string("NULL"))
        for part in parts
    ]
    text = pieces[0]
    for piece in pieces[1:]:
        text = exp.DPipe(this=text, expression=piece)
    return text


# ---- a little type knowledge -----------------------------------------------------------------------------

_FLOAT_FUNCTIONS = (exp.Sqrt, exp.Pow, exp.Exp, exp.Ln, exp.Log, exp.Stddev, exp.Variance)
_NUMERIC_TEXT = NUMERIC.sql("duckdb").upper().replace(" ", "")
_BIGNUMERIC_TEXT = BIGNUMERIC.sql("duckdb").upper().replace(" ", "")


def _quotient_type(operands: list[exp.Expression | None], columns: ColumnTypes) -> str:
    """NUMERIC / INT64 (or NUMERIC) is a NUMERIC, BIGNUMERIC / … a BIGNUMERIC, anything else a FLOAT64; so
    is the AVG of each (see `numeric_division_is_numeric`, `numeric_averages_stay_numeric`)."""
    kind = _common_numeric_type(operands, columns) or ""
    if not kind.startswith("DECIMAL"):
        return "DOUBLE"
    return _BIGNUMERIC_TEXT if kind.endswith(f",{BIGNUMERIC_SCALE})") else _NUMERIC_TEXT


def _duckdb_type(node: exp.Expression, columns: ColumnTypes) -> str | None:
    """The DuckDB type of an expression when it is evident: upper-case, e.g. DOUBLE, DATE, DECIMAL(38,9)."""
    if isinstance(node, exp.Paren | exp.Neg):
        return _duckdb_type(node.this, columns)
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.to.sql("duckdb").upper().replace(" ", "")
    if isinstance(node, exp.Column):
        return columns.get(node.name.lower())
    if isinstance(node, exp.Literal) and not node.is_string:
        return "DOUBLE" if any(mark in node.this.lower() for mark in ".e") else "BIGINT"
    if isinstance(node, exp.Sum | exp.Min | exp.Max | exp.AnyValue | exp.Coalesce | exp.Abs | exp.Round):
        return _duckdb_type(node.this, columns)
    if isinstance(node, exp.Window):
        return _duckdb_type(node.this, columns)
    if isinstance(node, exp.Case):
        branches = [branch.args.get("true") for branch in node.args.get("ifs") or []]
        return _common_numeric_type([*branches, node.args.get("default")], columns)
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        return _common_numeric_type([node.this, node.expression], columns)
    if isinstance(node, exp.Div):
        return _quotient_type([node.this, node.expression], columns)
    if isinstance(node, exp.Avg):
        return _quotient_type([node.this], columns)
    if isinstance(node, _FLOAT_FUNCTIONS):
        return "DOUBLE"
    if isinstance(node, exp.CurrentDate | exp.DateFromParts | exp.Date | exp.StrToDate):
        return "DATE"
    return None


def _common_numeric_type(operands: list[exp.Expression | None], columns: ColumnTypes) -> str | None:
    """The type of arithmetic on the operands: a decimal when one is a decimal and the others integers or
    number literals (GoogleSQL coerces a literal to NUMERIC), otherwise their type when they agree."""
    present = [operand for operand in operands if operand is not None and not isinstance(operand, exp.Null)]
    kinds = {_duckdb_type(operand, columns) for operand in present if not _is_number(operand)}
    decimal = next((kind for kind in kinds if kind and kind.startswith("DECIMAL")), None)
    if decimal and kinds <= {decimal, "BIGINT", "INTEGER"}:
        return decimal
    if not kinds:
        return _duckdb_type(present[0], columns) if present else None
    return next(iter(kinds)) if len(kinds) == 1 else None


def _is_number(node: exp.Expression) -> bool:
    node = node.unnest()
    if isinstance(node, exp.Neg):
        node = node.this
    return isinstance(node, exp.Literal) and not node.is_string


def _is_float(node: exp.Expression, columns: ColumnTypes) -> bool:
    return _duckdb_type(node, columns) in ("DOUBLE", "FLOAT")


def _decimal_type(node: exp.Expression, columns: ColumnTypes) -> exp.DataType | None:
    duckdb_type = _duckdb_type(node, columns) or ""
    if not duckdb_type.startswith("DECIMAL"):
        return None
    return BIGNUMERIC if duckdb_type.endswith(f",{BIGNUMERIC_SCALE})") else NUMERIC


# ---- the rewrites ----------------------------------------------------------------------------------------


def numeric_types_at_bigquery_scale(statement: exp.Expression, columns: ColumnTypes) -> None:
    """NUMERIC is DECIMAL(38, 9) and BIGNUMERIC the widest DuckDB holds, DECIMAL(38, 18); sqlglot would
    write a bare DECIMAL, DuckDB's DECIMAL(18, 3), which rounds `NUMERIC '1.123456789'` to 1.123.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#decimal_types
    """
    for data_type in list(statement.find_all(exp.DataType)):
        if data_type.this == exp.DataType.Type.BIGDECIMAL and not data_type.expressions:
            data_type.replace(BIGNUMERIC.copy())
        elif data_type.this == exp.DataType.Type.DECIMAL and not data_type.expressions:
            data_type.replace(NUMERIC.copy())


def countif_counts_zero_rows_as_zero(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`COUNTIF(x)` is 0 over no rows (DuckDB's COUNT_IF gives NULL): a COUNT of the rows where x holds.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#countif
    """
    for node in list(statement.find_all(exp.CountIf)):
        condition = node.this.copy()
        node.replace(exp.Count(this=exp.case().when(condition, exp.Literal.number(1))))


def numeric_division_is_numeric(statement: exp.Expression, columns: ColumnTypes) -> None:
    """NUMERIC / NUMERIC (or INT64) is a NUMERIC; DuckDB divides decimals as DOUBLE. The quotient is
    computed in DOUBLE and rounded to NUMERIC's 9 decimal places.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#arithmetic_operators
    """
    for node in list(statement.find_all(exp.Div)):
        if node.meta.get("ieee"):
            continue
        kind = _common_numeric_type([node.this, node.expression], columns) or ""
        if kind.startswith("DECIMAL"):
            target = BIGNUMERIC if kind.endswith(f",{BIGNUMERIC_SCALE})") else NUMERIC
            node.replace(exp.cast(exp.paren(node.copy()), target))


def _in_window_ordering(node: exp.Expression) -> bool:
    """Inside a window's PARTITION BY or ORDER BY, where DuckDB refuses a volatile expression (ERROR())."""
    while node.parent is not None:
        if isinstance(node.parent, exp.Window) and node.arg_key in ("partition_by", "order"):
            return True
        node = node.parent
    return False


def _number_text(number: exp.Expression, columns: ColumnTypes) -> exp.Expression:
    """A FLOAT64 as BigQuery writes it in messages: a whole number without `.0`."""
    if not _is_float(number, columns):
        return number
    whole = exp.EQ(this=number.copy(), expression=exp.func("TRUNC", number.copy()))
    as_integer = exp.cast(exp.TryCast(this=number.copy(), to=_BIGINT.copy()), _VARCHAR)
    return exp.case().when(whole, as_integer).else_(exp.cast(number.copy(), _VARCHAR))


def division_by_zero_is_an_error(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`x / 0` fails the query with "division by zero" (DuckDB answers ±inf); IEEE_DIVIDE and SAFE_DIVIDE
    are the GoogleSQL ways to get inf or NULL instead.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#arithmetic_operators
    """
    for node in list(statement.find_all(exp.Div)):
        if node.args.get("safe") or node.meta.get("ieee") or _in_window_ordering(node):
            continue
        dividend, divisor = node.this, node.expression
        if isinstance(divisor, exp.Literal) and not divisor.is_string and divisor.this.strip("0.") != "":
            continue
        failure = _error(
            _text(
                "division by zero: ", _number_text(dividend, columns), " / ", _number_text(divisor, columns)
            )
        )
        guarded = exp.case().when(exp.EQ(this=divisor.copy(), expression=exp.Literal.number(0)), failure)
        node.replace(exp.paren(guarded.else_(node.copy())))


def integer_literal_arithmetic_is_int64(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`2147483647 + 1` is INT64 arithmetic; DuckDB types small integer literals INTEGER and would overflow.

    Only operations between two integer literals are widened: a column is BIGINT already, and `date + 1`
    must keep its INTEGER.
    """
    for node in list(statement.find_all(exp.Add, exp.Sub, exp.Mul)):
        operands = (node.this, node.expression)
        if all(isinstance(o, exp.Literal) and not o.is_string and o.this.isdigit() for o in operands):
            for operand in operands:
                operand.replace(exp.cast(operand.copy(), _BIGINT))


def date_plus_integer_adds_days(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`date + n` / `date - n` add n days for any INT64 n; DuckDB's DATE + only takes an INTEGER.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#date_arithmetics_operators
    """
    for node in list(statement.find_all(exp.Add, exp.Sub)):
        if _duckdb_type(node.this, columns) != "DATE":
            continue
        days = node.expression
        if _duckdb_type(days, columns) in ("BIGINT", "INTEGER") and not isinstance(days, exp.Literal):
            days.replace(exp.cast(days.copy(), _INTEGER))


def date_functions_keep_their_argument_type(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`DATE_ADD`, `DATE_SUB` and `DATE_TRUNC` of a DATE are DATEs (DuckDB's date + interval is a TIMESTAMP).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/date_functions#date_add
    """
    for node in list(statement.find_all(exp.DateAdd, exp.DateSub, exp.DateTrunc)):
        argument = node.this
        if isinstance(argument, exp.Literal) and argument.is_string:
            argument.replace(exp.cast(argument.copy(), _DATE))
            argument = node.this
        node.replace(_function("CAST_TO_TYPE", node.copy(), argument.copy()))


_WEEKDAYS = ("SUNDAY", "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY")


def _weeks(value: exp.Expression, first_day: int) -> exp.Expression:
    """Weeks starting on `first_day` (0 = Sunday): 0 before the first such day of the year, then 1, 2, …"""
    weekday = exp.Mod(
        this=exp.paren(
            exp.Add(this=_function("DAYOFWEEK", value.copy()), expression=exp.Literal.number(7 - first_day))
        ),
        expression=exp.Literal.number(7),
    )
    days_before_week = exp.Sub(
        this=exp.Add(this=_function("DAYOFYEAR", value.copy()), expression=exp.Literal.number(6)),
        expression=exp.paren(weekday),
    )
    return exp.paren(exp.IntDiv(this=exp.paren(days_before_week), expression=exp.Literal.number(7)))


def _part(name: str, value: exp.Expression, modulus: int | None = None) -> exp.Expression:
    part = exp.cast(_function("DATE_PART", exp.Literal.string(name), value.copy()), _BIGINT)
    return exp.paren(exp.Mod(this=part, expression=exp.Literal.number(modulus))) if modulus else part


_EXTRACTS: dict[str, Callable[[exp.Expression], exp.Expression]] = {
    # BigQuery numbers days 1 (Sunday) to 7; DuckDB's DAYOFWEEK is 0 (Sunday) to 6.
    "DAYOFWEEK": lambda v: exp.paren(
        exp.Add(this=_function("DAYOFWEEK", v.copy()), expression=exp.Literal.number(1))
    ),
    "WEEK": lambda v: _weeks(v, 0),
    "ISOWEEK": lambda v: _function("WEEKOFYEAR", v.copy()),
    "ISOYEAR": lambda v: _function("ISOYEAR", v.copy()),
    # A TIMESTAMP's date, time or datetime is its UTC one (its local one under AT TIME ZONE).
    "DATE": lambda v: exp.cast(exp.cast(v.copy(), _TIMESTAMP), _DATE),
    "TIME": lambda v: exp.cast(exp.cast(v.copy(), _TIMESTAMP), "TIME"),
    "DATETIME": lambda v: exp.cast(v.copy(), _TIMESTAMP),
    # DuckDB's millisecond and microsecond parts include the seconds.
    "MILLISECOND": lambda v: _part("millisecond", v, 1000),
    "MICROSECOND": lambda v: _part("microsecond", v, 1_000_000),
    **{
        part: (lambda p: lambda v: _part(p.lower(), v))(part)
        for part in ("SECOND", "MINUTE", "HOUR", "DAY", "DAYOFYEAR", "MONTH", "QUARTER", "YEAR")
    },
}


def extract_parts_numbered_like_bigquery(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`EXTRACT(part FROM x)` as BigQuery numbers it: DAYOFWEEK 1 = Sunday, WEEK and WEEK(<weekday>) count
    weeks from the first such day of the year (days before it are week 0), ISOWEEK / ISOYEAR ISO 8601.
    A TIMESTAMP's parts are those of its UTC time, which is the server's time zone.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/date_functions#extract
    """
    for node in list(statement.find_all(exp.Extract)):
        part, value = node.this, node.expression
        if isinstance(part, exp.WeekStart):
            day = part.name.upper()
            if day in _WEEKDAYS:
                node.replace(_weeks(value, _WEEKDAYS.index(day)))
            continue
        rewrite = _EXTRACTS.get(part.name.upper()) if isinstance(part, exp.Var) else None
        if rewrite:
            node.replace(rewrite(value))


def float_to_int64_rounds_half_away_from_zero(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`CAST(-2.5 AS INT64)` is -3: BigQuery rounds halves away from zero, DuckDB to even (-2).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#cast_as_int64
    """
    for node in list(statement.find_all(exp.Cast, exp.TryCast)):
        if node.to.this in _INTEGERS and _is_float(node.this, columns):
            node.this.replace(exp.func("ROUND", node.this.copy()))


# What GoogleSQL's CAST accepts from a STRING where DuckDB's cast differs: INT64 takes decimal or hex
# digits (no fraction or exponent: '1.5' and '1e3' are errors), FLOAT64 hex digits too, DATE exactly
# `Y-M-D`, TIMESTAMP at most six fractional digits. https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#cast
_INT64_TEXT = r"\s*[+-]?[0-9]+\s*"
_NEGATIVE_HEX_TEXT = r"\s*-0[xX][0-9a-fA-F]+\s*"
_HEX_TEXT = r"\s*\+?0[xX][0-9a-fA-F]+\s*"
_DATE_TEXT = r"[0-9]{1,4}-[0-9]{1,2}-[0-9]{1,2}"
_SEVEN_FRACTION_DIGITS = r"[0-9]:[0-9]{1,2}\.[0-9]{7}"


def _matches(text: exp.Expression, pattern: str) -> exp.Expression:
    return _function("REGEXP_FULL_MATCH", text.copy(), exp.Literal.string(pattern))


def _try_cast(value: exp.Expression, to: exp.DataType) -> exp.TryCast:
    return exp.TryCast(this=value, to=to.copy())


def _int64_from_text(text: exp.Expression) -> exp.Expression:
    without_sign = {
        sign: exp.Trim(
            this=exp.func("REPLACE", text.copy(), exp.Literal.string(sign), exp.Literal.string(""))
        )
        for sign in "+-"
    }
    return (
        exp.case()
        .when(_matches(text, _INT64_TEXT), _try_cast(exp.Trim(this=text.copy()), _BIGINT))
        .when(_matches(text, _HEX_TEXT), _try_cast(without_sign["+"], _BIGINT))
        .when(_matches(text, _NEGATIVE_HEX_TEXT), exp.Neg(this=_try_cast(without_sign["-"], _BIGINT)))
    )


def _float64_from_text(text: exp.Expression) -> exp.Expression:
    hexadecimal = _matches(text, _HEX_TEXT + "|" + _NEGATIVE_HEX_TEXT)
    return (
        exp.case()
        .when(hexadecimal, exp.cast(_int64_from_text(text), _DOUBLE))
        .else_(_try_cast(text.copy(), _DOUBLE))
    )


def _date_from_text(text: exp.Expression) -> exp.Expression:
    return exp.case().when(_matches(text, _DATE_TEXT), _try_cast(text.copy(), _DATE))


def _timestamp_from_text(text: exp.Expression) -> exp.Expression:
    too_precise = _function("REGEXP_MATCHES", text.copy(), exp.Literal.string(_SEVEN_FRACTION_DIGITS))
    return exp.case().when(exp.Not(this=too_precise), _try_cast(text.copy(), _TIMESTAMPTZ))


# Each parse gives NULL for a text GoogleSQL refuses (every cast in it a TRY_CAST: DuckDB folds constant
# casts even in a branch not taken); the message is BigQuery's.
_TEXT_CASTS: dict[exp.DataType.Type, tuple[Callable, Callable[[exp.Expression], exp.Expression]]] = {
    exp.DataType.Type.BIGINT: (_int64_from_text, lambda text: _text("Bad int64 value: ", text)),
    exp.DataType.Type.DOUBLE: (_float64_from_text, lambda text: _text("Bad double value: ", text)),
    exp.DataType.Type.DATE: (_date_from_text, lambda text: _text("Invalid date: '", text, "'")),
    exp.DataType.Type.TIMESTAMPTZ: (
        _timestamp_from_text,
        lambda text: _text("Invalid timestamp: '", text, "'"),
    ),
}


def _is_picosecond_type(data_type: exp.DataType) -> bool:
    timestamps = (exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMP)
    return data_type.this in timestamps and [e.name for e in data_type.expressions] == [picoseconds.PRECISION]


def picosecond_timestamp_casts(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`CAST(x AS TIMESTAMP(12))`: a timestamp of picosecond precision (see `picoseconds`), from a timestamp
    or its text with up to twelve digits of fraction.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#timestamp_type
    """
    for node in list(statement.find_all(exp.Cast, exp.TryCast)):
        if isinstance(node.to, exp.DataType) and _is_picosecond_type(node.to):
            text = exp.cast(node.this.copy(), exp.DataType.build("VARCHAR"))
            parsed = _function(picoseconds.PARSE_FUNCTION, text)  # NULL for text that is no timestamp
            if not isinstance(node, exp.TryCast):
                given = exp.Not(this=exp.Is(this=text.copy(), expression=exp.null()))
                invalid = _error(_text("Invalid timestamp: '", text.copy(), "'"))
                parsed = exp.func("COALESCE", parsed, exp.case().when(given, invalid))
            node.replace(parsed)


def string_casts_parse_like_bigquery(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`CAST(s AS INT64 | FLOAT64 | DATE | TIMESTAMP)` of a STRING accepts what GoogleSQL accepts: hex
    INT64s and FLOAT64s (`'-0x1F'`), no fractional or exponent INT64s, no spaces or time in a DATE, at most microseconds in a
    TIMESTAMP. What it refuses fails with BigQuery's message; `SAFE_CAST` gives NULL instead.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#cast
    """
    for node in list(statement.find_all(exp.Cast, exp.TryCast)):
        conversion = _TEXT_CASTS.get(node.to.this)
        if conversion is None or not _is_text(node.this, columns):
            continue
        parse, message = conversion
        parsed = parse(node.this)
        if not isinstance(node, exp.TryCast):
            given = exp.Not(this=exp.Is(this=node.this.copy(), expression=exp.null()))
            parsed = exp.func("COALESCE", parsed, exp.case().when(given, _error(message(node.this))))
        # Cast again, so that the rewrites after this one still see the type.
        node.replace(exp.cast(parsed, node.to.copy()))


def numeric_averages_stay_numeric(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`AVG` of a NUMERIC (BIGNUMERIC) is a NUMERIC (BIGNUMERIC), in a window too; DuckDB averages decimals
    as DOUBLE.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#avg
    """
    for node in list(statement.find_all(exp.Avg)):
        decimal = _decimal_type(node.this, columns)
        if decimal is None:
            continue
        outer = node.parent if isinstance(node.parent, exp.Window) else node
        outer.replace(exp.cast(outer.copy(), decimal))


def safe_prefix_returns_null_for_errors(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`SAFE.f(…)` is NULL where f fails, and so are SAFE_ADD, SAFE_SUBTRACT, SAFE_MULTIPLY, SAFE_NEGATE.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-reference#safe_prefix
    """
    operators = {exp.SafeAdd: exp.Add, exp.SafeSubtract: exp.Sub, exp.SafeMultiply: exp.Mul}
    for node in list(statement.find_all(exp.SafeFunc, exp.SafeAdd, exp.SafeSubtract, exp.SafeMultiply)):
        if isinstance(node, exp.SafeFunc):
            computed = node.this.copy()
            if any(call.name.upper() == "ERROR" for call in computed.find_all(exp.Anonymous)):
                # An argument's own error (a division by zero) is not the function's: it still fails, and
                # DuckDB's TRY cannot hold the volatile ERROR() anyway.
                node.replace(computed)
                continue
        else:
            computed = operators[type(node)](this=node.this.copy(), expression=node.expression.copy())
        node.replace(_function("TRY", computed))
    for node in list(statement.find_all(exp.SafeNegate)):
        # DuckDB negates a BIGINT into a HUGEINT: cast back, so that -(-2^63) overflows as in INT64.
        negated = _function("CAST_TO_TYPE", exp.Neg(this=exp.paren(node.this.copy())), node.this.copy())
        node.replace(_function("TRY", negated))


def array_first_and_last_refuse_empty_arrays(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`ARRAY_FIRST(a)` / `ARRAY_LAST(a)`: the first / last element; an empty array is an error.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/array_functions#array_first
    """
    for node, name, index in [
        *((n, "ARRAY_FIRST", 1) for n in statement.find_all(exp.ArrayFirst)),
        *((n, "ARRAY_LAST", -1) for n in statement.find_all(exp.ArrayLast)),
    ]:
        array = node.this
        empty = exp.EQ(this=_function("LEN", array.copy()), expression=exp.Literal.number(0))
        failure = _error(
            exp.Literal.string(f"{name} cannot get the {name[6:].lower()} element of an empty array")
        )
        element = _function("LIST_EXTRACT", array.copy(), exp.Literal.number(index))
        node.replace(exp.paren(exp.case().when(empty, failure).else_(element)))


def array_subscripts_out_of_range_fail(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`a[OFFSET(i)]` / `a[ORDINAL(i)]` outside the array fail with "Array index i is out of bounds"
    (DuckDB answers NULL); `SAFE_OFFSET` / `SAFE_ORDINAL` keep the NULL.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#array_subscript_operator
    """
    for node in list(statement.find_all(exp.Bracket)):
        first = node.args.get("offset")
        if first is None or node.args.get("safe") or len(node.expressions) != 1 or _in_window_ordering(node):
            continue
        index = node.expressions[0]
        past_the_end = exp.Add(this=_function("LEN", node.this.copy()), expression=exp.Literal.number(first))
        checked = (
            exp.case()
            .when(
                exp.LT(this=index.copy(), expression=exp.Literal.number(first)),
                _error(_text("Array index ", index, " is out of bounds (underflow)")),
            )
            .when(
                exp.GTE(this=index.copy(), expression=past_the_end),
                _error(_text("Array index ", index, " is out of bounds (overflow)")),
            )
        )
        node.replace(exp.paren(checked.else_(node.copy())))


def integer_sums_overflow_like_int64(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`SUM` of INT64 values is an INT64 and fails beyond its range; DuckDB sums into a 128-bit integer.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#sum
    """
    for node in list(statement.find_all(exp.Sum)):
        if _duckdb_type(node.this, columns) not in ("BIGINT", "INTEGER"):
            continue
        outer = node.parent if isinstance(node.parent, exp.Window) else node
        outer.replace(exp.cast(outer.copy(), _BIGINT))


def unnamed_structs_match_by_position(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`STRUCT(2, 'b')`, fields unnamed, takes its field names by position where a typed struct expects it
    (an INSERT into a STRUCT column, a UNION with a named struct): DuckDB's `ROW(…)`. sqlglot would name
    the fields `_0`, `_1`, which no named struct matches; in a result they are `_field_1`, `_field_2`.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#constructing_a_struct
    """
    for node in list(statement.find_all(exp.Struct)):
        fields = node.expressions
        explicit = [isinstance(field, exp.PropertyEQ | exp.Alias) for field in fields]
        if fields and not any(explicit) and _takes_names_by_position(node):
            node.replace(_function("ROW", *(field.copy() for field in fields)))
            continue
        # Elsewhere an unnamed field is `_field_<position>`, as BigQuery names it in a result; a column (or a
        # field path) names its field implicitly.
        named = [
            has or isinstance(field, exp.Column | exp.Dot)
            for field, has in zip(fields, explicit, strict=True)
        ]
        for position, (field, has_name) in enumerate(zip(fields, named, strict=True), start=1):
            if not has_name and not isinstance(node.parent, exp.Cast):
                field.replace(
                    exp.PropertyEQ(this=exp.to_identifier(f"_field_{position}"), expression=field.copy())
                )


def _takes_names_by_position(node: exp.Expression) -> bool:
    """In an INSERT's VALUES or a later branch of a UNION, where the target's field names apply."""
    while node.parent is not None:
        if isinstance(node.parent, exp.Cast):
            return False
        if isinstance(node.parent, exp.Values) and isinstance(node.parent.parent, exp.Insert):
            return True
        if isinstance(node.parent, exp.SetOperation) and node.arg_key == "expression":
            return True
        node = node.parent
    return False


def farm_fingerprint_as_function(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`FARM_FINGERPRINT(x)`: FarmHash Fingerprint64, the server's `farm_fingerprint` function.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/hash_functions#farm_fingerprint
    """
    for node in list(statement.find_all(exp.FarmFingerprint)):
        node.replace(_function("FARM_FINGERPRINT", *[argument.copy() for argument in node.expressions]))


def unnest_offsets_count_from_zero(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`UNNEST(a) WITH OFFSET AS o`: o is 0 for the first element; DuckDB's WITH ORDINALITY counts from 1.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#unnest_operator
    """
    for unnest in list(statement.find_all(exp.Unnest)):
        offset, select = unnest.args.get("offset"), unnest.parent_select
        if not isinstance(offset, exp.Identifier) or select is None:
            continue
        for column in list(select.find_all(exp.Column)):
            if (
                column.table
                or column.name.lower() != offset.name.lower()
                or column.parent_select is not select
            ):
                continue
            zero_based = exp.paren(exp.Sub(this=column.copy(), expression=exp.Literal.number(1)))
            in_projection = isinstance(column.parent, exp.Select) and column.arg_key == "expressions"
            column.replace(
                exp.alias_(zero_based, exp.to_identifier(column.name, quoted=True))
                if in_projection
                else zero_based
            )


def unnest_aliases_win_over_joined_columns(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`FROM t JOIN UNNEST(t.tags) AS tag JOIN other ON other.tag = tag`: an unqualified name that is an
    UNNEST's alias means the element, even where a joined table has a column of that name (DuckDB calls
    it ambiguous). The UNNEST gets a table name and such references are qualified with it.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#unnest_operator
    """
    for number, unnest in enumerate(list(statement.find_all(exp.Unnest))):
        alias, select = unnest.args.get("alias"), unnest.parent_select
        if not isinstance(alias, exp.TableAlias) or alias.this or len(alias.columns) != 1 or select is None:
            continue
        if not isinstance(unnest.parent, exp.From | exp.Join) or not select.args.get("joins"):
            continue  # alone in its FROM, nothing else has columns to confuse it with
        element = alias.columns[0].name.lower()
        table = exp.to_identifier(f"_unnest_{number}")
        alias.set("this", table)
        for column in list(select.find_all(exp.Column)):
            if not column.table and column.name.lower() == element and column.parent_select is select:
                column.set("table", table.copy())


def _is_struct_array(array: exp.Expression, columns: ColumnTypes) -> bool:
    if isinstance(array, exp.Array):
        return bool(array.expressions) and all(
            isinstance(e, exp.Struct | exp.Tuple) for e in array.expressions
        )
    duckdb_type = _duckdb_type(array, columns) or ""
    return duckdb_type.startswith("STRUCT(") and duckdb_type.endswith("[]")


def unnest_of_structs_exposes_their_fields(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`FROM t, UNNEST(array_of_structs)` without an alias: each struct field is a column of the row.

    DuckDB's UNNEST gives one struct column; unnesting that struct in a correlated subquery spreads it.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#unnest_operator
    """
    for number, unnest in enumerate(list(statement.find_all(exp.Unnest))):
        if not isinstance(unnest.parent, exp.From | exp.Join) or _set(unnest) != {"expressions"}:
            continue
        (array,) = unnest.expressions
        if not _is_struct_array(array, columns):
            continue
        element = exp.to_identifier(f"_struct_{number}")
        array = _anonymous_fields_named(array.copy())
        elements = exp.select(exp.alias_(exp.Unnest(expressions=[array]), element)).subquery()
        spread = exp.select(exp.Unnest(expressions=[exp.column(element)])).from_(elements)
        unnest.replace(spread.subquery(f"_unnest_{number}"))


def _anonymous_fields_named(array: exp.Expression) -> exp.Expression:
    """`[(1, 2), …]`: structs of unnamed fields, whose columns BigQuery calls _field_1, _field_2, … (as the
    fields of such a struct in results, see `types.field_for_duckdb_type`), or, after a named struct
    (`[STRUCT(1 AS a, 2 AS b), (3, 4)]`), that struct's names: the array's element type is the first's."""
    if isinstance(array, exp.Array):
        named = next((_field_names(e) for e in array.expressions if _field_names(e)), [])
        for element in list(array.expressions):
            if isinstance(element, exp.Tuple):
                names = named if len(named) == len(element.expressions) else []
                fields = [
                    exp.PropertyEQ(
                        this=exp.to_identifier(names[index - 1] if names else f"_field_{index}"),
                        expression=value.copy(),
                    )
                    for index, value in enumerate(element.expressions, start=1)
                ]
                element.replace(exp.Struct(expressions=fields))
    return array


def _field_names(element: exp.Expression) -> list[str]:
    """The field names of a struct whose fields are all named explicitly, else none."""
    if not isinstance(element, exp.Struct):
        return []
    fields = element.expressions
    if not fields or not all(isinstance(field, exp.PropertyEQ | exp.Alias) for field in fields):
        return []
    return [field.this.name if isinstance(field, exp.PropertyEQ) else field.alias for field in fields]


# The exact answers of APPROX_TOP_COUNT / APPROX_TOP_SUM (an exact answer is one of the approximate ones), in
# DuckDB over the group's values, NULL among them (as `{'v': value}`, which no list function drops); the
# `_value`, `_weight` and `_number` columns stand for the call's arguments.
_TOP_COUNT = """LIST_TRANSFORM(LIST_SLICE(LIST_SORT(LIST_TRANSFORM(MAP_ENTRIES(HISTOGRAM({'v': _value})),
    lambda e: {'count': CAST(e.value AS BIGINT), 'value': e.key.v}), 'DESC'), 1, _number),
  lambda e: {'value': e.value, 'count': e.count})"""
_WEIGHT_SUM = """CAST_TO_TYPE(LIST_SUM(LIST_TRANSFORM(LIST_FILTER(LIST({'v': _value, 'w': _weight}),
  lambda p: p.v IS NOT DISTINCT FROM d.v), lambda p: p.w)), ANY_VALUE(_weight))"""
# Sums of only NULL weights are NULL and come last.
_TOP_SUM = f"""LIST_TRANSFORM(LIST_SLICE(LIST_SORT(LIST_TRANSFORM(LIST_DISTINCT(LIST({{'v': _value}})),
    lambda d: {{'known': ({_WEIGHT_SUM}) IS NOT NULL, 'sum': {_WEIGHT_SUM}, 'value': d.v}}), 'DESC'), 1, _number),
  lambda e: {{'value': e.value, 'sum': e.sum}})"""


def _from_template(template: str, **arguments: exp.Expression) -> exp.Expression:
    def fill(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and not node.table and node.name in arguments:
            return arguments[node.name].copy()
        return node

    return exp.maybe_parse(template, dialect="duckdb").transform(fill)


def approx_top_count_and_sum_exactly(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`APPROX_TOP_COUNT(x, n)` / `APPROX_TOP_SUM(x, weight, n)`: the n values of x most frequent / of the
    largest summed weight, as ARRAY<STRUCT<value, count | sum>>, counted exactly; sqlglot has no DuckDB form.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/approximate_aggregate_functions#approx_top_count
    """
    for node in list(statement.find_all(exp.ApproxTopK, exp.ApproxTopSum)):
        if isinstance(node, exp.ApproxTopSum):
            top = _from_template(
                _TOP_SUM, _value=node.this, _weight=node.expression, _number=node.args["count"]
            )
        else:
            top = _from_template(_TOP_COUNT, _value=node.this, _number=node.expression)
        node.replace(top)


def _set(expression: exp.Expression) -> set[str]:
    return {key for key, value in expression.args.items() if value}


def logarithms_of_non_positive_numbers_fail(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`LN(x)` / `LOG10(x)` of x <= 0 is an error in BigQuery (DuckDB gives -inf or NaN).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/mathematical_functions#ln
    """
    for node in list(statement.find_all(exp.Ln, exp.Log)):
        if isinstance(node, exp.Log) and node.expression is not None:
            continue
        name = "LN" if isinstance(node, exp.Ln) else "LOG10"
        argument = node.this
        failure = (
            exp.null()  # SAFE.LN(x): NULL instead of the error
            if isinstance(node.parent, exp.SafeFunc)
            else _error(_text(f"Floating point error in function: {name}(", argument, ")"))
        )
        non_positive = exp.LTE(this=argument.copy(), expression=exp.Literal.number(0))
        node.replace(exp.paren(exp.case().when(non_positive, failure).else_(node.copy())))


_RECIPROCALS = {exp.Sec: "COS", exp.Csc: "SIN", exp.Sech: "COSH", exp.Csch: "SINH", exp.Coth: "TANH"}


def reciprocal_trigonometry(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`SEC`, `CSC`, `SECH`, `CSCH`, `COTH`: 1 / COS(x) and friends, which DuckDB lacks.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/mathematical_functions#sec
    """
    for node in list(statement.find_all(*_RECIPROCALS)):
        denominator = _function(_RECIPROCALS[type(node)], node.this.copy())
        reciprocal = exp.Div(this=exp.Literal.number(1), expression=denominator)
        reciprocal.meta["ieee"] = True
        node.replace(exp.paren(reciprocal))


def sign_keeps_its_argument_type(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`SIGN(x)` has x's type (SIGN(1.5) is the FLOAT64 1.0, SIGN(NaN) NaN); DuckDB's is an integer.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/mathematical_functions#sign
    """
    for node in list(statement.find_all(exp.Sign)):
        signed = _function("CAST_TO_TYPE", node.copy(), node.this.copy())
        if _is_float(node.this, columns):
            signed = exp.paren(
                exp.case().when(exp.IsNan(this=node.this.copy()), node.this.copy()).else_(signed)
            )
        node.replace(signed)


def range_bucket_counts_boundaries(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`RANGE_BUCKET(x, boundaries)`: how many boundaries are <= x (NULL for a NULL x).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/mathematical_functions#range_bucket
    """
    for node in list(statement.find_all(exp.RangeBucket)):
        point, boundaries = node.this, node.expression
        bound = exp.to_identifier("_boundary")
        at_most = exp.Lambda(
            this=exp.LTE(this=exp.column(bound), expression=point.copy()), expressions=[bound]
        )
        count = _function("LEN", _function("LIST_FILTER", boundaries.copy(), at_most))
        is_null = exp.Is(this=point.copy(), expression=exp.null())
        node.replace(exp.paren(exp.case().when(is_null, exp.null()).else_(count)))


def byte_length_of_strings(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`BYTE_LENGTH(s)` of a STRING counts its UTF-8 bytes; DuckDB's OCTET_LENGTH takes only BLOBs.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#byte_length
    """
    for node in list(statement.find_all(exp.ByteLength)):
        argument = node.this
        is_text = isinstance(argument, exp.Literal) and argument.is_string
        if is_text or _duckdb_type(argument, columns) == "VARCHAR":
            node.replace(_function("STRLEN", argument.copy()))


def null_literals_in_concatenation(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`CONCAT('a', NULL)` is a NULL STRING (BYTES beside BYTES arguments), where DuckDB's answer has no
    type; `'a' || NULL` is an error, as BigQuery refuses a literal NULL operand of `||`.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#concat
    """
    for node in statement.find_all(exp.DPipe):
        null = next(
            (operand for operand in (node.this, node.expression) if isinstance(operand, exp.Null)), None
        )
        if null is not None:
            raise InvalidQuery(f"Operands of || cannot be literal NULL{functions.position(null)}")
    for node in list(statement.find_all(exp.Concat)):
        arguments = node.expressions
        is_bytes = any(
            isinstance(argument, exp.ByteString) or _duckdb_type(argument, columns) == "BLOB"
            for argument in arguments
        )
        for argument in arguments:
            if isinstance(argument, exp.Null):
                argument.replace(exp.cast(exp.null(), _BLOB if is_bytes else _VARCHAR))


def _text_or_bytes(name: str, strings: list[exp.Expression], *rest: exp.Expression) -> exp.Expression:
    """A call of the server function `name` on STRING arguments, or of `name_bytes` on BYTES ones, chosen
    by the first one's type as DuckDB binds it (a server function takes one type only)."""
    rest = tuple(part.copy() for part in rest)
    as_text = _function(name, *[exp.cast(value.copy(), _VARCHAR) for value in strings], *rest)
    as_bytes = _function(f"{name}_bytes", *[exp.cast(value.copy(), _BLOB) for value in strings], *rest)
    is_text = exp.EQ(this=_function("TYPEOF", strings[0].copy()), expression=exp.Literal.string("VARCHAR"))
    return exp.paren(exp.case().when(is_text, as_text).else_(as_bytes))


def sha512_and_soundex_as_functions(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`SHA512(x)` (of a STRING's UTF-8 bytes, or of BYTES) and `SOUNDEX(s)`, which DuckDB lacks: the
    server's `bq_sha512` / `bq_sha512_bytes` and `bq_soundex`.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/hash_functions#sha512
    https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#soundex
    """
    for node in list(statement.find_all(exp.SHA2Digest)):
        if node.text("length") == "512":
            node.replace(_text_or_bytes("bq_sha512", [node.this]))
    for node in list(statement.find_all(exp.Soundex)):
        node.replace(_function("bq_soundex", node.this.copy()))


def instr_with_position_and_occurrence(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`INSTR(value, subvalue, position, occurrence)`: a negative position searches backwards from the end,
    occurrences may overlap, position 0 and occurrence < 1 are errors. The server's `bq_instr`, as DuckDB's
    STRPOS has neither argument.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#instr
    """
    for node in list(statement.find_all(exp.StrPosition)):
        position, occurrence = node.args.get("position"), node.args.get("occurrence")
        if position is None and occurrence is None:
            continue
        one = exp.Literal.number(1)
        strings = [node.this, node.args["substr"]]
        node.replace(_text_or_bytes("bq_instr", strings, position or one, occurrence or one))


# GoogleSQL functions served by the Python functions of `register_functions`.
_SERVER_FUNCTIONS = {
    exp.ToBase32: "bq_to_base32",
    exp.FromBase32: "bq_from_base32",
    exp.ToCodePoints: "bq_to_code_points",
    exp.CodePointsToString: "bq_code_points_to_string",
    exp.CodePointsToBytes: "bq_code_points_to_bytes",
    exp.SafeConvertBytesToString: "bq_safe_convert_bytes_to_string",
}


def functions_served_by_the_server(statement: exp.Expression, columns: ColumnTypes) -> None:
    """TO_BASE32, FROM_BASE32, TO_CODE_POINTS, CODE_POINTS_TO_STRING / _BYTES and NORMALIZE, which DuckDB
    lacks: the server's own functions (see `register_functions`).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions
    """
    for node in list(statement.find_all(*_SERVER_FUNCTIONS)):
        node.replace(_function(_SERVER_FUNCTIONS[type(node)], node.this.copy()))
    for node in list(statement.find_all(exp.Normalize)):
        form = node.args.get("form")
        mode = exp.Literal.string(form.name.upper() if form is not None else "NFC")
        casefold = exp.Boolean(this=bool(node.args.get("is_casefold")))
        node.replace(_function("bq_normalize", node.this.copy(), mode, casefold))


def _is_json(node: exp.Expression, columns: ColumnTypes) -> bool:
    if isinstance(node, exp.ParseJSON | exp.JSONExtract):
        return isinstance(node, exp.ParseJSON) or _is_json(node.this, columns)
    if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.JSON:
        return True
    return _duckdb_type(node, columns) == "JSON"


def _is_text(node: exp.Expression, columns: ColumnTypes) -> bool:
    return (isinstance(node, exp.Literal) and node.is_string) or _duckdb_type(node, columns) == "VARCHAR"


def json_functions_of_strings_return_strings(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`JSON_EXTRACT` / `JSON_QUERY` of a STRING give a STRING (of a JSON value, JSON), and
    `JSON_QUERY_ARRAY` / `JSON_EXTRACT_ARRAY` of a STRING an ARRAY<STRING>; DuckDB's `->` gives JSON.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_query
    """
    for node in list(statement.find_all(exp.JSONExtract)):
        if _is_text(node.this, columns):
            node.replace(exp.cast(node.copy(), _VARCHAR))
    for node in list(statement.find_all(exp.JSONExtractArray)):
        if _is_text(node.this, columns):
            node.replace(exp.cast(node.copy(), exp.DataType.build("VARCHAR[]", dialect="duckdb")))


_JSON_TYPE_NAMES = {
    "OBJECT": "object",
    "ARRAY": "array",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "NULL": "null",
}


def json_type_names_like_bigquery(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`JSON_TYPE` answers object, array, string, number, boolean or null; DuckDB names its own types.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_type
    """
    for node in list(statement.find_all(exp.JSONType)):
        kind = node.copy()
        named = exp.case(kind)
        for duckdb_name, bigquery_name in _JSON_TYPE_NAMES.items():
            named = named.when(exp.Literal.string(duckdb_name), exp.Literal.string(bigquery_name))
        node.replace(exp.paren(named.else_(exp.Literal.string("number"))))


_JSON_CONVERSIONS = {
    exp.String: _VARCHAR,
    exp.JSONBool: exp.DataType.build("BOOLEAN"),
    exp.Int64: _BIGINT,
    exp.Float64: _DOUBLE,
}


def json_conversions_read_the_value(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`STRING(json)`, `BOOL(json)`, `INT64(json)` convert a JSON scalar: its value, not its JSON text
    (DuckDB's cast of the JSON string `"a"` keeps the quotes).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#string_for_json
    """
    for node in list(statement.find_all(*_JSON_CONVERSIONS)):
        if isinstance(node, exp.JSONBool) or _is_json(node.this, columns):
            value = _function("JSON_EXTRACT_STRING", node.this.copy(), exp.Literal.string("$"))
            node.replace(exp.cast(value, _JSON_CONVERSIONS[type(node)]))


_JSON_NUMBERS = ("BIGINT", "UBIGINT", "HUGEINT", "DOUBLE")


def _json_kind_is(json: exp.Expression, *kinds: str) -> exp.Expression:
    return exp.In(
        this=_function("JSON_TYPE", json.copy()), expressions=[exp.Literal.string(k) for k in kinds]
    )


def _json_scalar(json: exp.Expression) -> exp.Expression:
    return _function("JSON_EXTRACT_STRING", json.copy(), exp.Literal.string("$"))


def _lax_bool(json: exp.Expression) -> exp.Expression:
    text = exp.Lower(this=_json_scalar(json))
    return (
        exp.case()
        .when(_json_kind_is(json, "BOOLEAN"), exp.cast(_json_scalar(json), "BOOLEAN"))
        .when(
            _json_kind_is(json, "VARCHAR"),
            exp.case(text)
            .when(exp.Literal.string("true"), exp.true())
            .when(exp.Literal.string("false"), exp.false()),
        )
        .when(
            _json_kind_is(json, *_JSON_NUMBERS),
            exp.NEQ(this=exp.cast(_json_scalar(json), _DOUBLE), expression=exp.Literal.number(0)),
        )
    )


def _lax_int64(json: exp.Expression) -> exp.Expression:
    as_double = exp.TryCast(this=_json_scalar(json), to=_DOUBLE.copy())
    return (
        exp.case()
        .when(_json_kind_is(json, "BOOLEAN"), exp.cast(exp.cast(_json_scalar(json), "BOOLEAN"), _BIGINT))
        .when(
            _json_kind_is(json, "VARCHAR", *_JSON_NUMBERS),
            exp.TryCast(this=exp.func("ROUND", as_double), to=_BIGINT.copy()),
        )
    )


def _lax_float64(json: exp.Expression) -> exp.Expression:
    as_double = exp.TryCast(this=_json_scalar(json), to=_DOUBLE.copy())
    return exp.case().when(_json_kind_is(json, "VARCHAR", *_JSON_NUMBERS), as_double)


def _lax_string(json: exp.Expression) -> exp.Expression:
    return exp.case().when(_json_kind_is(json, "VARCHAR", "BOOLEAN", *_JSON_NUMBERS), _json_scalar(json))


_LAX_CONVERSIONS = {
    exp.LaxBool: _lax_bool,
    exp.LaxInt64: _lax_int64,
    exp.LaxFloat64: _lax_float64,
    exp.LaxString: _lax_string,
}


def json_lax_conversions(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`LAX_BOOL` / `LAX_INT64` / `LAX_FLOAT64` / `LAX_STRING` of a JSON scalar: converted where GoogleSQL's
    table allows ('"42"' → 42, 'true' → 1, 1.5 → 2, 0 → false), NULL otherwise.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#lax_bool
    """
    for node in list(statement.find_all(*_LAX_CONVERSIONS)):
        node.replace(exp.paren(_LAX_CONVERSIONS[type(node)](node.this)))


def json_keys_of_objects(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`JSON_KEYS(json[, max_depth])`: every key, nested ones as `a.b`, sorted and unique; the server's
    `bq_json_keys` (sqlglot would write a function DuckDB lacks).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_keys
    """
    for node in list(statement.find_all(exp.JSONKeysAtDepth)):
        depth = node.expression.copy() if node.expression is not None else exp.null()
        node.replace(
            _function("bq_json_keys", exp.cast(node.this.copy(), _VARCHAR), exp.cast(depth, _BIGINT))
        )


def _json_text_of(value: exp.Expression) -> exp.Expression:
    """A SQL value as JSON text, as GoogleSQL's TO_JSON converts it (NULL is `null`)."""
    return exp.func(
        "COALESCE", exp.cast(_function("TO_JSON", value.copy()), _VARCHAR), exp.Literal.string("null")
    )


def _path_value_pairs(
    node: exp.Expression,
) -> tuple[list[exp.Expression], list[exp.Expression], dict[str, exp.Expression]]:
    arguments = [a for a in node.expressions if not isinstance(a, exp.Kwarg)]
    options = {a.this.name.lower(): a.expression for a in node.expressions if isinstance(a, exp.Kwarg)}
    return arguments[0::2], arguments[1::2], options


def json_mutators(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`JSON_SET(json, path, value, …[, create_if_missing => b])` and `JSON_ARRAY_INSERT(json, path, value,
    …[, insert_each_element => b])`, each value converted to JSON: the server's `bq_json_set` and
    `bq_json_array_insert` (DuckDB's json_set takes only JSON values and pads no array; it has no insert).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_set
    """
    for node in list(statement.find_all(exp.JSONSet, exp.JSONArrayInsert)):
        paths, values, options = _path_value_pairs(node)
        document = exp.cast(node.this.copy(), _VARCHAR)
        texts = exp.Array(expressions=[_json_text_of(value) for value in values])
        if isinstance(node, exp.JSONSet):
            create = options.get("create_if_missing", exp.true()).copy()
            call = _function(
                "bq_json_set", document, exp.Array(expressions=[p.copy() for p in paths]), texts, create
            )
        else:
            each = options.get("insert_each_element", exp.true())
            spread = [
                exp.And(this=each.copy(), expression=exp.Boolean(this=_is_sql_array(value, columns)))
                for value in values
            ]
            call = _function(
                "bq_json_array_insert",
                document,
                exp.Array(expressions=[p.copy() for p in paths]),
                texts,
                exp.Array(expressions=spread),
            )
        node.replace(exp.cast(call, exp.DataType.build("JSON")))


def _is_sql_array(value: exp.Expression, columns: ColumnTypes) -> bool:
    return isinstance(value, exp.Array) or (_duckdb_type(value, columns) or "").endswith("]")


# GoogleSQL's collations and the DuckDB collation that compares the same way: `und:ci` is ICU's root locale
# case-insensitively (DuckDB's NOCASE, then ICU's `en`, whose rules are the root's), '' the binary order.
_COLLATIONS = {"und:ci": "nocase.en", "": None}


def collations_of_strings(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`COLLATE(s, 'und:ci')` compares and sorts s case-insensitively in Unicode's order; any collation but
    `und:ci` and `''` is BigQuery's error.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/collation-concepts
    """
    for node in list(statement.find_all(exp.Collate)):
        specification = node.expression
        if not (isinstance(specification, exp.Literal) and specification.is_string):
            continue
        if specification.this not in _COLLATIONS:
            raise InvalidQuery(f"Collation '{specification.this}' in collate function is not supported.")
        collation = _COLLATIONS[specification.this]
        if collation is None:
            node.replace(node.this.copy())
        else:
            node.set("expression", exp.var(collation))


def case_mapping_of_all_of_unicode(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`UPPER` / `LOWER` map every character as Unicode does ('ß' → 'SS', 'İ' → 'i̇'); DuckDB maps one
    character to one. ASCII text, where both agree, stays with DuckDB's.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/string_functions#upper
    """
    for node in list(statement.find_all(exp.Upper, exp.Lower)):
        text = node.this
        if _duckdb_type(text, columns) == "BLOB" or (isinstance(text, exp.Literal) and text.this.isascii()):
            continue
        ascii_only = exp.EQ(this=_function("STRLEN", text.copy()), expression=exp.Length(this=text.copy()))
        unicode_mapping = _function("bq_upper" if isinstance(node, exp.Upper) else "bq_lower", text.copy())
        node.replace(exp.paren(exp.case().when(ascii_only, node.copy()).else_(unicode_mapping)))


_TIMESTAMPTZ = exp.DataType.build("TIMESTAMPTZ", dialect="duckdb")
_TIMESTAMP = exp.DataType.build("TIMESTAMP", dialect="duckdb")
_EPOCH_DAY = exp.cast(exp.Literal.string("1970-01-01"), _DATE)


def timestamp_constructors_are_timestamps(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`TIMESTAMP_MILLIS` / `_SECONDS` / `_MICROS` and `PARSE_TIMESTAMP` give TIMESTAMPs (DuckDB's EPOCH_MS
    and STRPTIME a time-zone-less TIMESTAMP, a DATETIME); `DATE_FROM_UNIX_DATE` a DATE.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/timestamp_functions#timestamp_millis
    """
    for node in list(statement.find_all(exp.UnixToTime, exp.StrToTime)):
        if not isinstance(node, exp.ParseDatetime):
            node.replace(exp.cast(node.copy(), _TIMESTAMPTZ))
    for node in list(statement.find_all(exp.DateFromUnixDate)):
        node.replace(exp.cast(node.copy(), _DATE))


def time_functions_on_times(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`TIME(timestamp)` is the UTC time of day, `TIME_TRUNC(t, part)` truncates a TIME and `FORMAT_TIME`
    formats one; DuckDB casts no TIMESTAMP WITH TIME ZONE to TIME and has neither function for TIME.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/time_functions
    """
    for node in list(statement.find_all(exp.TsOrDsToTime)):
        if (_duckdb_type(node.this, columns) or "") in ("TIMESTAMPTZ", "TIMESTAMPWITHTIMEZONE"):
            node.set("this", exp.cast(node.this.copy(), _TIMESTAMP))
    for node in list(statement.find_all(exp.TimeTrunc)):
        on_a_day = exp.Add(this=_EPOCH_DAY.copy(), expression=node.this.copy())
        truncated = _function("DATE_TRUNC", exp.Literal.string(node.text("unit").lower() or "hour"), on_a_day)
        node.replace(exp.cast(truncated, exp.DataType.build("TIME")))
    for node in list(statement.find_all(exp.TimeToStr)):
        if isinstance(node.this, exp.TsOrDsToTime):
            on_a_day = exp.Add(this=_EPOCH_DAY.copy(), expression=exp.cast(node.this.this.copy(), "TIME"))
            node.replace(_function("STRFTIME", on_a_day, node.args["format"].copy()))


_OFFSET_ZONE = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{1,2})(:?(?P<minutes>\d{2}))?$")


def time_zone_offsets_as_gmt_names(statement: exp.Expression, columns: ColumnTypes) -> None:
    """A time zone given as an offset (`'-04:30'`, `'+05'`) is the zone ICU calls `GMT-04:30`; DuckDB takes
    zones by name only.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#time_zones
    """
    for literal in list(statement.find_all(exp.Literal)):
        offset = _OFFSET_ZONE.match(literal.this) if literal.is_string and literal.arg_key == "zone" else None
        if offset:
            hours, minutes = int(offset["hours"]), offset["minutes"] or "00"
            literal.replace(exp.Literal.string(f"GMT{offset['sign']}{hours:02}:{minutes}"))


# Zone names DuckDB's ICU knows and the IANA time zone database, BigQuery's, does not: Java's legacy
# three-letter IDs (IST, PST, …) and retired aliases. BigQuery fails on them; DuckDB would read IST as India.
# https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#time_zone_name
_ICU_ONLY_ZONES = frozenset(
    [
        "ACT",
        "AET",
        "AGT",
        "ART",
        "AST",
        "BET",
        "BST",
        "CAT",
        "CNT",
        "CST",
        "CTT",
        "EAT",
        "ECT",
        "IET",
        "IST",
        "JST",
        "MIT",
        "NET",
        "NST",
        "PLT",
        "PNT",
        "PRT",
        "PST",
        "SST",
        "VST",
    ]
) | frozenset(["US/PACIFIC-NEW", "CANADA/EAST-SASKATCHEWAN"])


def _icu_only(zone: str) -> bool:
    return zone.upper() in _ICU_ONLY_ZONES or zone.upper().startswith("SYSTEMV/")


# How the text of each format element reads, to find the one `%Z` names (digits by default).
_ELEMENT_TEXT = {
    **dict.fromkeys("aAbBhp", "[A-Za-z]+"),
    "Z": "(?P<zone>[A-Za-z][A-Za-z0-9_/+-]*)",
    "z": "(?:[+-][0-9:]+|Z)",
    "%": "%",
    "n": r"\s",
    "t": r"\s",
}


@functools.lru_cache(maxsize=256)
def _zone_pattern(pattern: str) -> re.Pattern:
    parts, position = [], 0
    for found in re.finditer(r"%-?(E[0-9*]*)?(.)", pattern):
        parts.append(re.escape(pattern[position : found.start()]).replace(r"\ ", r"\s*"))
        parts.append(_ELEMENT_TEXT.get(found[2], r"\s*[0-9]+(?:\.[0-9]+)?"))
        position = found.end()
    parts.append(re.escape(pattern[position:]).replace(r"\ ", r"\s*"))
    return re.compile("".join(parts))


def _unknown_zone_in_text(pattern: str, text: str) -> str | None:
    """The zone name `%Z` reads in the text where BigQuery knows no such zone, else None."""
    found = _zone_pattern(pattern).match(text) if text is not None else None
    zone = found["zone"] if found and "zone" in found.groupdict() else None
    return zone if zone and _icu_only(zone) else None


def time_zone_names_of_the_iana_database(statement: exp.Expression, columns: ColumnTypes) -> None:
    """A time zone BigQuery does not know (`IST`), given as a zone argument or read by `%Z` in
    `PARSE_TIMESTAMP`, is BigQuery's "Invalid time zone" error, where DuckDB's ICU would take it.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#time_zones
    """
    for literal in list(statement.find_all(exp.Literal)):
        if literal.is_string and literal.arg_key == "zone" and _icu_only(literal.this):
            raise InvalidQuery(f"Invalid time zone: {literal.this}")
    for node in list(statement.find_all(exp.StrToTime)):
        pattern = node.args.get("format")
        if not (isinstance(pattern, exp.Literal) and pattern.is_string and "%Z" in pattern.this):
            continue
        zone = _function("bq_unknown_zone_in_text", pattern.copy(), exp.cast(node.this.copy(), _VARCHAR))
        unknown = exp.Not(this=exp.Is(this=zone.copy(), expression=exp.null()))
        failure = _error(exp.DPipe(this=exp.Literal.string("Invalid time zone: "), expression=zone))
        node.replace(exp.paren(exp.case().when(unknown, failure).else_(node.copy())))


# GoogleSQL's sub-second format elements that sqlglot leaves as they are, in DuckDB's terms.
_SUB_SECOND_ELEMENTS = {"%E3S": "%S.%g", "%E*S": "%S.%f"}


def sub_second_format_elements(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`%E3S` (seconds and milliseconds) and `%E*S` in FORMAT_… / PARSE_… formats, and `%Ez` (`+05:30`) in
    PARSE_TIMESTAMP.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/format-elements#format_elements_date_time
    """
    for node in list(statement.find_all(exp.TimeToStr, exp.StrToTime)):
        pattern = node.args.get("format")
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            continue
        text = pattern.this
        for element, duckdb_element in _SUB_SECOND_ELEMENTS.items():
            text = text.replace(element, duckdb_element)
        if isinstance(node, exp.StrToTime):
            text = text.replace("%Ez", "%z")
        pattern.replace(exp.Literal.string(text))


def _utc_offset_text(timestamp: exp.Expression, zone: exp.Expression) -> exp.Expression:
    """`+05:30`: how far the zone's wall clock is ahead of UTC at that instant."""
    local = exp.AtTimeZone(this=timestamp.copy(), zone=zone.copy())
    seconds = exp.Sub(this=_function("EPOCH", local), expression=_function("EPOCH", timestamp.copy()))
    negative = exp.LT(this=seconds.copy(), expression=exp.Literal.number(0))
    sign = exp.case().when(negative, exp.Literal.string("-")).else_(exp.Literal.string("+"))
    absolute = exp.Abs(this=exp.cast(seconds, _BIGINT))

    def two_digits(value: exp.Expression) -> exp.Expression:
        return exp.func("LPAD", exp.cast(value, _VARCHAR), exp.Literal.number(2), exp.Literal.string("0"))

    hours = exp.IntDiv(this=absolute.copy(), expression=exp.Literal.number(3600))
    minutes = exp.IntDiv(
        this=exp.paren(exp.Mod(this=absolute, expression=exp.Literal.number(3600))),
        expression=exp.Literal.number(60),
    )
    return _text(sign, two_digits(hours), ":", two_digits(minutes))


def _two_wide(number: exp.Expression, pad: str) -> exp.Expression:
    return exp.func("LPAD", exp.cast(number, _VARCHAR), exp.Literal.number(2), exp.Literal.string(pad))


# Format elements DuckDB's STRFTIME writes otherwise or not at all, and how each is computed from the local
# time and the instant and zone: `%Y` is the year unpadded (year 1 is `1`, DuckDB writes `0001`), `%e`
# (sqlglot's `%-d`) the day padded with a space (` 5`), `%Ez` the zone's offset (`+05:30`).
_COMPUTED_ELEMENTS: dict[str, Callable[[exp.Expression, exp.Expression, exp.Expression], exp.Expression]] = {
    "%Y": lambda local, instant, zone: exp.cast(_function("YEAR", local.copy()), _VARCHAR),
    "%-d": lambda local, instant, zone: _two_wide(_function("DAY", local.copy()), " "),
    "%e": lambda local, instant, zone: _two_wide(_function("DAY", local.copy()), " "),
    "%Ez": lambda local, instant, zone: _utc_offset_text(instant, zone),
}
_FORMAT_ELEMENT = re.compile("%%|" + "|".join(map(re.escape, _COMPUTED_ELEMENTS)))


def format_elements_as_bigquery_writes_them(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`FORMAT_DATE` / `FORMAT_DATETIME` / `FORMAT_TIMESTAMP(format, ts, zone)`: a timestamp is formatted as
    the zone's wall clock (sqlglot drops the zone), and the elements DuckDB writes otherwise (see
    `_COMPUTED_ELEMENTS`) are computed, the rest of the format left to STRFTIME.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/format-elements#format_elements_date_time
    """
    for node in list(statement.find_all(exp.TimeToStr)):
        zone, pattern = node.args.get("zone"), node.args.get("format")
        text = pattern.this if isinstance(pattern, exp.Literal) and pattern.is_string else ""
        computed = [found for found in _FORMAT_ELEMENT.finditer(text) if found[0] != "%%"]
        if zone is None and any(found[0] == "%Ez" for found in computed):
            zone = exp.Literal.string("UTC")
        instant = node.this.this if isinstance(node.this, exp.TsOrDsToTimestamp) else node.this
        local = node.this if zone is None else exp.AtTimeZone(this=instant.copy(), zone=zone.copy())
        if not computed:
            node.set("this", local)
            node.set("zone", None)
            continue
        pieces, written = [], 0
        for found in computed:
            if found.start() > written:
                fixed = exp.Literal.string(text[written : found.start()])
                pieces.append(_function("STRFTIME", local.copy(), fixed))
            pieces.append(_COMPUTED_ELEMENTS[found[0]](local, instant, zone))
            written = found.end()
        if written < len(text):
            pieces.append(_function("STRFTIME", local.copy(), exp.Literal.string(text[written:])))
        formatted = pieces[0]
        for piece in pieces[1:]:
            formatted = exp.DPipe(this=formatted, expression=piece)
        node.replace(exp.paren(formatted))


def square_roots_of_negative_numbers_fail(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`SQRT(x)` of x < 0 is an error (NULL under SAFE.); DuckDB answers NaN.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/mathematical_functions#sqrt
    """
    for node in list(statement.find_all(exp.Sqrt)):
        argument = node.this
        failure = (
            exp.null()
            if isinstance(node.parent, exp.SafeFunc)
            else _error(_text("Argument to SQRT cannot be negative: ", argument))
        )
        negative = exp.LT(this=argument.copy(), expression=exp.Literal.number(0))
        node.replace(exp.paren(exp.case().when(negative, failure).else_(node.copy())))


def parse_numeric_as_casts(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`PARSE_NUMERIC(s)` / `PARSE_BIGNUMERIC(s)`: the text, spaces around it allowed, as a NUMERIC.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#parse_numeric
    """
    for node in list(statement.find_all(exp.ParseNumeric, exp.ParseBignumeric)):
        target = BIGNUMERIC if isinstance(node, exp.ParseBignumeric) else NUMERIC
        node.replace(exp.cast(exp.Trim(this=node.this.copy()), target.copy()))


def to_json_is_json(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`TO_JSON(x)` is a JSON value; `TO_JSON_STRING(x)` its text with BigQuery's encodings (ISO 8601 times,
    base64 bytes, quoted NaN, `null` for NULL), the server's `bq_to_json_string` (see `json_text`).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#to_json_string
    """
    for node in list(statement.find_all(exp.JSONFormat)):
        value = node.this.copy()
        if node.args.get("to_json"):
            node.replace(_function("TO_JSON", value))
        else:
            duckdb_json = exp.cast(_function("TO_JSON", value), _VARCHAR)
            node.replace(_function("bq_to_json_string", duckdb_json, _function("TYPEOF", value.copy())))


_PSEUDO_COLUMNS = {"_PARTITIONDATE": exp.CurrentDate, "_PARTITIONTIME": exp.CurrentTimestamp}


def ingestion_time_pseudo_columns(statement: exp.Expression, columns: ColumnTypes) -> None:
    """`_PARTITIONDATE` / `_PARTITIONTIME` of an ingestion-time partitioned table: every row of a local
    table counts as loaded today, so they read as the current date (time at midnight UTC).

    https://cloud.google.com/bigquery/docs/querying-partitioned-tables#query_an_ingestion-time_partitioned_table
    """
    for column in list(statement.find_all(exp.Column)):
        pseudo = _PSEUDO_COLUMNS.get(column.name.upper())
        if pseudo is None or column.name.lower() in columns:
            continue
        today = exp.CurrentDate()
        value = today if pseudo is exp.CurrentDate else exp.cast(today, _TIMESTAMPTZ)
        column.replace(value)


REWRITES = (
    null_literals_in_concatenation,
    picosecond_timestamp_casts,
    string_casts_parse_like_bigquery,
    numeric_types_at_bigquery_scale,
    countif_counts_zero_rows_as_zero,
    float_to_int64_rounds_half_away_from_zero,
    numeric_averages_stay_numeric,
    date_plus_integer_adds_days,
    integer_literal_arithmetic_is_int64,
    numeric_division_is_numeric,
    division_by_zero_is_an_error,
    logarithms_of_non_positive_numbers_fail,
    square_roots_of_negative_numbers_fail,
    parse_numeric_as_casts,
    to_json_is_json,
    ingestion_time_pseudo_columns,
    date_functions_keep_their_argument_type,
    extract_parts_numbered_like_bigquery,
    safe_prefix_returns_null_for_errors,
    array_first_and_last_refuse_empty_arrays,
    array_subscripts_out_of_range_fail,
    unnamed_structs_match_by_position,
    integer_sums_overflow_like_int64,
    farm_fingerprint_as_function,
    reciprocal_trigonometry,
    sign_keeps_its_argument_type,
    range_bucket_counts_boundaries,
    byte_length_of_strings,
    functions_served_by_the_server,
    sha512_and_soundex_as_functions,
    instr_with_position_and_occurrence,
    json_conversions_read_the_value,
    json_lax_conversions,
    json_keys_of_objects,
    json_mutators,
    collations_of_strings,
    case_mapping_of_all_of_unicode,
    json_functions_of_strings_return_strings,
    json_type_names_like_bigquery,
    timestamp_constructors_are_timestamps,
    sub_second_format_elements,
    time_functions_on_times,
    time_zone_names_of_the_iana_database,
    time_zone_offsets_as_gmt_names,
    format_elements_as_bigquery_writes_them,
    unnest_offsets_count_from_zero,
    unnest_aliases_win_over_joined_columns,
    unnest_of_structs_exposes_their_fields,
    approx_top_count_and_sum_exactly,
)


def derived_column_types(statement: exp.Expression, columns: ColumnTypes) -> dict[str, str]:
    """The column types of the stored tables a statement reads and those of its derived tables and WITH
    queries, from their select lists: `SELECT price * 2 AS doubled` makes `doubled` the type of the product
    in the queries around it. A name two select lists type differently is left out; a stored column's type
    is kept."""
    typed = dict(columns)
    ambiguous: set[str] = set()
    selects = list(statement.find_all(exp.Select))
    # A query reads the ones inside it and before it: their types are known after a pass per nesting level.
    for _ in selects:
        changed = False
        for select in selects:
            for projection in select.expressions:
                name = projection.alias.lower() if isinstance(projection, exp.Alias) else ""
                if not name or name in ambiguous or name in columns:
                    continue
                kind = _duckdb_type(projection.this, typed)
                if kind is None or typed.get(name) == kind:
                    continue
                if name in typed:
                    ambiguous.add(name)
                    del typed[name]
                else:
                    typed[name] = kind
                changed = True
        if not changed:
            break
    return typed


def apply(statement: exp.Expression, columns: ColumnTypes) -> None:
    typed = derived_column_types(statement, columns)
    rewriting.apply_rewrites(statement, REWRITES, typed)


# ---- INSERT values and their columns ---------------------------------------------------------------------

# The GoogleSQL type of a value whose type is evident, from its DuckDB type.
_BIGQUERY_TYPES = {
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "DOUBLE": "FLOAT64",
    "VARCHAR": "STRING",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
    "BLOB": "BYTES",
    f"DECIMAL(38,{BIGNUMERIC_SCALE})": "BIGNUMERIC",
    "DECIMAL(38,9)": "NUMERIC",
}
# Which types a value of each type coerces to (besides its own).
# https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules#comparison_chart
_COERCIONS = {
    "INT64": {"NUMERIC", "BIGNUMERIC", "FLOAT64"},
    "NUMERIC": {"BIGNUMERIC", "FLOAT64"},
    "BIGNUMERIC": {"FLOAT64"},
    "DATE": {"DATETIME"},
}
# A STRING literal also coerces to the date and time types, a FLOAT64 literal to the decimals.
# https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules#literal_coercion
_LITERAL_COERCIONS = {
    "STRING": {"DATE", "DATETIME", "TIME", "TIMESTAMP"},
    "FLOAT64": {"NUMERIC", "BIGNUMERIC"},
}
_REST_TYPE_NAMES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}


def _value_type(value: exp.Expression) -> str | None:
    """The GoogleSQL type of an INSERT value where it is evident (a literal, a cast, an array of them)."""
    if isinstance(value, exp.Array):
        elements = {
            _value_type(element) for element in value.expressions if not isinstance(element, exp.Null)
        }
        return f"ARRAY<{elements.pop()}>" if len(elements) == 1 and None not in elements else None
    if isinstance(value, exp.Literal) and value.is_string:
        return "STRING"
    if isinstance(value, exp.Boolean):
        return "BOOL"
    return _BIGQUERY_TYPES.get(_duckdb_type(value, {}) or "")


def _coerces(value: exp.Expression, value_type: str, column_type: str) -> bool:
    if value_type == column_type or column_type in _COERCIONS.get(value_type, ()):
        return True
    literal = value.this if isinstance(value, exp.Neg) else value
    return isinstance(literal, exp.Literal) and column_type in _LITERAL_COERCIONS.get(value_type, ())


def _column_type(field: dict) -> str:
    name = _REST_TYPE_NAMES.get(field["type"], field["type"])
    return f"ARRAY<{name}>" if field.get("mode") == "REPEATED" else name


def refuse_values_that_do_not_coerce(insert: exp.Insert, fields: list[dict]) -> None:
    """An `INSERT … VALUES` value must coerce to its column's type: a FLOAT64 goes into no INT64 column, an
    ARRAY<INT64> into no ARRAY<FLOAT64> one (DuckDB would cast either). Values of no evident type are left
    to the engine.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax#insert_statement
    """
    values = insert.expression
    if not isinstance(values, exp.Values):
        return
    by_name = {field["name"].lower(): field for field in fields}
    named = insert.this.expressions if isinstance(insert.this, exp.Schema) else []
    targets = [by_name.get(column.name.lower()) for column in named] if named else fields
    for row in values.expressions:
        for value, field in zip(row.expressions, targets, strict=False):
            value_type = _value_type(value)
            if field is None or field["type"] in ("RECORD", "STRUCT") or value_type is None:
                continue
            column_type = _column_type(field)
            if not _coerces(value, value_type, column_type):
                raise InvalidQuery(
                    f"Value has type {value_type} which cannot be inserted into column {field['name']}, "
                    f"which has type {column_type}{functions.position(value)}"
                )


# ---- a query's result ------------------------------------------------------------------------------------


def _leftmost_select(query: exp.Expression) -> exp.Select | None:
    while isinstance(query, exp.SetOperation | exp.Subquery):
        query = query.this
    return query if isinstance(query, exp.Select) else None


def name_result_columns(query: exp.Expression) -> None:
    """Result columns named as BigQuery names them: a column reference (or struct field) by its name as the
    query spells it, any other unaliased expression `f0_`, `f1_`, … in order.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax#implicit_aliases
    """
    select = _leftmost_select(query)
    if select is None:
        return
    anonymous = 0
    taken = {
        projection.alias.lower() for projection in select.expressions if isinstance(projection, exp.Alias)
    }
    for projection in list(select.expressions):
        if isinstance(projection, exp.Alias | exp.Star):
            continue
        named = projection.unnest()
        if isinstance(named, exp.Column):
            if isinstance(named.this, exp.Star):
                continue
            name = named.name
        elif isinstance(named, exp.Dot) and isinstance(named.expression, exp.Identifier):
            name = named.expression.name
        else:
            name = f"f{anonymous}_"
            anonymous += 1
        # A name already taken gets `_1`, `_2`, … as BigQuery renames duplicate implicit names.
        unique = name
        for suffix in range(1, len(select.expressions) + 1):
            if unique.lower() not in taken:
                break
            unique = f"{name}_{suffix}"
        taken.add(unique.lower())
        projection.replace(exp.alias_(projection.copy(), exp.to_identifier(unique, quoted=True)))


# ---- functions DuckDB lacks ------------------------------------------------------------------------------


def _fingerprint(value: str | bytes) -> int:
    unsigned = farmhash.fingerprint64(value)
    return unsigned - (1 << 64) if unsigned >= 1 << 63 else unsigned


def _normalize(text: str, form: str, casefold: bool) -> str:
    normalized = unicodedata.normalize(form, text)
    return unicodedata.normalize(form, normalized.casefold()) if casefold else normalized


def _code_points_to_bytes(points: list[int]) -> bytes:
    if any(point is None or not 0 <= point <= 255 for point in points):
        raise ValueError(f"CODE_POINTS_TO_BYTES: {points} has a value outside [0, 255]")
    return bytes(points)


# Letters' Soundex digits; vowels, H, W and Y are 0 (they only separate letters), anything else is skipped.
_SOUNDEX_DIGITS = dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "01230120022455012623010202", strict=True))


def _soundex(text: str) -> str:
    """GoogleSQL's SOUNDEX as ZetaSQL computes it: the first Latin letter as written, then the digits of
    the following letters that differ from the last digit written, to four characters padded with 0; a
    vowel does not reset the last digit. No Latin letter at all gives ''."""
    letters = [char for char in text if char.isascii() and char.upper() in _SOUNDEX_DIGITS]
    if not letters:
        return ""
    code, previous = letters[0], _SOUNDEX_DIGITS[letters[0].upper()]
    for letter in letters[1:]:
        digit = _SOUNDEX_DIGITS[letter.upper()]
        if len(code) == 4:
            break
        if digit not in ("0", previous):
            code, previous = code + digit, digit
    return code.ljust(4, "0")


def _instr(value: str | bytes, search: str | bytes, position: int, occurrence: int) -> int:
    """INSTR's 1-based position of the `occurrence`-th `search` in `value` (overlapping), searching
    forwards from `position` or backwards from the end when it is negative (-1 the last character); 0 if
    there is none. Character positions for STRING, byte positions for BYTES."""
    if occurrence < 1:
        raise ValueError("Occurrence must be positive")
    if position == 0:
        raise ValueError("Position must be non-zero")
    if position > 0:
        start = position - 1
        for _ in range(occurrence):
            start = value.find(search, start)
            if start < 0:
                return 0
            start += 1
        return start
    # An empty `search` is found after the last character too: INSTR('a', '', -1) is 2.
    start = len(value) + position + (1 if not search else 0)
    if start < 0:
        return 0
    for index in range(occurrence):
        if index > 0:
            if start == 0:
                return 0
            start -= 1
        start = value.rfind(search, 0, start + len(search))
        if start < 0:
            return 0
    return start + 1


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """GoogleSQL functions that DuckDB has no equivalent of, as scalar functions of the connection."""
    varchar, blob, bigint = duckdb.sqltype("VARCHAR"), duckdb.sqltype("BLOB"), duckdb.sqltype("BIGINT")
    points = duckdb.sqltype("BIGINT[]")
    texts, flags = duckdb.sqltype("VARCHAR[]"), duckdb.sqltype("BOOLEAN[]")
    functions = [
        ("farm_fingerprint", _fingerprint, [varchar], bigint),
        ("bq_to_base32", lambda data: base64.b32encode(data).decode("ascii"), [blob], varchar),
        ("bq_from_base32", lambda text: base64.b32decode(text), [varchar], blob),
        ("bq_to_code_points", lambda text: [ord(c) for c in text], [varchar], points),
        ("bq_code_points_to_string", lambda codes: "".join(map(chr, codes)), [points], varchar),
        ("bq_code_points_to_bytes", _code_points_to_bytes, [points], blob),
        (
            "bq_safe_convert_bytes_to_string",
            lambda data: data.decode("utf-8", errors="replace"),
            [blob],
            varchar,
        ),
        ("bq_normalize", _normalize, [varchar, varchar, duckdb.sqltype("BOOLEAN")], varchar),
        ("bq_upper", str.upper, [varchar], varchar),
        ("bq_lower", str.lower, [varchar], varchar),
        ("bq_json_set", json_text.json_set, [varchar, texts, texts, duckdb.sqltype("BOOLEAN")], varchar),
        ("bq_json_array_insert", json_text.json_array_insert, [varchar, texts, texts, flags], varchar),
        ("bq_sha512", lambda text: hashlib.sha512(text.encode()).digest(), [varchar], blob),
        ("bq_sha512_bytes", lambda data: hashlib.sha512(data).digest(), [blob], blob),
        ("bq_soundex", _soundex, [varchar], varchar),
        ("bq_instr", _instr, [varchar, varchar, bigint, bigint], bigint),
        ("bq_instr_bytes", _instr, [blob, blob, bigint, bigint], bigint),
    ]
    for name, function, parameters, result in functions:
        con.create_function(name, function, parameters, result, side_effects=False)
    picoseconds.register(con)
    # These see NULLs: a NULL operand's JSON is `null`, a NULL depth is no limit, a NULL text has no zone.
    for name, function, parameters, result in [
        ("bq_to_json_string", json_text.to_json_string, [varchar, varchar], varchar),
        ("bq_json_keys", json_text.json_keys, [varchar, bigint], duckdb.sqltype("VARCHAR[]")),
        ("bq_unknown_zone_in_text", _unknown_zone_in_text, [varchar, varchar], varchar),
    ]:
        con.create_function(name, function, parameters, result, null_handling="special", side_effects=False)
