"""A small segmented warehouse on the local BigQuery server, written through the real client.

Tables are created from the pipeline's data dictionary (and the persona step's own DDL), so the report
reads exactly the columns a run writes. Three well-separated groups of customers per snapshot; profiles
are aggregated by the server from features and segments, as the segments step does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from segmentation.config import PipelineConfig
from segmentation.personas.store import Warehouse, sql_file
from segmentation.report import build_report
from segmentation.tables import partitioned_tables
from tests.conftest import PROJECT
from tests.plugins.report.gcs_server import FakeGcs

DAY, PREVIOUS_DAY = date(2024, 6, 2), date(2024, 6, 1)
PNG_SIZES = {
    "segments.png": (1200, 750),
    "segment_profile.png": (1400, 800),
    "choice_of_k.png": (1500, 480),
    "segment_history.png": (1200, 500),
}
# segment id: (customers, recency days, orders, spend per order, return ratio)
GROUPS = {
    1: (90, 25, 6, 120.0, 0.05),
    2: (130, 320, 1, 35.0, 0.10),
    3: (80, 60, 2, 0.0, 0.95),
}
# What a misbehaving model might write: markup, script, quotes and a javascript: link.
HOSTILE_PERSONA = {
    "title": '<script>alert("title")</script>',
    "persona": 'Tom\'s "best" customers & <img src=x onerror=alert(1)>',
    "summary": "</p><script>steal()</script>",
    "next_marketing_steps": ['<a href="javascript:alert(1)">click</a>', "ok", "ok"],
    "recommended_channel": '"><script>x()</script>',
}
# k: Davies-Bouldin index of a tuned model's trials; 3 is selected.
TRIALS = {2: 1.10, 3: 0.62, 4: 0.81}

_PROFILES = """\
INSERT INTO `{dataset}.segment_profiles`
  (snapshot_date, segment_id, customers, customer_share, revenue_share, recency_days, frequency,
   monetary, avg_order_value, tenure_days, return_ratio)
SELECT
  s.snapshot_date,
  s.segment_id,
  COUNT(*),
  COUNT(*) / SUM(COUNT(*)) OVER (),
  SAFE_DIVIDE(SUM(f.monetary), SUM(SUM(f.monetary)) OVER ()),
  AVG(f.recency_days), AVG(f.frequency), AVG(f.monetary), AVG(f.avg_order_value), AVG(f.tenure_days),
  AVG(f.return_ratio)
