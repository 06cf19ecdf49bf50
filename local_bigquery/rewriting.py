"""Running a sequence of tree rewrites, skipping those that have nothing to rewrite.

Most rewrites (see `semantics` and `translate`) are one or more `statement.find_all(exp.X, …)` loops; each
such loop walks the whole tree, which is some 60 walks per statement and seconds for a wide select list
(a CREATE TABLE AS SELECT of 10,000 columns). A rewrite whose only use of the statement is such loops does
nothing where no node of the types it looks for is in the tree, so one walk collecting the node types
present decides which rewrites run at all. The node types a rewrite looks for are read from its own source,
so they cannot drift from what it does; a rewrite that touches the statement any other way always runs.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterable

from sqlglot import exp

Rewrite = Callable[..., None]


@functools.cache
def sought_node_types(rewrite: Rewrite) -> tuple[type[exp.Expression], ...] | None:
    """The node types `rewrite` finds with `statement.find_all(...)`, if that is its only use of its first
    argument (the statement) and the types are spelled `exp.X` or `*NAME` of a module-level tuple of them;
    otherwise None (the rewrite must always run)."""
    try:
        function = ast.parse(textwrap.dedent(inspect.getsource(rewrite))).body[0]
    except (OSError, TypeError, IndexError):
        return None
    if not isinstance(function, ast.FunctionDef) or not function.args.args:
        return None
    statement = function.args.args[0].arg
    module_globals = vars(sys.modules[rewrite.__module__])
    uses = [node for node in ast.walk(function) if isinstance(node, ast.Name) and node.id == statement]
    sought: list[type[exp.Expression]] = []
    searches = 0
    for node in ast.walk(function):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == statement
            and node.func.attr == "find_all"
            and not node.keywords
        ):
            continue
        for argument in node.args:
            types = _node_types(argument, module_globals)
            if types is None:
                return None
            sought.extend(types)
        searches += 1
    if not sought or searches != len(uses):
        return None
    return tuple(sought)


def _node_types(argument: ast.expr, module_globals: dict) -> list[type[exp.Expression]] | None:
    """The node types an argument of find_all names: `exp.X`, or `*NAME` of a tuple of them."""
    if (
        isinstance(argument, ast.Attribute)
        and isinstance(argument.value, ast.Name)
        and argument.value.id == "exp"
    ):
        types = [getattr(exp, argument.attr, None)]
    elif isinstance(argument, ast.Starred) and isinstance(argument.value, ast.Name):
        types = list(module_globals.get(argument.value.id) or [None])
    else:
        return None
    if all(isinstance(kind, type) and issubclass(kind, exp.Expr) for kind in types):
        return types
    return None


def _node_types_present(statement: exp.Expression) -> set[type]:
    """The types of the nodes in the tree: the children `Expression.walk` visits, without its generators."""
    present: set[type] = set()
    pending = [statement]
    while pending:
        node = pending.pop()
        present.add(type(node))
        for value in node.args.values():
            if isinstance(value, list):
                pending.extend(item for item in value if isinstance(item, exp.Expr))
            elif isinstance(value, exp.Expr):
                pending.append(value)
    return present


def apply_rewrites(statement: exp.Expression, rewrites: Iterable[Rewrite], *args) -> None:
    """Run each rewrite on `statement` (with `args`) in order, skipping one that looks for node types the
    tree holds none of. Running one is always right, so the types present are collected again (a rewrite
    that ran may have added nodes) only when a skip is to be decided."""
    present = _node_types_present(statement)
    current = True
    for rewrite in rewrites:
        sought = sought_node_types(rewrite)
        if sought is not None and not any(issubclass(kind, sought) for kind in present):
            if not current:
                present, current = _node_types_present(statement), True
            if not any(issubclass(kind, sought) for kind in present):
                continue
        rewrite(statement, *args)
        current = False


class TreeIndex:
    """The nodes of a tree from one walk, for checks that read the tree without changing it: `find_all`
    and `find` answer as sqlglot's own do (breadth-first order), without walking the tree again."""

    def __init__(self, statement: exp.Expression):
        self._nodes = list(statement.walk())
        self._types = {type(node) for node in self._nodes}

    def find_all(self, *types: type[exp.Expr]) -> list[exp.Expression]:
        if not any(issubclass(kind, types) for kind in self._types):
            return []
        return [node for node in self._nodes if isinstance(node, types)]

    def find(self, *types: type[exp.Expr]) -> exp.Expression | None:
        found = self.find_all(*types)
        return found[0] if found else None
