"""`TO_JSON_STRING` with BigQuery's encodings, from DuckDB's JSON of a value and the value's DuckDB type.

DuckDB's `to_json` writes a TIMESTAMP as `"2024-03-04 05:06:07.5+00"`, BYTES as their text, NUMERIC with its
scale's zeros and NaN unquoted; BigQuery writes `"2024-03-04T05:06:07.500Z"`, base64, `"1.5"` and `"NaN"`.
The server's `bq_to_json_string(json, type)` re-encodes each value as its DuckDB type (from `typeof`) says.

https://cloud.google.com/bigquery/docs/reference/standard-sql/json_functions#json_encodings
"""

from __future__ import annotations

import base64
import decimal
import functools
import json
import math
import re
from dataclasses import dataclass

# INT64 and NUMERIC values outside ±2^53 are strings, as a JSON number would lose digits.
_EXACT_DOUBLE_INTEGERS = 2**53
_DATETIME = re.compile(
    r"^(?P<date>\S+)[ T](?P<time>\d\d:\d\d:\d\d)(\.(?P<fraction>\d+))?(?P<zone>[+-][\d:]+|Z)?$"
)
_TIME = re.compile(r"^(?P<time>\d\d:\d\d:\d\d)(\.(?P<fraction>\d+))?$")
_PUNCTUATION = {"(", ")", ",", "[", "]"}
_TOKEN = re.compile(r'\s*("(?:[^"]|"")*"|\w+|[(),\[\]])')


@dataclass(frozen=True)
class JsonType:
    """A DuckDB type as far as its JSON encoding goes: its name, its element, or its named fields."""

    name: str
    element: JsonType | None = None
    fields: tuple[tuple[str, JsonType], ...] = ()


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    while position < len(text.rstrip()):
        found = _TOKEN.match(text, position)
        if not found:
            raise ValueError(f"cannot read the DuckDB type {text!r}")
        tokens.append(found.group(1).strip())
        position = found.end()
    return tokens


def _identifier(token: str) -> str:
    return token[1:-1].replace('""', '"') if token.startswith('"') else token


class _TypeReader:
    def __init__(self, text: str):
        self.tokens = _tokens(text)
        self.position = 0

    def _take(self) -> str:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _name(self) -> str:
        """A type's name, of one word or several (`TIMESTAMP WITH TIME ZONE`)."""
        words = [self._take()]
        while self._peek() is not None and self._peek() not in _PUNCTUATION:
            words.append(self._take())
        return " ".join(words).upper()

    def read(self) -> JsonType:
        name = self._name()
        fields: list[tuple[str, JsonType]] = []
        if self._peek() == "(":
            self._take()
            while True:
                if name == "STRUCT":
                    field = _identifier(self._take())
                    fields.append((field, self.read()))
                else:
                    self.read()  # DECIMAL(38,9), MAP(k, v): the parameters do not change the encoding
                if self._take() == ")":
                    break
        kind = JsonType(name, fields=tuple(fields))
        while self._peek() == "[":
            self._take()
            if self._take() != "]":
                self._take()
            kind = JsonType("ARRAY", element=kind)
        return kind


@functools.lru_cache(maxsize=256)
def json_type(duckdb_type: str) -> JsonType:
    return _TypeReader(duckdb_type).read()


def _fraction(digits: str | None) -> str:
    """Milliseconds or microseconds, as BigQuery writes sub-second digits: `.500`, `.123456`, or none."""
    micros = (digits or "").ljust(6, "0")[:6]
    if int(micros) == 0:
        return ""
    return f".{micros[:3]}" if micros.endswith("000") else f".{micros}"


def _datetime(text: str, zone: str) -> str:
    found = _DATETIME.match(text)
    if not found:
        return text
    return f"{found['date']}T{found['time']}{_fraction(found['fraction'])}{zone}"


def _time(text: str) -> str:
    found = _TIME.match(text)
    return f"{found['time']}{_fraction(found['fraction'])}" if found else text


def _blob(text: str) -> str:
    """DuckDB's text of a BLOB (`\\x80` escapes for bytes that are not printable ASCII) as base64."""
    data = re.sub(rb"\\x([0-9A-Fa-f]{2})", lambda byte: bytes([int(byte[1], 16)]), text.encode("utf-8"))
    return base64.b64encode(data).decode("ascii")


def _float(value: float) -> str | float | int:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _exact_number(value: decimal.Decimal | int) -> str | int:
    """INT64 and NUMERIC: a JSON number when a whole number within ±2^53, otherwise a string."""
    if value == int(value) and abs(value) <= _EXACT_DOUBLE_INTEGERS:
        return int(value)
    return format(value.normalize(), "f") if isinstance(value, decimal.Decimal) else str(value)


def _encode(value, kind: JsonType):
    if value is None:
        return None
    name = kind.name
    if name == "STRUCT":
        return {field: _encode(value.get(field), field_type) for field, field_type in kind.fields}
    if name == "ARRAY":
        return [_encode(item, kind.element) for item in value]
    if name in ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ"):
        return _datetime(value, "Z")
    if name.startswith("TIMESTAMP"):
        return _datetime(value, "")
    if name == "TIME":
        return _time(value)
    if name == "BLOB":
        return _blob(value)
    if name in ("DOUBLE", "FLOAT"):
        return _float(float(value))
    if name in ("DECIMAL", "BIGINT", "INTEGER", "HUGEINT", "SMALLINT", "TINYINT"):
        return _exact_number(value)
    return value


