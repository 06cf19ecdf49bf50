"""`make run`: the customer_segmentation DAG end to end on the embedded default, then what it produced.

Starts local_bigquery on a data dir (default `.local/warehouse`), loads generated thelook_ecommerce sample
data as `bigquery-public-data.thelook_ecommerce.*` if it is not there yet, runs
`airflow dags test customer_segmentation <date>` with a connection that points at the local server, and
prints each task as it finishes, then the segments, their profiles and personas, and where the tables are.

With `--transactions FILE --columns field=Column,...` it runs on your own order lines instead: the file is
loaded into local_bigquery and the DAG runs on it as a `transactions` source (`make run-byod`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Runnable as `python scripts/<name>.py` without PYTHONPATH: the repository root, and plugins/ as Airflow
# puts it on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery

from local_bigquery.samples import thelook
from local_bigquery.server import BackgroundServer
from local_bigquery.translate import TableRef
from local_bigquery.warehouse import Warehouse

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "local-project"
SOURCE = ("bigquery-public-data", "thelook_ecommerce")
DAG_ID = "customer_segmentation"
REPORTS = ROOT / ".local" / "reports"
# `--transactions FILE`: where the file is loaded, and the dataset the run on it writes.
BYOD_TABLE = f"{PROJECT}.my_orders.transactions"
BYOD_DATASET = "my_orders_segmentation"
FILE_FORMATS = {
    ".csv": bigquery.SourceFormat.CSV,
    ".json": bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
    ".jsonl": bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
    ".ndjson": bigquery.SourceFormat.NEWLINE_DELIMITED_JSON,
    ".parquet": bigquery.SourceFormat.PARQUET,
}
# `airflow dags test` (Airflow 3.3.2's dag.test) cannot finish a run of a DAG with a deadline alert: its
# in-memory copy of the DAG holds the alerts' definitions where the scheduler expects the database ids the
# DAG processor gives them. `make ui` and deployments run the real scheduler and keep the deadline.
DAGS_TEST_ENVIRONMENT = {"SEGMENTATION_DEADLINE_MINUTES": "off"}


def ensure_sample(warehouse: Warehouse, users: int, seed: int) -> str:
    project, dataset = SOURCE
    if warehouse.locked(warehouse.catalog.table_exists, TableRef(project, dataset, "order_items")):
        return "sample data already loaded"
    warehouse.locked(warehouse.catalog.create_dataset, project, dataset, {}, exists_ok=True)
    tables = thelook.generate(users=users, seed=seed)
    for name, table in tables.items():
        warehouse.load_arrow(TableRef(project, dataset, name), table)
    items = tables["order_items"].num_rows
    return f"loaded sample thelook_ecommerce: {users:,} users, {items:,} order items (seed {seed})"


def airflow_environment(server_url: str, airflow_home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db",
        "AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT": json.dumps(
            {"conn_type": "google_cloud_platform", "extra": {"is_anonymous": True, "project": PROJECT}}
        ),
        "BIGQUERY_EMULATOR_HOST": server_url,
        "SEGMENTATION_REPORT_DESTINATION": str(REPORTS),
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
    }


# `airflow dags test` log lines: a task starting and ending, and the state the task ended in.
TASK_STARTED = re.compile(r"^(?P<at>\S+) .*\[DAG TEST\] starting task_id=(?P<task>\S+)")
TASK_STATE = re.compile(r"Task instance state updated .*new_state=(?P<state>\w+)")
TASK_ENDED = re.compile(r"^(?P<at>\S+) .*\[DAG TEST\] end task task_id=(?P<task>\S+)")
RUN_FINISHED = re.compile(r"DagRun Finished: .*state=(?P<state>\w+),")


@dataclass
class DagTest:
    """What one `airflow dags test` did: its exit code, the run's final state and each task that ran."""

    date: str
    returncode: int = 0
    state: str = "unknown"
    tasks: list[tuple[str, str, float]] = field(default_factory=list)  # (task id, state, seconds)

    def failure(self, env: Mapping[str, str]) -> str | None:
        """Why the run did not do its job, or None when it succeeded and ran tasks."""
        if self.returncode != 0 or self.state != "success":
            return f"The DAG run ended {self.state} (exit code {self.returncode})"
        if self.tasks:
            return None
        # Imported here: importing Airflow reads its configuration, which tests/conftest.py sets up first.
        from segmentation.config import START_DATE_VARIABLE, dag_start_date

        start = dag_start_date(env).date()
        if dt.date.fromisoformat(self.date) < start:
            return (
                f"The DAG run ran no task: {self.date} is before the DAG's start date {start}; "
                f"set {START_DATE_VARIABLE} (YYYY-MM-DD) to a date on or before it"
            )
        return "The DAG run ran no task"


