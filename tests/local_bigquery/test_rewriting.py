"""Rewrites are skipped only where they have nothing to rewrite."""

from __future__ import annotations

import sqlglot
from sqlglot import exp

from local_bigquery import rewriting, semantics

_SOUGHT = (exp.Sqrt, exp.Ln)


def _doubles_divisors(statement: exp.Expression) -> None:
    for node in list(statement.find_all(exp.Div)):
        node.set("expression", exp.Mul(this=node.expression.copy(), expression=exp.Literal.number(2)))


def _squares_roots(statement: exp.Expression) -> None:
    for node in list(statement.find_all(*_SOUGHT)):
        node.replace(exp.Pow(this=node.copy(), expression=exp.Literal.number(2)))


def _divides_the_first_projection(statement: exp.Expression) -> None:
    first = statement.expressions[0]
    first.replace(exp.Div(this=first.copy(), expression=exp.column("c")))


def test_a_rewrite_that_only_searches_is_known_by_the_types_it_seeks():
    assert rewriting.sought_node_types(_doubles_divisors) == (exp.Div,)
    assert rewriting.sought_node_types(_squares_roots) == _SOUGHT
    assert rewriting.sought_node_types(_divides_the_first_projection) is None


def test_every_built_in_rewrite_that_searches_is_recognised():
    recognised = [r for r in semantics.REWRITES if rewriting.sought_node_types(r)]
    assert len(recognised) > len(semantics.REWRITES) / 2


def test_a_rewrite_runs_on_the_nodes_an_earlier_rewrite_added():
    statement = sqlglot.parse_one("SELECT SQRT(a), b")
    rewrites = [_doubles_divisors, _squares_roots, _divides_the_first_projection, _doubles_divisors]
    rewriting.apply_rewrites(statement, rewrites)
    # The first finds no division; the last doubles the one the third made.
    assert statement.sql() == "SELECT POWER(SQRT(a), 2) / c * 2, b"
    assert isinstance(statement.find(exp.Div).expression, exp.Mul)


def test_a_tree_index_finds_what_find_all_finds_in_the_same_order():
    statement = sqlglot.parse_one("SELECT SQRT(a) / b, (SELECT SQRT(c) FROM t) FROM u WHERE SQRT(d) > 1")
    nodes = rewriting.TreeIndex(statement)
    assert nodes.find_all(exp.Sqrt, exp.Table) == list(statement.find_all(exp.Sqrt, exp.Table))
    assert nodes.find(exp.Column) is statement.find(exp.Column)
    assert nodes.find_all(exp.Div, exp.Ln) == list(statement.find_all(exp.Div, exp.Ln))
    assert nodes.find(exp.Ln) is None
