"""GoogleSQL's built-in functions, as ZetaSQL's catalog lists them, and BigQuery's errors about calls to them.

`googlesql_functions.json` is generated from ZetaSQL's catalog (`scripts/googlesql_functions.py`, which says
how to regenerate it): every built-in function's name and signatures. A name DuckDB lacks is either a
built-in this server does not implement — a named refusal — or a name BigQuery does not know either, which
gets BigQuery's own "Function not found" error.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path

from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.parser import Parser
from sqlglot.tokens import Token, TokenType

from local_bigquery.errors import BigQueryError, InvalidQuery, Unsupported

CATALOG = Path(__file__).with_name("googlesql_functions.json")


@cache
def builtin_functions() -> dict[str, dict]:
    """{lower-case name: {"mode", "signatures": [{"text", "min", "max"}]}}; `max` None for repeated ones."""
    return json.loads(CATALOG.read_text())


def is_builtin(name: str) -> bool:
    return name.lower().removeprefix("safe.") in builtin_functions()


def position(node: exp.Expression) -> str:
    """` at [line:column]` of the first character of a parsed token, as BigQuery places its errors."""
    meta = node.meta
    if "line" not in meta:
        return ""
    return f" at [{meta['line']}:{meta['col'] - (meta['end'] - meta['start'])}]"


def _path(node: exp.Expression) -> list[str]:
    """The parts of a routine's qualifier: `ds`, `project.ds` (one quoted identifier) or project.ds."""
    if isinstance(node, exp.Identifier):
        return node.name.split(".")
    if isinstance(node, exp.Dot):
        return [*_path(node.this), *_path(node.expression)]
    if isinstance(node, exp.Column):
        return [part for identifier in node.parts for part in _path(identifier)]
    return [node.sql("bigquery")]


def _call(name: str, statements: Iterable[exp.Expression]) -> exp.Func | None:
    """The first call of `name` (lower-case, as DuckDB names it) in the statements as parsed: an unknown
    call, or one sqlglot read into a node of its own (NET.HOST's HOST)."""
    for statement in statements:
        for call in statement.find_all(exp.Func):
            written = _written_name(call)
            if written and written.lower() == name and "line" in call.meta:
                return call
    return None


def _qualifier(call: exp.Func) -> list[str]:
    """The parts before a call's name: `ds` of `ds.routine(…)`, `NET` of `NET.HOST(…)`; [] for none."""
    parent = call.parent
    if isinstance(parent, exp.Dot) and call.arg_key == "expression":
        return _path(parent.this)
    return ["NET"] if isinstance(parent, exp.NetFunc) else []


def _not_found(call: exp.Func, name: str, default_project: str | None) -> BigQueryError:
    """BigQuery's answer to a call of `name` (as written, without its qualifier): a named refusal for a
    built-in this server lacks, else "Function not found" — of a routine in a dataset when qualified.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-all lists GoogleSQL's functions;
    a qualified name is a routine in a dataset (`dataset.routine`), which this server never has.
    """
    qualifier = _qualifier(call)
    written = ".".join([*qualifier, name])
    if is_builtin(written):
        return Unsupported(f"function {written.upper()}")
    if not isinstance(call.parent, exp.Dot):
        return InvalidQuery(f"Function not found: {written}{position(call)}")
    dataset = qualifier if len(qualifier) > 1 else [default_project or "", *qualifier]
    where = position(call.parent.this.find(exp.Identifier) or call)
    return InvalidQuery(f"Function not found: `{'.'.join(dataset)}`.{name}{where}")


def missing_function_error(
    name: str, statements: Iterable[exp.Expression], default_project: str | None
) -> BigQueryError | None:
    """BigQuery's answer to a call of `name`, a function DuckDB does not have; None when the statements
    do not call it (a name of local_bigquery's own making)."""
    call = _call(name, statements)
    if call is None:
        return Unsupported(f"function {name.upper()}") if is_builtin(name) else None
    return _not_found(call, _written_name(call) or name, default_project)


# ---- names GoogleSQL does not have ---------------------------------------------------------------------

