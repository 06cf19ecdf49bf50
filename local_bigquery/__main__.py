"""`python -m local_bigquery serve --port 9050 --data-dir .local/warehouse`

`python -m local_bigquery load project.dataset.table FILE --data-dir .local/warehouse [--schema …|--autodetect]`
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

_FORMATS = {"csv": "CSV", "json": "NEWLINE_DELIMITED_JSON", "parquet": "PARQUET"}
_SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".ndjson": "json", ".parquet": "parquet"}
DEFAULT_PROJECT = "local-project"


def _serve(args: argparse.Namespace) -> int:
    from local_bigquery.server import serve

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(None if args.in_memory else args.data_dir, args.host, args.port, args.log_level, args.allow_host)
    return 0


def _source_format(args: argparse.Namespace) -> str:
    if args.format:
        return _FORMATS[args.format]
    suffixes = [s for s in args.file.suffixes if s != ".gz"]
    if not suffixes or suffixes[-1].lower() not in _SUFFIX_FORMATS:
        raise SystemExit(f"Cannot tell the format of {args.file}: pass --format csv, json or parquet.")
    return _FORMATS[_SUFFIX_FORMATS[suffixes[-1].lower()]]


def parse_schema(text: str) -> list[dict]:
    """`name:TYPE,name2:TYPE` (bq's inline form; a name alone is STRING), or a JSON schema file."""
    path = Path(text)
    if path.suffix == ".json" and path.is_file():
        fields = json.loads(path.read_text())
        return fields["fields"] if isinstance(fields, dict) else fields
    fields = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, bq_type = item.partition(":")
        fields.append({"name": name.strip(), "type": (bq_type.strip() or "STRING").upper()})
    return fields


def parse_table(text: str, default_project: str) -> dict:
    parts = text.replace(":", ".").split(".")
    if len(parts) == 2:
        parts = [default_project, *parts]
    if len(parts) != 3 or not all(parts):
        raise SystemExit(f"Table {text!r} is not project.dataset.table (or dataset.table).")
    return {"projectId": parts[0], "datasetId": parts[1], "tableId": parts[2]}


def load_configuration(args: argparse.Namespace) -> dict:
    config = {
        "destinationTable": parse_table(args.table, args.project),
        "sourceFormat": _source_format(args),
        "writeDisposition": "WRITE_TRUNCATE" if args.replace else "WRITE_APPEND",
        "maxBadRecords": args.max_bad_records,
    }
    if args.schema:
        config["schema"] = {"fields": parse_schema(args.schema)}
    if args.autodetect:
        config["autodetect"] = True
    if args.skip_leading_rows is not None:
        config["skipLeadingRows"] = args.skip_leading_rows
    if args.field_delimiter:
        config["fieldDelimiter"] = args.field_delimiter
    if args.null_marker is not None:
        config["nullMarker"] = args.null_marker
    return config


def _row_count(warehouse, ref) -> int | None:
    """Rows in the table, None when there is no such table."""
    if not warehouse.locked(warehouse.catalog.table_exists, ref):
        return None
    return warehouse.locked(warehouse.catalog.row_count, ref)


def _what_happened(rows_before: int | None, rows_after: int | None, replaced: bool) -> str:
    """One line a user can check a load against: loading a file twice without --replace doubles it."""
    if rows_before is None:
        return f"created the table: {rows_after:,} rows"
    if replaced:
        return f"replaced the table's {rows_before:,} rows: now {rows_after:,} rows"
    return (
        f"appended to the table's {rows_before:,} rows: now {rows_after:,} rows "
        "(pass --replace to replace them instead)"
    )


def _load(args: argparse.Namespace) -> int:
    from local_bigquery.translate import TableRef
    from local_bigquery.warehouse import Warehouse

    config = load_configuration(args)
    table = config["destinationTable"]
    try:
        warehouse = Warehouse(args.data_dir)
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        if not warehouse.locked(warehouse.catalog.dataset_exists, table["projectId"], table["datasetId"]):
            warehouse.locked(warehouse.catalog.create_dataset, table["projectId"], table["datasetId"], {})
            print(f"created dataset {table['projectId']}.{table['datasetId']}")
        ref = TableRef(table["projectId"], table["datasetId"], table["tableId"])
        rows_before = _row_count(warehouse, ref)
        job = warehouse.insert_job(table["projectId"], {"configuration": {"load": config}}, source=args.file)
        rows_after = _row_count(warehouse, ref)
    finally:
        warehouse.close()
    name = f"{table['projectId']}.{table['datasetId']}.{table['tableId']}"
    status = job["status"]
    if "errorResult" in status:
        print(f"load into {name} failed; nothing was written:", file=sys.stderr)
        for error in status.get("errors") or [status["errorResult"]]:
            print(f"  {error['message']}", file=sys.stderr)
        return 1
    statistics = job["statistics"]["load"]
    print(f"loaded {int(statistics['outputRows']):,} rows from {args.file} into {name}")
    print(_what_happened(rows_before, rows_after, args.replace))
    for error in status.get("errors", []):
        print(f"  skipped: {error['message']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local_bigquery",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the BigQuery v2 REST API on DuckDB")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve_cmd.add_argument("--port", type=int, default=9050)
    serve_cmd.add_argument(
        "--data-dir", type=Path, default=Path(".local/warehouse"), help="where the DuckDB file lives"
    )
    serve_cmd.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    serve_cmd.add_argument("--log-level", default="info")
    serve_cmd.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host header to answer besides loopback ones, e.g. the service name in docker compose "
        "(repeatable)",
    )
    serve_cmd.set_defaults(run=_serve)

    load_cmd = commands.add_parser(
        "load",
        help="load a CSV, newline-delimited JSON or Parquet file (optionally .gz) into a table",
        description="Runs a BigQuery load job directly on the warehouse file; the server must not be "
        "running on the same --data-dir. Appends unless --replace; creates the dataset if needed.",
    )
    load_cmd.add_argument("table", help="project.dataset.table, or dataset.table in --project")
    load_cmd.add_argument("file", type=Path)
    load_cmd.add_argument("--data-dir", type=Path, default=Path(".local/warehouse"))
    load_cmd.add_argument("--project", default=DEFAULT_PROJECT, help="project of a dataset.table name")
    load_cmd.add_argument("--format", choices=sorted(_FORMATS), help="default: from the file name")
    described = load_cmd.add_mutually_exclusive_group()
    described.add_argument("--schema", help="name:TYPE,name2:TYPE,... or a JSON schema file")
    described.add_argument(
        "--autodetect", action="store_true", help="take column names and types from the file"
    )
    load_cmd.add_argument("--replace", action="store_true", help="replace the table (WRITE_TRUNCATE)")
    load_cmd.add_argument("--skip-leading-rows", type=int, help="CSV rows to skip, e.g. 1 for a header")
    load_cmd.add_argument("--field-delimiter", help="CSV delimiter (default ,)")
    load_cmd.add_argument("--null-marker", help="CSV text meaning NULL (default: empty)")
    load_cmd.add_argument("--max-bad-records", type=int, default=0, help="bad rows to skip before failing")
    load_cmd.set_defaults(run=_load)

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
