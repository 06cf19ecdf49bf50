"""Load jobs: a CSV, newline-delimited JSON or Parquet file into a table, all rows or none.

DuckDB's own readers parse the file inside the job's transaction (`read_csv` with the schema's column types,
`read_json` newline-delimited, `read_parquet`), so a load that fails leaves the table as it was. Semantics
follow BigQuery's JobConfigurationLoad:

- the schema comes from the job, else from the destination table when appending to it, else from the file
  (`autodetect`, or Parquet, which describes itself); CSV columns map by position, JSON and Parquet by name;
- writeDisposition WRITE_APPEND (the default for loads), WRITE_TRUNCATE or WRITE_EMPTY; createDisposition;
- a bad row fails the job with an error naming its line (CSV, JSON) or row (Parquet) and the field, unless
  `maxBadRecords` allows skipping it (CSV and JSON only, as in BigQuery); skipped rows are reported in the
  job's `status.errors`;
- CSV options skipLeadingRows, fieldDelimiter, quote, allowJaggedRows, nullMarker(s), encoding; gzip files.
"""

from __future__ import annotations

import gzip
import json
import re
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from local_bigquery import picoseconds
from local_bigquery.catalog import LOCATION, Catalog, first_row, run_sql
from local_bigquery.engine import bigquery_error
from local_bigquery.errors import BigQueryError, Duplicate, InvalidRequest, NotFound, Unsupported
from local_bigquery.translate import TableRef, validate_ids
from local_bigquery.types import (
    BIGNUMERIC_SCALE,
    column_definitions,
    decimal_value,
    decode_json_value,
    duckdb_type_for_field,
    quote_identifier,
    schema_for_relation,
)

CSV, JSON, PARQUET = "CSV", "NEWLINE_DELIMITED_JSON", "PARQUET"
_PARTITION_DECORATOR = re.compile(r"^(?P<table>[^$]+)\$(?P<partition>\d{8})$")
_LISTED_ERRORS = 20
_GZIP_MAGIC = b"\x1f\x8b"
_DUCKDB_JSON_LINE = re.compile(r"\bline (\d+)")
_CONVERTING_COLUMN = re.compile(r'^Error when converting column "[^"]*"\. ')
_ENCODINGS = {"UTF-8": "utf-8", "UTF8": "utf-8", "ISO-8859-1": "latin-1", "LATIN1": "latin-1"}
_REFUSED_OPTIONS = ("schemaUpdateOptions", "hivePartitioningOptions", "projectionFields")
_TABLE_PROPERTIES = ("timePartitioning", "rangePartitioning", "clustering")
# A decimal text DuckDB's DECIMAL(38, 18) for BIGNUMERIC cannot hold exactly: more than 20 digits before the
# point, or a digit other than 0 after the 18th behind it.
_BEYOND_DUCKDB_BIGNUMERIC = (
    rf"^[+-]?0*[1-9][0-9]{{{38 - BIGNUMERIC_SCALE},}}(\.|$)|\.[0-9]{{{BIGNUMERIC_SCALE}}}[0-9]*[1-9]"
)


class TooManyBadRecords(InvalidRequest):
    """A load whose bad rows exceed maxBadRecords; each bad row is one entry of the job's `errors`."""

    def __init__(self, source_format: str, rows: int, record_errors: list[dict]):
        kind = {CSV: "CSV", JSON: "JSON", PARQUET: "Parquet"}[source_format]
        listed = record_errors[:_LISTED_ERRORS]
        more = len(record_errors) - len(listed)
        super().__init__(
            f"Error while reading data, error message: {kind} table encountered too many errors, giving up. "
            f"Rows: {rows}; errors: {len(record_errors)}. Please look into the errors[] collection for more "
            "details." + (f" ({more} more errors not listed.)" if more else "")
        )
        self.record_errors = listed

    def error_protos(self) -> list[dict]:
        return [self.error_proto(), *self.record_errors]


def record_error(where: str, message: str) -> dict:
    return {
        "reason": "invalid",
        "location": where,
        "message": f"Error while reading data, error message: {message}",
    }


