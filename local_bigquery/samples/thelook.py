"""Sample data shaped like Google's public `bigquery-public-data.thelook_ecommerce` dataset.

Generates its `users`, `orders`, `order_items` and `products` tables with the public tables' column names,
order and BigQuery types, so the pipeline's SQL runs unchanged against the local server. Left out:
`users.user_geom`, a GEOGRAPHY the local server does not support (`latitude` and `longitude` hold the same
point), and the dataset's other tables (`events`, `inventory_items`, `distribution_centers`), which the
pipeline does not read. Types are spelled as BigQuery's tables.get reports them (INTEGER, FLOAT).

Unlike the public data, buyers follow distinct customer types (see `CUSTOMER_TYPES`) that differ in how
often they order, how much they put in a basket, the price level they buy at and how often they return,
so customer segmentation has real structure to find. Every order runs the same lifecycle, seen at the
instant `end`: created, then cancelled or shipped, delivered and possibly returned; steps not reached by
`end` stay NULL and the status names the last step reached. Items share their order's status and times.

Everything is vectorised numpy built straight into pyarrow, and a seed fixes every value.

    python -m local_bigquery.samples.thelook --users 100000 --seed 42 --end 2024-06-30 --out DIR
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from local_bigquery.samples import thelook_vocabulary as vocab

DEFAULT_END = datetime(2024, 6, 30, tzinfo=UTC)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TABLES = ("users", "orders", "order_items", "products")

# The column types as BigQuery's tables.get reports them for the public dataset.
_SCHEMAS: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (
        ("id", "INTEGER"), ("first_name", "STRING"), ("last_name", "STRING"), ("email", "STRING"),
        ("age", "INTEGER"), ("gender", "STRING"), ("state", "STRING"), ("street_address", "STRING"),
        ("postal_code", "STRING"), ("city", "STRING"), ("country", "STRING"), ("latitude", "FLOAT"),
        ("longitude", "FLOAT"), ("traffic_source", "STRING"), ("created_at", "TIMESTAMP"),
    ),
    "orders": (
        ("order_id", "INTEGER"), ("user_id", "INTEGER"), ("status", "STRING"), ("gender", "STRING"),
        ("created_at", "TIMESTAMP"), ("returned_at", "TIMESTAMP"), ("shipped_at", "TIMESTAMP"),
        ("delivered_at", "TIMESTAMP"), ("num_of_item", "INTEGER"),
    ),
    "order_items": (
        ("id", "INTEGER"), ("order_id", "INTEGER"), ("user_id", "INTEGER"), ("product_id", "INTEGER"),
        ("inventory_item_id", "INTEGER"), ("status", "STRING"), ("created_at", "TIMESTAMP"),
        ("shipped_at", "TIMESTAMP"), ("delivered_at", "TIMESTAMP"), ("returned_at", "TIMESTAMP"),
        ("sale_price", "FLOAT"),
    ),
    "products": (
        ("id", "INTEGER"), ("cost", "FLOAT"), ("category", "STRING"), ("name", "STRING"),
        ("brand", "STRING"), ("retail_price", "FLOAT"), ("department", "STRING"), ("sku", "STRING"),
        ("distribution_center_id", "INTEGER"),
    ),
}  # fmt: skip

_ARROW_TYPES = {
    "INTEGER": pa.int64(),
    "FLOAT": pa.float64(),
    "STRING": pa.string(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
}


def bigquery_schema(table_name: str) -> list[dict[str, str]]:
    """The BigQuery JSON schema (name, type, mode) of one of the generated tables."""
    return [{"name": name, "type": kind, "mode": "NULLABLE"} for name, kind in _columns(table_name)]


def arrow_schema(table_name: str) -> pa.Schema:
    """The Arrow schema the generated table has, and its Parquet file carries."""
    return pa.schema([(name, _ARROW_TYPES[kind]) for name, kind in _columns(table_name)])


def _columns(table_name: str) -> tuple[tuple[str, str], ...]:
    try:
        return _SCHEMAS[table_name]
    except KeyError:
        raise ValueError(f"thelook has no table {table_name!r}; the tables are {', '.join(TABLES)}") from None


@dataclass(frozen=True)
class CustomerType:
    """How one kind of customer shops: order frequency, basket, price level and returns."""

    name: str
    share: float  # of all users
    first_orders: int  # orders every such customer places, however short their history
    orders_per_year: float  # further orders, per year of active history
    items_per_order: float  # mean basket size
    price_preference: tuple[float, float]  # Beta(a, b) over the products ranked cheapest to dearest
    discount_rate: float  # share of items bought on sale
    return_rate: float  # share of delivered orders sent back
    cancel_rate: float  # share of orders cancelled before shipping
    lapses: bool = False  # stopped buying well before `end`


CUSTOMER_TYPES = (
    CustomerType("loyal_high_spender", 0.10, 1, 5.5, 2.8, (5.0, 1.6), 0.05, 0.04, 0.04),
    CustomerType("regular", 0.25, 1, 2.2, 1.9, (2.0, 2.0), 0.15, 0.08, 0.10),
    CustomerType("bargain_hunter", 0.17, 1, 3.4, 2.6, (1.0, 4.0), 0.70, 0.06, 0.12),
    CustomerType("one_off", 0.18, 1, 0.0, 1.4, (1.8, 2.2), 0.25, 0.10, 0.15),
    CustomerType("lapsed", 0.12, 1, 2.8, 1.9, (2.0, 2.0), 0.20, 0.10, 0.10, lapses=True),
    CustomerType("serial_returner", 0.06, 1, 3.9, 3.2, (3.0, 2.0), 0.10, 0.50, 0.08),
    CustomerType("window_shopper", 0.12, 0, 0.0, 1.0, (2.0, 2.0), 0.0, 0.0, 0.0),
)

STATUSES = ("Processing", "Shipped", "Complete", "Returned", "Cancelled")
PROCESSING, SHIPPED, COMPLETE, RETURNED, CANCELLED = range(len(STATUSES))

_MICROS_PER_DAY = 86_400_000_000
_MICROS_PER_YEAR = round(365.25 * _MICROS_PER_DAY)
_SIGNUP_GROWTH = 4.0  # sign-ups in the final days of the history over those in its first days
_LAPSED_QUIET_DAYS = 270  # lapsed customers have ordered nothing for at least this long at `end`
_OWN_DEPARTMENT_SHARE = 0.92  # items bought from the department matching the customer's gender
_CATALOG_SIZE = 29_120  # products in the public dataset
_NULL_TIME = np.iinfo(np.int64).max  # a lifecycle step that never happens


def generate(
    users: int = 100_000, seed: int = 42, end: datetime = DEFAULT_END, years: float = 4
) -> dict[str, pa.Table]:
    """The four thelook tables for `users` customers whose history spans `years` up to `end`."""
    _check_arguments(users, seed, end, years)
    end_us = _micros(end)
    start_us = end_us - round(years * _MICROS_PER_YEAR)
    product_rng, customer_rng, order_rng, item_rng = (
        np.random.default_rng(stream) for stream in np.random.SeedSequence(seed).spawn(4)
    )
    products, catalog = _products(product_rng)
    customers = _customers(customer_rng, users, start_us, end_us)
    orders = _orders(order_rng, customers, end_us)
    return {
        "users": _users_table(customer_rng, customers),
        "orders": _orders_table(orders, customers),
        "order_items": _order_items_table(item_rng, orders, customers, catalog),
        "products": products,
    }


def _check_arguments(users: int, seed: int, end: datetime, years: float) -> None:
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ValueError(f"users must be a positive integer, got {users!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(end, datetime):
        raise ValueError(f"end must be a datetime, got {end!r}")
    if isinstance(years, bool) or not isinstance(years, int | float) or years < 1:
        raise ValueError(f"years must be at least 1 so lapsed customers have a history, got {years!r}")


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


# -- products ---------------------------------------------------------------------------------------------


class _Catalog(NamedTuple):
    retail_price: np.ndarray  # by product id - 1
    ids_by_price: np.ndarray  # men's product ids cheapest first, then women's cheapest first
    men_count: int


def _products(rng: np.random.Generator) -> tuple[pa.Table, _Catalog]:
    lines = [
        (c, vocab.DEPARTMENTS.index(department))
        for c, category in enumerate(vocab.CATEGORIES)
        for department in category.departments
    ]
    line_category, line_department = np.array(lines).T
    line_share = np.array([vocab.CATEGORIES[c].catalog_share for c, _ in lines])
    line = rng.choice(len(lines), size=_CATALOG_SIZE, p=line_share / line_share.sum())
    category, department = line_category[line], line_department[line]

    median_price = np.array([c.median_price for c in vocab.CATEGORIES])
    retail = np.maximum(np.round(median_price[category] * rng.lognormal(0.0, 0.45, _CATALOG_SIZE), 2), 1.5)
    cost = np.round(retail * rng.uniform(0.38, 0.62, _CATALOG_SIZE), 2)
    brand = _pick(vocab.BRANDS, rng.integers(len(vocab.BRANDS), size=_CATALOG_SIZE))
    name = pc.binary_join_element_wise(
        brand,
        _pick(("Men's", "Women's"), department),
        _pick(vocab.STYLE_WORDS, rng.integers(len(vocab.STYLE_WORDS), size=_CATALOG_SIZE)),
        _garments(rng, category),
        " ",
    )
    centers = vocab.DISTRIBUTION_CENTER_SHARES
    table = pa.Table.from_arrays(
        [
            pa.array(np.arange(1, _CATALOG_SIZE + 1)),
            pa.array(cost),
            _pick([c.name for c in vocab.CATEGORIES], category),
            name,
            brand,
            pa.array(retail),
            _pick(vocab.DEPARTMENTS, department),
            _random_hex(rng, _CATALOG_SIZE, width=32),
            pa.array(rng.choice(len(centers), size=_CATALOG_SIZE, p=centers) + 1),
        ],
        schema=arrow_schema("products"),
    )
    ids_by_price = np.lexsort((retail, department)) + 1
    return table, _Catalog(retail, ids_by_price, int(np.count_nonzero(department == 0)))


def _garments(rng: np.random.Generator, category: np.ndarray) -> pa.Array:
    """A garment noun belonging to each product's category."""
    counts = np.array([len(c.garments) for c in vocab.CATEGORIES])
    first = np.concatenate(([0], np.cumsum(counts)[:-1]))
    choice = first[category] + (rng.random(category.size) * counts[category]).astype(np.int64)
    return _pick([g for c in vocab.CATEGORIES for g in c.garments], choice)


