"""The gates on tables of one row per featured customer (segments, value predictions), rendered as their tasks
render them and run on local_bigquery through the real client: the segments gate's own message (not a
transaction error) is what the task log shows, although the gate reads ML.CENTROIDS."""

from __future__ import annotations

import uuid

import pytest

from tests.include.test_gates import CUT_OFF, dag, run_gate  # ruff: ignore[unused-import] (dag is a fixture)

STAGED = CUT_OFF.format("YYYYMMDD")


@pytest.fixture
def segmented(bq_client):
    """`make(segments)`: a dataset with 6 staged featured customers, the run's 3-centroid k-means model, its
    centroids' segment ids (the same numbers) and the staged segments `{customer_id: segment_id}`; returns
    the run's conf."""
    created = []

    def make(segments: dict[int, int]) -> dict:
        dataset = f"segments_gate_{uuid.uuid4().hex[:8]}"
        bq_client.create_dataset(dataset)
        created.append(dataset)
        bq_client.query_and_wait(
            f"CREATE TABLE {dataset}._staging_customer_features_{STAGED} AS "
            "SELECT id AS customer_id, CAST(id * 10 AS FLOAT64) AS monetary "
            "FROM UNNEST(GENERATE_ARRAY(1, 6)) AS id"
        )
        bq_client.query_and_wait(
            f"CREATE MODEL {dataset}._staging_customer_segments_kmeans_{STAGED} "
            "OPTIONS (model_type = 'kmeans', num_clusters = 3) "
            f"AS SELECT monetary FROM {dataset}._staging_customer_features_{STAGED}"
        )
        bq_client.query_and_wait(
            f"CREATE TABLE {dataset}._staging_segment_id_mapping_{STAGED} AS "
            "SELECT id AS centroid_id, id AS segment_id FROM UNNEST(GENERATE_ARRAY(1, 3)) AS id"
        )
        rows = ", ".join(
            f"STRUCT({customer} AS customer_id, {segment} AS segment_id)"
            for customer, segment in segments.items()
        )
        bq_client.query_and_wait(
            f"CREATE TABLE {dataset}._staging_customer_segments_{STAGED} AS SELECT * FROM UNNEST([{rows}])"
        )
        return {"dataset": dataset}

    yield make
    for dataset in created:
        bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)


def test_the_segments_gate_passes_one_segment_each(dag, bq_client, segmented):  # ruff: ignore[redefined-while-unused]
    conf = segmented({1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 3})
    assert run_gate(dag, bq_client, "segments.check_customer_segments", conf) is None


def test_the_segments_gate_reports_its_own_reason(dag, bq_client, segmented):  # ruff: ignore[redefined-while-unused]
    conf = segmented({1: 1, 2: 1, 3: 2, 4: 2, 5: 2})
    message = run_gate(dag, bq_client, "segments.check_customer_segments", conf)
    assert message.endswith(
        ": customer_segments gate failed: 1 empty segments (centroids nobody is assigned to); "
        "1 featured customers without a segment"
    )


def test_the_predictions_gate_names_every_customer_without_exactly_one_prediction(dag, bq_client):  # ruff: ignore[redefined-while-unused]
    dataset = f"predictions_gate_{uuid.uuid4().hex[:8]}"
    bq_client.create_dataset(dataset)
    try:
        bq_client.query_and_wait(
            f"CREATE TABLE {dataset}._staging_customer_features_{STAGED} AS "
            "SELECT id AS customer_id FROM UNNEST(GENERATE_ARRAY(1, 3)) AS id"
        )
        # Customer 1 twice, 3 never, 4 not featured.
        predictions = ", ".join(
            f"STRUCT({customer} AS customer_id, 10.0 AS predicted_value)" for customer in (1, 1, 2, 4)
        )
        bq_client.query_and_wait(
            f"CREATE TABLE {dataset}._staging_customer_value_predictions_{STAGED} AS "
            f"SELECT * FROM UNNEST([{predictions}])"
        )
        message = run_gate(
            dag, bq_client, "customer_value.check_customer_value_predictions", {"dataset": dataset}
        )
    finally:
        bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)
    assert message.endswith(
        ": customer_value_predictions gate failed: 1 customers with more than one prediction; "
        "1 featured customers without a prediction; 1 predicted customers missing from customer_features"
    )