def to_json_string(duckdb_json: str | None, duckdb_type: str) -> str:
    """BigQuery's `TO_JSON_STRING` of the value DuckDB's `to_json` wrote as `duckdb_json`."""
    if duckdb_json is None:
        return "null"
    value = json.loads(duckdb_json, parse_float=decimal.Decimal, parse_constant=float)
    encoded = _encode(value, json_type(duckdb_type))
    return json.dumps(encoded, separators=(",", ":"), ensure_ascii=False, default=_decimal_number)


def _decimal_number(value):
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _keys(value, prefix: str, depth: int | None) -> set[str]:
    if not isinstance(value, dict) or depth == 0:
        return set()
    keys = set()
    for key, child in value.items():
        name = f"{prefix}{key}" if re.fullmatch(r"\w+", key) else f'{prefix}"{key}"'
        keys |= {name} | _keys(child, f"{name}.", None if depth is None else depth - 1)
    return keys


def json_keys(json_document: str | None, max_depth: int | None) -> list[str] | None:
    """BigQuery's `JSON_KEYS`: the keys of the objects in the document, a nested key as `outer.inner`,
    down to `max_depth` levels (all when NULL), sorted and unique; arrays are not entered."""
    if json_document is None:
        return None
    return sorted(_keys(json.loads(json_document), "", max_depth))


# ---- JSON_SET and JSON_ARRAY_INSERT ------------------------------------------------------------------------

_PATH_STEP = re.compile(r'\.(?:"(?P<quoted>[^"]*)"|(?P<name>[^.\["]+))|\[(?P<index>[0-9]+)\]')


def _path_steps(path: str) -> list[str | int]:
    """A JSONPath (`$.a.b[2]`, `$."a b"`) as object members and array indexes."""
    if not path.startswith("$"):
        raise ValueError(f"Invalid JSONPath: {path!r} does not start with $")
    steps, position = [], 1
    while position < len(path):
        found = _PATH_STEP.match(path, position)
        if not found:
            raise ValueError(f"Invalid JSONPath: {path!r} at position {position}")
        index = found["index"]
        steps.append(int(index) if index is not None else found["quoted"] or found["name"])
        position = found.end()
    return steps


def _container_for(step: str | int, value):
    """The value a step enters, a JSON null (or nothing yet) becoming the container the step needs."""
    if value is None:
        return [] if isinstance(step, int) else {}
    return value


def _set(document, steps: list[str | int], value, create: bool):
    if not steps:
        return value
    step, rest = steps[0], steps[1:]
    if create:
        document = _container_for(step, document)
    if isinstance(step, int) and isinstance(document, list):
        if step < len(document):
            document[step] = _set(document[step], rest, value, create)
        elif create:
            document.extend([None] * (step - len(document)))
            document.append(_set(None, rest, value, create))
    elif isinstance(step, str) and isinstance(document, dict) and (step in document or create):
        document[step] = _set(document.get(step), rest, value, create)
    return document


def json_set(document: str, paths: list[str], values: list[str], create_if_missing: bool) -> str:
    """BigQuery's `JSON_SET`: each value (as JSON text) set at its path in turn. A missing path is created
    (objects for members, arrays padded with nulls for indexes) unless create_if_missing is false; a path
    through a value of another kind (a member of a number) changes nothing."""
    result = json.loads(document)
    for path, value in zip(paths, values, strict=True):
        result = _set(result, _path_steps(path), json.loads(value), create_if_missing)
    return json.dumps(result, separators=(",", ":"), ensure_ascii=False)


def _insert(document, steps: list[str | int], values: list):
    step, rest = steps[0], steps[1:]
    if not rest:
        array = _container_for(step, document)
        if isinstance(array, list):
            array.extend([None] * (step - len(array)))
            array[step:step] = values
        return array
    if _has_child(document, step):
        document[step] = _insert(document[step], rest, values)
    return document


def _has_child(document, step: str | int) -> bool:
    if isinstance(step, int):
        return isinstance(document, list) and step < len(document)
    return isinstance(document, dict) and step in document


def json_array_insert(document: str, paths: list[str], values: list[str], spread: list[bool]) -> str:
    """BigQuery's `JSON_ARRAY_INSERT`: each value inserted into the array its path ends in, before the index
    (an index past the end pads the array with nulls; a JSON null there becomes an array), the elements of
    an ARRAY value one by one where `spread` says so; a path to no array changes nothing."""
    result = json.loads(document)
    for path, value, each in zip(paths, values, spread, strict=True):
        steps = _path_steps(path)
        if not steps or not isinstance(steps[-1], int):
            raise ValueError(f"JSONPath {path!r} of JSON_ARRAY_INSERT must end with an array index")
        inserted = json.loads(value)
        result = _insert(result, steps, inserted if each and isinstance(inserted, list) else [inserted])
    return json.dumps(result, separators=(",", ":"), ensure_ascii=False)
