"""GoogleSQL as sqlglot's BigQuery dialect reads it, plus the BigQuery ML table functions it lacks."""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType


class MLFunction(exp.Expression, exp.Func):
    """`ML.<name>(MODEL m [, TABLE t | (query)] [, STRUCT(...)])` for functions sqlglot does not model."""

    arg_types = {"this": True, "expression": False, "params_struct": False, "kind": True}


def _ml_parser(kind: str):
    """Arguments: MODEL m, then optionally TABLE t or (query), then optionally a STRUCT of settings."""

    def parse(self):
        self._match_text_seq("MODEL")
        model = self._parse_table()
        source = settings = None
        while self._match(TokenType.COMMA):
            if self._match(TokenType.STRUCT, advance=False):
                settings = self._parse_bitwise()
            else:
                self._match_text_seq("TABLE")
                source = self._parse_table()
        return self.expression(MLFunction(this=model, expression=source, params_struct=settings, kind=kind))

    return parse


class Assert(exp.Expression):
    """`ASSERT condition [AS 'message']`: the script fails with the message unless the condition holds."""

    arg_types = {"this": True, "message": False}


class AlterModel(exp.Expression):
    """`ALTER MODEL [IF EXISTS] name SET OPTIONS(...)`, which sqlglot reads only as an opaque command."""

    arg_types = {"this": True, "exists": False, "properties": True}


class LocalBigQuery(BigQuery):
    class Parser(BigQuery.Parser):
        def _parse_statement(self):
            if self._match_text_seq("ALTER", "MODEL"):
                exists = self._parse_exists()
                model = self._parse_table_parts()
                if not self._match_text_seq("SET"):
                    self.raise_error("Expected SET OPTIONS(...) after ALTER MODEL <name>")
                properties = self._parse_properties()
                if properties is None:
                    self.raise_error("Expected OPTIONS(...) after ALTER MODEL <name> SET")
                return self.expression(AlterModel(this=model, exists=exists, properties=properties))
            if self._curr and self._curr.token_type == TokenType.VAR and self._curr.text.upper() == "ASSERT":
                self._advance()
                condition = self._parse_assignment()
                message = self._parse_string() if self._match(TokenType.ALIAS) else None
                return self.expression(Assert(this=condition, message=message))
            return super()._parse_statement()

        FUNCTION_PARSERS = {
            **BigQuery.Parser.FUNCTION_PARSERS,
            **{
                kind: _ml_parser(kind)
                for kind in (
                    "CENTROIDS",
                    "EVALUATE",
                    "TRAINING_INFO",
                    "TRIAL_INFO",
                    "FEATURE_INFO",
                    "WEIGHTS",
                )
            },
        }


def ml_function_kind(node: exp.Expression) -> str | None:
    """The ML function a parsed node calls (PREDICT, CENTROIDS, ...), or None if it is no ML function."""
    if isinstance(node, exp.Predict):
        return "PREDICT"
    if isinstance(node, MLFunction):
        return node.args["kind"]
    return None


def parse(sql: str) -> list[exp.Expression]:
    """Parse a GoogleSQL script into statements; raises sqlglot's ParseError with the position."""
    return [statement for statement in sqlglot.parse(sql, dialect=LocalBigQuery) if statement is not None]


__all__ = ["AlterModel", "Assert", "LocalBigQuery", "MLFunction", "ParseError", "ml_function_kind", "parse"]