# BigQuery ML's hyperparameter search spaces, calls only CREATE MODEL's OPTIONS hold (`bqml.options`).
# https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-hp-tuning-overview
_SEARCH_SPACES = frozenset({"hparam_range", "hparam_candidates"})
# Constructors GoogleSQL writes as calls, no functions of its catalog: STRUCT(1 AS a), ARRAY(SELECT …).
# https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#constructing_a_struct
_CONSTRUCTORS = frozenset({"struct", "array"})
# Qualifiers of BigQuery ML's and its AI functions, a family this server implements only in part: one it
# lacks is a named refusal, not a function BigQuery would not find.
_ML_QUALIFIERS = frozenset({"ml", "ai"})


@cache
def _known_names() -> frozenset[str]:
    """Lower-case names a call may use: GoogleSQL's built-ins, the functions sqlglot's BigQuery dialect reads
    into nodes of its own (AI.GENERATE's GENERATE, the WEEK(<weekday>) date part), constructors, search spaces."""
    base = Parser.FUNCTIONS
    dialect_own = {
        name.lower() for name, build in BigQuery.Parser.FUNCTIONS.items() if base.get(name) is not build
    }
    return frozenset(builtin_functions()) | dialect_own | _CONSTRUCTORS | _SEARCH_SPACES


def _written_name(node: exp.Func) -> str | None:
    """The name a call was written with: sqlglot keeps it for a function it reads into a node of its own
    (`YEAR(d)` is exp.Year, `NVL(a, b)` exp.Coalesce); None for syntax that is no plain call (CAST, EXTRACT)."""
    if isinstance(node, exp.Anonymous):
        return node.name
    return node.meta.get(BigQuery.ORIGINAL_NAME_META_KEY)


def _routine_names(statements: Iterable[exp.Expression]) -> set[str]:
    """The functions a script creates (`CREATE TEMP FUNCTION f`), whose calls are no unknown names: the
    CREATE FUNCTION statement gets its own answer."""
    return {
        ".".join(part.name for part in statement.this.this.parts).lower()
        for statement in statements
        if isinstance(statement, exp.Create)
        and statement.kind == "FUNCTION"
        and isinstance(statement.this, exp.UserDefinedFunction)
        and isinstance(statement.this.this, exp.Table)
    }


def refuse_unknown_functions(statements: Iterable[exp.Expression], default_project: str | None) -> None:
    """BigQuery's "Function not found: NAME at [l:c]" for a call, in the statements as the user wrote them,
    of a name GoogleSQL does not have, before anything runs: DuckDB's own functions (LIST_SUM, STRFTIME,
    YEAR, NVL …) would otherwise answer here and the same query fail on BigQuery. One walk per statement.

    A function in a table's place (`FROM f(…)`) is left to the table-function refusal.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-all
    """
    statements = list(statements)
    known = _known_names()
    routines: set[str] | None = None
    for statement in statements:
        for node in statement.find_all(exp.Func):
            name = _written_name(node)
            if name is None:
                continue
            qualifier = _qualifier(node)
            written = ".".join([*qualifier, name]).lower()
            if written in known or isinstance(node.parent, exp.Table | exp.Lateral):
                continue
            if routines is None:
                routines = _routine_names(statements)
            if written in routines:
                continue
            if len(qualifier) == 1 and qualifier[0].lower() in _ML_QUALIFIERS:
                raise Unsupported(f"function {written.upper()}")
            raise _not_found(node, name, default_project)


# ---- argument counts -------------------------------------------------------------------------------------

