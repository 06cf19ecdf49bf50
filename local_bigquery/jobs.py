"""Job records, readable while a job runs.

Jobs run one at a time under the warehouse lock, and a long query holds it for as long as it runs. jobs.get
and jobs.list must not wait for it: a running job is kept here in memory (state RUNNING), and finished jobs
are written to and read from the jobs table through a DuckDB connection of their own, which reads the
committed state of the database concurrently with the running query.
"""

from __future__ import annotations

import copy
import json
import threading

import duckdb

from local_bigquery.catalog import LOCATION, META, first_row, run_sql
from local_bigquery.errors import Duplicate, NotFound


class JobRecords:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con.cursor()
        self._lock = threading.Lock()
        self._running: dict[tuple[str, str], dict] = {}

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def start(self, project: str, job: dict) -> None:
        """Record a job about to run; refuses an id that is taken."""
        job_id = job["jobReference"]["jobId"]
        with self._lock:
            if (project, job_id) in self._running or self._stored(project, job_id) is not None:
                raise Duplicate(f"Already Exists: Job {project}:{LOCATION}.{job_id}")
            self._running[project, job_id] = {**copy.deepcopy(job), "status": {"state": "RUNNING"}}

    def finish(self, project: str, job: dict) -> None:
        """Store a finished job; from then on it is read from the jobs table."""
        job_id = job["jobReference"]["jobId"]
        with self._lock:
            # A plain INSERT: start refused a duplicate id, and replacing costs twice as much.
            run_sql(
                self._con, f"INSERT INTO {META}.jobs VALUES (?, ?, ?)", [project, job_id, json.dumps(job)]
            )
            self._running.pop((project, job_id), None)

    def abandon(self, project: str, job_id: str) -> None:
        """Forget a job that failed in a way no job record can describe (an internal error)."""
        with self._lock:
            self._running.pop((project, job_id), None)

    def get(self, project: str, job_id: str) -> dict:
        with self._lock:
            job = self._running.get((project, job_id)) or self._stored(project, job_id)
        if job is None:
            raise NotFound(f"Not found: Job {project}:{LOCATION}.{job_id}")
        return job

    def list(self, project: str) -> list[dict]:
        """The project's jobs, newest first."""
        with self._lock:
            rows = self._con.execute(
                f"SELECT resource FROM {META}.jobs WHERE project = ?", [project]
            ).fetchall()
            running = [job for (owner, _), job in self._running.items() if owner == project]
        jobs = running + [json.loads(resource) for (resource,) in rows]
        return sorted(jobs, key=lambda job: int(job["statistics"]["creationTime"]), reverse=True)

    def delete(self, project: str, job_id: str) -> None:
        with self._lock:
            run_sql(self._con, f"DELETE FROM {META}.jobs WHERE project = ? AND job_id = ?", [project, job_id])

    def _stored(self, project: str, job_id: str) -> dict | None:
        row = first_row(
            self._con, f"SELECT resource FROM {META}.jobs WHERE project = ? AND job_id = ?", [project, job_id]
        )
        return json.loads(row[0]) if row else None