# -- customers --------------------------------------------------------------------------------------------


class _Customers(NamedTuple):
    """One row per user, ordered by sign-up time so user ids follow it."""

    kind: np.ndarray  # index into CUSTOMER_TYPES
    is_male: np.ndarray
    created_at: np.ndarray  # microseconds
    active_until: np.ndarray  # microseconds; the customer's orders fall in [created_at, active_until)


def _customers(rng: np.random.Generator, count: int, start_us: int, end_us: int) -> _Customers:
    shares = np.array([t.share for t in CUSTOMER_TYPES])
    kind = rng.choice(len(CUSTOMER_TYPES), size=count, p=shares / shares.sum()).astype(np.int8)
    lapsed = _per_type("lapses", kind)
    quiet_since = end_us - _LAPSED_QUIET_DAYS * _MICROS_PER_DAY
    created = np.where(
        lapsed, _signups(rng, count, start_us, quiet_since), _signups(rng, count, start_us, end_us)
    )
    active_span = np.where(lapsed, (quiet_since - created) * rng.uniform(0.3, 1.0, count), end_us - created)
    signup_order = np.argsort(created, kind="stable")
    created = created[signup_order]
    return _Customers(
        kind=kind[signup_order],
        is_male=rng.random(count) < 0.5,
        created_at=created,
        active_until=created + active_span[signup_order].astype(np.int64),
    )


