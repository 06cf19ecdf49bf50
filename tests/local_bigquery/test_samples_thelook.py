"""The thelook_ecommerce sample generator: schema, determinism, integrity, lifecycle and distributions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_bigquery.samples import thelook

# The public dataset's columns, in its order (users.user_geom, a GEOGRAPHY, is deliberately left out).
PUBLIC_COLUMNS = {
    "users": [
        "id", "first_name", "last_name", "email", "age", "gender", "state", "street_address", "postal_code",
        "city", "country", "latitude", "longitude", "traffic_source", "created_at",
    ],
    "orders": [
        "order_id", "user_id", "status", "gender", "created_at", "returned_at", "shipped_at", "delivered_at",
        "num_of_item",
    ],
    "order_items": [
        "id", "order_id", "user_id", "product_id", "inventory_item_id", "status", "created_at", "shipped_at",
        "delivered_at", "returned_at", "sale_price",
    ],
    "products": [
        "id", "cost", "category", "name", "brand", "retail_price", "department", "sku",
        "distribution_center_id",
    ],
}  # fmt: skip

BIGQUERY_TO_ARROW = {
    "INTEGER": pa.int64(),
    "FLOAT": pa.float64(),
    "STRING": pa.string(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}
END = thelook.DEFAULT_END
LIFECYCLE = ("shipped_at", "delivered_at", "returned_at")
# Which lifecycle steps an order in each status has reached.
REACHED = {
    "Processing": (False, False, False),
    "Shipped": (True, False, False),
    "Complete": (True, True, False),
    "Returned": (True, True, True),
    "Cancelled": (False, False, False),
}


@pytest.fixture(scope="module")
def tables() -> dict[str, pa.Table]:
    return thelook.generate(users=1500, seed=7)


@pytest.fixture(scope="module")
def frames(tables) -> dict[str, pd.DataFrame]:
    return {name: table.to_pandas() for name, table in tables.items()}


def test_generates_the_four_thelook_tables(tables):
    assert list(tables) == ["users", "orders", "order_items", "products"]
    assert tables["users"].num_rows == 1500
    assert all(table.num_rows > 0 for table in tables.values())


@pytest.mark.parametrize("name", list(PUBLIC_COLUMNS))
def test_bigquery_schema_lists_the_public_columns(name):
    schema = thelook.bigquery_schema(name)
    assert [field["name"] for field in schema] == PUBLIC_COLUMNS[name]
    assert {field["mode"] for field in schema} == {"NULLABLE"}
    assert {field["type"] for field in schema} <= set(BIGQUERY_TO_ARROW)


@pytest.mark.parametrize("name", list(PUBLIC_COLUMNS))
def test_tables_have_exactly_the_declared_bigquery_types(tables, name):
    expected = pa.schema([(f["name"], BIGQUERY_TO_ARROW[f["type"]]) for f in thelook.bigquery_schema(name)])
    assert tables[name].schema.equals(expected)


def test_declared_types_match_bigquery_for_key_columns():
    types = {
        (table, f["name"]): f["type"] for table in PUBLIC_COLUMNS for f in thelook.bigquery_schema(table)
    }
    assert types["users", "age"] == "INTEGER"
    assert types["users", "latitude"] == "FLOAT"
    assert types["orders", "num_of_item"] == "INTEGER"
    assert types["order_items", "sale_price"] == "FLOAT"
    assert types["order_items", "returned_at"] == "TIMESTAMP"
    assert types["products", "sku"] == "STRING"


def test_unknown_table_is_named_in_the_error():
    with pytest.raises(ValueError, match="'events'"):
        thelook.bigquery_schema("events")


def test_same_seed_gives_identical_tables():
    first, second = thelook.generate(users=500, seed=3), thelook.generate(users=500, seed=3)
    assert all(first[name].equals(second[name]) for name in first)


def test_different_seeds_give_different_tables():
    first, second = thelook.generate(users=500, seed=3), thelook.generate(users=500, seed=4)
    assert not any(first[name].equals(second[name]) for name in first)


def test_ids_are_unique_and_dense(frames):
    for name, key in [("users", "id"), ("orders", "order_id"), ("order_items", "id"), ("products", "id")]:
        ids = frames[name][key]
        assert ids.is_unique and ids.min() == 1 and ids.max() == len(ids), name
    assert frames["order_items"]["inventory_item_id"].is_unique


def test_every_reference_resolves(frames):
    users, orders, items, products = (frames[n] for n in ("users", "orders", "order_items", "products"))
    assert orders["user_id"].isin(users["id"]).all()
    assert items["order_id"].isin(orders["order_id"]).all()
    assert items["product_id"].isin(products["id"]).all()


def test_items_belong_to_their_orders_user_and_count(frames):
    orders, items = frames["orders"], frames["order_items"]
    joined = items.merge(orders, on="order_id", suffixes=("", "_order"))
    assert len(joined) == len(items)
    assert (joined["user_id"] == joined["user_id_order"]).all()
    item_counts = items.groupby("order_id").size()
    assert (orders.set_index("order_id")["num_of_item"] == item_counts.reindex(orders["order_id"])).all()


def test_items_inherit_their_orders_status_and_times(frames):
    joined = frames["order_items"].merge(frames["orders"], on="order_id", suffixes=("", "_order"))
    for column in ("status", "created_at", *LIFECYCLE):
        assert joined[column].equals(joined[f"{column}_order"]), column


def test_orders_carry_their_users_gender(frames):
    joined = frames["orders"].merge(frames["users"], left_on="user_id", right_on="id", suffixes=("", "_user"))
    assert (joined["gender"] == joined["gender_user"]).all()


@pytest.mark.parametrize("name", ["orders", "order_items"])
def test_reached_steps_match_the_status(frames, name):
    table = frames[name]
    assert set(table["status"]) <= set(REACHED)
    for status, reached in REACHED.items():
        rows = table[table["status"] == status]
        for column, expected in zip(LIFECYCLE, reached, strict=True):
            assert rows[column].notna().eq(expected).all(), (status, column)


@pytest.mark.parametrize("name", ["orders", "order_items"])
def test_lifecycle_steps_happen_in_order(frames, name):
    table = frames[name]
    assert not (table["shipped_at"] < table["created_at"]).any()
    assert not (table["delivered_at"] < table["shipped_at"]).any()
    assert not (table["returned_at"] < table["delivered_at"]).any()


def test_orders_come_after_their_users_sign_up(frames):
    joined = frames["orders"].merge(frames["users"], left_on="user_id", right_on="id", suffixes=("", "_user"))
    assert (joined["created_at"] >= joined["created_at_user"]).all()


def test_nothing_happens_after_end_or_before_the_history():
    end = datetime(2021, 3, 15, 12, tzinfo=UTC)
    tables = thelook.generate(users=800, seed=11, end=end, years=2)
    times = [
        tables[name][column].to_pandas()
        for name in ("users", "orders", "order_items")
        for column in ("created_at", *LIFECYCLE)
        if column in tables[name].column_names
    ]
    assert max(t.max() for t in times) <= end
    assert min(t.min() for t in times) >= end - timedelta(days=2 * 365.25)
    assert (thelook.DEFAULT_END - max(t.max() for t in times)).days > 365  # end was honoured, not the default


def test_naive_end_is_read_as_utc():
    aware = thelook.generate(users=200, seed=1, end=datetime(2022, 1, 1, tzinfo=UTC))
    naive = thelook.generate(users=200, seed=1, end=datetime(2022, 1, 1))
    assert aware["orders"].equals(naive["orders"])


def test_every_status_occurs_and_returns_are_a_real_share(frames):
    shares = frames["orders"]["status"].value_counts(normalize=True)
    assert set(shares.index) == set(REACHED)
    assert 0.04 < shares["Returned"] < 0.25
    assert 0.03 < shares["Cancelled"] < 0.25
    assert shares["Complete"] > 0.5


def test_some_users_never_order(frames):
    without_orders = ~frames["users"]["id"].isin(frames["orders"]["user_id"])
    assert 0.05 < without_orders.mean() < 0.3


def test_about_ten_items_per_user(tables):
    assert 7 < tables["order_items"].num_rows / tables["users"].num_rows < 13


def test_orders_grow_towards_end(frames):
    created = frames["orders"]["created_at"]
    last_year = (created > END - timedelta(days=365)).sum()
    year_before = ((created > END - timedelta(days=730)) & (created <= END - timedelta(days=365))).sum()
    assert last_year > 1.1 * year_before


def test_customers_differ_in_spend_price_level_frequency_and_returns(frames):
    orders, items = frames["orders"], frames["order_items"]
    bought = items[items["status"] != "Cancelled"].groupby("user_id")["sale_price"]
    spend, average_price = bought.sum(), bought.mean()
    top_decile = spend.nlargest(len(spend) // 10).sum()
    assert top_decile > 0.3 * spend.sum()  # a few loyal high spenders carry much of the revenue
    assert average_price.quantile(0.9) > 2.5 * average_price.quantile(0.1)  # bargain hunters vs premium
    order_counts = orders.groupby("user_id").size()
    assert (order_counts == 1).mean() > 0.1 and order_counts.quantile(0.9) >= 8
    delivered = orders[orders["status"].isin(["Complete", "Returned"])]
    return_rate = delivered.groupby("user_id")["status"].apply(lambda s: (s == "Returned").mean())
    regulars = delivered.groupby("user_id").size() >= 4
    assert (return_rate[regulars] >= 0.4).mean() > 0.02  # serial returners stand out
    assert (return_rate[regulars] == 0).mean() > 0.3


def test_some_customers_have_lapsed(frames):
    last_order = frames["orders"].groupby("user_id")["created_at"].max()
    order_counts = frames["orders"].groupby("user_id").size()
    lapsed_repeat_buyers = (last_order < END - timedelta(days=270)) & (order_counts >= 2)
    assert lapsed_repeat_buyers.mean() > 0.05


def test_buyers_mostly_shop_their_own_department(frames):
    items = frames["order_items"].merge(frames["users"], left_on="user_id", right_on="id")
    items = items.merge(frames["products"], left_on="product_id", right_on="id")
    own = np.where(items["gender"] == "M", "Men", "Women") == items["department"]
    assert 0.8 < own.mean() < 0.99


def test_products_look_like_thelooks_catalog(frames):
    products = frames["products"]
    assert set(products["department"]) == {"Men", "Women"}
    assert len(set(products["category"])) >= 20
    assert products.loc[products["category"] == "Dresses", "department"].eq("Women").all()
    assert (products["cost"] < products["retail_price"]).all() and (products["cost"] > 0).all()
    assert products["sku"].str.fullmatch(r"[0-9A-F]{32}").all()
    assert products["distribution_center_id"].between(1, 10).all()


def test_sale_prices_never_exceed_retail(frames):
    joined = frames["order_items"].merge(frames["products"], left_on="product_id", right_on="id")
    assert (joined["sale_price"] <= joined["retail_price"]).all()
    assert (joined["sale_price"] < joined["retail_price"]).mean() > 0.05  # some are bought on sale


def test_users_have_plausible_profiles(frames):
    users = frames["users"]
    assert users["age"].between(12, 70).all()
    assert set(users["gender"]) == {"M", "F"}
    assert set(users["traffic_source"]) <= {"Search", "Organic", "Facebook", "Email", "Display"}
    assert users["traffic_source"].value_counts().idxmax() == "Search"
    assert users["email"].str.fullmatch(r"[a-z-]+@example\.(com|net|org)").all()
    assert users["latitude"].between(-90, 90).all() and users["longitude"].between(-180, 180).all()
    assert users["created_at"].is_monotonic_increasing


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"users": 0}, "users"),
        ({"users": 2.5}, "users"),
        ({"seed": -1}, "seed"),
        ({"years": 0.5}, "years"),
        ({"end": "2024-06-30"}, "end"),
    ],
)
def test_bad_arguments_are_named(arguments, problem):
    with pytest.raises(ValueError, match=problem):
        thelook.generate(**arguments)


def test_write_parquet_round_trips(tmp_path):
    tables = thelook.generate(users=300, seed=5)
    paths = thelook.write_parquet(tables, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(f"{n}.parquet" for n in tables)
    for name, path in paths.items():
        assert pq.read_table(path).equals(tables[name])


def test_write_parquet_refuses_a_wrong_schema_and_writes_nothing(tmp_path):
    tables = thelook.generate(users=300, seed=5)
    tables["orders"] = tables["orders"].drop_columns(["gender"])
    with pytest.raises(ValueError, match="'orders'"):
        thelook.write_parquet(tables, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_one_parquet_file_per_table(tmp_path, capsys):
    assert thelook.main(["--users", "400", "--seed", "9", "--end", "2023-01-31", "--out", str(tmp_path)]) == 0
    expected = thelook.generate(users=400, seed=9, end=datetime(2023, 1, 31, tzinfo=UTC))
    for name, table in expected.items():
        assert pq.read_table(tmp_path / f"{name}.parquet").equals(table)
    assert "order_items" in capsys.readouterr().out


def test_cli_reports_bad_input(tmp_path, capsys):
    assert thelook.main(["--users", "0", "--out", str(tmp_path)]) == 2
    assert "users must be a positive integer" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
