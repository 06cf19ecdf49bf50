"""GoogleSQL syntax errors in BigQuery's (ZetaSQL's) words, where sqlglot's failure says what went wrong.

sqlglot parses more than GoogleSQL allows and words its failures its own way ("Expecting )", "Invalid
expression / Unexpected token"). These small transforms name the token BigQuery would stop at, the way its
parser does — `Unexpected identifier "SLECT"`, `Expected "," but got keyword AS`, `Unclosed string
literal` — with its position; anything else keeps sqlglot's description.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable

from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from local_bigquery.dialect import LocalBigQuery
from local_bigquery.errors import InvalidQuery
from local_bigquery.functions import argument_count_error, position

# https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical#reserved_keywords (each checked as
# an alias against ZetaSQL's parser with BigQuery's language options: every one is refused there).
RESERVED_KEYWORDS = frozenset(
    [
        "ALL",
        "AND",
        "ANY",
        "ARRAY",
        "AS",
        "ASC",
        "ASSERT_ROWS_MODIFIED",
        "AT",
        "BETWEEN",
        "BY",
        "CASE",
        "CAST",
        "COLLATE",
        "CONTAINS",
        "CREATE",
        "CROSS",
        "CUBE",
        "CURRENT",
        "DEFAULT",
        "DEFINE",
        "DESC",
        "DISTINCT",
        "ELSE",
        "END",
        "ENUM",
        "ESCAPE",
        "EXCEPT",
        "EXCLUDE",
        "EXISTS",
        "EXTRACT",
        "FALSE",
        "FETCH",
        "FOLLOWING",
        "FOR",
        "FROM",
        "FULL",
        "GROUP",
        "GROUPING",
        "GROUPS",
        "HASH",
        "HAVING",
        "IF",
        "IGNORE",
        "IN",
        "INNER",
        "INTERSECT",
        "INTERVAL",
        "INTO",
        "IS",
        "JOIN",
        "LATERAL",
        "LEFT",
        "LIKE",
        "LIMIT",
        "LOOKUP",
        "MERGE",
        "NATURAL",
        "NEW",
        "NO",
        "NOT",
        "NULL",
        "NULLS",
        "OF",
        "ON",
        "OR",
        "ORDER",
        "OUTER",
        "OVER",
        "PARTITION",
        "PRECEDING",
        "PROTO",
        "QUALIFY",
        "RANGE",
        "RECURSIVE",
        "RESPECT",
        "RIGHT",
        "ROLLUP",
        "ROWS",
        "SELECT",
        "SET",
        "SOME",
        "STRUCT",
        "TABLESAMPLE",
        "THEN",
        "TO",
        "TREAT",
        "TRUE",
        "UNBOUNDED",
        "UNION",
        "UNNEST",
        "USING",
        "WHEN",
        "WHERE",
        "WINDOW",
        "WITH",
        "WITHIN",
    ]
)
# Reserved keywords followed by a parenthesis that is no parenthesised expression: `CAST(`, `OVER (`, …
_CALLED_KEYWORDS = frozenset(
    {"ARRAY", "CAST", "EXISTS", "EXTRACT", "IF", "OVER", "RANGE", "STRUCT", "UNNEST"}
)
# Words sqlglot reads as plain identifiers that begin GoogleSQL statements.
_STATEMENT_WORDS = frozenset(
    [
        "ASSERT",
        "BREAK",
        "CALL",
        "CONTINUE",
        "EXECUTE",
        "EXPORT",
        "GRANT",
        "ITERATE",
        "LEAVE",
        "LOAD",
        "LOOP",
        "RAISE",
        "REPEAT",
        "RETURN",
        "REVOKE",
        "UNDROP",
        "WHILE",
    ]
)
_LITERAL_START = re.compile(r"(?P<prefix>[rRbB]{0,2})(?P<quote>'''|\"\"\"|'|\"|`)|/\*")
_LITERAL_PREFIX = re.compile(r"[rRbB]{1,2}")
_SKIPPED = re.compile(r"(?:\s+|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$)|/\*.*?\*/)*", re.DOTALL)


def _position(sql: str, offset: int) -> str:
    line = sql.count("\n", 0, offset) + 1
    column = offset - sql.rfind("\n", 0, offset)
    return f" at [{line}:{column}]"


def _token_text(sql: str, token: Token) -> str:
    """A token as ZetaSQL names it in an error: `identifier "x"`, `keyword AS`, `end of statement`, …"""
    written = sql[token.start : token.end + 1]
    if token.token_type == TokenType.VAR:
        return f'identifier "{token.text}"'
    if token.token_type == TokenType.NUMBER:
        kind = "floating point" if any(mark in written.lower() for mark in ".e") else "integer"
        return f'{kind} literal "{written}"'
    if token.token_type in (TokenType.STRING, TokenType.RAW_STRING):
        return f"string literal {written}"
    if token.token_type in (TokenType.BYTE_STRING,):
        return f"bytes literal {written}"
    if written[:1].isalpha():
        return f"keyword {written.upper()}"
    return f'"{written}"'


def _unclosed_literal(sql: str, tokens: list[Token]) -> str | None:
    """`'abc` → Unclosed string literal at the quote; likewise bytes, raw, triple-quoted, `identifiers`
    and /* comments. `tokens` are those read before the tokenizer failed."""
    offset = _SKIPPED.match(sql, tokens[-1].end + 1 if tokens else 0).end()
    if tokens and _LITERAL_PREFIX.fullmatch(tokens[-1].text) and sql[offset : offset + 1] in ("'", '"'):
        offset = tokens[-1].start  # rb'… : sqlglot read the prefix as a name
    found = _LITERAL_START.match(sql, offset)
    if not found:
        return None
    if found.group() == "/*":
        kind = "comment"
    elif found["quote"] == "`":
        kind = "identifier literal"
    else:
        prefix = found["prefix"].lower()
        raw = "raw " if "r" in prefix else ""
        base = "bytes literal" if "b" in prefix else "string literal"
        kind = f"triple-quoted {raw}{base}" if len(found["quote"]) == 3 else f"{raw}{base}"
    return f"Unclosed {kind}{_position(sql, offset)}"


def _error_token(tokens: list[Token], error: dict) -> int | None:
    """The index of the token sqlglot's error points at (it reports the token's last column)."""
    return next(
        (
            i
            for i, token in enumerate(tokens)
            if (token.line, token.col) == (error.get("line"), error.get("col"))
        ),
        None,
    )


def _statement_bounds(tokens: list[Token], index: int) -> tuple[int, int]:
    start = next((i + 1 for i in range(index, -1, -1) if tokens[i].token_type == TokenType.SEMICOLON), 0)
    end = next(
        (i for i in range(index, len(tokens)) if tokens[i].token_type == TokenType.SEMICOLON), len(tokens)
    )
    return start, end


def _end_of_statement(sql: str, tokens: list[Token], end: int) -> str:
    if end < len(tokens):
        return f'"{tokens[end].text}"{_position(sql, tokens[end].start)}'
    return f"end of statement{_position(sql, tokens[end - 1].end + 1)}"


def unknown_statement(sql: str, tokens: list[Token], index: int, description: str) -> str | None:
    """`SLECT 1` → Unexpected identifier "SLECT": a statement must begin with a keyword."""
    start, _ = _statement_bounds(tokens, index)
    first = tokens[start]
    if first.token_type != TokenType.VAR or first.text.upper() in _STATEMENT_WORDS:
        return None
    return f"Unexpected {_token_text(sql, first)}{_position(sql, first.start)}"


def unclosed_parenthesis(sql: str, tokens: list[Token], index: int, description: str) -> str | None:
    """`(1 + 2 AS x` → Expected "," but got keyword AS: what ZetaSQL expects after the open parenthesis."""
    if description != "Expecting )":
        return None
    start, end = _statement_bounds(tokens, index)
    opened: list[int] = []
    for i in range(start, end):
        if tokens[i].token_type == TokenType.L_PAREN:
            opened.append(i)
        elif tokens[i].token_type == TokenType.R_PAREN and opened:
            opened.pop()
    if not opened:
        return None
    paren = opened[-1]
    before = tokens[paren - 1] if paren > start else None
    called = before is not None and (
        before.token_type == TokenType.VAR
        or before.text.upper() in _CALLED_KEYWORDS
        or (before.text.upper() not in RESERVED_KEYWORDS and before.text[:1].isalpha())
    )
    after = tokens[paren + 1] if paren + 1 < end else None
    subquery = after is not None and after.token_type in (TokenType.SELECT, TokenType.WITH)
    if called or subquery:
        got = _end_of_statement(sql, tokens, end)
        return f'Expected ")" but got {got}'
    depth, commas, stop = 0, 0, None
    for i in range(paren + 1, end):
        kind = tokens[i].token_type
        depth += kind == TokenType.L_PAREN
        depth -= kind == TokenType.R_PAREN
        if depth == 0 and kind == TokenType.COMMA:
            commas += 1
        if depth == 0 and kind == TokenType.ALIAS:
            stop = i
            break
    expected = '")" or ","' if commas else '","'
    if stop is None:
        return f"Expected {expected} but got {_end_of_statement(sql, tokens, end)}"
    return f"Expected {expected} but got {_token_text(sql, tokens[stop])}{_position(sql, tokens[stop].start)}"


def early_end_of_statement(sql: str, tokens: list[Token], index: int, description: str) -> str | None:
    """`SELECT 1 FROM`, `WHERE` or `1 +` with nothing after: Unexpected end of statement."""
    _, end = _statement_bounds(tokens, index)
    if index != end - 1 or not description.startswith(("Required keyword", "Expected table name but got")):
        return None
    return f"Unexpected {_end_of_statement(sql, tokens, end)}"


def unexpected_token(sql: str, tokens: list[Token], index: int, description: str) -> str | None:
    """sqlglot's "Invalid expression / Unexpected token" or "Expected table name but got <token>" names the
    token: `Unexpected keyword SELECT`."""
    if description != "Invalid expression / Unexpected token" and not description.startswith(
        "Expected table name but got"
    ):
        return None
    token = tokens[index]
    return f"Unexpected {_token_text(sql, token)}{_position(sql, token.start)}"


_PARSE_ERRORS: tuple[Callable[[str, list[Token], int, str], str | None], ...] = (
    unknown_statement,
    unclosed_parenthesis,
    early_end_of_statement,
    unexpected_token,
)


def tokens(sql: str) -> list[Token]:
    """sqlglot's tokens of the query, as far as it can read them."""
    tokenizer = LocalBigQuery().tokenizer_class(dialect=LocalBigQuery())
    with contextlib.suppress(TokenError):
        tokenizer.tokenize(sql)
    return tokenizer.tokens


def syntax_error(sql: str, error: ParseError | TokenError, read: list[Token] | None = None) -> InvalidQuery:
    """The InvalidQuery BigQuery answers a query sqlglot could not parse with; `read` are its tokens, if
    already read."""
    read = read or tokens(sql)
    if isinstance(error, TokenError):
        unclosed = _unclosed_literal(sql, read)
        return InvalidQuery(f"Syntax error: {unclosed or f'{error} (an unclosed string, quote or comment?)'}")
    wrong_count = argument_count_error(sql, read)
    if wrong_count:  # sqlglot fails on some, e.g. CONCAT()
        return InvalidQuery(wrong_count)
    first = error.errors[0] if error.errors else {}
    description = first.get("description", str(error)).splitlines()[0]
    index = _error_token(read, first)
    if index is not None:
        for transform in _PARSE_ERRORS:
            message = transform(sql, read, index, description)
            if message:
                return InvalidQuery(f"Syntax error: {message}")
    where = f" at [{first.get('line')}:{first.get('col')}]" if first else ""
    return InvalidQuery(f"Syntax error: {description}{where}")


def refuse_reserved_aliases(statements: list[exp.Expression]) -> None:
    """`SELECT 1 AS by`: a reserved keyword names nothing unless it is quoted (`by`); sqlglot accepts it."""
    for statement in statements:
        for identifier in statement.find_all(exp.Identifier):
            if identifier.quoted or identifier.name.upper() not in RESERVED_KEYWORDS:
                continue
            if identifier.arg_key == "alias" or isinstance(identifier.parent, exp.TableAlias):
                where = position(identifier)
                raise InvalidQuery(f"Syntax error: Unexpected keyword {identifier.name.upper()}{where}")
