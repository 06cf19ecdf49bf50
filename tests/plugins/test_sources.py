"""The transactions source's column mapping, checked against real table schemas on local_bigquery."""

from __future__ import annotations

import pytest
from google.cloud import bigquery

from segmentation.sources import SourceMappingError, check_transactions_table, mapped_columns
from tests.conftest import PROJECT

ORDERS_SCHEMA = [
    bigquery.SchemaField("client", "INT64"),
    bigquery.SchemaField("invoice", "STRING"),
    bigquery.SchemaField("placed", "DATETIME"),
    bigquery.SchemaField("total", "NUMERIC"),
    bigquery.SchemaField("state", "STRING"),
    bigquery.SchemaField("tags", "STRING", mode="REPEATED"),
]
MAPPING = {"customer_id": "client", "order_id": "invoice", "ordered_at": "placed", "amount": "total"}


@pytest.fixture
def orders(bq_client, dataset) -> str:
    table_id = f"{PROJECT}.{dataset}.orders"
    bq_client.create_table(bigquery.Table(table_id, schema=ORDERS_SCHEMA))
    return table_id


def test_required_fields_default_to_their_own_names_optional_ones_need_a_mapping():
    assert mapped_columns({"amount": "total", "country": "ship_country"}) == {
        "customer_id": "customer_id",
        "order_id": "order_id",
        "ordered_at": "ordered_at",
        "amount": "total",
        "country": "ship_country",
    }


def test_a_fitting_mapping_passes_and_resolves_names_case_insensitively(bq_client, orders):
    mapping = {**MAPPING, "customer_id": "CLIENT", "status": "state"}
    assert check_transactions_table(bq_client, orders, mapping)["customer_id"] == "CLIENT"


def test_missing_and_mistyped_columns_are_each_named(bq_client, orders):
    mapping = {**MAPPING, "amount": "totl", "order_id": "placed", "country": "tags"}
    with pytest.raises(SourceMappingError) as failure:
        check_transactions_table(bq_client, orders, mapping)
    message = str(failure.value)
    assert f"amount: {orders} has no column 'totl'" in message
    assert (
        "order_id: column 'placed'" in message
        and "is DATETIME, but order_id must be INT64 or STRING" in message
    )
    assert "country: column 'tags'" in message and "is ARRAY<STRING>" in message


def test_defaults_name_the_field_to_map(bq_client, orders):
    with pytest.raises(
        SourceMappingError, match=r"customer_id: .* has no column 'customer_id'.*map customer_id"
    ):
        check_transactions_table(bq_client, orders, {})


def test_a_missing_table_is_named(bq_client, dataset):
    with pytest.raises(
        SourceMappingError, match=rf"transactions_table {PROJECT}.{dataset}.nope does not exist"
    ):
        check_transactions_table(bq_client, f"{PROJECT}.{dataset}.nope", MAPPING)


def test_a_table_without_an_order_id_passes_with_order_id_mapped_to_null(bq_client, dataset):
    table_id = f"{PROJECT}.{dataset}.daily_purchases"
    schema = [field for field in ORDERS_SCHEMA if field.name != "invoice"]
    bq_client.create_table(bigquery.Table(table_id, schema=schema))
    mapping = {**MAPPING, "order_id": None}

    assert "order_id" not in check_transactions_table(bq_client, table_id, mapping)
    with pytest.raises(SourceMappingError, match=r"map order_id in transactions_columns \(or to null"):
        check_transactions_table(bq_client, table_id, {**MAPPING, "order_id": "order_id"})