# Tokens after which `name(` is no call of a built-in: a table, routine or column list being named, an
# IF/ELSEIF statement, or `* REPLACE (…)`.
_NOT_A_CALL_AFTER = frozenset(
    {
        TokenType.FROM,
        TokenType.JOIN,
        TokenType.INTO,
        TokenType.TABLE,
        TokenType.FUNCTION,
        TokenType.PROCEDURE,
        TokenType.UPDATE,
        TokenType.MERGE,
        TokenType.STAR,
        TokenType.R_PAREN,
        TokenType.SEMICOLON,
        TokenType.THEN,
        TokenType.ELSE,
        TokenType.BEGIN,
    }
)
# Where an aggregate's arguments end and its modifiers begin: `ARRAY_AGG(x ORDER BY a, b LIMIT 1)`,
# `x IGNORE NULLS` (IGNORE and RESPECT are reserved keywords sqlglot reads as names).
_MODIFIERS = frozenset({TokenType.ORDER_BY, TokenType.LIMIT, TokenType.HAVING})
_MODIFIER_WORDS = frozenset({"IGNORE", "RESPECT"})
_TYPED_LITERALS = {"DATE", "DATETIME", "TIME", "TIMESTAMP", "NUMERIC", "BIGNUMERIC", "JSON"}


def _literal_type(sql: str, argument: list[Token]) -> str | None:
    """The GoogleSQL type of an argument that is a literal (`'a'`, `1`, `DATE '2024-01-01'`), else None."""
    if len(argument) == 2 and argument[0].text.upper() in _TYPED_LITERALS:
        return argument[0].text.upper() if argument[1].token_type == TokenType.STRING else None
    if len(argument) != 1:
        return None
    token = argument[0]
    if token.token_type == TokenType.NUMBER:
        written = sql[token.start : token.end + 1].lower()
        return "FLOAT64" if any(mark in written for mark in ".e") else "INT64"
    return {
        TokenType.STRING: "STRING",
        TokenType.RAW_STRING: "STRING",
        TokenType.BYTE_STRING: "BYTES",
        TokenType.TRUE: "BOOL",
        TokenType.FALSE: "BOOL",
        TokenType.NULL: "NULL",
    }.get(token.token_type)


def _arguments(tokens: list[Token], open_paren: int) -> list[list[Token]]:
    """The top-level arguments of the call whose `(` is at `open_paren`, up to its modifiers."""
    arguments: list[list[Token]] = [[]]
    depth = 0
    for token in tokens[open_paren + 1 :]:
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET):
            depth += 1
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET):
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (token.token_type in _MODIFIERS or token.text.upper() in _MODIFIER_WORDS):
            break
        elif depth == 0 and token.token_type == TokenType.COMMA:
            arguments.append([])
            continue
        arguments[-1].append(token)
    return [] if arguments == [[]] else arguments


def _called_name(tokens: list[Token], index: int) -> tuple[str, int] | None:
    """The built-in a `name(` at `index` calls, with the index of its first token (`SAFE.`, `NET.` …)."""
    name, first = tokens[index].text.lower(), index
    if index >= 2 and tokens[index - 1].token_type == TokenType.DOT:
        qualifier = tokens[index - 2].text.lower()
        first = index - 2
        if qualifier != "safe":
            name = f"{qualifier}.{name}"
    before = tokens[first - 1].token_type if first else TokenType.SEMICOLON
    if before in _NOT_A_CALL_AFTER or (first >= 1 and before == TokenType.DOT):
        return None
    return name, first


def _accepts(signature: dict, count: int) -> bool:
    return signature["min"] <= count and (signature["max"] is None or count <= signature["max"])


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _count_mismatch(signature: dict, count: int) -> str:
    if count < signature["min"]:
        return f"Signature requires at least {_plural(signature['min'], 'argument')}, found {_plural(count, 'argument')}"
    return f"Signature accepts at most {_plural(signature['max'], 'argument')}, found {_plural(count, 'argument')}"


