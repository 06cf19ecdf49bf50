"""GoogleSQL's built-in functions, as ZetaSQL's catalog lists them, and BigQuery's errors about calls to them.

`googlesql_functions.json` is generated from ZetaSQL's catalog (`scripts/googlesql_functions.py`, which says
how to regenerate it): every built-in function's name and signatures. A name DuckDB lacks is either a
built-in this server does not implement — a named refusal — or a name BigQuery does not know either, which
gets BigQuery's own "Function not found" error.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from sqlglot import exp

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


def _call(name: str, statements: Iterable[exp.Expression]) -> exp.Anonymous | None:
    """The first call of `name` (lower-case, as DuckDB names it) in the statements as parsed."""
    for statement in statements:
        for call in statement.find_all(exp.Anonymous):
            if call.name.lower() == name and "line" in call.meta:
                return call
    return None


def missing_function_error(
    name: str, statements: Iterable[exp.Expression], default_project: str | None
) -> BigQueryError | None:
    """BigQuery's answer to a call of `name`, a function DuckDB does not have; None when the statements
    do not call it (a name of local_bigquery's own making).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/functions-all lists GoogleSQL's functions;
    a qualified name is a routine in a dataset (`dataset.routine`), which this server never has.
    """
    call = _call(name, statements)
    if call is None:
        return Unsupported(f"function {name.upper()}") if is_builtin(name) else None
    qualified = isinstance(call.parent, exp.Dot) and call.arg_key == "expression"
    qualifier = _path(call.parent.this) if qualified else []
    written = ".".join([*qualifier, call.name])
    if is_builtin(written):
        return Unsupported(f"function {written.upper()}")
    if not qualified:
        return InvalidQuery(f"Function not found: {call.name}{position(call)}")
    dataset = qualifier if len(qualifier) > 1 else [default_project or "", *qualifier]
    where = position(call.parent.this.find(exp.Identifier) or call)
    return InvalidQuery(f"Function not found: `{'.'.join(dataset)}`.{call.name}{where}")
