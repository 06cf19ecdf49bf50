"""BigQuery's cache of query results: a query run again unchanged is answered from the first run's results.

https://cloud.google.com/bigquery/docs/cached-results: BigQuery writes every query's results to a cached
results table and answers a duplicate query from it, free (`cacheHit`, 0 bytes processed and billed), for
about 24 hours, unless
- the job has `useQueryCache` false, a destination table, or is a dry run;
- the query is not a single SELECT (DDL, DML and multi-statement queries are never answered from the cache);
- it uses non-deterministic functions (CURRENT_TIMESTAMP, CURRENT_DATE, SESSION_USER, RAND, GENERATE_UUID,
  …) or reads a wildcard table;
- any table or view it references changed since the results were cached.

A duplicate is the same query text with the same parameters, default dataset and connection properties in
the same project. Here a query that runs BigQuery ML functions (they read a model), samples a table or runs
in a session (its temporary tables) is not cached either, and the cache keeps the latest results only (a miss is always correct, only slower).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass

from sqlglot import exp

from local_bigquery import dialect
from local_bigquery.catalog import now_ms
from local_bigquery.dry_run import _storage_tables
from local_bigquery.engine import QueryResult, ScriptRun
from local_bigquery.errors import BigQueryError

LIFETIME_MS = 24 * 60 * 60 * 1000
_KEPT = 64
_NOT_CACHED = (
    exp.CurrentDate,
    exp.CurrentDatetime,
    exp.CurrentTime,
    exp.CurrentTimestamp,
    exp.CurrentUser,
    exp.SessionUser,
    exp.Rand,
    exp.Uuid,
    exp.TableSample,
    exp.Predict,
    dialect.MLFunction,
)

# A version of every table and view a query reads: (name, kind, creation time, last modification time).
Versions = tuple[tuple[str, str, str, str], ...]


@dataclass(frozen=True)
class Cached:
    result: QueryResult
    statistics: dict  # the query statistics of the job that ran the query
    versions: Versions
    cached_at: int


def cache_key(project: str, config: dict, statements: list[exp.Expression], destination) -> tuple | None:
    """What makes two query jobs duplicates, or None if the job's results are not cached."""
    if config.get("useQueryCache") is False or destination or len(statements) != 1 or _in_session(config):
        return None
    (statement,) = statements
    if not isinstance(statement, exp.Query) or statement.find(*_NOT_CACHED):
        return None
    settings = {key: config.get(key) for key in ("queryParameters", "defaultDataset", "connectionProperties")}
    return project, config.get("query", ""), json.dumps(settings, sort_keys=True)


def _in_session(config: dict) -> bool:
    properties = config.get("connectionProperties") or []
    return bool(config.get("createSession")) or any(p.get("key") == "session_id" for p in properties)


def versions(run: ScriptRun, statement: exp.Expression) -> Versions | None:
    """The version of every table and view the statement reads, through views; None if one is not a
    stored table or view (a wildcard table, a missing one: the job then fails by itself)."""
    seen: dict[str, tuple[str, str, str, str]] = {}
    pending = [statement]
    try:
        while pending:
            for table in _storage_tables(pending.pop()):
                ref = run.resolve(table)
                version = run.catalog.table_version(ref)
                if version is None or version[0] not in ("TABLE", "VIEW") or "*" in ref.table:
                    return None
                if str(ref) in seen:
                    continue
                seen[str(ref)] = (str(ref), *version)
                if version[0] == "VIEW":
                    view = run.catalog.get_table(ref).get("view") or {}
                    pending += dialect.parse(view.get("query", ""))
    except BigQueryError:
        return None
    return tuple(sorted(seen.values()))


class QueryCache:
    """The latest results of each cached query; the caller holds the warehouse lock."""

    def __init__(self) -> None:
        self._entries: OrderedDict[tuple, Cached] = OrderedDict()

    def get(self, key: tuple, current: Versions) -> Cached | None:
        cached = self._entries.get(key)
        if cached is None or cached.versions != current or now_ms() - cached.cached_at > LIFETIME_MS:
            return None
        self._entries.move_to_end(key)
        return cached

    def put(self, key: tuple, current: Versions, result: QueryResult, statistics: dict) -> None:
        cached_at = now_ms()
        # A table changed in the very millisecond the results are kept could change again within it, with the
        # same modification time: such results are not kept.
        if any(int(modified) >= cached_at for *_, modified in current):
            return
        self._entries[key] = Cached(result, statistics, current, cached_at)
        self._entries.move_to_end(key)
        while len(self._entries) > _KEPT:
            self._entries.popitem(last=False)
