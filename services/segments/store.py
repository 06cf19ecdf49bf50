"""One snapshot in memory: numpy arrays keyed by sorted customer id, and each segment's summary.

A lookup is a binary search (`np.searchsorted`) and a few array reads; members are the positions of a
segment's customers, in customer id order, so pages are slices after the last id returned. Nothing here
changes after it is built: a refresh builds a new store and swaps it in whole.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from segmentation.config import PipelineConfig
from segmentation.features import feature_columns
from segmentation.tables import PROFILE_BOOKKEEPING_COLUMNS
from segmentation.units import unit_of
from services.segments.source import ColumnSpec, SnapshotData

EPOCH = dt.date(1970, 1, 1)
# The data dictionary's words for every feature the pipeline can compute, where a schema lacks them.
FEATURE_DESCRIPTIONS = {
    column.name: column.description for column in feature_columns(PipelineConfig(feature_set="extended"))
}
# segment_profiles columns that hold a predicted value (the value model's), not a feature mean.
PREDICTED_MARK = "predicted_"


def _plain(value: object, kind: str) -> object:
    """A numpy value as JSON-ready Python: NaN and missing as None."""
    if kind == "str":
        return value
    if kind == "int":
        return int(value)
    number = float(value)
    return None if math.isnan(number) else number


@dataclass(frozen=True)
class ValueColumn:
    name: str
    kind: str
    unit: str
    description: str
    values: np.ndarray

    @classmethod
    def of(cls, spec: ColumnSpec, values: np.ndarray) -> ValueColumn:
        # An integer column read with NULLs arrives as floats: keep it JSON-integral where present.
        kind = spec.kind if not (spec.kind == "int" and values.dtype.kind == "f") else "float"
        description = spec.description or FEATURE_DESCRIPTIONS.get(spec.name, "")
        return cls(spec.name, kind, unit_of(spec.name), description, values)

    def at(self, position: int) -> object:
        return _plain(self.values[position], self.kind)

    @cached_property
    def json_key(self) -> str:
        return f"{_json(self.name)}:"

    @cached_property
    def json_at(self) -> Callable[[int], str]:
        """The value at a position as JSON text: a memoryview read gives a Python number without a numpy
        scalar, and the text is what `json.dumps` writes for it (NaN and infinities as null)."""
        if self.kind == "str":
            return lambda position: _json(self.values[position])
        item = memoryview(self.values).__getitem__
        text = _json_float if self.kind == "float" else int.__repr__
        return lambda position: text(item(position))


def _json(document: object) -> str:
    return json.dumps(document, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _json_float(value: float) -> str:
    """A float as `json.dumps` writes it (`float.__repr__`, the shortest exact text); NaN and infinities,
    which JSON lacks, as null."""
    return float.__repr__(value) if math.isfinite(value) else "null"


def _json_object(columns: list[ValueColumn], position: int) -> str:
    return "{" + ",".join(column.json_key + column.json_at(position) for column in columns) + "}"


def _finite(value: object) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _segment_profile(rows: list[dict], descriptions: dict[str, str]) -> dict[int, list[dict]]:
    """Per segment: each feature's mean in original units, next to the base mean and their ratio."""
    columns = (
        [
            column
            for column in rows[0]
            if column not in PROFILE_BOOKKEEPING_COLUMNS and PREDICTED_MARK not in column
        ]
        if rows
        else []
    )
    total = sum(row["customers"] for row in rows)
    profiles: dict[int, list[dict]] = {row["segment_id"]: [] for row in rows}
    for column in columns:
        present = [row for row in rows if _finite(row[column]) is not None]
        if not present:
            continue  # a feature of another feature set, NULL in this snapshot
        base = sum(_finite(row[column]) * row["customers"] for row in present) / total
        for row in present:
            mean = _finite(row[column])
            profiles[row["segment_id"]].append(
                {
                    "feature": column,
                    "unit": unit_of(column),
                    "description": descriptions.get(column, ""),
                    "mean": mean,
                    "base_mean": base,
                    "index": mean / base if base else None,
                }
            )
    return profiles


def _predicted_value(row: dict) -> dict | None:
    values = {column: _finite(value) for column, value in row.items() if PREDICTED_MARK in column}
    return values if any(value is not None for value in values.values()) else None


def _persona(persona: dict | None) -> dict | None:
    if persona is None:
        return None
    generated_at = persona.get("generated_at")
    return {
        **persona,
        "next_marketing_steps": list(persona.get("next_marketing_steps") or []),
        "generated_at": generated_at.isoformat() if generated_at else None,
    }