# ---- configuration ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvOptions:
    delimiter: str = ","
    quote: str = '"'
    skip_leading_rows: int | None = None
    allow_jagged_rows: bool = False
    null_markers: tuple[str, ...] = ("",)
    encoding: str = "utf-8"

    @classmethod
    def parse(cls, config: dict) -> CsvOptions:
        delimiter = config.get("fieldDelimiter", ",")
        delimiter = "\t" if delimiter in ("tab", "\\t") else delimiter
        encoding = str(config.get("encoding") or "UTF-8").upper()
        if encoding not in _ENCODINGS:
            raise Unsupported(f"load encoding {encoding} (use UTF-8 or ISO-8859-1)")
        markers = config.get("nullMarkers") or [config.get("nullMarker", "")]
        skip = config.get("skipLeadingRows")
        return cls(
            delimiter=delimiter,
            quote=config.get("quote", '"'),
            skip_leading_rows=None if skip is None else int(skip),
            allow_jagged_rows=bool(config.get("allowJaggedRows")),
            null_markers=tuple(markers),
            encoding=_ENCODINGS[encoding],
        )


@dataclass(frozen=True)
class LoadOptions:
    """A JobConfigurationLoad, checked."""

    destination: TableRef
    source_format: str
    schema: list[dict] | None
    autodetect: bool
    write_disposition: str
    create_disposition: str
    max_bad_records: int
    ignore_unknown_values: bool
    csv: CsvOptions
    table_properties: dict = field(default_factory=dict)
    # `table$YYYYMMDD`: the load writes only that day's partition.
    partition: str | None = None

    @classmethod
    def parse(cls, config: dict, default_project: str) -> LoadOptions:
        refused = [name for name in _REFUSED_OPTIONS if config.get(name)]
        if refused:
            raise Unsupported(f"load option {refused[0]}")
        table = config.get("destinationTable") or {}
        if not table.get("datasetId") or not table.get("tableId"):
            raise InvalidRequest("Required parameter is missing: load.destinationTable")
        decorated = _PARTITION_DECORATOR.match(table["tableId"])
        table_id, partition = (
            (decorated["table"], decorated["partition"]) if decorated else (table["tableId"], None)
        )
        destination = TableRef(table.get("projectId") or default_project, table["datasetId"], table_id)
        validate_ids(destination.project, destination.dataset, destination.table)
        source_format = str(config.get("sourceFormat") or CSV).upper()
        if source_format not in (CSV, JSON, PARQUET):
            raise Unsupported(f"sourceFormat {source_format} (use CSV, NEWLINE_DELIMITED_JSON or PARQUET)")
        fields = (config.get("schema") or {}).get("fields") or None
        if fields:
            column_definitions(fields)  # rejects unknown types before any data is read
        write = config.get("writeDisposition") or "WRITE_APPEND"
        if write not in ("WRITE_APPEND", "WRITE_TRUNCATE", "WRITE_EMPTY"):
            raise InvalidRequest(f"Invalid writeDisposition {write}.")
        create = config.get("createDisposition") or "CREATE_IF_NEEDED"
        if create not in ("CREATE_IF_NEEDED", "CREATE_NEVER"):
            raise InvalidRequest(f"Invalid createDisposition {create}.")
        properties = {key: config[key] for key in _TABLE_PROPERTIES if key in config}
        properties |= config.get("destinationTableProperties") or {}
        return cls(
            destination=destination,
            source_format=source_format,
            schema=fields,
            autodetect=bool(config.get("autodetect")),
            write_disposition=write,
            create_disposition=create,
            max_bad_records=int(config.get("maxBadRecords") or 0),
            ignore_unknown_values=bool(config.get("ignoreUnknownValues")),
            csv=CsvOptions.parse(config),
            table_properties=properties,
            partition=partition,
        )


# ---- SQL helpers -----------------------------------------------------------------------------------------


