"""The `transactions` source: one table of order lines of the user's own, read through a column mapping.

The pipeline needs four columns of it (customer, order, when, how much) and can use six more; without an
order id, a customer's lines on one UTC day are one order. A mapping
names the table's column for each field whose column is named differently; required fields default to
their own name, optional ones are used only when mapped. Before any table is written the DAG checks the
mapping against the table's schema, so a wrong name or type fails the run naming the field and the column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# REST schema types, which tables.get reports in their legacy spelling, as GoogleSQL names them.
_GOOGLESQL_TYPES = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL", "RECORD": "STRUCT"}
NUMBERS = frozenset({"INT64", "FLOAT64", "NUMERIC", "BIGNUMERIC"})


@dataclass(frozen=True)
class TransactionField:
    name: str
    types: frozenset[str]  # GoogleSQL types the column may have
    required: bool
    description: str


TRANSACTION_FIELDS = (
    TransactionField("customer_id", frozenset({"INT64"}), True, "The customer the line was sold to."),
    TransactionField(
        "order_id",
        frozenset({"INT64", "STRING"}),
        True,
        "The order (invoice) of the line. Mapped to null when the table has none: a customer's lines on "
        "one UTC day are then one order.",
    ),
    TransactionField(
        "ordered_at",
        frozenset({"TIMESTAMP", "DATETIME", "DATE"}),
        True,
        "When the order was placed; a DATETIME or DATE is read as UTC.",
    ),
    TransactionField("amount", NUMBERS, True, "What the customer paid for the line, in one currency."),
    TransactionField("quantity", NUMBERS, False, "Units on the line; return_ratio counts units when mapped."),
    TransactionField("is_cancelled", frozenset({"BOOL"}), False, "TRUE for a cancelled line."),
    TransactionField(
        "status",
        frozenset({"STRING"}),
        False,
        "Instead of is_cancelled/is_returned: 'cancelled' (or 'canceled') and 'returned', in any case.",
    ),
    TransactionField("is_returned", frozenset({"BOOL"}), False, "TRUE for a returned line."),
    TransactionField("category", frozenset({"STRING"}), False, "The product's category."),
    TransactionField("country", frozenset({"STRING"}), False, "The customer's country."),
    TransactionField(
        "line_id",
        frozenset({"INT64", "STRING"}),
        False,
        "The line's own id; when mapped, a line id seen twice (a duplicated line) fails the values gate.",
    ),
)
FIELDS = {field.name: field for field in TRANSACTION_FIELDS}
REQUIRED_FIELDS = tuple(field.name for field in TRANSACTION_FIELDS if field.required)
# Required fields the pipeline derives when the mapping says the table has no such column (null).
DERIVED_WHEN_UNMAPPED = frozenset({"order_id"})


class SourceMappingError(ValueError):
    """The transactions table does not have the mapped columns with usable types; names each one."""


def mapped_columns(mapping: Mapping[str, str | None]) -> dict[str, str]:
    """Field -> column of the table: required fields default to their own name, optional ones if mapped.

    A field mapped to None has no column (only fields in DERIVED_WHEN_UNMAPPED may be).
    """
    columns = {name: mapping.get(name, name) for name in REQUIRED_FIELDS} | {
        name: column for name, column in mapping.items() if not FIELDS[name].required
    }
    return {name: column for name, column in columns.items() if column is not None}


def googlesql_type(rest_type: str) -> str:
    return _GOOGLESQL_TYPES.get(rest_type.upper(), rest_type.upper())


def mapping_problems(table_id: str, schema: Iterable, mapping: Mapping[str, str]) -> list[str]:
    """What is wrong with `mapping` for a table of this schema (SchemaField-like: name, field_type, mode)."""
    columns = {column.name.casefold(): column for column in schema}
    problems = []
    for name, column_name in mapped_columns(mapping).items():
        field = FIELDS[name]
        column = columns.get(column_name.casefold())
        if column is None:
            without = " (or to null: the table has none)" if name in DERIVED_WHEN_UNMAPPED else ""
            problems.append(
                f"{name}: {table_id} has no column {column_name!r} "
                f"(its columns: {', '.join(c.name for c in schema)}); map {name} in transactions_columns{without}"
            )
            continue
        found = googlesql_type(column.field_type)
        if column.mode == "REPEATED":
            found = f"ARRAY<{found}>"
        if found not in field.types:
            problems.append(
                f"{name}: column {column.name!r} of {table_id} is {found}, but {name} must be "
                f"{' or '.join(sorted(field.types))}"
            )
    return problems


def check_transactions_table(client, table_id: str, mapping: Mapping[str, str]) -> dict[str, str]:
    """The mapped columns, after checking them against the table's schema (`client`: a BigQuery Client)."""
    from google.api_core.exceptions import NotFound

    try:
        table = client.get_table(table_id)
    except NotFound:
        raise SourceMappingError(
            f"transactions_table {table_id} does not exist (or is not visible)"
        ) from None
    problems = mapping_problems(table_id, table.schema, mapping)
    if problems:
        raise SourceMappingError("the transactions source does not fit its mapping: " + "; ".join(problems))
    return mapped_columns(mapping)
