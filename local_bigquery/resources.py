"""The shapes of request bodies and paging parameters, checked before anything runs.

BigQuery answers a body of the wrong shape (a string where an object belongs, a number for the query text,
`maxResults: -1`) with 400 `invalid` naming the field; so does this server, rather than failing deep inside
with a 500. Only the fields the server reads are checked; any other field is accepted as it is. The
models validate and are then dropped: routes keep working on the JSON as sent.
https://cloud.google.com/bigquery/docs/reference/rest/v2/Job
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

from local_bigquery.errors import InvalidRequest

# Deeper than any BigQuery resource nests (a STRUCT query parameter's type counts a level per field).
MAX_JSON_DEPTH = 64
# maxResults is a uint32 in the API; startIndex a uint64, bounded here by what an offset can be.
MAX_RESULTS = 2**32 - 1
MAX_OFFSET = 2**63 - 1
_DIGITS = re.compile(r"^\d+$")

# An integer as JSON carries it: a number, or a string of digits (int64 fields are strings in JSON).
Count = Annotated[int, Field(ge=0, le=MAX_RESULTS)]


class _Resource(BaseModel):
    model_config = ConfigDict(extra="allow")


class DatasetReference(_Resource):
    projectId: StrictStr | None = None
    datasetId: StrictStr | None = None


class TableReference(DatasetReference):
    tableId: StrictStr | None = None


class ParameterType(_Resource):
    type: StrictStr
    arrayType: ParameterType | None = None
    structTypes: list[StructMember] | None = None


class StructMember(_Resource):
    name: StrictStr | None = None
    type: ParameterType


class ParameterValue(_Resource):
    value: Any = None
    arrayValues: list[ParameterValue] | None = None
    structValues: dict[str, ParameterValue] | None = None


def parameter_as_text(parameter: dict) -> dict:
    """A query parameter with its scalar values as text: QueryParameterValue.value is a string, and a number
    or boolean sent for it is read (and kept in the job) as its JSON text, so that a TIMESTAMP given as epoch
    seconds fails as a TIMESTAMP text would. https://cloud.google.com/bigquery/docs/reference/rest/v2/QueryParameter
    """

    def as_text(value: dict | None) -> dict | None:
        if not isinstance(value, dict):
            return value
        converted = dict(value)
        if isinstance(value.get("value"), bool | int | float):
            converted["value"] = json.dumps(value["value"])
        if isinstance(value.get("arrayValues"), list):
            converted["arrayValues"] = [as_text(element) for element in value["arrayValues"]]
        if isinstance(value.get("structValues"), dict):
            converted["structValues"] = {k: as_text(v) for k, v in value["structValues"].items()}
        return converted

    return {**parameter, "parameterValue": as_text(parameter.get("parameterValue"))}


class QueryParameter(_Resource):
    name: StrictStr | None = None
    parameterType: ParameterType | None = None
    parameterValue: ParameterValue | None = None


class _QueryText(_Resource):
    query: StrictStr | None = None
    useLegacySql: StrictBool | None = None
    queryParameters: list[QueryParameter] | None = None
    parameterMode: StrictStr | None = None
    defaultDataset: DatasetReference | None = None
    labels: dict[str, StrictStr | None] | None = None


class QueryConfiguration(_QueryText):
    destinationTable: TableReference | None = None
    writeDisposition: StrictStr | None = None
    createDisposition: StrictStr | None = None
    timePartitioning: dict[str, Any] | None = None
    clustering: dict[str, Any] | None = None


class LoadConfiguration(_Resource):
    destinationTable: TableReference | None = None
    sourceFormat: StrictStr | None = None
    sourceUris: list[StrictStr] | None = None
    schema_: TableSchema | None = Field(None, alias="schema")
    writeDisposition: StrictStr | None = None
    createDisposition: StrictStr | None = None
    autodetect: StrictBool | None = None
    skipLeadingRows: Count | None = None
    maxBadRecords: Count | None = None


class JobConfiguration(_Resource):
    query: QueryConfiguration | None = None
    load: LoadConfiguration | None = None
    copy_: dict[str, Any] | None = Field(None, alias="copy")
    extract: dict[str, Any] | None = None
    dryRun: StrictBool | None = None
    labels: dict[str, StrictStr | None] | None = None


class JobReference(_Resource):
    projectId: StrictStr | None = None
    jobId: StrictStr | None = None
    location: StrictStr | None = None


class Job(_Resource):
    """jobs.insert"""

    jobReference: JobReference | None = None
    configuration: JobConfiguration | None = None


class DataFormatOptions(_Resource):
    useInt64Timestamp: StrictBool | None = None
    timestampOutputFormat: StrictStr | None = None


# https://cloud.google.com/bigquery/docs/reference/rest/v2/DataFormatOptions: how a TIMESTAMP cell is written.
TIMESTAMP_OUTPUT_FORMATS = ("FLOAT64", "INT64", "ISO8601_STRING")


def timestamp_format(use_int64: bool, output_format: str | None) -> str:
    """formatOptions as the TIMESTAMP format of result cells; both options at once are refused."""
    if output_format in (None, "", "TIMESTAMP_OUTPUT_FORMAT_UNSPECIFIED"):
        return "INT64" if use_int64 else "FLOAT64"
    if use_int64:
        raise InvalidRequest("Cannot specify both use_int64_timestamp and timestamp_output_format.")
    if output_format not in TIMESTAMP_OUTPUT_FORMATS:
        raise InvalidRequest(
            f"Invalid timestamp_output_format {output_format!r}: one of {', '.join(TIMESTAMP_OUTPUT_FORMATS)}."
        )
    return output_format


class QueryRequest(_QueryText):
    """jobs.query"""

    maxResults: Count | None = None
    timeoutMs: Count | None = None
    dryRun: StrictBool | None = None
    requestId: StrictStr | None = None
    formatOptions: DataFormatOptions | None = None


class Dataset(_Resource):
    datasetReference: DatasetReference | None = None
    labels: dict[str, StrictStr | None] | None = None


class SchemaField(_Resource):
    name: StrictStr | None = None
    type: StrictStr | None = None
    mode: StrictStr | None = None
    fields: list[SchemaField] | None = None


class TableSchema(_Resource):
    fields: list[SchemaField] | None = None


class View(_Resource):
    query: StrictStr | None = None
    useLegacySql: StrictBool | None = None


class Table(_Resource):
    tableReference: TableReference | None = None
    schema_: TableSchema | None = Field(None, alias="schema")
    view: View | None = None
    labels: dict[str, StrictStr | None] | None = None


class InsertRow(_Resource):
    # The client sends the row ids it is given, numbers included; BigQuery takes their text.
    insertId: StrictStr | StrictInt | None = None
    json_: dict[str, Any] | None = Field(None, alias="json")


class InsertAllRequest(_Resource):
    rows: list[InsertRow] | None = None
    skipInvalidRows: StrictBool | None = None
    ignoreUnknownValues: StrictBool | None = None


def _too_deep(value: Any) -> bool:
    """Whether the parsed JSON nests deeper than MAX_JSON_DEPTH (walked without recursion)."""
    pending = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_JSON_DEPTH:
                    return True
                pending.append((child, depth + 1))
    return False


def parse_json_object(raw: bytes, what: str = "JSON payload") -> dict:
    """A request body as a JSON object, refusing bad JSON and nesting no resource has."""
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"Invalid {what} received. {error.msg} at line {error.lineno} column {error.colno}."
        ) from None
    except RecursionError:
        body = None
    if body is None or _too_deep(body):
        raise InvalidRequest(f"Invalid {what} received. It nests deeper than {MAX_JSON_DEPTH} levels.")
    if not isinstance(body, dict):
        raise InvalidRequest(f"Invalid {what} received. The body must be a JSON object.")
    return body


def _problem(error: dict) -> str:
    if error["type"] in ("model_type", "dict_type"):
        return "should be a JSON object"
    return error["msg"][0].lower() + error["msg"][1:]


def check(model: type[BaseModel], body: dict) -> dict:
    """`body` unchanged if it has the model's shape; else 400 naming the first wrong field."""
    try:
        model.model_validate(body)
    except ValidationError as invalid:
        error = invalid.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        value = json.dumps(error.get("input"), default=str)[:80]
        raise InvalidRequest(f"Invalid value at '{where}': {_problem(error)} (got {value}).") from None
    return body


def non_negative(name: str, value: Any, maximum: int = MAX_OFFSET) -> int | None:
    """A paging parameter (query string or JSON) as an int in [0, maximum], or None when not given."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _DIGITS.match(text.strip()) or int(text) > maximum:
        raise InvalidRequest(
            f"Invalid value for {name}: {value!r} is not an integer between 0 and {maximum}."
        )
    return int(text)


def page_offset(page_token: str | None, start_index: Any) -> int:
    """Where a page starts: the page token (this server's tokens are row offsets) or startIndex."""
    if page_token:
        if not _DIGITS.match(page_token) or int(page_token) > MAX_OFFSET:
            raise InvalidRequest(f"Invalid page token {page_token!r}: use the pageToken of a previous page.")
        return int(page_token)
    return non_negative("startIndex", start_index) or 0