def _seconds_between(started: str, ended: str) -> float:
    return (dt.datetime.fromisoformat(ended) - dt.datetime.fromisoformat(started)).total_seconds()


def follow_dag_test(lines: Iterable[str], result: DagTest, progress: Callable[[str], None]) -> None:
    """Reads a `dags test` log as it is written, telling `progress` of each task as it finishes."""
    started: dict[str, str] = {}
    state = "unknown"
    for line in lines:
        if match := TASK_STARTED.search(line):
            started[match["task"]], state = match["at"], "unknown"
        elif match := TASK_STATE.search(line):
            state = match["state"]
        elif match := TASK_ENDED.search(line):
            seconds = _seconds_between(started.pop(match["task"], match["at"]), match["at"])
            result.tasks.append((match["task"], state, seconds))
            progress(f"  {match['task']:<45} {state:<8} {seconds:6.1f} s")
        elif match := RUN_FINISHED.search(line):
            result.state = match["state"]


def run_dag(
    env: dict[str, str],
    date: str,
    log_path: Path,
    conf: dict | None = None,
    progress: Callable[[str], None] = lambda message: print(message, flush=True),
) -> DagTest:
    """`airflow dags test` of the DAG for `date`, its output in `log_path`, each finished task reported."""
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = {**env, **DAGS_TEST_ENVIRONMENT}
    if not (Path(env["AIRFLOW_HOME"]) / "airflow.db").exists():
        subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True)
    command = [airflow, "dags", "test", DAG_ID, date]
    if conf is not None:
        command += ["--conf", json.dumps(conf)]
    result = DagTest(date)
    with (
        log_path.open("w") as log,
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as process,
    ):

        def logged(stream: Iterable[str]) -> Iterator[str]:
            for line in stream:
                log.write(line)
                yield line

        follow_dag_test(logged(process.stdout), result, progress)
        result.returncode = process.wait()
    return result


def summary(client: bigquery.Client, dataset: str, date: str) -> str:
    parameters = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("day", "DATE", date)]
    )
    profiles = list(
        client.query_and_wait(
            f"""SELECT p.segment_id, p.customers, p.customer_share, p.revenue_share, p.recency_days,
                       p.frequency, p.monetary, p.return_ratio, personas.title, personas.backend
                FROM `{PROJECT}.{dataset}.segment_profiles` AS p
                LEFT JOIN `{PROJECT}.{dataset}.segment_personas` AS personas
                  ON personas.snapshot_date = p.snapshot_date AND personas.segment_id = p.segment_id
                WHERE p.snapshot_date = @day ORDER BY p.segment_id""",
            job_config=parameters,
        )
    )
    (evaluation,) = client.query_and_wait(
        f"SELECT * FROM `{PROJECT}.{dataset}.model_evaluations` WHERE snapshot_date = @day AND is_selected",
        job_config=parameters,
    )
    lines = [
        f"Snapshot {date}: {evaluation['training_rows']:,} customers in {evaluation['k']} segments, "
        f"Davies-Bouldin index {evaluation['davies_bouldin_index']:.3f}, "
        f"mean squared distance {evaluation['mean_squared_distance']:.3f}",
        "",
        f"{'seg':>3} {'customers':>10} {'share':>6} {'revenue':>8} {'recency d':>9} {'orders':>6} "
        f"{'spend':>9} {'returns':>7}  persona",
    ]
    for p in profiles:
        lines.append(
            f"{p['segment_id']:>3} {p['customers']:>10,} {p['customer_share']:>6.1%} {p['revenue_share']:>8.1%} "
            f"{p['recency_days']:>9.0f} {p['frequency']:>6.1f} {p['monetary']:>9,.0f} {p['return_ratio']:>7.1%}  "
            f"{p['title'] or '(none)'} [{p['backend'] or '-'}]"
        )
    tables = sorted(t.table_id for t in client.list_tables(f"{PROJECT}.{dataset}"))
    lines += ["", f"Tables in {PROJECT}.{dataset}: {', '.join(tables)}"]
    return "\n".join(lines)