def _signups(rng: np.random.Generator, count: int, start_us: int, end_us: int) -> np.ndarray:
    """Sign-up times whose daily rate grows exponentially by `_SIGNUP_GROWTH` from start to end."""
    growth = np.log(_SIGNUP_GROWTH)
    fraction = np.log1p(rng.random(count) * np.expm1(growth)) / growth
    return start_us + (fraction * (end_us - start_us)).astype(np.int64)


def _per_type(attribute: str, kind: np.ndarray) -> np.ndarray:
    """Each row's value of a CustomerType attribute, looked up by the row's customer type."""
    return np.array([getattr(t, attribute) for t in CUSTOMER_TYPES])[kind]


def _users_table(rng: np.random.Generator, customers: _Customers) -> pa.Table:
    count = customers.kind.size
    male_names, female_names = vocab.FIRST_NAMES_MALE, vocab.FIRST_NAMES_FEMALE
    first_name = _pick(
        male_names + female_names,
        np.where(
            customers.is_male,
            rng.integers(len(male_names), size=count),
            len(male_names) + rng.integers(len(female_names), size=count),
        ),
    )
    last_name = _pick(vocab.LAST_NAMES, rng.integers(len(vocab.LAST_NAMES), size=count))
    email = pc.binary_join_element_wise(
        pc.utf8_lower(first_name),
        pc.utf8_lower(last_name),
        _pick(vocab.EMAIL_DOMAINS, rng.integers(len(vocab.EMAIL_DOMAINS), size=count)),
        "",
    )
    city = rng.choice(len(vocab.CITIES), size=count, p=_city_shares())
    sources = vocab.TRAFFIC_SOURCES
    columns = {
        "id": pa.array(np.arange(1, count + 1)),
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "age": pa.array(rng.integers(12, 71, size=count)),
        "gender": _pick(("F", "M"), customers.is_male),
        "state": _pick([c.state for c in vocab.CITIES], city),
        "street_address": _street_addresses(rng, count),
        "postal_code": pc.binary_join_element_wise(
            _pick([c.postal_prefix for c in vocab.CITIES], city),
            pc.utf8_lpad(pc.cast(pa.array(rng.integers(100, size=count)), pa.string()), width=2, padding="0"),
            "",
        ),
        "city": _pick([c.city for c in vocab.CITIES], city),
        "country": _pick([c.country for c in vocab.CITIES], city),
        "latitude": pa.array(_jitter(rng, [c.latitude for c in vocab.CITIES], city)),
        "longitude": pa.array(_jitter(rng, [c.longitude for c in vocab.CITIES], city)),
        "traffic_source": _pick(
            tuple(sources), rng.choice(len(sources), size=count, p=list(sources.values()))
        ),
        "created_at": _timestamps(customers.created_at),
    }
    return pa.Table.from_arrays(list(columns.values()), schema=arrow_schema("users"))


