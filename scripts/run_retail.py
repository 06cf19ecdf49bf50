"""UCI Online Retail as a `transactions` source: load it into local_bigquery and check its cleaning.

Starts local_bigquery on a data dir (default `.local/warehouse`), uploads the raw CSV
(`../shared/data/online_retail/online_retail.csv.gz`) with a load job as `online_retail.online_retail_raw`,
creates the cleaning view `online_retail.transactions` (include/sql/online_retail_transactions.sql) and
checks its purchase lines against the data set's published reference counts, then runs the DAG for
2011-12-10 on the view (`source_kind: transactions`) and prints the segments.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from decimal import Decimal
from pathlib import Path

# Runnable as `python scripts/<name>.py` without PYTHONPATH: the repository root, and plugins/ as Airflow
# puts it on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from google.cloud import bigquery
from jinja2 import Template

from scripts import run_local
from scripts.run_local import DAG_ID, airflow_environment, run_dag

ROOT = Path(__file__).resolve().parent.parent
DATA_FILE = ROOT.parent / "shared" / "data" / "online_retail" / "online_retail.csv.gz"
CLEANING_SQL = ROOT / "include" / "sql" / "online_retail_transactions.sql"
SOURCE_DATASET = "online_retail"
RAW_TABLE = "online_retail_raw"
TRANSACTIONS_VIEW = "transactions"
DATE = "2011-12-10"  # the day after the last invoice
OUTPUT_DATASET = "online_retail_segmentation"

# The CSV as published: InvoiceNo is text (cancellations start with C), prices are exact decimals,
# InvoiceDate is UK local time without a zone and CustomerID is empty for guests.
RAW_SCHEMA = [
    bigquery.SchemaField("InvoiceNo", "STRING", description="Invoice; starting with C: a cancellation."),
    bigquery.SchemaField("StockCode", "STRING", description="Product code, or a code like POST for charges."),
    bigquery.SchemaField("Description", "STRING"),
    bigquery.SchemaField(
        "Quantity", "INT64", description="Units; negative for cancellations and corrections."
    ),
    bigquery.SchemaField("InvoiceDate", "DATETIME", description="UK local time."),
    bigquery.SchemaField("UnitPrice", "NUMERIC", description="Pounds sterling per unit."),
    bigquery.SchemaField("CustomerID", "INT64", description="Empty for guest checkouts and adjustments."),
    bigquery.SchemaField("Country", "STRING"),
]
# What the cleaned purchase lines of the full file must add up to (PROVENANCE.md of the data set).
REFERENCE = {"lines": 396_337, "customers": 4_334, "invoices": 18_402, "revenue": Decimal("8761066.65")}


def _quoted(table_id: str) -> str:
    return f"`{table_id}`"


def load_raw(client: bigquery.Client, table_id: str, path: Path) -> bigquery.LoadJob:
    """Upload the CSV (optionally gzipped) into `table_id`, replacing what was there."""
    config = bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.CSV,
        schema=RAW_SCHEMA,
        skip_leading_rows=1,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
    )
    with path.open("rb") as data:
        return client.load_table_from_file(data, table_id, job_config=config).result()


def create_transactions_view(client: bigquery.Client, raw_table_id: str, view_id: str) -> None:
    sql = Template(CLEANING_SQL.read_text()).render(
        raw_table=_quoted(raw_table_id), transactions_view=_quoted(view_id)
    )
    client.query_and_wait(sql)


def purchase_summary(client: bigquery.Client, view_id: str) -> dict:
    (row,) = client.query_and_wait(
        f"""SELECT COUNT(*) AS lines, COUNT(DISTINCT customer_id) AS customers,
                   COUNT(DISTINCT order_id) AS invoices, SUM(amount) AS revenue
            FROM {_quoted(view_id)}"""
    )
    return dict(row.items())


def reconciliation(client: bigquery.Client, output: str, purchases: dict) -> str:
    """The snapshot's features add up to the purchase lines they were computed from."""
    (row,) = client.query_and_wait(
        f"""SELECT COUNT(*) AS customers, SUM(frequency) AS invoices, SUM(monetary) AS revenue
            FROM `{output}.customer_features` WHERE snapshot_date = DATE '{DATE}'"""
    )
    agrees = (row.customers, row.invoices) == (purchases["customers"], purchases["invoices"]) and abs(
        Decimal(str(row.revenue)) - purchases["revenue"]
    ) < Decimal("0.01")
    return (
        f"\ncustomer_features: {row.customers:,} customers, {row.invoices:,} invoices, revenue {row.revenue:,.2f} "
        f"-- {'agrees with' if agrees else 'DIFFERS FROM'} the purchase lines"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--file", type=Path, default=DATA_FILE, help="the Online Retail CSV (.csv or .csv.gz)"
    )
    parser.add_argument("--project", default="local-project")
    parser.add_argument("--port", type=int, default=9050)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local" / "warehouse")
    parser.add_argument("--airflow-home", type=Path, default=ROOT / ".local" / "airflow")
    args = parser.parse_args(argv)
    if not args.file.is_file():
        print(f"{args.file} is missing: it is the UCI Online Retail CSV described in its PROVENANCE.md")
        return 2

    from google.auth.credentials import AnonymousCredentials

    from local_bigquery.server import BackgroundServer
    from local_bigquery.warehouse import Warehouse

    started = time.monotonic()
    raw_id = f"{args.project}.{SOURCE_DATASET}.{RAW_TABLE}"
    view_id = f"{args.project}.{SOURCE_DATASET}.{TRANSACTIONS_VIEW}"
    with BackgroundServer(Warehouse(args.data_dir), port=args.port) as server:
        print(f"local_bigquery serving {server.url} from {args.data_dir}")
        client = bigquery.Client(
            project=args.project,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": server.url},
        )
        client.create_dataset(SOURCE_DATASET, exists_ok=True)
        job = load_raw(client, raw_id, args.file)
        print(f"loaded {job.output_rows:,} rows of {args.file.name} into {raw_id}")
        create_transactions_view(client, raw_id, view_id)
        summary = purchase_summary(client, view_id)
        print(
            f"purchase lines in {view_id}: {summary['lines']:,} lines, {summary['customers']:,} customers, "
            f"{summary['invoices']:,} invoices, revenue {summary['revenue']:,.2f}"
        )
        if args.file == DATA_FILE and summary != REFERENCE:
            print(f"These differ from the published reference counts {REFERENCE}.")
            return 1
        conf = {
            "source_kind": "transactions",
            "transactions_table": view_id,
            "dataset": OUTPUT_DATASET,
            "log_transform_monetary": True,
            "persona_backend": "offline",
        }
        log_path = args.airflow_home / f"dags-test-retail-{DATE}.log"
        print(f"running: airflow dags test {DAG_ID} {DATE} --conf '{json.dumps(conf)}'  (log: {log_path})")
        env = airflow_environment(server.url, args.airflow_home)
        failure = run_dag(env, DATE, log_path, conf).failure(env)
        if failure:
            print(log_path.read_text()[-4000:])
            print(f"\n{failure}; full log: {log_path}")
            return 1
        print()
        print(run_local.summary(client, OUTPUT_DATASET, DATE))
        print(reconciliation(client, f"{args.project}.{OUTPUT_DATASET}", summary))
    print(f"\nDone in {time.monotonic() - started:.1f} s; the warehouse persists in {args.data_dir}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
