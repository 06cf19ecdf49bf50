"""What the API serves from: the current snapshot's store, kept fresh in the background, and as-of reads.

A refresh polls the tables' metadata (no query); only when a watched table changed does it list the
snapshots and build a new store for the latest, then swap it in with one assignment, so a request sees
the old store or the new one, never half of either. A failed refresh keeps the previous store serving
and is reported by `health()`. Older snapshots asked for with `?snapshot_date=` are loaded on first use
and a few are kept (least recently used first out).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from services.segments.settings import Settings
from services.segments.source import PERSONAS, SnapshotInfo, WarehouseReader
from services.segments.store import SnapshotStore

log = logging.getLogger(__name__)


class SnapshotNotFound(LookupError):
    def __init__(self, snapshot_date: dt.date, known: list[dt.date]):
        newest = f"; the newest is {known[-1]}" if known else ""
        super().__init__(f"no published snapshot on {snapshot_date}{newest} (GET /snapshots lists them)")


class NotReady(RuntimeError):
    """No snapshot has been loaded yet."""


@dataclass(frozen=True)
class State:
    store: SnapshotStore
    snapshots: tuple[SnapshotInfo, ...]
    versions: tuple


@dataclass
class RefreshStatus:
    last_attempt_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None
    failures_in_a_row: int = 0


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


class SegmentService:
    def __init__(self, reader: WarehouseReader, settings: Settings):
        self.reader = reader
        self.settings = settings
        self.state: State | None = None
        self.status = RefreshStatus()
        self._older: OrderedDict[dt.date, SnapshotStore] = OrderedDict()
        self._refresh_lock = threading.Lock()
        self._older_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- loading -------------------------------------------------------------------------------------

    def _history_dates(self, snapshots: tuple[SnapshotInfo, ...], day: dt.date) -> list[dt.date]:
        dates = [info.snapshot_date for info in snapshots if info.snapshot_date <= day]
        return dates[-self.settings.history_snapshots :]

    def _build(
        self, info: SnapshotInfo, snapshots: tuple[SnapshotInfo, ...], versions: tuple
    ) -> SnapshotStore:
        started = time.perf_counter()
        data = self.reader.load(info, self._history_dates(snapshots, info.snapshot_date))
        store = SnapshotStore(data, versions, load_seconds=0.0)
        store.load_seconds = time.perf_counter() - started
        log.info(
            "Loaded snapshot %s: %d customers, %d segments in %.2f s",
            info.snapshot_date,
            store.customer_count,
            len(store.segments),
            store.load_seconds,
        )
        return store

    def refresh(self) -> bool:
        """Loads the latest snapshot when a watched table changed; True when a new store was swapped in.

        Never raises: a failure is recorded and the previous store keeps serving."""
        with self._refresh_lock:
            self.status.last_attempt_at = _now()
            try:
                swapped = self._refresh()
            except Exception as error:
                self.status.last_error = f"{type(error).__name__}: {error}"
                self.status.last_error_at = _now()
                self.status.failures_in_a_row += 1
                log.exception("Refresh failed; still serving %s", self.serving_date())
                return False
            self.status.last_success_at = _now()
            self.status.failures_in_a_row = 0
            self.status.last_error = None
            return swapped

    def _refresh(self) -> bool:
        versions = self.reader.versions()
        if self.state is not None and versions == self.state.versions:
            return False
        snapshots = tuple(self.reader.snapshots())
        if not snapshots:
            raise LookupError(f"{self.reader.table_id('segment_profiles')} holds no snapshot yet")
        if self._only_personas_changed(versions, snapshots):
            # The persona step ran after the snapshot was published: a few rows, not a reload.
            store = self.state.store.with_personas(
                self.reader.personas(snapshots[-1].snapshot_date), versions
            )
        else:
            store = self._build(snapshots[-1], snapshots, versions)
        self.state = State(store, snapshots, versions)
        with self._older_lock:
            self._older.clear()  # a backfill may have replaced an older snapshot too
        return True

    def _only_personas_changed(self, versions: tuple, snapshots: tuple[SnapshotInfo, ...]) -> bool:
        if self.state is None or snapshots[-1].snapshot_date != self.state.store.snapshot_date:
            return False
        changed = {
            name for (name, new), (_, old) in zip(versions, self.state.versions, strict=True) if new != old
        }
        return changed == {PERSONAS}

    def serving_date(self) -> dt.date | None:
        return self.state.store.snapshot_date if self.state else None

    # ---- reads ---------------------------------------------------------------------------------------

    def current(self) -> State:
        state = self.state
        if state is None:
            raise NotReady(self.status.last_error or "the first snapshot is still loading")
        return state

    def loaded_store(self, snapshot_date: dt.date | None) -> SnapshotStore | None:
        """The snapshot's store when it is in memory, None when it must be loaded first."""
        state = self.current()
        if snapshot_date is None or snapshot_date == state.store.snapshot_date:
            return state.store
        stored = self._older.get(snapshot_date)
        if stored is None and not any(info.snapshot_date == snapshot_date for info in state.snapshots):
            raise SnapshotNotFound(snapshot_date, [info.snapshot_date for info in state.snapshots])
        return stored

    def store_for(self, snapshot_date: dt.date | None) -> SnapshotStore:
        state = self.current()
        if snapshot_date is None or snapshot_date == state.store.snapshot_date:
            return state.store
        info = next((info for info in state.snapshots if info.snapshot_date == snapshot_date), None)
        if info is None:
            raise SnapshotNotFound(snapshot_date, [info.snapshot_date for info in state.snapshots])
        with self._older_lock:  # one load per snapshot, however many requests ask for it at once
            store = self._older.get(snapshot_date)
            if store is None:
                store = self._build(info, state.snapshots, state.versions)
                if self.settings.cached_snapshots:
                    self._older[snapshot_date] = store
                    while len(self._older) > self.settings.cached_snapshots:
                        self._older.popitem(last=False)
            else:
                self._older.move_to_end(snapshot_date)
        return store

    def health(self) -> dict:
        state, status = self.state, self.status
        if state is None:
            health = "starting" if status.last_error is None else "unavailable"
        else:
            health = "ok" if status.last_error is None else "degraded"
        return {
            "status": health,
            "snapshot_date": state.store.snapshot_date.isoformat() if state else None,
            "customers": state.store.customer_count if state else None,
            "segments": len(state.store.segments) if state else None,
            "loaded_seconds": round(state.store.load_seconds, 3) if state else None,
            "memory_bytes": state.store.nbytes if state else None,
            "last_refresh_attempt_at": _stamp(status.last_attempt_at),
            "last_refresh_success_at": _stamp(status.last_success_at),
            "last_refresh_error": status.last_error,
            "last_refresh_error_at": _stamp(status.last_error_at),
            "refresh_failures_in_a_row": status.failures_in_a_row,
        }

    # ---- background refresh --------------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="segments-refresh", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.refresh_seconds):
            self.refresh()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
