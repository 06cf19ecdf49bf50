"""Load jobs through the official client (`load_table_from_file`, `load_table_from_dataframe`) and the CLI."""

import decimal
import gzip
import io
import json
import subprocess
import sys
import urllib.request

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from google.api_core import exceptions
from google.cloud import bigquery
from google.cloud.bigquery import client as client_module

from local_bigquery import __main__ as cli
from local_bigquery.translate import TableRef
from local_bigquery.warehouse import Warehouse
from tests.conftest import PROJECT, ROOT

SALES_SCHEMA = [
    bigquery.SchemaField("order_id", "INT64"),
    bigquery.SchemaField("customer", "STRING"),
    bigquery.SchemaField("amount", "NUMERIC"),
    bigquery.SchemaField("ordered_at", "TIMESTAMP"),
]
SALES_CSV = (
    b"order_id,customer,amount,ordered_at\n"
    b"1,ann,10.50,2024-01-01 10:00:00\n"
    b"2,bob,3.25,2024-01-02T11:30:00Z\n"
    b'3,"cat, the",7,2024-01-03 09:15:00 UTC\n'
)


def _csv_config(**options) -> bigquery.LoadJobConfig:
    return bigquery.LoadJobConfig(
        source_format=bigquery.SourceFormat.CSV, schema=SALES_SCHEMA, skip_leading_rows=1, **options
    )


def _load(client, data: bytes, table: str, config: bigquery.LoadJobConfig, multipart: bool = True):
    """Multipart when the size is given and small (as the client decides), resumable otherwise."""
    size = len(data) if multipart else None
    return client.load_table_from_file(io.BytesIO(data), table, job_config=config, size=size).result()


def _rows(client, sql: str) -> list[tuple]:
    return [tuple(row.values()) for row in client.query_and_wait(sql)]


def test_csv_multipart_upload_with_a_schema(bq_client, dataset):
    job = _load(bq_client, SALES_CSV, f"{dataset}.sales", _csv_config())

    assert (job.state, job.output_rows, job.input_file_bytes) == ("DONE", 3, len(SALES_CSV))
    rows = _rows(
        bq_client, f"SELECT customer, amount, EXTRACT(HOUR FROM ordered_at) FROM {dataset}.sales ORDER BY 1"
    )
    assert [(c, str(a), h) for c, a, h in rows] == [
        ("ann", "10.5", 10),
        ("bob", "3.25", 11),
        ("cat, the", "7", 9),
    ]
    table = bq_client.get_table(f"{dataset}.sales")
    assert [(f.name, f.field_type) for f in table.schema] == [
        ("order_id", "INTEGER"),
        ("customer", "STRING"),
        ("amount", "NUMERIC"),
        ("ordered_at", "TIMESTAMP"),
    ]


def test_resumable_upload_in_several_chunks(bq_client, dataset, monkeypatch):
    # 256 KiB is the smallest chunk google-resumable-media allows; the file needs about five of them.
    monkeypatch.setattr(client_module, "_DEFAULT_CHUNKSIZE", 256 * 1024)
    lines = [f"{i},customer{i % 97},{i % 1000}.25,2024-02-01 00:00:00" for i in range(60_000)]
    data = ("order_id,customer,amount,ordered_at\n" + "\n".join(lines) + "\n").encode()
    assert len(data) > 4 * 256 * 1024

    job = _load(bq_client, data, f"{dataset}.many", _csv_config(), multipart=False)

    assert job.output_rows == 60_000
    ((count, total, customers),) = _rows(
        bq_client, f"SELECT COUNT(*), SUM(amount), COUNT(DISTINCT customer) FROM {dataset}.many"
    )
    assert (count, customers) == (60_000, 97)
    assert total == sum(i % 1000 + 0.25 for i in range(60_000))


def test_gzip_csv_and_csv_options(bq_client, dataset):
    data = b"1\tann\t\\N\n2\tbob\n3\t\t5\n"
    config = bigquery.LoadJobConfig(
        source_format="CSV",
        schema=SALES_SCHEMA[:3],
        field_delimiter="\t",
        null_marker="\\N",
        allow_jagged_rows=True,
    )
    _load(bq_client, gzip.compress(data), f"{dataset}.tabbed", config)

    assert _rows(bq_client, f"SELECT order_id, customer, amount FROM {dataset}.tabbed ORDER BY 1") == [
        (1, "ann", None),
        (2, "bob", None),
        (3, "", 5),  # with a custom null marker an empty STRING is empty, as in BigQuery
    ]