def _literal(value: Any) -> str:
    """A DuckDB literal for a reader option: strings, numbers, booleans, lists and column maps."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no DuckDB literal for {value!r}")


def _table_function(name: str, path: Path, options: dict) -> str:
    arguments = "".join(f", {key} = {_literal(value)}" for key, value in options.items())
    return f"{name}({_literal(str(path))}{arguments})"


def _column_types(fields: list[dict]) -> dict[str, str]:
    # TIMESTAMP(12) is read as text, every digit of it; the projection parses it (see `_converted`).
    return {
        f["name"]: "VARCHAR" if picoseconds.is_picosecond_field(f) else duckdb_type_for_field(f)
        for f in fields
    }


def _converted(value: str, field_schema: dict) -> str:
    """A column of the file in the type of its field."""
    if picoseconds.is_picosecond_field(field_schema):
        text = f"CAST({value} AS VARCHAR)"
        invalid = f"error('Invalid timestamp: ''' || {text} || '''')"
        return (
            f"COALESCE({picoseconds.PARSE_FUNCTION}({text}), CASE WHEN {text} IS NOT NULL THEN {invalid} END)"
        )
    return f"CAST({value} AS {duckdb_type_for_field(field_schema)})"


def _bigquery_type(field_schema: dict) -> str:
    kind = field_schema["type"]
    return f"ARRAY<{kind}>" if field_schema.get("mode") == "REPEATED" else kind


def _compression(path: Path) -> str:
    with path.open("rb") as head:
        return "gzip" if head.read(2) == _GZIP_MAGIC else "none"


# ---- readers: one per source format ----------------------------------------------------------------------


class Reader:
    """How one source format becomes a DuckDB relation, and how its bad rows are found."""

    skips_bad_rows_by_copy = False

    def __init__(self, options: LoadOptions, path: Path):
        self.options = options
        self.path = path

    def source_sql(self, fields: list[dict] | None) -> str:
        """The table function reading the file: typed by `fields`, or detected from the file when None."""
        raise NotImplementedError

    def rejected(self, con: duckdb.DuckDBPyConnection, fields: list[dict]) -> list[dict]:
        """Rows the last read skipped, as job errors (readers that skip rows instead of failing)."""
        return []

    def check(self, con: duckdb.DuckDBPyConnection, fields: list[dict]) -> None:
        """Problems the reader itself does not fail on; raise a duckdb.Error to have them diagnosed. A
        BIGNUMERIC value DuckDB cannot hold is refused by name before the conversion fails or rounds it."""
        bignumerics = [f["name"] for f in fields if f["type"] == "BIGNUMERIC" and f.get("mode") != "REPEATED"]
        if not bignumerics:
            return
        as_text = [{**f, "type": "STRING"} if f["name"] in bignumerics else f for f in fields]
        source = self.source_sql(as_text)
        present = {name.casefold(): name for name in con.sql(f"SELECT * FROM {source}").columns}
        for name in bignumerics:
            if column := present.get(name.casefold()):
                text = f"trim(CAST({quote_identifier(column)} AS VARCHAR))"
                held = f"regexp_matches({text}, {_literal(_BEYOND_DUCKDB_BIGNUMERIC)})"
                beyond = first_row(con, f"SELECT {text} FROM {source} WHERE {held} LIMIT 1")
                if beyond:
                    decimal_value("BIGNUMERIC", beyond[0])  # refuses it if BigQuery holds it

    def diagnose(
        self, con: duckdb.DuckDBPyConnection, fields: list[dict] | None, failure: duckdb.Error
    ) -> list[dict]:
        """The bad rows behind a failed read, as job errors; empty if none can be pinned down."""
        return []

    def without(self, record_errors: list[dict]) -> None:
        """Read a copy of the file without the given bad rows from now on (if `skips_bad_rows_by_copy`)."""
        raise NotImplementedError

    def row_count(self, con: duckdb.DuckDBPyConnection) -> int:
        return first_row(con, f"SELECT count(*) FROM {self.source_sql(None)}")[0]

    def read_error(self, failure: duckdb.Error) -> BigQueryError:
        """A failed read that no bad row explains (an unreadable file, a wrong dialect or schema)."""
        return InvalidRequest(f"Error while reading data, error message: {bigquery_error(failure).message}")

    def close(self) -> None:
        """Remove anything the reader created."""


class CsvReader(Reader):
    """`read_csv`: positional columns; bad rows go to a rejects table rather than failing the scan."""

    def __init__(self, options: LoadOptions, path: Path):
        super().__init__(options, path)
        suffix = uuid.uuid4().hex
        self.rejects_table = f"_load_rejects_{suffix}"
        self.rejects_scan = f"_load_scans_{suffix}"

    def source_sql(self, fields: list[dict] | None) -> str:
        csv = self.options.csv
        sniff_header = self.options.autodetect and csv.skip_leading_rows is None
        options: dict[str, Any] = {
            "delim": csv.delimiter,
            "quote": csv.quote,
            "escape": csv.quote,
            "nullstr": list(csv.null_markers),
            "allow_quoted_nulls": False,
            "null_padding": csv.allow_jagged_rows,
            "encoding": csv.encoding,
            "compression": _compression(self.path),
            "auto_detect": fields is None or sniff_header,
            "store_rejects": True,
            "rejects_table": self.rejects_table,
            "rejects_scan": self.rejects_scan,
        }
        options |= self._header_options()
        if fields is None:
            options["sample_size"] = -1
        else:
            nested = [
                f["name"] for f in fields if f.get("mode") == "REPEATED" or f["type"] in ("RECORD", "STRUCT")
            ]
            if nested:
                raise InvalidRequest(f"CSV cannot hold field {nested[0]}: it is RECORD or REPEATED.")
            options["columns"] = _column_types(fields)
        return _table_function("read_csv", self.path, options)

    def _header_options(self) -> dict:
        # BigQuery: with autodetect, row N of skipLeadingRows=N is the header; without, rows are just skipped.
        skip = self.options.csv.skip_leading_rows
        if skip is None:
            return {} if self.options.autodetect else {"header": False}
        if self.options.autodetect and skip > 0:
            return {"header": True, "skip": skip - 1}
        return {"header": False, "skip": skip}

    def read_error(self, failure: duckdb.Error) -> BigQueryError:
        # The sniffer lists every fix it can think of; keep the verdict and the hint about this file.
        lines = bigquery_error(failure).message.splitlines()
        kept = [lines[0], *(line.lstrip("* ") for line in lines if "does not match" in line)]
        return InvalidRequest(f"Error while reading data, error message: {' '.join(kept)}")

    def rejected(self, con: duckdb.DuckDBPyConnection, fields: list[dict]) -> list[dict]:
        rows = run_sql(
            con,
            f"SELECT line, column_name, error_type, csv_line, error_message FROM {self.rejects_table} "
            "ORDER BY line, column_idx",
        )
        run_sql(con, f"DROP TABLE {self.rejects_table}")
        run_sql(con, f"DROP TABLE {self.rejects_scan}")
        types = {f["name"]: _bigquery_type(f) for f in fields}
        errors: dict[int, dict] = {}
        for line, column, error_type, csv_line, message in rows:
            named = column in types and not error_type.endswith("COLUMNS")
            where = f"line {line}" + (f", field {column} ({types[column]})" if named else "")
            problem = _CONVERTING_COLUMN.sub("", message.strip()) if error_type == "CAST" else message.strip()
            text = f"{where}: {problem} Row: {csv_line.rstrip()!r}"
            errors.setdefault(line, record_error(f"line {line}", text))
        return list(errors.values())


class JsonReader(Reader):
    """`read_json` newline-delimited, by field name; a failed read is diagnosed line by line."""

    skips_bad_rows_by_copy = True

    def __init__(self, options: LoadOptions, path: Path):
        super().__init__(options, path)
        self.compression = _compression(path)
        self._filtered: Path | None = None

    def source_sql(self, fields: list[dict] | None) -> str:
        options: dict[str, Any] = {
            "format": "newline_delimited",
            "records": True,
            "compression": self.compression,
        }
        if fields is None:
            options |= {"auto_detect": True, "sample_size": -1, "map_inference_threshold": -1}
        else:
            options |= {"auto_detect": False, "columns": _column_types(fields)}
        return _table_function("read_json", self.path, options)

    def check(self, con: duckdb.DuckDBPyConnection, fields: list[dict]) -> None:
        super().check(con, fields)
        if self.options.ignore_unknown_values:
            return
        known = _literal([f["name"] for f in fields])
        objects = _table_function(
            "read_json_objects", self.path, {"format": "newline_delimited", "compression": self.compression}
        )
        unknown = first_row(
            con,
            f"SELECT count(*) FROM {objects} "
            f"WHERE len(list_filter(json_keys(json), lambda k: NOT list_contains({known}, k))) > 0",
        )[0]
        if unknown:
            raise duckdb.InvalidInputException(f"{unknown} rows have fields that are not in the schema")

    def diagnose(
        self, con: duckdb.DuckDBPyConnection, fields: list[dict] | None, failure: duckdb.Error
    ) -> list[dict]:
        errors = []
        for number, line in self._lines():
            problem = self._line_problem(line, fields)
            if problem:
                errors.append(record_error(f"line {number}", f"line {number}: {problem}"))
        if not errors and (match := _DUCKDB_JSON_LINE.search(str(failure))):
            number = int(match[1])
            errors.append(record_error(f"line {number}", f"line {number}: {bigquery_error(failure).message}"))
        return errors

    def _lines(self):
        opener = gzip.open if self.compression == "gzip" else open
        with opener(self.path, "rt", encoding="utf-8", errors="replace") as lines:
            for number, line in enumerate(lines, start=1):
                if line.strip():
                    yield number, line

    def _line_problem(self, line: str, fields: list[dict] | None) -> str | None:
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            return f"malformed JSON: {error.msg} at column {error.colno}"
        if not isinstance(row, dict):
            return "a row must be a JSON object"
        if fields is None:
            return None
        names = {f["name"] for f in fields}
        unknown = sorted(set(row) - names)
        if unknown and not self.options.ignore_unknown_values:
            return f"no such field: {unknown[0]}"
        for field_schema in fields:
            value = row.get(field_schema["name"])
            if value is None and field_schema.get("mode") == "REQUIRED":
                return f"field {field_schema['name']} is REQUIRED but missing or null"
            try:
                decode_json_value(field_schema, value, field_schema["name"])
            except BigQueryError:
                return (
                    f"field {field_schema['name']} ({_bigquery_type(field_schema)}): invalid value {value!r}"
                )
        return None

    def without(self, record_errors: list[dict]) -> None:
        bad = {int(e["location"].split()[-1]) for e in record_errors}
        # Next to the source: the only directory the warehouse may read files from.
        with tempfile.NamedTemporaryFile(
            "w", suffix=".json", dir=self.path.parent, delete=False, encoding="utf-8"
        ) as kept:
            for number, line in self._lines():
                if number not in bad:
                    kept.write(line if line.endswith("\n") else line + "\n")
        self._filtered = self.path = Path(kept.name)
        self.compression = "none"

    def row_count(self, con: duckdb.DuckDBPyConnection) -> int:
        return sum(1 for _ in self._lines())

    def close(self) -> None:
        if self._filtered:
            self._filtered.unlink(missing_ok=True)


class ParquetReader(Reader):
    """`read_parquet`, by column name; a failed conversion is traced to its row with TRY_CAST."""

    def source_sql(self, fields: list[dict] | None, row_numbers: bool = False) -> str:
        return _table_function("read_parquet", self.path, {"file_row_number": True} if row_numbers else {})

    def diagnose(
        self, con: duckdb.DuckDBPyConnection, fields: list[dict] | None, failure: duckdb.Error
    ) -> list[dict]:
        if fields is None:
            return []
        source = self.source_sql(fields, row_numbers=True)
        present = {name.casefold(): name for name in con.sql(f"SELECT * FROM {source}").columns}
        errors = []
        for field_schema in fields:
            column = present.get(field_schema["name"].casefold())
            if column is None:
                continue
            quoted = quote_identifier(column)
            bad = first_row(
                con,
                f"SELECT file_row_number + 1, CAST({quoted} AS VARCHAR) FROM {source} "
                f"WHERE {quoted} IS NOT NULL AND TRY_CAST({quoted} AS {duckdb_type_for_field(field_schema)}) IS NULL "
                "ORDER BY file_row_number LIMIT 1",
            )
            if bad:
                row, value = bad
                errors.append(
                    record_error(
                        f"row {row}",
                        f"row {row}, field {field_schema['name']}: cannot convert {value!r} to "
                        f"{_bigquery_type(field_schema)}",
                    )
                )
        return errors


_READERS: dict[str, type[Reader]] = {CSV: CsvReader, JSON: JsonReader, PARQUET: ParquetReader}


# ---- the load --------------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    output_rows: int
    input_bytes: int
    record_errors: list[dict]

    def statistics(self) -> dict:
        return {
            "inputFiles": "1",
            "inputFileBytes": str(self.input_bytes),
            "outputRows": str(self.output_rows),
            "outputBytes": "0",
            "badRecords": str(len(self.record_errors)),
        }


class Load:
    """One load job on the warehouse connection; the caller holds the warehouse lock."""

    def __init__(self, con: duckdb.DuckDBPyConnection, catalog: Catalog, options: LoadOptions, path: Path):
        self.con = con
        self.catalog = catalog
        self.options = options
        self.reader = _READERS[options.source_format](options, path)
        self.input_bytes = path.stat().st_size

    def run(self, dry_run: bool = False) -> LoadResult:
        try:
            try:
                return self._in_transaction(dry_run)
            except duckdb.Error as failure:
                return self._recover(failure, dry_run)
        finally:
            self.reader.close()

    def _recover(self, failure: duckdb.Error, dry_run: bool) -> LoadResult:
        """Name the rows behind a failed read; load without them if maxBadRecords allows."""
        self.con.begin()
        try:
            fields = self._fields(self.catalog.table_kind(self.options.destination) is not None)
            skipped = self.reader.diagnose(self.con, fields, failure)
            rows = self.reader.row_count(self.con) if skipped else 0
        finally:
            self.con.rollback()
        if not skipped:
            raise self.reader.read_error(failure) from None
        if len(skipped) > self.options.max_bad_records or not self.reader.skips_bad_rows_by_copy:
            raise TooManyBadRecords(self.options.source_format, rows, skipped)
        self.reader.without(skipped)
        try:
            result = self._in_transaction(dry_run)
        except duckdb.Error as error:
            raise self.reader.read_error(error) from None
        result.record_errors = skipped + result.record_errors
        return result

    def _in_transaction(self, dry_run: bool) -> LoadResult:
        self.con.begin()
        try:
            result = self._load()
        except BaseException:
            self.con.rollback()
            raise
        if dry_run:
            self.con.rollback()
        else:
            self.con.commit()
        return result

    def _load(self) -> LoadResult:
        ref = self.options.destination
        self.catalog.require_dataset(ref.project, ref.dataset)
        kind = self.catalog.table_kind(ref)
        if kind == "VIEW":
            raise InvalidRequest(f"Cannot load data into view {ref}.")
        exists = kind is not None
        if self.options.partition:
            return self._load_partition(exists)
        self._check_dispositions(exists)
        fields = self._fields(exists)
        source = self.reader.source_sql(fields)
        relation = self.con.sql(f"SELECT * FROM {source}")
        if fields is None:
            fields = schema_for_relation(relation.columns, relation.types)["fields"]
        self.reader.check(self.con, fields)
        select = self._projection(source, relation.columns, fields)
        # A table created without a schema takes the load's schema, as a new table does.
        appending = exists and self.options.write_disposition != "WRITE_TRUNCATE"
        if appending and self.catalog.column_names(ref):
            rows = run_sql(self.con, f"INSERT INTO {ref.duckdb_name} BY NAME {select}")[0][0]
            self.catalog.touch_table(ref)
        else:
            previous = self.catalog.get_table(ref) if exists else {}
            run_sql(self.con, f"CREATE OR REPLACE TABLE {ref.duckdb_name} ({column_definitions(fields)})")
            rows = run_sql(self.con, f"INSERT INTO {ref.duckdb_name} {select}")[0][0]
            resource = {**previous, **self.options.table_properties, "schema": {"fields": fields}}
            self.catalog.record_table(ref, resource)
        return LoadResult(rows, self.input_bytes, self._skipped_rows(rows, fields))

    def _load_partition(self, exists: bool) -> LoadResult:
        """Load into one day of a day-partitioned table: every row must be of that day; WRITE_TRUNCATE
        replaces the day's rows and WRITE_EMPTY needs the day empty, the other days stay as they are.

        https://cloud.google.com/bigquery/docs/managing-partitioned-table-data#write-to-partition
        """
        ref, partition = self.options.destination, self.options.partition
        if not exists:
            raise NotFound(
                f"Not found: Table {ref}: create the partitioned table before loading ${partition}"
            )
        partitioning = self.catalog.get_table(ref).get("timePartitioning") or {}
        if partitioning.get("type", "DAY") != "DAY" or "field" not in partitioning:
            raise Unsupported(
                f"partition decorators on {ref}: only day-partitioned tables with a partition column"
            )
        fields = self.catalog.table_schema(ref)["fields"]
        if self.options.schema:
            _check_compatible(ref, self.options.schema, fields)
        source = self.reader.source_sql(fields)
        relation = self.con.sql(f"SELECT * FROM {source}")
        self.reader.check(self.con, fields)
        select = self._projection(source, relation.columns, fields)
        column = quote_identifier(partitioning["field"])
        day = f"strptime('{partition}', '%Y%m%d')::DATE"
        in_day = f"CAST({column} AS DATE) = {day}"
        stray = first_row(self.con, f"SELECT count(*) FROM ({select}) WHERE NOT coalesce({in_day}, false)")[0]
        if stray:
            raise InvalidRequest(
                f"Some rows belong to different partitions rather than destination partition {partition}: "
                f"{stray} rows have another {partitioning['field']}."
            )
        disposition = self.options.write_disposition
        if disposition == "WRITE_TRUNCATE":
            run_sql(self.con, f"DELETE FROM {ref.duckdb_name} WHERE {in_day}")
        elif (
            disposition == "WRITE_EMPTY"
            and first_row(self.con, f"SELECT count(*) FROM {ref.duckdb_name} WHERE {in_day}")[0]
        ):
            raise Duplicate(f"Already Exists: partition {partition} of {ref} is not empty (WRITE_EMPTY)")
        rows = run_sql(self.con, f"INSERT INTO {ref.duckdb_name} BY NAME {select}")[0][0]
        self.catalog.touch_table(ref)
        return LoadResult(rows, self.input_bytes, self._skipped_rows(rows, fields))

    def _skipped_rows(self, rows_loaded: int, fields: list[dict]) -> list[dict]:
        skipped = self.reader.rejected(self.con, fields)
        if len(skipped) > self.options.max_bad_records:
            raise TooManyBadRecords(self.options.source_format, rows_loaded + len(skipped), skipped)
        return skipped

    def _check_dispositions(self, exists: bool) -> None:
        ref = self.options.destination
        if not exists and self.options.create_disposition == "CREATE_NEVER":
            raise NotFound(f"Not found: Table {ref} was not found in location {LOCATION}")
        if exists and self.options.write_disposition == "WRITE_EMPTY" and self.catalog.row_count(ref):
            raise Duplicate(f"Already Exists: Table {ref} is not empty (writeDisposition WRITE_EMPTY)")

    def _fields(self, exists: bool) -> list[dict] | None:
        """The schema to read the file with; None means: take it from the file."""
        options = self.options
        appending = exists and options.write_disposition != "WRITE_TRUNCATE"
        table_fields = self.catalog.table_schema(options.destination)["fields"] if appending else None
        if options.schema:
            if table_fields:
                _check_compatible(options.destination, options.schema, table_fields)
            return options.schema
        if table_fields:
            return table_fields
        if options.autodetect or options.source_format == PARQUET:
            return None
        raise InvalidRequest(
            f"No schema specified on job or table {options.destination}: give a schema or set autodetect."
        )

    def _projection(self, source: str, columns: list[str], fields: list[dict]) -> str:
        """SELECT the schema's columns from the source by name, in the schema's types."""
        present = {name.casefold(): name for name in columns}
        wanted = {f["name"].casefold() for f in fields}
        unknown = [name for key, name in present.items() if key not in wanted]
        if unknown and not self.options.ignore_unknown_values:
            raise InvalidRequest(
                f"Error while reading data, error message: no such field: {unknown[0]} "
                f"(the file has a column that is not in the schema of {self.options.destination}; "
                "set ignoreUnknownValues to skip it)."
            )
        columns = []
        for field_schema in fields:
            name = quote_identifier(field_schema["name"])
            column = present.get(field_schema["name"].casefold())
            value = "NULL" if column is None else quote_identifier(column)
            columns.append(f"{_converted(value, field_schema)} AS {name}")
        return f"SELECT {', '.join(columns)} FROM {source}"


def _check_compatible(ref: TableRef, job_fields: list[dict], table_fields: list[dict]) -> None:
    table = {f["name"].casefold(): f for f in table_fields}
    for job_field in job_fields:
        existing = table.get(job_field["name"].casefold())
        if existing is None:
            raise InvalidRequest(
                f"Provided Schema does not match Table {ref}. Cannot add fields (field: {job_field['name']})"
            )
        if duckdb_type_for_field(existing) != duckdb_type_for_field(job_field):
            raise InvalidRequest(
                f"Provided Schema does not match Table {ref}. Field {job_field['name']} has changed type "
                f"from {_bigquery_type(existing)} to {_bigquery_type(job_field)}"
            )


def run_load_job(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    project: str,
    config: dict,
    source: Path | None,
    dry_run: bool = False,
) -> LoadResult:
    """Run the `load` section of a job on `source`, the uploaded or named file."""
    options = LoadOptions.parse(config, project)
    if source is None:
        uris = config.get("sourceUris") or []
        raise Unsupported(
            f"load jobs from sourceUris ({', '.join(uris) or 'none given'}): upload the file with "
            "load_table_from_file, or run `python -m local_bigquery load`"
        )
    if not source.is_file():
        raise InvalidRequest(f"Load source {source} is not a readable file.")
    return Load(con, catalog, options, source).run(dry_run)
