"""include/sql/align_segment_ids.sql, rendered as the DAG's task renders it, on the local BigQuery server.

Each case publishes a previous snapshot of customer_segments, stages today's model numbering, runs the
step, and reads the staged ids back.
"""

from __future__ import annotations

import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag

from tests.conftest import PROJECT, ROOT

TODAY = pendulum.datetime(2024, 6, 1, tz="UTC")
TASK_ID = "segments.align_segment_ids"


@pytest.fixture(scope="module")
def task():
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    dag = bag.dags["customer_segmentation"]
    return dag, dag.get_task(TASK_ID)


def _align(bq_client, task, dataset: str, day: pendulum.DateTime = TODAY) -> None:
    dag, operator = task
    params = {name: operator.params[name] for name in operator.params}
    context = {
        "params": {**params, "project_id": PROJECT, "dataset": dataset},
        "ds": day.to_date_string(),
        "ds_nodash": day.format("YYYYMMDD"),
    }
    sql = operator.render_template(operator.configuration["query"]["query"], context, dag.get_template_env())
    bq_client.query_and_wait(sql)


def _rows(date: str, assignments: dict[int, int]) -> str:
    return " UNION ALL ".join(
        f"SELECT DATE '{date}' AS snapshot_date, {customer} AS customer_id, {segment} AS segment_id, "
        "0.5 AS distance"
        for customer, segment in assignments.items()
    )


def _publish(bq_client, dataset: str, date: str, assignments: dict[int, int]) -> None:
    table = f"`{dataset}.customer_segments`"
    bq_client.query_and_wait(
        f"CREATE TABLE IF NOT EXISTS {table} (snapshot_date DATE, customer_id INT64, segment_id INT64, "
        "distance FLOAT64) PARTITION BY snapshot_date"
    )
    bq_client.query_and_wait(f"INSERT INTO {table} {_rows(date, assignments)}")


def _stage(bq_client, dataset: str, assignments: dict[int, int], day: pendulum.DateTime = TODAY) -> None:
    bq_client.query_and_wait(
        f"CREATE TABLE `{dataset}._staging_customer_segments_{day.format('YYYYMMDD')}` AS "
        f"{_rows(day.to_date_string(), assignments)}"
    )


def _staged(bq_client, dataset: str, day: pendulum.DateTime = TODAY) -> dict[int, int]:
    rows = bq_client.query_and_wait(
        f"SELECT customer_id, segment_id FROM `{dataset}._staging_customer_segments_{day.format('YYYYMMDD')}`"
    )
    return {row.customer_id: row.segment_id for row in rows}


def _by_customer(groups: dict[int, range]) -> dict[int, int]:
    return {customer: segment for segment, customers in groups.items() for customer in customers}


# Yesterday: customers 0-9 in segment 1, 10-19 in 2, 20-29 in 3.
YESTERDAY = _by_customer({1: range(0, 10), 2: range(10, 20), 3: range(20, 30)})


def test_segments_take_the_ids_of_the_previous_segments_they_continue(bq_client, dataset, task):
    _publish(bq_client, dataset, "2024-05-31", YESTERDAY)
    # Today the model numbers the same groups 3, 1, 2; customer 9 moved, 30-31 are new.
    today = _by_customer({3: [*range(0, 9), 31], 1: [9, *range(10, 20)], 2: [*range(20, 30), 30]})
    _stage(bq_client, dataset, today)

    _align(bq_client, task, dataset)

    expected = {**YESTERDAY, 9: 2, 30: 3, 31: 1}
    assert _staged(bq_client, dataset) == expected


def test_the_first_snapshot_keeps_the_models_numbering(bq_client, dataset, task):
    _publish(bq_client, dataset, "2024-06-15", YESTERDAY)  # later dates do not count
    today = _by_customer({3: range(0, 10), 1: range(10, 20), 2: range(20, 30)})
    _stage(bq_client, dataset, today)

    _align(bq_client, task, dataset)

    assert _staged(bq_client, dataset) == today


def test_a_changed_number_of_segments_keeps_the_models_numbering(bq_client, dataset, task):
    _publish(bq_client, dataset, "2024-05-31", YESTERDAY)
    today = _by_customer({2: range(0, 15), 1: range(15, 30)})
    _stage(bq_client, dataset, today)

    _align(bq_client, task, dataset)

    assert _staged(bq_client, dataset) == today


def test_aligns_with_the_latest_snapshot_before_the_date(bq_client, dataset, task):
    _publish(
        bq_client, dataset, "2024-05-01", _by_customer({3: range(0, 10), 1: range(10, 20), 2: range(20, 30)})
    )
    _publish(bq_client, dataset, "2024-05-31", YESTERDAY)
    _stage(bq_client, dataset, _by_customer({2: range(0, 10), 3: range(10, 20), 1: range(20, 30)}))

    _align(bq_client, task, dataset)

    assert _staged(bq_client, dataset) == YESTERDAY


def test_segments_without_a_mutual_counterpart_share_the_left_over_ids(bq_client, dataset, task):
    _publish(bq_client, dataset, "2024-05-31", YESTERDAY)
    # Model segment 2 continues yesterday's 3. Yesterday's 1 and 2 merged into model segment 3 (20
    # customers) while model segment 1 took a few of each: segment 3 is the best match of both, so only
    # one of them can keep its id.
    today = _by_customer({2: range(20, 30), 3: [*range(0, 8), *range(10, 18)], 1: [8, 9, 18, 19]})
    _stage(bq_client, dataset, today)

    _align(bq_client, task, dataset)

    staged = _staged(bq_client, dataset)
    assert {staged[customer] for customer in range(20, 30)} == {3}
    assert {staged[customer] for customer in [*range(0, 8), *range(10, 18)]} == {1}  # ties go to the lower id
    assert {staged[customer] for customer in [8, 9, 18, 19]} == {2}
