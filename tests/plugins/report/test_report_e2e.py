"""The report of a real pipeline run: the customer_segmentation DAG (dag.test) on a small thelook sample,
tuning k over a range, then build_report on what it published."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pendulum
import pytest
from google.cloud import bigquery
from PIL import Image

from local_bigquery.samples import thelook
from segmentation.report import build_report
from tests.conftest import PROJECT, ROOT, run_dag
from tests.plugins.report.conftest import PNG_SIZES

pytestmark = pytest.mark.airflow

USERS = 1_500
DAY = "2024-06-01"


@pytest.fixture(scope="module")
def source(bq_client, tmp_path_factory):
    dataset = f"thelook_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(dataset)
    files = thelook.write_parquet(thelook.generate(users=USERS), tmp_path_factory.mktemp("thelook"))
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET)
    for name, path in files.items():
        with open(path, "rb") as parquet:
            bq_client.load_table_from_file(parquet, f"{dataset}.{name}", job_config=config).result()
    yield dataset
    bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


@pytest.fixture(scope="module")
def segmented(airflow_db, bigquery_server, bq_client, source):
    """The dataset a successful DAG run of DAY published, k tuned over 2..5."""
    from airflow.dag_processing.dagbag import DagBag

    output = f"segmentation_{uuid.uuid4().hex[:8]}"
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    conf = {
        "project_id": PROJECT,
        "dataset": output,
        "source_project": PROJECT,
        "source_dataset": source,
        "k_min": 2,
        "k_max": 5,
    }
    run = run_dag(bag.dags["customer_segmentation"], pendulum.parse(DAY), conf)
    assert run.state == "success"
    yield output
    bq_client.delete_dataset(output, delete_contents=True, not_found_ok=True)


def test_report_of_a_real_run(segmented, bq_client, tmp_path):
    segments = [
        (row.segment_id, row.title)
        for row in bq_client.query_and_wait(
            f"SELECT segment_id, title FROM `{segmented}.segment_personas` "
            f"WHERE snapshot_date = '{DAY}' ORDER BY segment_id"
        )
    ]

    page_path = Path(
        build_report(
            snapshot_date=DAY, project_id=PROJECT, dataset=segmented, destination=str(tmp_path / "reports")
        )
    )

    assert page_path == tmp_path / "reports" / DAY / "report.html"
    expected = {name: size for name, size in PNG_SIZES.items() if name != "segment_history.png"}
    value_charts = ["segment_value.png", "value_calibration.png"]
    assert sorted(path.name for path in page_path.parent.iterdir()) == sorted(
        [*expected, *value_charts, "report.html"]
    )
    for name, size in expected.items():
        with Image.open(page_path.parent / name) as image:
            assert image.size == size, name
    text = page_path.read_text()
    assert len(segments) >= 2
    for segment_id, title in segments:
        assert f'id="segment-{segment_id}"' in text
        assert f"{segment_id} · {title}" in text
    assert "lowest Davies-Bouldin index among k = 2..5" in text
    assert "Predicted customer value, backtested" in text and "Value per segment" in text
    # The run's cost, from the run_costs rows its record_costs task wrote just before.
    assert re.search(
        r"BigQuery cost of the run</th><td>\d+ jobs, [\d.,]+ MB processed, [\d.,]+ MB billed", text
    )
    assert "none (offline personas)" in text
