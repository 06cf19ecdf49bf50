"""GoogleSQL as sqlglot's BigQuery dialect reads it, plus the BigQuery ML table functions it lacks."""

from __future__ import annotations

import itertools

import sqlglot
from sqlglot import exp
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from local_bigquery.errors import InvalidQuery
from local_bigquery.types import decimal_value


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


def _decimal_literal(kind: str):
    """`NUMERIC '1.5'` / `BIGNUMERIC '…'`: a literal of the type, whose text must be a value of it exactly
    (`NUMERIC '1.4999999999'` is an error, while CAST of that text rounds).

    https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical#numeric_literals
    """

    def parse(self, literal: exp.Expression, data_type: exp.DataType) -> exp.Cast:
        if isinstance(literal, exp.Literal) and decimal_value(kind, literal.this) is None:
            keyword = self._tokens[self._index - 2]
            where = f"[{keyword.line}:{keyword.col - (keyword.end - keyword.start)}]"
            raise InvalidQuery(f'Invalid {kind} literal: "{literal.this}" at {where}')
        return self.expression(exp.Cast(this=literal, to=data_type))

    return parse


# The meta key marking a CREATE TABLE … CLONE as `CREATE SNAPSHOT TABLE`.
SNAPSHOT = "table_snapshot"


class LocalBigQuery(BigQuery):
    class Parser(BigQuery.Parser):
        TYPE_LITERAL_PARSERS = {
            **BigQuery.Parser.TYPE_LITERAL_PARSERS,
            exp.DType.DECIMAL: _decimal_literal("NUMERIC"),
            exp.DType.BIGDECIMAL: _decimal_literal("BIGNUMERIC"),
        }

        def _parse_statement(self):
            # `CREATE SNAPSHOT TABLE … CLONE t` and `DROP SNAPSHOT TABLE …`, which sqlglot reads only as
            # commands: CREATE TABLE … CLONE / DROP TABLE marked as of a table snapshot.
            if self._match_text_seq("CREATE", "SNAPSHOT"):
                create = self._parse_create()
                create.meta[SNAPSHOT] = True
                return create
            if self._match_text_seq("DROP", "SNAPSHOT"):
                drop = self._parse_drop()
                drop.set("kind", "SNAPSHOT")
                return drop
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

        # A NULL keeps its place in the query, for errors that point at it.
        PRIMARY_PARSERS = {
            **BigQuery.Parser.PRIMARY_PARSERS,
            TokenType.NULL: lambda self, token: self.expression(exp.Null(), token),
        }

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


# GoogleSQL statements this server does not run, by their leading keywords (after CREATE's OR REPLACE and
# TEMP), named as the BigQuery documentation names them: the procedural language
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/procedural-language) and row-level security
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#create_row_access_policy_statement).
_REFUSED_STATEMENTS = {
    ("CREATE", "PROCEDURE"): "CREATE PROCEDURE",
    ("CALL",): "CALL of a stored procedure",
    ("CREATE", "ROW", "ACCESS", "POLICY"): "row access policies",
    ("DROP", "ROW", "ACCESS", "POLICY"): "row access policies",
    ("DROP", "ALL", "ROW", "ACCESS", "POLICIES"): "row access policies",
    ("FOR",): "procedural language FOR … IN loops",
    ("WHILE",): "procedural language WHILE loops",
    ("LOOP",): "procedural language LOOP",
    ("REPEAT",): "procedural language REPEAT loops",
    ("IF",): "procedural language IF statements",
    ("CASE",): "procedural language CASE statements",
    ("EXECUTE", "IMMEDIATE"): "EXECUTE IMMEDIATE",
    ("RAISE",): "procedural language RAISE",
}
_CREATE_MODIFIERS = {"OR", "REPLACE", "TEMP", "TEMPORARY"}
_WORD_TOKENS = {TokenType.STRING, TokenType.IDENTIFIER}


# Table functions taking a `TABLE t` argument, which sqlglot reads only for BigQuery ML's functions.
# https://cloud.google.com/bigquery/docs/reference/standard-sql/range-functions#range_sessionize
_REFUSED_TABLE_FUNCTIONS = {"RANGE_SESSIONIZE": "RANGE values"}


def _statement_words(tokens: list[Token]) -> list[list[str]]:
    """The leading keywords of each statement of a script (a block's inner statements too), CREATE's
    modifiers left out; a COMMAND token (sqlglot's BEGIN, CALL) keeps only its first word."""
    statements: list[list[str]] = [[]]
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            statements.append([])
            continue
        words = statements[-1]
        if len(words) >= 5:
            continue
        if token.token_type in _WORD_TOKENS:
            words.append("")  # a name or a string, never a keyword
        elif not (words[:1] == ["CREATE"] and token.text.upper() in _CREATE_MODIFIERS):
            words.extend(token.text.upper().split()[:1])
    return statements


def refused_statement(sql: str) -> str | None:
    """The feature a script uses that this server refuses by name, in the order the script uses them: a
    script that cannot be parsed is refused for it rather than with a syntax error it does not have."""
    try:
        tokens = LocalBigQuery().tokenize(sql)
    except TokenError:
        return None
    for words in _statement_words(tokens):
        if words[:1] == ["BEGIN"] and words[1:2] not in ([], ["TRANSACTION"]):
            return "procedural language BEGIN … END blocks"
        for keywords, feature in _REFUSED_STATEMENTS.items():
            if tuple(words[: len(keywords)]) == keywords:
                return feature
    return _refused_clause(tokens)


def _refused_clause(tokens: list[Token]) -> str | None:
    """A clause sqlglot reads only in some statements: table functions of a TABLE, time travel outside a
    query's FROM, the OPTIONS of a table clone."""
    keywords = [token.text.upper() if token.token_type not in _WORD_TOKENS else "" for token in tokens]
    for keyword, following in itertools.pairwise(keywords):
        if following == "(" and keyword in _REFUSED_TABLE_FUNCTIONS:
            return _REFUSED_TABLE_FUNCTIONS[keyword]
        if (keyword, following) == ("FOR", "SYSTEM_TIME"):
            return "FOR SYSTEM_TIME AS OF (time travel)"
    if "CLONE" in keywords and "OPTIONS" in keywords[keywords.index("CLONE") :]:
        return "OPTIONS(...) of CREATE TABLE … CLONE"
    return None


def tokenize(sql: str) -> list[Token]:
    """sqlglot's tokens of a GoogleSQL script; raises sqlglot's TokenError where it cannot read on."""
    return LocalBigQuery().tokenize(sql)


def parse(sql: str, tokens: list[Token] | None = None) -> list[exp.Expression]:
    """Parse a GoogleSQL script (or its `tokens` from `tokenize`) into statements; raises sqlglot's
    ParseError with the position."""
    if tokens is None:
        return [statement for statement in sqlglot.parse(sql, dialect=LocalBigQuery) if statement is not None]
    parsed = LocalBigQuery().parser().parse(tokens, sql)
    return [statement for statement in parsed if statement is not None]


__all__ = [
    "AlterModel",
    "Assert",
    "LocalBigQuery",
    "MLFunction",
    "ParseError",
    "ml_function_kind",
    "parse",
    "refused_statement",
]
