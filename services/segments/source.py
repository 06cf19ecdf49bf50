"""Reading the pipeline's published tables with the official BigQuery client: a snapshot at a time.

A few queries per snapshot, none per request. The customer-level tables are fetched *packed*: each result
row holds a chunk of customers as one CSV text, a line per customer (`STRING_AGG` of a `CONCAT` per row,
so a line's fields always belong together). The REST API returns rows as JSON cells that the client
converts one by one, about 8 s per million cells; a packed result is a few dozen cells, parsed by Arrow's
CSV reader in C++. It is plain GoogleSQL, so it runs on BigQuery and local_bigquery alike:
https://cloud.google.com/bigquery/docs/reference/standard-sql/aggregate_functions#string_agg
Numbers travel as `CAST(x AS STRING)`, strings quoted, NULL as an empty field. (On BigQuery the Storage
Read API would be the other fast path; it needs another client library, and local_bigquery lacks it.)
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
from google.api_core.exceptions import NotFound
from google.cloud import bigquery

from segmentation.config import ConfigError, PipelineConfig
from segmentation.tables import CUSTOMER_ID, PERSONAS, SEGMENT_ID, SNAPSHOT_DATE, partitioned_tables

log = logging.getLogger(__name__)
_TABLES = {table.name: table for table in partitioned_tables(PipelineConfig())}
FEATURES, SEGMENTS, PROFILES = "customer_features", "customer_segments", "segment_profiles"
assert {FEATURES, SEGMENTS, PROFILES} <= set(_TABLES), "the pipeline's tables were renamed"
# Written by the value model when the pipeline runs it; read only where it exists.
PREDICTIONS = "customer_value_predictions"
WATCHED_TABLES = (SEGMENTS, FEATURES, PROFILES, PERSONAS, PREDICTIONS)
KEY_COLUMNS = frozenset({SNAPSHOT_DATE.name, CUSTOMER_ID.name})
PERSONA_COLUMNS = (
    "title",
    "persona",
    "summary",
    "next_marketing_steps",
    "recommended_channel",
    "backend",
    "model",
    "generated_at",
)
# Customers per packed row: a few MB per row, far below BigQuery's 100 MB row limit.
CHUNK_CUSTOMERS = 20_000
INTEGER_TYPES = frozenset({"INTEGER", "INT64"})
FLOAT_TYPES = frozenset({"FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC"})
STRING_TYPES = frozenset({"STRING"})


def make_client(project_id: str) -> bigquery.Client:
    """The official client; anonymous against an emulator (BIGQUERY_EMULATOR_HOST, e.g. local_bigquery),
    Application Default Credentials otherwise (Cloud Run's service account)."""
    if os.environ.get("BIGQUERY_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        if not project_id:
            raise ConfigError("BIGQUERY_EMULATOR_HOST is set: set SEGMENTATION_PROJECT_ID too")
        return bigquery.Client(project=project_id, credentials=AnonymousCredentials())
    return bigquery.Client(project=project_id or None)


@dataclass(frozen=True)
class SnapshotInfo:
    snapshot_date: dt.date
    segments: int
    customers: int


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str  # BigQuery's field type
    description: str = ""

    @property
    def kind(self) -> str | None:
        for kind, types in (("int", INTEGER_TYPES), ("float", FLOAT_TYPES), ("str", STRING_TYPES)):
            if self.type in types:
                return kind
        return None


@dataclass
class SnapshotData:
    """Everything the service serves about one snapshot, as fetched."""

    snapshot_date: dt.date
    profiles: list[dict]
    personas: dict[int, dict]
    feature_columns: list[ColumnSpec]
    prediction_columns: list[ColumnSpec]
    customers: dict[str, np.ndarray]  # customer_id, segment_id, distance, then the columns above
    history: dict[str, np.ndarray]  # customer_id, day (days since 1970-01-01), segment_id
    history_dates: list[dt.date] = field(default_factory=list)


def _csv_field(expression: str, kind: str) -> str:
    """One CSV field: numbers as CAST(... AS STRING), strings quoted with their quotes doubled, NULL empty."""
    if kind == "str":
        return f"IFNULL(CONCAT('\"', REPLACE({expression}, '\"', '\"\"'), '\"'), '')"
    return f"IFNULL(CAST({expression} AS STRING), '')"


def packed_query(relation: str, columns: Sequence[tuple[str, str]], chunks: int) -> str:
    """`relation`'s columns as `chunks` rows of one CSV text each, a line per row of `relation`.

    `columns` are (expression, kind). Each line is built from one row, so the columns stay aligned
    whatever order the lines come in; no ordered aggregate (a sort per column) is needed.
    """
    fields = ", ',', ".join(_csv_field(expression, kind) for expression, kind in columns)
    return (
        f"SELECT STRING_AGG(packed.line, '\\n') AS csv\n"
        f"FROM (SELECT {CUSTOMER_ID.name}, CONCAT({fields}) AS line FROM ({relation})) AS packed\n"
        f"GROUP BY MOD(ABS(packed.{CUSTOMER_ID.name}), {int(chunks)})"
    )


ARROW_TYPES = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}


def unpack(cells: list[str], columns: Sequence[tuple[str, str]]) -> dict[str, np.ndarray]:
    """The packed CSV cells as one array per (name, kind): NULL as NaN (numbers) or None (strings)."""
    names = [name for name, _ in columns]
    types = {name: ARROW_TYPES[kind] for name, kind in columns}
    if not cells:
        return {name: np.array([], dtype=types[name].to_pandas_dtype()) for name in names}
    table = pa_csv.read_csv(
        io.BytesIO("\n".join(cells).encode()),
        read_options=pa_csv.ReadOptions(column_names=names),
        convert_options=pa_csv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )
    return {name: _numpy(table.column(name), kind) for name, kind in columns}


def _numpy(column: pa.ChunkedArray, kind: str) -> np.ndarray:
    if kind == "str":
        return np.array(column.to_pylist(), dtype=object)
    if kind == "int" and column.null_count:
        column = column.cast(pa.float64())  # an integer column with NULLs: NaN marks them
    return column.to_numpy()


class WarehouseReader:
    def __init__(self, client: bigquery.Client, project_id: str, dataset: str):
        self.client = client
        self.project_id = project_id or client.project
        self.dataset = dataset

    def table_id(self, name: str) -> str:
        return f"{self.project_id}.{self.dataset}.{name}"

    def table(self, name: str) -> str:
        return f"`{self.table_id(name)}`"

    def _query(self, sql: str, **parameters: object) -> list[bigquery.Row]:
        types = {dt.date: "DATE", int: "INT64"}
        config = bigquery.QueryJobConfig(
            query_parameters=[
                bigquery.ScalarQueryParameter(name, types[type(value)], value)
                for name, value in parameters.items()
            ]
        )
        return list(self.client.query_and_wait(sql, job_config=config))

    def _schema(self, name: str) -> list[ColumnSpec] | None:
        try:
            table = self.client.get_table(self.table_id(name))
        except NotFound:
            return None
        return [
            ColumnSpec(column.name, column.field_type, column.description or "") for column in table.schema
        ]

    def versions(self) -> tuple[tuple[str, str | None], ...]:
        """Each watched table's last modification (None when it does not exist): table metadata only,
        no query and no bytes billed. DML and loads update it:
        https://cloud.google.com/bigquery/docs/reference/rest/v2/tables#Table.FIELDS.last_modified_time"""
        versions = []
        for name in WATCHED_TABLES:
            try:
                table = self.client.get_table(self.table_id(name))
            except NotFound:
                if name in (PERSONAS, PREDICTIONS):
                    versions.append((name, None))
                    continue
                raise
            versions.append(
                (name, f"{table.modified.isoformat() if table.modified else ''}/{table.num_rows}")
            )
        return tuple(versions)

    def snapshots(self) -> list[SnapshotInfo]:
        """Every published snapshot, oldest first (segment_profiles holds a handful of rows per snapshot)."""
        rows = self._query(
            f"SELECT snapshot_date, COUNT(*) AS segments, SUM(customers) AS customers "
            f"FROM {self.table(PROFILES)} GROUP BY snapshot_date ORDER BY snapshot_date"
        )
        return [SnapshotInfo(row["snapshot_date"], row["segments"], row["customers"]) for row in rows]

    def load(self, snapshot: SnapshotInfo, history_dates: Sequence[dt.date]) -> SnapshotData:
        day = snapshot.snapshot_date
        chunks = max(1, math.ceil(snapshot.customers / CHUNK_CUSTOMERS))
        feature_columns = self._value_columns(FEATURES)
        prediction_columns = self._value_columns(PREDICTIONS) if self._schema(PREDICTIONS) is not None else []
        # The two big queries are independent jobs: BigQuery runs them side by side, and either one's
        # parsing overlaps the other's query.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="snapshot-load") as pool:
            customers = pool.submit(self._customers, day, feature_columns, prediction_columns, chunks)
            history = pool.submit(self._history, day, min(history_dates, default=day), chunks)
            started = time.perf_counter()
            customers.result()
            log.info("snapshot %s: customers in %.1f s", day, time.perf_counter() - started)
            history.result()
            log.info("snapshot %s: customers and history in %.1f s", day, time.perf_counter() - started)
        return SnapshotData(
            snapshot_date=day,
            profiles=[
                dict(row.items())
                for row in self._query(
                    f"SELECT * FROM {self.table(PROFILES)} WHERE snapshot_date = @day ORDER BY segment_id",
                    day=day,
                )
            ],
            personas=self.personas(day),
            feature_columns=feature_columns,
            prediction_columns=prediction_columns,
            customers=customers.result(),
            history=history.result(),
            history_dates=list(history_dates),
        )

    def _value_columns(self, name: str) -> list[ColumnSpec]:
        schema = self._schema(name) or []
        return [column for column in schema if column.name not in KEY_COLUMNS and column.kind is not None]

    def personas(self, day: dt.date) -> dict[int, dict]:
        if self._schema(PERSONAS) is None:
            return {}
        rows = self._query(
            f"SELECT segment_id, {', '.join(PERSONA_COLUMNS)} FROM {self.table(PERSONAS)} "
            "WHERE snapshot_date = @day",
            day=day,
        )
        return {row["segment_id"]: {column: row[column] for column in PERSONA_COLUMNS} for row in rows}

    def _customers(
        self, day: dt.date, features: list[ColumnSpec], predictions: list[ColumnSpec], chunks: int
    ) -> dict[str, np.ndarray]:
        joins = (
            f"LEFT JOIN {self.table(PREDICTIONS)} AS predictions "
            "ON predictions.snapshot_date = segments.snapshot_date "
            "AND predictions.customer_id = segments.customer_id"
            if predictions
            else ""
        )
        selected = [
            ("segments.customer_id", "customer_id", "int"),
            ("segments.segment_id", "segment_id", "int"),
            ("segments.distance", "distance", "float"),
            *((f"features.`{c.name}`", f"feature:{c.name}", c.kind) for c in features),
            *((f"predictions.`{c.name}`", f"prediction:{c.name}", c.kind) for c in predictions),
        ]
        relation = (
            f"SELECT {', '.join(f'{expr} AS v{i}' for i, (expr, _, _) in enumerate(selected))}, "
            f"segments.customer_id\n"
            f"FROM {self.table(SEGMENTS)} AS segments\n"
            f"JOIN {self.table(FEATURES)} AS features\n"
            "  ON features.snapshot_date = segments.snapshot_date AND features.customer_id = segments.customer_id\n"
            f"{joins}\nWHERE segments.snapshot_date = @day"
        )
        columns = [(f"v{i}", kind) for i, (_, _, kind) in enumerate(selected)]
        rows = self._query(packed_query(relation, columns, chunks), day=day)
        return unpack([row["csv"] for row in rows], [(name, kind) for _, name, kind in selected])

    def _history(self, day: dt.date, since: dt.date, chunks: int) -> dict[str, np.ndarray]:
        """The snapshots in [since, day] where each customer entered a segment: first seen, or moved."""
        relation = f"""
SELECT customer_id, UNIX_DATE(snapshot_date) AS day, segment_id FROM (
  SELECT customer_id, snapshot_date, segment_id,
    LAG(segment_id) OVER (PARTITION BY customer_id ORDER BY snapshot_date) AS previous_segment
  FROM {self.table(SEGMENTS)}
  WHERE snapshot_date BETWEEN @since AND @day
)
WHERE previous_segment IS NULL OR previous_segment != segment_id"""
        columns = [(name, "int") for name in (CUSTOMER_ID.name, "day", SEGMENT_ID.name)]
        rows = self._query(packed_query(relation, columns, chunks), day=day, since=since)
        return unpack([row["csv"] for row in rows], columns)