def _city_shares() -> np.ndarray:
    """Each city's share of users: its country's share split evenly between the country's cities."""
    countries = [c.country for c in vocab.CITIES]
    shares = np.array([vocab.COUNTRY_SHARES[country] / countries.count(country) for country in countries])
    return shares / shares.sum()


def _street_addresses(rng: np.random.Generator, count: int) -> pa.Array:
    return pc.binary_join_element_wise(
        pc.cast(pa.array(rng.integers(1, 10_000, size=count)), pa.string()),
        _pick(vocab.STREET_NAMES, rng.integers(len(vocab.STREET_NAMES), size=count)),
        _pick(vocab.STREET_SUFFIXES, rng.integers(len(vocab.STREET_SUFFIXES), size=count)),
        " ",
    )


def _jitter(rng: np.random.Generator, centres: list[float], city: np.ndarray) -> np.ndarray:
    """Coordinates scattered a few kilometres around each user's city centre."""
    return np.round(np.asarray(centres)[city] + rng.normal(0.0, 0.05, city.size), 6)


# -- orders -----------------------------------------------------------------------------------------------


class _Orders(NamedTuple):
    """One row per order, in creation order so order ids follow it; times in microseconds."""

    customer: np.ndarray  # row in _Customers
    status: np.ndarray  # index into STATUSES
    created_at: np.ndarray
    shipped_at: np.ndarray  # _NULL_TIME where not reached, as for the two below
    delivered_at: np.ndarray
    returned_at: np.ndarray
    num_of_item: np.ndarray


