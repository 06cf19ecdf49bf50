"""segment_transitions, segment_membership_changes, their gate and the views over them, rendered as the DAG's
tasks render them and run on local_bigquery through the real client, on crafted snapshots.

Each case creates the pipeline's tables with the DAG's own create_tables job, publishes earlier snapshots of
customer_segments, stages today's, and runs the changes tasks.
"""

from __future__ import annotations

import pendulum
import pytest
from airflow.dag_processing.dagbag import DagBag
from google.api_core.exceptions import BadRequest

from tests.conftest import PROJECT, ROOT

TODAY = pendulum.datetime(2024, 6, 1, tz="UTC")
STAGED = TODAY.format("YYYYMMDD")
# Yesterday: customers 0-9 in segment 1, 10-19 in 2, 20-29 in 3.
YESTERDAY = {customer: 1 + customer // 10 for customer in range(30)}
# Today: 9 moved from 1 to 2, 20-24 from 3 to 1, 25-29 left the base, 30-32 are new in 3.
TODAY_SEGMENTS = {
    **{customer: 1 for customer in range(9)},
    9: 2,
    **{customer: 2 for customer in range(10, 20)},
    **{customer: 1 for customer in range(20, 25)},
    **{customer: 3 for customer in range(30, 33)},
}


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_segmentation"]


def _run(dag, bq_client, task_id: str, dataset: str, day: pendulum.DateTime = TODAY) -> None:
    task = dag.get_task(task_id)
    params = {name: task.params[name] for name in task.params}
    context = {
        "params": {**params, "project_id": PROJECT, "dataset": dataset},
        "ds": day.to_date_string(),
        "ds_nodash": day.format("YYYYMMDD"),
        "data_interval_start": day,
        "data_interval_end": day,
    }
    sql = task.render_template(task.configuration["query"]["query"], context, dag.get_template_env())
    bq_client.query_and_wait(sql)


def _rows(date: str, assignments: dict[int, int]) -> str:
    return " UNION ALL ".join(
        f"SELECT DATE '{date}' AS snapshot_date, {customer} AS customer_id, {segment} AS segment_id, "
        "0.5 AS distance"
        for customer, segment in assignments.items()
    )


@pytest.fixture
def tables(dag, bq_client, dataset) -> str:
    _run(dag, bq_client, "setup.create_tables", dataset)
    return dataset


def _publish(bq_client, dataset: str, date: str, assignments: dict[int, int]) -> None:
    bq_client.query_and_wait(
        f"INSERT INTO `{dataset}.customer_segments` (snapshot_date, customer_id, segment_id, distance) "
        f"{_rows(date, assignments)}"
    )


def _stage_changes(dag, bq_client, dataset: str, assignments: dict[int, int]) -> None:
    bq_client.query_and_wait(
        f"CREATE TABLE `{dataset}._staging_customer_segments_{STAGED}` AS "
        f"{_rows(TODAY.to_date_string(), assignments)}"
    )
    _run(dag, bq_client, "changes.stage_segment_transitions", dataset)
    _run(dag, bq_client, "changes.stage_segment_membership_changes", dataset)


def _transitions(bq_client, dataset: str) -> dict[tuple[int | None, int | None], int]:
    rows = list(
        bq_client.query_and_wait(
            f"SELECT snapshot_date, previous_segment_id, segment_id, customers "
            f"FROM `{dataset}._staging_segment_transitions_{STAGED}`"
        )
    )
    assert {row.snapshot_date.isoformat() for row in rows} <= {TODAY.to_date_string()}
    return {(row.previous_segment_id, row.segment_id): row.customers for row in rows}


def _changes(bq_client, dataset: str) -> dict[int, tuple[int | None, int | None, str]]:
    rows = bq_client.query_and_wait(
        f"SELECT customer_id, previous_segment_id, segment_id, change "
        f"FROM `{dataset}._staging_segment_membership_changes_{STAGED}`"
    )
    return {row.customer_id: (row.previous_segment_id, row.segment_id, row.change) for row in rows}


def test_transitions_count_every_customer_of_both_snapshots_once(dag, bq_client, tables):
    _publish(bq_client, tables, "2024-05-31", YESTERDAY)
    _publish(bq_client, tables, "2024-06-15", {0: 3})  # a later snapshot does not count
    _stage_changes(dag, bq_client, tables, TODAY_SEGMENTS)

    assert _transitions(bq_client, tables) == {
        (1, 1): 9,
        (1, 2): 1,
        (2, 2): 10,
        (3, 1): 5,
        (3, None): 5,
        (None, 3): 3,
    }
    _run(dag, bq_client, "changes.check_segment_transitions", tables)  # the gate passes


def test_the_change_feed_lists_who_entered_moved_or_left(dag, bq_client, tables):
    _publish(bq_client, tables, "2024-05-31", YESTERDAY)
    _stage_changes(dag, bq_client, tables, TODAY_SEGMENTS)

    assert _changes(bq_client, tables) == {
        9: (1, 2, "moved"),
        **{customer: (3, 1, "moved") for customer in range(20, 25)},
        **{customer: (3, None, "left") for customer in range(25, 30)},
        **{customer: (None, 3, "entered") for customer in range(30, 33)},
    }


def test_on_the_first_snapshot_every_customer_enters(dag, bq_client, tables):
    _stage_changes(dag, bq_client, tables, YESTERDAY)

    assert _transitions(bq_client, tables) == {(None, 1): 10, (None, 2): 10, (None, 3): 10}
    assert set(_changes(bq_client, tables).values()) == {
        (None, 1, "entered"),
        (None, 2, "entered"),
        (None, 3, "entered"),
    }
    _run(dag, bq_client, "changes.check_segment_transitions", tables)


def test_the_gate_fails_transitions_that_do_not_add_up(dag, bq_client, tables):
    _publish(bq_client, tables, "2024-05-31", YESTERDAY)
    _stage_changes(dag, bq_client, tables, TODAY_SEGMENTS)
    bq_client.query_and_wait(
        f"UPDATE `{tables}._staging_segment_transitions_{STAGED}` SET customers = customers + 2 "
        "WHERE previous_segment_id = 1 AND segment_id = 1"
    )

    with pytest.raises(BadRequest) as failure:
        _run(dag, bq_client, "changes.check_segment_transitions", tables)
    message = str(failure.value)
    assert "segment_transitions gate failed: " in message
    assert (
        "2 customers of the previous snapshot miscounted; 2 customers of the snapshot miscounted" in message
    )


def test_the_gate_fails_a_change_feed_missing_a_customer(dag, bq_client, tables):
    _publish(bq_client, tables, "2024-05-31", YESTERDAY)
    _stage_changes(dag, bq_client, tables, TODAY_SEGMENTS)
    bq_client.query_and_wait(
        f"DELETE FROM `{tables}._staging_segment_membership_changes_{STAGED}` WHERE customer_id = 9"
    )

    with pytest.raises(BadRequest, match="1 membership changes not matching the transitions"):
        _run(dag, bq_client, "changes.check_segment_transitions", tables)


def test_the_views_answer_current_members_and_as_of_questions(dag, bq_client, tables):
    _publish(bq_client, tables, "2024-05-30", {1: 1, 2: 1})
    _publish(bq_client, tables, "2024-05-31", {1: 2, 2: 1})
    _publish(bq_client, tables, "2024-06-01", {1: 2, 2: 1, 3: 2})
    bq_client.query_and_wait(
        f"INSERT INTO `{tables}.segment_membership_changes` "
        "(snapshot_date, customer_id, previous_segment_id, segment_id, change) VALUES "
        "('2024-05-30', 1, NULL, 1, 'entered'), ('2024-05-30', 2, NULL, 1, 'entered'), "
        "('2024-05-31', 1, 1, 2, 'moved'), ('2024-06-01', 3, NULL, 2, 'entered')"
    )

    members = bq_client.query_and_wait(
        f"SELECT snapshot_date, customer_id, member_since FROM `{tables}.segment_members_current` "
        "WHERE segment_id = 2 ORDER BY customer_id"
    )
    assert [
        (row.snapshot_date.isoformat(), row.customer_id, row.member_since.isoformat()) for row in members
    ] == [
        ("2024-06-01", 1, "2024-05-31"),
        ("2024-06-01", 3, "2024-06-01"),
    ]

    def as_of(date: str) -> dict[int, int]:
        rows = bq_client.query_and_wait(
            f"SELECT customer_id, segment_id FROM `{tables}.customer_segment_history` "
            f"WHERE snapshot_date <= DATE '{date}' AND (valid_until IS NULL OR valid_until > DATE '{date}')"
        )
        return {row.customer_id: row.segment_id for row in rows}

    assert as_of("2024-05-30") == {1: 1, 2: 1}
    assert as_of("2024-05-31") == {1: 2, 2: 1}
    assert as_of("2024-07-01") == {1: 2, 2: 1, 3: 2}
    assert as_of("2024-05-01") == {}


@pytest.mark.parametrize("view", ["segment_members_current", "customer_segment_history"])
def test_every_column_of_the_views_is_described_in_their_schema(bq_client, tables, view):
    schema = bq_client.get_table(f"{tables}.{view}").schema
    assert schema and all(field.description for field in schema), [
        field.name for field in schema if not field.description
    ]
