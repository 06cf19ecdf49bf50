"""The UCI Online Retail cleaning view on real rows, checked against the same rules applied with pandas.

The committed slice (tests/data/online_retail_slice.csv, cut as its .md says) is loaded through the real
client's load job, the view of include/sql/online_retail_transactions.sql is created on local_bigquery, and
what it keeps must be exactly the rows pandas keeps. On the full file, when present, the view must give the
data set's published reference counts.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
import pytest

from scripts.run_retail import (
    DATA_FILE,
    REFERENCE,
    create_transactions_view,
    load_raw,
    purchase_summary,
)
from tests.conftest import PROJECT, ROOT

SLICE = ROOT / "tests" / "data" / "online_retail_slice.csv"
NON_PRODUCT_CODES = {
    "POST",
    "D",
    "M",
    "m",
    "BANK CHARGES",
    "AMAZONFEE",
    "DOT",
    "C2",
    "S",
    "B",
    "CRUK",
    "PADS",
}


def _raw_rows() -> pd.DataFrame:
    return pd.read_csv(SLICE, dtype=str, keep_default_na=False)


def _drop_reasons(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "no_customer": raw.CustomerID == "",
            "cancellation": raw.InvoiceNo.str.startswith("C"),
            "no_quantity": raw.Quantity.astype(int) <= 0,
            "no_price": raw.UnitPrice.map(Decimal) <= 0,
            "no_product": raw.StockCode.isin(NON_PRODUCT_CODES),
        }
    )


@pytest.fixture
def transactions(bq_client, dataset) -> str:
    raw_id, view_id = f"{PROJECT}.{dataset}.online_retail_raw", f"{PROJECT}.{dataset}.transactions"
    job = load_raw(bq_client, raw_id, SLICE)
    assert job.output_rows == len(_raw_rows())
    create_transactions_view(bq_client, raw_id, view_id)
    return view_id


def test_the_slice_has_every_kind_of_row_the_cleaning_drops():
    reasons = _drop_reasons(_raw_rows())
    assert reasons.sum().min() > 0, reasons.sum().to_dict()
    assert set(_raw_rows().StockCode) >= NON_PRODUCT_CODES


def test_the_view_keeps_exactly_the_purchase_lines(bq_client, transactions):
    raw = _raw_rows()
    kept = raw[~_drop_reasons(raw).any(axis=1)]
    expected = sorted(
        (
            int(r.CustomerID),
            r.InvoiceNo,
            r.StockCode,
            int(r.Quantity),
            Decimal(r.Quantity) * Decimal(r.UnitPrice),
        )
        for r in kept.itertuples()
    )

    rows = bq_client.query_and_wait(
        f"SELECT customer_id, order_id, stock_code, quantity, amount FROM `{transactions}`"
    )
    assert sorted(tuple(row.values()) for row in rows) == expected
    assert purchase_summary(bq_client, transactions) == {
        "lines": len(kept),
        "customers": kept.CustomerID.nunique(),
        "invoices": kept.InvoiceNo.nunique(),
        "revenue": sum(expected_row[4] for expected_row in expected),
    }
    assert len(kept) > kept.drop_duplicates().shape[0], "exact duplicates are kept"


def test_invoice_dates_are_uk_local_time(bq_client, transactions):
    # 2011-07-01 is in British Summer Time (UTC+1), 2011-01-05 is not.
    raw = _raw_rows()
    kept = raw[~_drop_reasons(raw).any(axis=1)]
    summer = kept[kept.InvoiceDate.str.startswith("2011-07")].iloc[0]
    winter = kept[kept.InvoiceDate.str.startswith("2011-01")].iloc[0]
    for row, offset in ((summer, 1), (winter, 0)):
        (found,) = bq_client.query_and_wait(
            f"SELECT MIN(ordered_at) AS ordered_at FROM `{transactions}` WHERE order_id = '{row.InvoiceNo}'"
        )
        local = dt.datetime.fromisoformat(row.InvoiceDate)
        assert found.ordered_at == (local - dt.timedelta(hours=offset)).replace(tzinfo=dt.UTC)


@pytest.mark.skipif(not DATA_FILE.is_file(), reason=f"{DATA_FILE} (outside the repository) is not here")
def test_full_file_gives_the_published_reference_counts(bq_client, dataset):
    raw_id, view_id = f"{PROJECT}.{dataset}.online_retail_raw", f"{PROJECT}.{dataset}.transactions"
    assert load_raw(bq_client, raw_id, DATA_FILE).output_rows == 541_909
    create_transactions_view(bq_client, raw_id, view_id)
    assert purchase_summary(bq_client, view_id) == REFERENCE