def test_csv_autodetect_takes_header_and_types_from_the_file(bq_client, dataset):
    config = bigquery.LoadJobConfig(source_format="CSV", autodetect=True)
    _load(bq_client, SALES_CSV, f"{dataset}.detected", config)

    table = bq_client.get_table(f"{dataset}.detected")
    assert [(f.name, f.field_type) for f in table.schema] == [
        ("order_id", "INTEGER"),
        ("customer", "STRING"),
        ("amount", "FLOAT"),
        ("ordered_at", "TIMESTAMP"),
    ]
    assert table.num_rows == 3


def test_newline_delimited_json_with_nested_and_repeated_fields(bq_client, dataset):
    schema = [
        bigquery.SchemaField("id", "INT64", mode="REQUIRED"),
        bigquery.SchemaField("tags", "STRING", mode="REPEATED"),
        bigquery.SchemaField("address", "RECORD", fields=[bigquery.SchemaField("city", "STRING")]),
        bigquery.SchemaField("day", "DATE"),
    ]
    lines = [
        {"id": 1, "tags": ["a", "b"], "address": {"city": "Oslo"}, "day": "2024-03-01"},
        {"id": "2"},
    ]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON", schema=schema)
    _load(bq_client, data, f"{dataset}.nested", config)

    rows = _rows(bq_client, f"SELECT id, tags, address.city, day FROM {dataset}.nested ORDER BY id")
    assert [(i, t, c, str(d)) for i, t, c, d in rows] == [
        (1, ["a", "b"], "Oslo", "2024-03-01"),
        (2, [], None, "None"),
    ]


def test_parquet_file_and_dataframe(bq_client, dataset):
    buffer = io.BytesIO()
    pq.write_table(
        pa.table({"sku": ["a", "b"], "price": pa.array([1.5, 2.5]), "qty": pa.array([1, 2], pa.int32())}),
        buffer,
    )
    config = bigquery.LoadJobConfig(source_format="PARQUET")
    _load(bq_client, buffer.getvalue(), f"{dataset}.from_parquet", config)
    table = bq_client.get_table(f"{dataset}.from_parquet")
    assert [(f.name, f.field_type) for f in table.schema] == [
        ("sku", "STRING"),
        ("price", "FLOAT"),
        ("qty", "INTEGER"),
    ]

    frame = pd.DataFrame(
        {
            "customer_id": [7, 8],
            "segment": ["loyal", None],
            "seen_at": pd.to_datetime(["2024-01-01 08:00", "2024-01-02 09:00"], utc=True),
        }
    )
    with pytest.warns(PendingDeprecationWarning):
        job = bq_client.load_table_from_dataframe(frame, f"{dataset}.from_frame")
    assert job.result().output_rows == 2
    rows = _rows(
        bq_client,
        f"SELECT customer_id, segment, EXTRACT(DAY FROM seen_at) FROM {dataset}.from_frame ORDER BY 1",
    )
    assert rows == [(7, "loyal", 1), (8, None, 2)]


def test_bad_csv_rows_fail_the_job_naming_line_and_field_and_write_nothing(bq_client, dataset):
    _load(bq_client, SALES_CSV, f"{dataset}.sales", _csv_config())
    bad = SALES_CSV + b"4,dan,lots,2024-01-04 10:00:00\n5,eve,1.0\n"

    with pytest.raises(exceptions.BadRequest) as failure:
        _load(bq_client, bad, f"{dataset}.sales", _csv_config())

    message = str(failure.value)
    assert "too many errors" in message
    assert "line 5, field amount (NUMERIC)" in message and "lots" in message
    assert "line 6: Expected Number of Columns: 4 Found: 3" in message
    assert bq_client.get_table(f"{dataset}.sales").num_rows == 3


def test_max_bad_records_skips_and_reports_bad_rows(bq_client, dataset):
    bad = SALES_CSV + b"4,dan,lots,2024-01-04 10:00:00\n"
    job = _load(bq_client, bad, f"{dataset}.lenient", _csv_config(max_bad_records=1))

    assert job.output_rows == 3
    assert len(job.errors) == 1 and job.errors[0]["location"] == "line 5"
    assert "field amount" in job.errors[0]["message"]
    with pytest.raises(exceptions.BadRequest, match="errors: 2"):
        _load(bq_client, bad + b"x,y,1,2024-01-01\n", f"{dataset}.lenient", _csv_config(max_bad_records=1))
    assert bq_client.get_table(f"{dataset}.lenient").num_rows == 3


