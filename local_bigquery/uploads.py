"""Media uploads for jobs.insert, as `Client.load_table_from_file` sends them (google-resumable-media).

- `uploadType=multipart`: one POST, `multipart/related` with the job resource (JSON) and then the file.
- `uploadType=resumable`: a POST with the job resource answers with a `Location` to PUT the file to, in one
  or more chunks, each with a `Content-Range`. An unfinished upload answers 308 with the `Range` received so
  far; the last chunk runs the job and answers with it.

The bytes are spooled to a file in the warehouse's private directory (the only one DuckDB may read), which
the load job reads and which is removed afterwards.
"""

from __future__ import annotations

import re
import threading
import uuid
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from pathlib import Path

from local_bigquery import resources
from local_bigquery.errors import InvalidRequest, NotFound
from local_bigquery.warehouse import Warehouse

_CONTENT_RANGE = re.compile(r"^bytes (?:(?P<first>\d+)-(?P<last>\d+)|\*)/(?P<total>\d+|\*)$")


@dataclass
class Chunk:
    """A parsed `Content-Range`: `bytes first-last/total`, `bytes first-last/*` or `bytes */total`."""

    first: int | None
    last: int | None
    total: int | None

    @classmethod
    def parse(cls, header: str | None) -> Chunk:
        match = _CONTENT_RANGE.match((header or "").strip())
        if match is None:
            raise InvalidRequest(f"Invalid Content-Range header {header!r} for a resumable upload.")

        def number(name: str) -> int | None:
            value = match[name]
            return None if value in (None, "*") else int(value)

        return cls(number("first"), number("last"), number("total"))


@dataclass
class _Session:
    project: str
    job: dict
    spool: Path
    received: int = 0


def _job_resource(raw: bytes) -> dict:
    return resources.check(
        resources.Job, resources.parse_json_object(raw or b"{}", "job resource in the upload")
    )


def multipart_parts(content_type: str, body: bytes) -> tuple[dict, bytes]:
    """The job resource and the file from a `multipart/related` body."""
    if not content_type.lower().startswith("multipart/related"):
        raise InvalidRequest(
            f"A multipart upload needs Content-Type multipart/related, not {content_type!r}."
        )
    message = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    parts = list(message.iter_parts())
    if len(parts) != 2:
        raise InvalidRequest(
            f"A multipart upload has two parts, the job resource and the data; got {len(parts)}."
        )
    metadata, media = (part.get_payload(decode=True) or b"" for part in parts)
    return _job_resource(metadata), media


class Uploads:
    """Upload endpoints over a warehouse: run the load job once the whole file has arrived."""

    def __init__(self, warehouse: Warehouse):
        self.warehouse = warehouse
        self._sessions: dict[str, _Session] = {}
        self._lock = threading.Lock()

    def multipart(self, project: str, content_type: str, body: bytes) -> dict:
        job, media = multipart_parts(content_type, body)
        return self._run(project, job, self.warehouse.spool_file(media))

    def start(self, project: str, raw_job: bytes) -> str:
        """Open a resumable upload; the id goes into the upload URL."""
        session = _Session(project, _job_resource(raw_job), self.warehouse.spool_file())
        upload_id = uuid.uuid4().hex
        with self._lock:
            self._sessions[upload_id] = session
        return upload_id

    def put(self, upload_id: str, content_range: str | None, data: bytes) -> dict | int:
        """Take a chunk: the finished job, or how many bytes have arrived so far."""
        chunk = Chunk.parse(content_range)
        with self._lock:
            session = self._sessions.get(upload_id)
        if session is None:
            raise NotFound(f"Not found: upload {upload_id} (unknown or already finished)")
        if chunk.first is not None:
            self._append(session, chunk, data)
        if chunk.total is None or session.received < chunk.total:
            return session.received
        if session.received != chunk.total:
            raise InvalidRequest(
                f"Upload {upload_id} declares {chunk.total} bytes but {session.received} arrived."
            )
        with self._lock:
            self._sessions.pop(upload_id, None)
        return self._run(session.project, session.job, session.spool)

    @staticmethod
    def _append(session: _Session, chunk: Chunk, data: bytes) -> None:
        if chunk.first != session.received:
            raise InvalidRequest(
                f"Upload chunk starts at byte {chunk.first}, but {session.received} bytes have arrived."
            )
        if chunk.last - chunk.first + 1 != len(data):
            raise InvalidRequest(
                f"Content-Range bytes {chunk.first}-{chunk.last} does not match the {len(data)} bytes sent."
            )
        with session.spool.open("ab") as spool:
            spool.write(data)
        session.received += len(data)

    def _run(self, project: str, job: dict, spool: Path) -> dict:
        try:
            return self.warehouse.insert_job(project, job, source=spool)
        finally:
            spool.unlink(missing_ok=True)