def _orders(rng: np.random.Generator, customers: _Customers, end_us: int) -> _Orders:
    kind = customers.kind
    history = customers.active_until - customers.created_at
    counts = _per_type("first_orders", kind) + rng.poisson(
        _per_type("orders_per_year", kind) * history / _MICROS_PER_YEAR
    )
    customer = np.repeat(np.arange(kind.size), counts)
    created = customers.created_at[customer] + (rng.random(customer.size) * history[customer]).astype(
        np.int64
    )
    by_time = np.argsort(created, kind="stable")
    customer, created = customer[by_time], created[by_time]
    order_kind = kind[customer]
    status, shipped, delivered, returned = _lifecycle(rng, created, order_kind, end_us)
    basket = 1 + rng.poisson(_per_type("items_per_order", order_kind) - 1.0)
    return _Orders(customer, status, created, shipped, delivered, returned, basket)


def _lifecycle(
    rng: np.random.Generator, created: np.ndarray, kind: np.ndarray, end_us: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Each order's status at `end` and the times of the steps it reached (`_NULL_TIME` if not)."""
    count = created.size
    cancelled = rng.random(count) < _per_type("cancel_rate", kind)
    sent_back = rng.random(count) < _per_type("return_rate", kind)
    shipped = created + _delay(rng, count, median_days=1.5, spread=0.8)
    delivered = shipped + _delay(rng, count, median_days=3.0, spread=0.6)
    returned = delivered + _delay(rng, count, median_days=7.0, spread=0.6)

    status = np.full(count, PROCESSING, dtype=np.int8)
    status[shipped <= end_us] = SHIPPED
    status[delivered <= end_us] = COMPLETE
    status[sent_back & (returned <= end_us)] = RETURNED
    status[cancelled] = CANCELLED
    shipped[np.isin(status, (PROCESSING, CANCELLED))] = _NULL_TIME
    delivered[np.isin(status, (PROCESSING, SHIPPED, CANCELLED))] = _NULL_TIME
    returned[status != RETURNED] = _NULL_TIME
    return status, shipped, delivered, returned


def _delay(rng: np.random.Generator, count: int, median_days: float, spread: float) -> np.ndarray:
    return (rng.lognormal(np.log(median_days), spread, count) * _MICROS_PER_DAY).astype(np.int64)


def _orders_table(orders: _Orders, customers: _Customers) -> pa.Table:
    columns = {
        "order_id": pa.array(np.arange(1, orders.customer.size + 1)),
        "user_id": pa.array(orders.customer + 1),
        "status": _pick(STATUSES, orders.status),
        "gender": _pick(("F", "M"), customers.is_male[orders.customer]),
        "created_at": _timestamps(orders.created_at),
        "returned_at": _timestamps(orders.returned_at),
        "shipped_at": _timestamps(orders.shipped_at),
        "delivered_at": _timestamps(orders.delivered_at),
        "num_of_item": pa.array(orders.num_of_item),
    }
    return pa.Table.from_arrays(list(columns.values()), schema=arrow_schema("orders"))


# -- order items ------------------------------------------------------------------------------------------


def _order_items_table(
    rng: np.random.Generator, orders: _Orders, customers: _Customers, catalog: _Catalog
) -> pa.Table:
    order = np.repeat(np.arange(orders.customer.size), orders.num_of_item)
    customer = orders.customer[order]
    kind = customers.kind[customer]
    product_id = _choose_products(rng, catalog, kind, customers.is_male[customer])
    sale_price = _sale_prices(rng, catalog.retail_price[product_id - 1], kind)
    del customer, kind  # the columns below need the memory more
    columns = {
        "id": pa.array(np.arange(1, order.size + 1)),
        "order_id": pa.array(order + 1),
        "user_id": pa.array(orders.customer[order] + 1),
        "product_id": pa.array(product_id),
        "inventory_item_id": pa.array(rng.permutation(order.size) + 1),
        "status": _pick(STATUSES, orders.status[order]),
        "created_at": _timestamps(orders.created_at[order]),
        "shipped_at": _timestamps(orders.shipped_at[order]),
        "delivered_at": _timestamps(orders.delivered_at[order]),
        "returned_at": _timestamps(orders.returned_at[order]),
        "sale_price": pa.array(sale_price),
    }
    return pa.Table.from_arrays(list(columns.values()), schema=arrow_schema("order_items"))


def _choose_products(
    rng: np.random.Generator, catalog: _Catalog, kind: np.ndarray, is_male: np.ndarray
) -> np.ndarray:
    """Products from the buyer's usual department, at the price level their customer type prefers."""
    mens = is_male == (rng.random(kind.size) < _OWN_DEPARTMENT_SHARE)
    department_size = np.where(mens, catalog.men_count, catalog.ids_by_price.size - catalog.men_count)
    price_rank = rng.beta(*(_per_type("price_preference", kind).T))
    position = np.minimum((price_rank * department_size).astype(np.int64), department_size - 1)
    return catalog.ids_by_price[np.where(mens, 0, catalog.men_count) + position]


def _sale_prices(rng: np.random.Generator, retail_price: np.ndarray, kind: np.ndarray) -> np.ndarray:
    on_sale = rng.random(kind.size) < _per_type("discount_rate", kind)
    markdown = np.where(on_sale, rng.uniform(0.1, 0.5, kind.size), 0.0)
    return np.round(retail_price * (1.0 - markdown), 2)


# -- arrow helpers ----------------------------------------------------------------------------------------


def _pick(words, index: np.ndarray) -> pa.Array:
    """The string at each index, built by Arrow without a Python object per row."""
    return pc.take(pa.array(list(words), pa.string()), pa.array(np.asarray(index, dtype=np.int64)))


def _timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(micros, type=_ARROW_TYPES["TIMESTAMP"], mask=micros == _NULL_TIME)


def _random_hex(rng: np.random.Generator, count: int, width: int) -> pa.Array:
    """`count` random upper-case hexadecimal strings of `width` characters, like thelook's SKUs."""
    text = rng.bytes(count * width // 2).hex().upper().encode("ascii")
    offsets = np.arange(0, (count + 1) * width, width, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(text))


# -- writing ----------------------------------------------------------------------------------------------


def write_parquet(tables: Mapping[str, pa.Table], out_dir: str | os.PathLike) -> dict[str, Path]:
    """One `<table>.parquet` per table in `out_dir`; files appear only once every table is written."""
    for name, table in tables.items():
        if not table.schema.equals(arrow_schema(name)):
            raise ValueError(f"table {name!r} does not have thelook's schema: {table.schema}")
    directory = Path(out_dir)
    directory.mkdir(parents=True, exist_ok=True)
    staged = {name: directory / f".{name}.parquet.partial" for name in tables}
    try:
        for name, table in tables.items():
            pq.write_table(table, staged[name])
    except BaseException:
        for partial in staged.values():
            partial.unlink(missing_ok=True)
        raise
    written = {}
    for name, partial in staged.items():
        written[name] = directory / f"{name}.parquet"
        partial.replace(written[name])
    return written


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local_bigquery.samples.thelook",
        description="Write thelook_ecommerce sample tables (users, orders, order_items, products) as Parquet.",
    )
    parser.add_argument("--users", type=int, default=100_000, help="number of users (default 100000)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--end",
        type=_utc_datetime,
        default=DEFAULT_END,
        help="the moment the data is seen at, ISO date or datetime, UTC unless given (default 2024-06-30)",
    )
    parser.add_argument("--years", type=float, default=4.0, help="years of history before --end (default 4)")
    parser.add_argument("--out", type=Path, required=True, help="directory for the Parquet files")
    return parser.parse_args(argv)


def _utc_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or datetime: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    started = time.perf_counter()
    try:
        tables = generate(users=args.users, seed=args.seed, end=args.end, years=args.years)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    generated = time.perf_counter()
    paths = write_parquet(tables, args.out)
    for name, path in paths.items():
        print(f"{name:<12} {tables[name].num_rows:>12,} rows  {path}")
    print(f"generated in {generated - started:.1f}s, written in {time.perf_counter() - generated:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