def test_bad_json_rows_name_line_and_field(bq_client, dataset):
    schema = [bigquery.SchemaField("id", "INT64", mode="REQUIRED"), bigquery.SchemaField("score", "FLOAT64")]
    data = b'{"id": 1, "score": 0.5}\n{"id": 2, "score": "high"}\n{"id": 3, "colour": "red"}\n{"id": 4,\n'
    config = bigquery.LoadJobConfig(source_format="NEWLINE_DELIMITED_JSON", schema=schema)

    with pytest.raises(exceptions.BadRequest) as failure:
        _load(bq_client, data, f"{dataset}.scores", config)
    message = str(failure.value)
    assert "line 2: field score (FLOAT64): invalid value 'high'" in message
    assert "line 3: no such field: colour" in message
    assert "line 4: malformed JSON" in message
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.scores")

    config.max_bad_records = 3
    job = _load(bq_client, data, f"{dataset}.scores", config)
    assert (job.output_rows, [e["location"] for e in job.errors]) == (1, ["line 2", "line 3", "line 4"])
    config.max_bad_records, config.ignore_unknown_values = 2, True
    job = _load(bq_client, data, f"{dataset}.scores", config)
    assert job.output_rows == 2
    assert _rows(bq_client, f"SELECT id FROM {dataset}.scores ORDER BY id") == [(1,), (1,), (3,)]


def test_parquet_value_that_does_not_fit_the_table_names_row_and_field(bq_client, dataset):
    bq_client.create_table(
        bigquery.Table(f"{PROJECT}.{dataset}.typed", schema=[bigquery.SchemaField("n", "INT64")])
    )
    buffer = io.BytesIO()
    pq.write_table(pa.table({"n": ["1", "2", "three"]}), buffer)

    with pytest.raises(exceptions.BadRequest, match=r"row 3, field n: cannot convert 'three' to INTEGER"):
        _load(
            bq_client, buffer.getvalue(), f"{dataset}.typed", bigquery.LoadJobConfig(source_format="PARQUET")
        )
    assert bq_client.get_table(f"{dataset}.typed").num_rows == 0


def test_write_and_create_dispositions(bq_client, dataset):
    table = f"{dataset}.sales"
    _load(bq_client, SALES_CSV, table, _csv_config())
    _load(bq_client, SALES_CSV, table, _csv_config())  # WRITE_APPEND is the default for loads
    assert bq_client.get_table(table).num_rows == 6

    with pytest.raises(exceptions.Conflict, match="is not empty"):
        _load(bq_client, SALES_CSV, table, _csv_config(write_disposition="WRITE_EMPTY"))

    replacement = bigquery.LoadJobConfig(
        source_format="CSV",
        schema=[bigquery.SchemaField("code", "STRING")],
        write_disposition="WRITE_TRUNCATE",
    )
    _load(bq_client, b"x\ny\n", table, replacement)
    replaced = bq_client.get_table(table)
    assert ([f.name for f in replaced.schema], replaced.num_rows) == (["code"], 2)

    with pytest.raises(exceptions.NotFound, match=r"Table local-project:.*missing was not found"):
        _load(bq_client, SALES_CSV, f"{dataset}.missing", _csv_config(create_disposition="CREATE_NEVER"))


def test_schema_problems_are_named(bq_client, dataset):
    _load(bq_client, SALES_CSV, f"{dataset}.sales", _csv_config())
    changed = [bigquery.SchemaField("order_id", "STRING"), *SALES_SCHEMA[1:]]
    config = bigquery.LoadJobConfig(source_format="CSV", schema=changed, skip_leading_rows=1)
    with pytest.raises(exceptions.BadRequest, match="Field order_id has changed type from INTEGER to STRING"):
        _load(bq_client, SALES_CSV, f"{dataset}.sales", config)

    with pytest.raises(exceptions.BadRequest, match="No schema specified"):
        _load(bq_client, SALES_CSV, f"{dataset}.schemaless", bigquery.LoadJobConfig(source_format="CSV"))

    with pytest.raises(
        exceptions.BadRequest, match="not supported by local_bigquery: load jobs from sourceUris"
    ):
        bq_client.load_table_from_uri(
            "gs://bucket/sales.csv", f"{dataset}.remote", job_config=_csv_config()
        ).result()


def test_upload_protocol_errors(bigquery_server):
    request = urllib.request.Request(
        f"{bigquery_server.url}/upload/bigquery/v2/projects/{PROJECT}/jobs?uploadType=resumable&upload_id=nope",
        data=b"1,a\n",
        headers={"Content-Range": "bytes 0-3/4"},
        method="PUT",
    )
    with pytest.raises(urllib.error.HTTPError) as failure:
        urllib.request.urlopen(request)
    assert failure.value.code == 404
    assert "upload nope" in json.loads(failure.value.read())["error"]["message"]


# ---- the CLI ---------------------------------------------------------------------------------------------


def _table_rows(data_dir, table: str) -> list[tuple]:
    warehouse = Warehouse(data_dir)
    try:
        name = TableRef(PROJECT, "shop", table).duckdb_name
        return warehouse.con.sql(f"SELECT * FROM {name} ORDER BY 1").fetchall()
    finally:
        warehouse.close()