FROM `{dataset}.customer_segments` AS s
JOIN `{dataset}.customer_features` AS f USING (snapshot_date, customer_id)
WHERE s.snapshot_date = @day
GROUP BY s.snapshot_date, s.segment_id"""


def persona_row(day: date, segment_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "snapshot_date": day.isoformat(),
        "segment_id": segment_id,
        "title": f"Persona {segment_id} of {day}",
        "persona": f"Customers of group {segment_id}.",
        "summary": f"Group {segment_id} matters.",
        "next_marketing_steps": [f"Step {n} for {segment_id}." for n in (1, 2, 3)],
        "recommended_channel": "email",
        "backend": "offline",
        "model": "rfm-archetypes-1",
        "prompt_version": "personas-test",
        "prompt_sha256": "0" * 64,
        "latency_ms": 1,
        "generated_at": f"{day}T06:00:00Z",
        "raw_response": json.dumps({"personas": []}),
        **overrides,
    }


def _customers(day: date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Feature and segment rows: the groups above with seeded noise, a little different every day."""
    random = np.random.default_rng(day.toordinal())
    features, segments = [], []
    customer_id = 1000
    for segment_id, (count, recency, orders, spend, returns) in GROUPS.items():
        for _ in range(count):
            customer_id += 1
            frequency = max(1, int(random.poisson(orders)))
            monetary = round(float(frequency * spend * random.lognormal(0, 0.3)), 2)
            features.append(
                {
                    "snapshot_date": day.isoformat(),
                    "customer_id": customer_id,
                    "recency_days": int(random.integers(recency // 2, recency * 3 // 2 + 1)),
                    "frequency": frequency,
                    "monetary": monetary,
                    "avg_order_value": monetary / frequency,
                    "tenure_days": int(random.integers(recency, recency + 400)),
                    "return_ratio": float(np.clip(random.normal(returns, 0.03), 0, 1)),
                }
            )
            segments.append(
                {
                    "snapshot_date": day.isoformat(),
                    "customer_id": customer_id,
                    "segment_id": segment_id,
                    "distance": float(random.uniform(0.1, 2)),
                }
            )
    return features, segments


@dataclass
class ReportWarehouse:
    client: Any
    dataset: str

    def table(self, name: str) -> str:
        return f"{PROJECT}.{self.dataset}.{name}"

    def insert(self, name: str, rows: list[dict[str, Any]]) -> None:
        assert self.client.insert_rows_json(self.table(name), rows) == []

    def create_tables(self) -> None:
        for table in partitioned_tables(PipelineConfig()):
            columns = ", ".join(f"{column.name} {column.type}" for column in table.columns)
            self.client.query_and_wait(
                f"CREATE TABLE `{self.dataset}.{table.name}` ({columns}) PARTITION BY snapshot_date"
            )
        self.client.query_and_wait(
            sql_file("segment_personas_table.sql", Warehouse("google_cloud_default", PROJECT, self.dataset))
        )

    def add_snapshot(
        self, day: date, *, tuned: bool = True, personas: Mapping[int, Mapping[str, Any]] | None = None
    ) -> None:
        """One snapshot as a run leaves it; `personas` overrides persona fields per segment id."""
        from google.cloud import bigquery

        features, segments = _customers(day)
        self.insert("customer_features", features)
        self.insert("customer_segments", segments)
        self.client.query_and_wait(
            _PROFILES.format(dataset=self.dataset),
            job_config=bigquery.QueryJobConfig(
                query_parameters=[bigquery.ScalarQueryParameter("day", "DATE", day)]
            ),
        )
        trials = TRIALS if tuned else {3: TRIALS[3]}
        self.insert(
            "model_evaluations",
            [
                {
                    "snapshot_date": day.isoformat(),
                    "trial_id": trial_id if tuned else None,
                    "k": k,
                    "davies_bouldin_index": index,
                    "mean_squared_distance": 3.0 / k,
                    "training_rows": len(features),
                    "is_selected": k == 3,
                }
                for trial_id, (k, index) in enumerate(trials.items(), start=1)
            ],
        )
        first = day == PREVIOUS_DAY
        self.insert(
            "segment_stability",
            [
                {
                    "snapshot_date": day.isoformat(),
                    "previous_snapshot_date": None if first else PREVIOUS_DAY.isoformat(),
                    "training": "rebased" if first else "continued",
                    "rebase_reason": "no earlier snapshot" if first else None,
                    "customers": len(features),
                    "kept_share": None if first else 0.975,
                    "unchanged_kept_share": None if first else 0.996,
                    "new_segments": 3 if first else 1,
                    "max_centroid_shift": None if first else 0.25,
                }
            ],
        )
        self.insert(
            "segment_id_mapping",
            [
                {
                    "snapshot_date": day.isoformat(),
                    "centroid_id": segment_id,
                    "segment_id": segment_id,
                    "previous_segment_id": None if first or segment_id == 3 else segment_id,
                    "centroid_shift": None if first or segment_id == 3 else 0.125 * segment_id,
                }
                for segment_id in GROUPS
            ],
        )
        overrides = personas or {}
        self.insert(
            "segment_personas",
            [persona_row(day, segment_id, **overrides.get(segment_id, {})) for segment_id in GROUPS],
        )


@contextmanager
def new_warehouse(client) -> Generator[ReportWarehouse]:
    """The pipeline's tables, empty, in a fresh dataset deleted afterwards."""
    dataset = f"report_{uuid.uuid4().hex[:10]}"
    client.create_dataset(dataset)
    try:
        created = ReportWarehouse(client, dataset)
        created.create_tables()
        yield created
    finally:
        client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture
def warehouse(bq_client) -> Iterator[ReportWarehouse]:
    with new_warehouse(bq_client) as created:
        yield created


def build_into(warehouse: ReportWarehouse, destination: Path | str, day: date = DAY, **kwargs: Any) -> str:
    return build_report(
        snapshot_date=day.isoformat(),
        project_id=PROJECT,
        dataset=warehouse.dataset,
        destination=str(destination),
        **kwargs,
    )


@pytest.fixture(scope="module")
def two_snapshots(bq_client) -> Iterator[ReportWarehouse]:
    """PREVIOUS_DAY and DAY as runs leave them; segment 2's persona on DAY is hostile HTML."""
    with new_warehouse(bq_client) as created:
        created.add_snapshot(PREVIOUS_DAY)
        created.add_snapshot(DAY, personas={2: HOSTILE_PERSONA})
        yield created


@pytest.fixture(scope="module")
def published(two_snapshots, tmp_path_factory) -> Path:
    """The page of DAY's report, built once for the module's read-only assertions."""
    return Path(build_into(two_snapshots, tmp_path_factory.mktemp("published") / "reports"))


@pytest.fixture
def fake_gcs(monkeypatch) -> Iterator[FakeGcs]:
    with FakeGcs() as gcs:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.url)
        yield gcs