def argument_count_error(sql: str, tokens: list[Token]) -> str | None:
    """BigQuery's "No matching signature for function NAME" for the first call of a built-in function with a
    number of arguments none of its signatures takes, listing them as ZetaSQL does; None if there is none.

    https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-reference
    """
    for index in range(len(tokens) - 1):
        if tokens[index + 1].token_type != TokenType.L_PAREN or not tokens[index].text[:1].isalpha():
            continue
        called = _called_name(tokens, index)
        signatures = builtin_functions().get(called[0], {}).get("signatures") if called else None
        if not signatures:
            continue
        arguments = _arguments(tokens, index + 1)
        # ZetaSQL reads `DATE_ADD(d, INTERVAL 1 DAY)` as three arguments: d, 1 and the part.
        intervals = sum(
            1 for argument in arguments if argument and argument[0].token_type == TokenType.INTERVAL
        )
        if any(
            _accepts(signature, len(arguments) + spread)
            for signature in signatures
            for spread in {0, intervals}
        ):
            continue
        count = len(arguments) + intervals
        first = tokens[called[1]]
        lines = [f"No matching signature for function {called[0].upper()}"]
        if not count:
            lines[0] += " with no arguments"
        types = [_literal_type(sql, argument) for argument in arguments]
        if count and all(types):
            lines.append(f"  Argument types: {', '.join(types)}")
        for signature in signatures:
            lines += [f"  Signature: {signature['text']}", f"    {_count_mismatch(signature, count)}"]
        line = sql.count("\n", 0, first.start) + 1
        column = first.start - (sql.rfind("\n", 0, first.start) + 1) + 1
        return "\n".join(lines) + f" at [{line}:{column}]"
    return None


# ---- operand types ---------------------------------------------------------------------------------------

_COMPARISONS = {exp.EQ: "=", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
# GoogleSQL never compares a STRING with these implicitly; a string literal becomes a DATE or TIMESTAMP
# where one is needed, never a number (https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_rules).
_NOT_COMPARABLE_WITH_STRING = frozenset({"INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC", "BOOL"})
_CANONICAL_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")


def _first_token(node: exp.Expression) -> exp.Expression:
    """The part of an expression written first, for the position of an error about it."""
    placed = [part for part in node.walk() if "start" in part.meta]
    return min(placed, key=lambda part: part.meta["start"]) if placed else node


def _is_date(text: str) -> bool:
    found = _CANONICAL_DATE.match(text)
    if not found:
        return False
    try:
        dt.date(*(int(part) for part in found.groups()))
    except ValueError:
        return False
    return True


def check_operand_types(statement: exp.Expression, type_of: Callable[[exp.Expression], str | None]) -> None:
    """Refuse operands no signature of their operator takes, as BigQuery's analyzer does before running
    anything: a STRING compared with a number or BOOL, and `'text' + 1` — GoogleSQL reads a string literal
    added to an INT64 as DATE + INT64, so the literal must be a date (it then is one).

    `type_of` gives an operand's GoogleSQL type where it is known, else None.
    https://cloud.google.com/bigquery/docs/reference/standard-sql/operators
    """
    for node in list(statement.find_all(*_COMPARISONS, exp.Add, exp.Sub)):
        left, right = node.this, node.expression
        types = (type_of(left), type_of(right))
        if isinstance(node, exp.Add | exp.Sub):
            _date_literal_arithmetic(node, types)
            continue
        if "STRING" in types and set(types) & _NOT_COMPARABLE_WITH_STRING:
            symbol = _COMPARISONS[type(node)]
            raise InvalidQuery(
                f"No matching signature for operator {symbol} for argument types: {', '.join(types)}\n"
                f"  Signature: T1 {symbol} T1\n"
                "    Unable to find common supertype for templated argument <T1>\n"
                f"      Input types for <T1>: {{{', '.join(sorted(set(types)))}}}"
                f"{position(_first_token(left))}"
            )


def _date_literal_arithmetic(node: exp.Add | exp.Sub, types: tuple[str | None, str | None]) -> None:
    literal = (
        node.this
        if isinstance(node, exp.Sub)
        else next(
            (
                operand
                for operand in (node.this, node.expression)
                if isinstance(operand, exp.Literal) and operand.is_string
            ),
            None,
        )
    )
    if not (isinstance(literal, exp.Literal) and literal.is_string) or "INT64" not in types:
        return
    if not _is_date(literal.this):
        raise InvalidQuery(f'Could not cast literal "{literal.this}" to type DATE{position(literal)}')
    literal.replace(exp.cast(literal.copy(), exp.DataType.build("DATE")))