def parse_columns(text: str) -> dict[str, str | None]:
    """`customer_id=CustomerID,amount=LineTotal`: the file's column per field; `order_id=` maps none."""
    mapping: dict[str, str | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        field_name, equals, column = item.partition("=")
        if not equals:
            raise argparse.ArgumentTypeError(f"{item!r} is not field=column")
        mapping[field_name.strip()] = column.strip() or None
    return mapping


def load_transactions(client: bigquery.Client, path: Path) -> bigquery.LoadJob:
    """Uploads a file of order lines into BYOD_TABLE, replacing what was there, its schema autodetected."""
    suffixes = [suffix.lower() for suffix in path.suffixes if suffix.lower() != ".gz"]
    source_format = FILE_FORMATS.get(suffixes[-1] if suffixes else "")
    if source_format is None:
        raise SystemExit(f"{path}: give a .csv, .json (newline-delimited), .jsonl or .parquet file")
    client.create_dataset(BYOD_TABLE.rsplit(".", 1)[0], exists_ok=True)
    config = bigquery.LoadJobConfig(
        source_format=source_format,
        autodetect=True,
        write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE,
    )
    with path.open("rb") as data:
        return client.load_table_from_file(data, BYOD_TABLE, job_config=config).result()


def day_after_newest_order(client: bigquery.Client, table_id: str, ordered_at: str) -> str:
    """The first date whose snapshot counts every order: a run counts the orders before its logical date."""
    (row,) = client.query_and_wait(
        f"SELECT DATE_ADD(DATE(MAX(CAST(`{ordered_at}` AS TIMESTAMP))), INTERVAL 1 DAY) AS day FROM `{table_id}`"
    )
    if row["day"] is None:
        raise SystemExit(f"{table_id} has no orders")
    return row["day"].isoformat()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--date",
        type=dt.date.fromisoformat,
        help="logical date of the run (default: 2024-06-29 for the sample, which ends 2024-06-30; "
        "for --transactions the day after the newest order)",
    )
    parser.add_argument("--users", type=int, default=100_000, help="sample size when generating it")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--port", type=int, default=9050)
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local" / "warehouse")
    parser.add_argument("--airflow-home", type=Path, default=ROOT / ".local" / "airflow")
    parser.add_argument(
        "--transactions",
        type=Path,
        metavar="FILE",
        help=f"run on your own order lines instead of the sample: a CSV with a header row, newline-delimited "
        f"JSON or Parquet file (optionally .gz), loaded into {BYOD_TABLE} (replacing it) with its schema "
        f"autodetected; segments go to the dataset {BYOD_DATASET}",
    )
    parser.add_argument(
        "--columns",
        type=parse_columns,
        default={},
        metavar="FIELD=COLUMN,...",
        help="with --transactions: the file's column for each field named differently, e.g. "
        "customer_id=CustomerID,order_id=InvoiceNo,ordered_at=InvoiceDate,amount=LineTotal; "
        "order_id= (empty) when there is no order id: each customer's purchases on one day are one order",
    )
    parser.add_argument(
        "--conf", type=json.loads, default={}, metavar="JSON", help="more settings of the run (DAG params)"
    )
    args = parser.parse_args(argv)
    if args.columns and not args.transactions:
        parser.error("--columns needs --transactions FILE")
    return args


def run_conf(args: argparse.Namespace) -> dict:
    if not args.transactions:
        return args.conf
    return {
        "source_kind": "transactions",
        "transactions_table": BYOD_TABLE,
        "transactions_columns": args.columns,
        "dataset": BYOD_DATASET,
        **args.conf,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.airflow_home.mkdir(parents=True, exist_ok=True)
    conf = run_conf(args)
    dataset = conf.get("dataset") or os.environ.get("SEGMENTATION_DATASET", "customer_segmentation")

    started = time.monotonic()
    with BackgroundServer(Warehouse(args.data_dir), port=args.port) as server:
        print(f"local_bigquery serving {server.url} from {args.data_dir}")
        client = bigquery.Client(
            project=PROJECT, credentials=AnonymousCredentials(), client_options={"api_endpoint": server.url}
        )
        if args.transactions:
            job = load_transactions(client, args.transactions)
            columns = ", ".join(
                f"{field.name} {field.field_type}" for field in client.get_table(BYOD_TABLE).schema
            )
            print(f"loaded {job.output_rows:,} rows of {args.transactions} into {BYOD_TABLE} ({columns})")
            ordered_at = args.columns.get("ordered_at") or "ordered_at"
            date = (args.date and args.date.isoformat()) or day_after_newest_order(
                client, BYOD_TABLE, ordered_at
            )
        else:
            print(ensure_sample(server.warehouse, args.users, args.seed))
            date = (args.date or dt.date(2024, 6, 29)).isoformat()
        log_path = args.airflow_home / f"dags-test-{date}.log"
        shown_conf = f" --conf '{json.dumps(conf)}'" if conf else ""
        print(f"running: airflow dags test {DAG_ID} {date}{shown_conf}  (log: {log_path})")
        env = airflow_environment(server.url, args.airflow_home)
        failure = run_dag(env, date, log_path, conf or None).failure(env)
        if failure:
            print(log_path.read_text()[-4000:])
            print(f"\n{failure}; full log: {log_path}")
            return 1
        print()
        print(summary(client, dataset, date))
    report = REPORTS / date / "report.html"
    if report.exists():
        print(f"\nRun report: {report}")
    print(f"\nDone in {time.monotonic() - started:.1f} s; the warehouse persists in {args.data_dir}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