class SnapshotStore:
    def __init__(self, data: SnapshotData, versions: tuple = (), load_seconds: float = 0.0):
        self.snapshot_date = data.snapshot_date
        self.versions = versions
        self.load_seconds = load_seconds
        customers = data.customers
        order = np.argsort(customers["customer_id"], kind="stable")
        self.customer_ids = np.ascontiguousarray(customers["customer_id"][order])
        self.segment_ids = customers["segment_id"][order].astype(np.int32)
        self.distance = customers["distance"][order]
        self.features = [
            ValueColumn.of(spec, customers[f"feature:{spec.name}"][order]) for spec in data.feature_columns
        ]
        self.predictions = [
            ValueColumn.of(spec, customers[f"prediction:{spec.name}"][order])
            for spec in data.prediction_columns
        ]
        self._build_history(data.history)
        self.members = {
            int(row["segment_id"]): np.flatnonzero(self.segment_ids == int(row["segment_id"]))
            for row in data.profiles
        }
        self.profile_rows = data.profiles
        self._build_segments(data.personas)

    def with_personas(self, personas: dict[int, dict], versions: tuple) -> SnapshotStore:
        """The same snapshot with new personas (the persona step writes them after publishing), sharing
        every array with this store."""
        updated = copy.copy(self)
        updated.versions = versions
        updated._build_segments(personas)
        return updated

    def _build_history(self, history: dict[str, np.ndarray]) -> None:
        """Each customer's (day, segment) entries as one flat array with offsets (CSR), by position."""
        order = np.lexsort((history["day"], history["customer_id"]))
        ids = history["customer_id"][order]
        known = np.isin(ids, self.customer_ids)
        ids = ids[known]
        self.history_days = history["day"][order][known].astype(np.int32)
        self.history_segments = history["segment_id"][order][known].astype(np.int32)
        counts = np.bincount(np.searchsorted(self.customer_ids, ids), minlength=len(self.customer_ids))
        self.history_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.history_dates = {
            int(day): (EPOCH + dt.timedelta(days=int(day))).isoformat()
            for day in np.unique(self.history_days)
        }

    def _build_segments(self, personas: dict[int, dict]) -> None:
        descriptions = {column.name: column.description for column in self.features}
        profiles = _segment_profile(self.profile_rows, descriptions)
        self.segments: dict[int, dict] = {}
        for row in self.profile_rows:
            segment_id = int(row["segment_id"])
            persona = _persona(personas.get(segment_id))
            self.segments[segment_id] = {
                "segment_id": segment_id,
                "customers": int(row["customers"]),
                "customer_share": _finite(row["customer_share"]),
                "revenue_share": _finite(row["revenue_share"]),
                "persona": persona,
                "predicted_value": _predicted_value(row),
                "profile": profiles[segment_id],
            }
        # What every answer about a segment repeats, encoded once per snapshot rather than per request.
        self.brief_json = {
            segment_id: _json({"segment_id": segment_id, "persona": segment["persona"]})
            for segment_id, segment in self.segments.items()
        }
        self.segments_json = _json(
            {
                "snapshot_date": self.snapshot_date.isoformat(),
                "customers": self.customer_count,
                "segments": list(self.segments.values()),
            }
        ).encode()

    @property
    def customer_count(self) -> int:
        return len(self.customer_ids)

    @property
    def nbytes(self) -> int:
        arrays = [
            self.customer_ids,
            self.segment_ids,
            self.distance,
            self.history_days,
            self.history_segments,
        ]
        arrays += [self.history_offsets, *self.members.values()]
        arrays += [column.values for column in (*self.features, *self.predictions)]
        return sum(array.nbytes for array in arrays)

    @cached_property
    def _reads(self) -> _Reads:
        return _Reads(self)

    def position(self, customer_id: int) -> int | None:
        position = int(self.customer_ids.searchsorted(customer_id))
        if position < len(self.customer_ids) and self._reads.customer_id(position) == customer_id:
            return position
        return None

    def _values(self, columns: list[ValueColumn], position: int) -> dict[str, object]:
        return {column.name: column.at(position) for column in columns}

    def customer_json(self, customer_id: int) -> bytes | None:
        """The customer's answer as JSON, None when the snapshot has no such customer.

        Written from pieces, each as `json.dumps` would write it: the keys and the segment's part once per
        snapshot, the values read through memoryviews (no numpy scalar, no dict to encode per request)."""
        position = self.position(customer_id)
        if position is None:
            return None
        reads = self._reads
        segment_id = reads.segment_id(position)
        start, end = reads.history_offset(position), reads.history_offset(position + 1)
        history = ",".join(
            f'{{"snapshot_date":"{self.history_dates[reads.history_day(entry)]}",'
            f'"segment_id":{reads.history_segment(entry)}}}'
            for entry in range(start, end)
        )
        predictions = _json_object(self.predictions, position) if self.predictions else "null"
        brief = self.brief_json.get(segment_id) or _json({"segment_id": segment_id, "persona": None})
        return (
            f'{{"snapshot_date":"{self.snapshot_date.isoformat()}","customer_id":{customer_id},'
            f'"segment_id":{segment_id},"distance":{_json_float(reads.distance(position))},'
            f'"features":{_json_object(self.features, position)},"predicted_value":{predictions},'
            f'"segment_history":[{history}],"segment":{brief}}}'
        ).encode()

    def member_page(self, segment_id: int, after: int | None, limit: int) -> tuple[list[dict], int | None]:
        """Up to `limit` members with a customer id above `after`, and the id to continue after (or None)."""
        positions = self.members[segment_id]
        start = (
            0 if after is None else int(np.searchsorted(self.customer_ids[positions], after, side="right"))
        )
        page = positions[start : start + limit]
        members = [
            {
                "customer_id": int(self.customer_ids[position]),
                "distance": _plain(self.distance[position], "float"),
                "features": self._values(self.features, position),
            }
            for position in page
        ]
        more = start + limit < len(positions)
        return members, (members[-1]["customer_id"] if more and members else None)


class _Reads:
    """Element reads of a store's arrays as Python numbers (memoryview item access), for the lookups."""

    def __init__(self, store: SnapshotStore):
        self.customer_id = memoryview(store.customer_ids).__getitem__
        self.segment_id = memoryview(store.segment_ids).__getitem__
        self.distance = memoryview(store.distance).__getitem__
        self.history_offset = memoryview(store.history_offsets).__getitem__
        self.history_day = memoryview(store.history_days).__getitem__
        self.history_segment = memoryview(store.history_segments).__getitem__
