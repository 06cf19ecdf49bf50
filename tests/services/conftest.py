"""The segment API over the real parts: local_bigquery over HTTP, the official client, the pipeline's own
DDL and persona MERGE, two published snapshots of a few hundred customers."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from benchmarks.segment_snapshots import Snapshot, create_tables, customer_features, drifted, publish, segment
from services.segments.api import create_app
from services.segments.service import SegmentService
from services.segments.settings import Settings
from services.segments.source import WarehouseReader
from tests.conftest import PROJECT

FIRST, SECOND = dt.date(2024, 5, 1), dt.date(2024, 6, 1)
CUSTOMERS = 600
SEGMENTS = 4


@dataclass
class Published:
    dataset: str
    snapshots: list[Snapshot]

    @property
    def latest(self) -> Snapshot:
        return self.snapshots[-1]


def snapshots_of(customers: int, seed: int) -> list[Snapshot]:
    first = customer_features(customers, seed)
    second = drifted(first, (SECOND - FIRST).days, new_customers=customers // 10, seed=seed + 1)
    return [segment(FIRST, first, SEGMENTS, seed), segment(SECOND, second, SEGMENTS, seed)]


def publish_dataset(bq_client, snapshots: list[Snapshot]) -> Published:
    dataset = f"segments_{uuid.uuid4().hex[:8]}"
    create_tables(bq_client, PROJECT, dataset)
    for snapshot in snapshots:
        publish(bq_client, PROJECT, dataset, snapshot)
    return Published(dataset, snapshots)


@pytest.fixture(scope="session")
def published(bq_client) -> Published:
    """Two snapshots, read by the tests that do not change the tables."""
    found = publish_dataset(bq_client, snapshots_of(CUSTOMERS, seed=7))
    yield found
    bq_client.delete_dataset(found.dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture
def fresh_dataset(bq_client):
    """A dataset of its own for a test that publishes, drops or alters tables."""
    found = publish_dataset(bq_client, snapshots_of(200, seed=11)[:1])
    yield found
    bq_client.delete_dataset(found.dataset, delete_contents=True, not_found_ok=True)


def make_service(bq_client, dataset: str, **settings) -> SegmentService:
    service = SegmentService(
        WarehouseReader(bq_client, PROJECT, dataset),
        Settings(project_id=PROJECT, dataset=dataset, **settings),
    )
    return service


def api_client(service: SegmentService) -> TestClient:
    return TestClient(create_app(service, service.settings, background_refresh=False))


@pytest.fixture(scope="session")
def service(bq_client, published) -> SegmentService:
    service = make_service(bq_client, published.dataset)
    assert service.refresh(), service.status
    return service


@pytest.fixture(scope="session")
def api(service) -> TestClient:
    with api_client(service) as client:
        yield client