def test_cli_load_as_a_user_runs_it(tmp_path):
    orders = tmp_path / "orders.csv.gz"
    orders.write_bytes(gzip.compress(b"order_id,amount\n1,2.5\n2,4.0\n"))
    command = [sys.executable, "-m", "local_bigquery", "load", f"{PROJECT}.shop.orders", str(orders)]
    options = ["--schema", "order_id:INT64,amount:FLOAT64", "--skip-leading-rows", "1"]
    result = subprocess.run(
        [*command, *options, "--data-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert "created dataset local-project.shop" in result.stdout
    assert "loaded 2 rows" in result.stdout
    assert _table_rows(tmp_path, "orders") == [(1, 2.5), (2, 4.0)]


def test_cli_appends_replaces_and_refuses_bad_rows(tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text("order_id,amount\n1,2.5\n2,4.0\n")
    typed = [
        "--schema",
        "order_id:INT64,amount:FLOAT64",
        "--skip-leading-rows",
        "1",
        "--data-dir",
        str(tmp_path),
    ]

    assert cli.main(["load", "shop.orders", str(orders), *typed]) == 0
    assert "created the table: 2 rows" in capsys.readouterr().out
    assert cli.main(["load", "shop.orders", str(orders), *typed]) == 0
    assert "appended to the table's 2 rows: now 4 rows (pass --replace" in capsys.readouterr().out
    assert len(_table_rows(tmp_path, "orders")) == 4
    assert cli.main(["load", "shop.orders", str(orders), *typed, "--replace"]) == 0
    assert "replaced the table's 4 rows: now 2 rows" in capsys.readouterr().out
    assert cli.main(["load", "shop.orders", str(orders), *typed]) == 0

    bad = tmp_path / "bad.csv"
    bad.write_text("order_id,amount\n3,1.0\nfour,2.0\n")
    capsys.readouterr()
    assert cli.main(["load", "shop.orders", str(bad), *typed, "--replace"]) == 1
    refused = capsys.readouterr().err
    assert "nothing was written" in refused and "line 3, field order_id (INT64)" in refused
    assert len(_table_rows(tmp_path, "orders")) == 4

    lines = tmp_path / "events.jsonl"
    lines.write_text('{"order_id": 9, "amount": 1}\n')
    assert (
        cli.main(
            ["load", "shop.orders", str(lines), "--autodetect", "--replace", "--data-dir", str(tmp_path)]
        )
        == 0
    )
    assert _table_rows(tmp_path, "orders") == [(9, 1)]


def test_cli_needs_a_known_format_and_a_full_table_name(tmp_path):
    unknown = tmp_path / "orders.txt"
    unknown.write_text("1\n")
    with pytest.raises(SystemExit, match="--format csv, json or parquet"):
        cli.main(["load", "shop.orders", str(unknown), "--data-dir", str(tmp_path)])
    with pytest.raises(SystemExit, match=r"not project\.dataset\.table"):
        cli.main(["load", "orders", str(unknown), "--format", "csv", "--data-dir", str(tmp_path)])


def test_bignumerics_duckdb_cannot_hold_are_refused_by_name_and_others_load(bq_client, dataset):
    """BIGNUMERIC keeps 38 digits after the point and about 39 before it; DuckDB's DECIMAL(38, 18) does not."""
    beyond = "not supported by local_bigquery: BIGNUMERIC values beyond 38 digits"
    schema = [bigquery.SchemaField("id", "INT64"), bigquery.SchemaField("b", "BIGNUMERIC")]
    csv = bigquery.LoadJobConfig(source_format="CSV", schema=schema, max_bad_records=1)
    for value in (b"99999999999999999999999999.5", b"0.1234567890123456789012"):
        with pytest.raises(exceptions.BadRequest, match=beyond):
            _load(bq_client, b"1,1.5\n2," + value + b"\n", f"{dataset}.big_csv", csv)
    job = _load(bq_client, b"1,1.5\nx,2\n3,-12345678901234567890.25\n", f"{dataset}.big_csv", csv)
    assert [e["location"] for e in job.errors] == ["line 2"]
    assert _rows(bq_client, f"SELECT b FROM {dataset}.big_csv ORDER BY id") == [
        (decimal.Decimal("1.5"),),
        (decimal.Decimal("-12345678901234567890.25"),),
    ]

    buffer = io.BytesIO()
    too_wide = pa.array(
        [decimal.Decimal("1.5"), decimal.Decimal("99999999999999999999999999.9")], pa.decimal128(38, 12)
    )
    pq.write_table(pa.table({"b": too_wide}), buffer)
    with pytest.raises(exceptions.BadRequest, match=beyond):
        _load(
            bq_client,
            buffer.getvalue(),
            f"{dataset}.big_parquet",
            bigquery.LoadJobConfig(source_format="PARQUET"),
        )
