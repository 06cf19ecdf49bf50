"""The HTTP API (FastAPI, OpenAPI docs at /docs) and the explorer page (/explorer/).

Every answer comes from the in-memory store of `SegmentService`; no request runs a BigQuery job, except
the first as-of read of an older snapshot, which loads it once. Errors share one JSON shape:

    {"error": {"status": 404, "code": "customer_not_found", "message": "..."}}
"""

import base64
import binascii
import contextlib
import datetime as dt
import gc
import json
import secrets
from pathlib import Path as FilePath
from typing import Annotated, Any

import anyio
from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyHeader
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from services.segments.service import NotReady, SegmentService, SnapshotNotFound
from services.segments.settings import Settings
from services.segments.store import SnapshotStore

EXPLORER = FilePath(__file__).with_name("explorer")
API_KEY_HEADER = "X-API-Key"
API_KEY_NAME = API_KEY_HEADER.lower().encode()  # as ASGI spells header names
CUSTOMER_PATH = "/customers/"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"status": status, "code": code, "message": message}}, status_code=status, headers=headers
    )


# ---- response shapes, for the OpenAPI docs (handlers return JSON directly: no per-request validation) ----


class ErrorBody(BaseModel):
    status: int
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


class PersonaOut(BaseModel):
    title: str
    persona: str
    summary: str
    next_marketing_steps: list[str]
    recommended_channel: str
    backend: str
    model: str
    generated_at: str | None


class ProfileFeatureOut(BaseModel):
    feature: str
    unit: str
    description: str
    mean: float
    base_mean: float
    index: float | None


class SegmentOut(BaseModel):
    segment_id: int
    customers: int
    customer_share: float | None
    revenue_share: float | None
    persona: PersonaOut | None
    predicted_value: dict[str, float | None] | None
    profile: list[ProfileFeatureOut]


class SegmentsOut(BaseModel):
    snapshot_date: str
    customers: int
    segments: list[SegmentOut]


class MemberOut(BaseModel):
    customer_id: int
    distance: float | None
    features: dict[str, Any]


class SegmentMembersOut(BaseModel):
    snapshot_date: str
    segment: SegmentOut
    members: list[MemberOut]
    next_page_token: str | None


class SegmentBriefOut(BaseModel):
    segment_id: int
    persona: PersonaOut | None


class HistoryEntryOut(BaseModel):
    snapshot_date: str
    segment_id: int


class CustomerOut(BaseModel):
    snapshot_date: str
    customer_id: int
    segment_id: int
    distance: float | None
    features: dict[str, Any]
    predicted_value: dict[str, Any] | None
    segment: SegmentBriefOut
    segment_history: list[HistoryEntryOut]


class SnapshotOut(BaseModel):
    snapshot_date: str
    segments: int
    customers: int


class SnapshotsOut(BaseModel):
    current: str
    snapshots: list[SnapshotOut]


ERRORS = {
    400: {"model": ErrorOut, "description": "Malformed input"},
    401: {"model": ErrorOut, "description": "Missing or wrong API key"},
    404: {"model": ErrorOut, "description": "Unknown snapshot, segment or customer"},
    503: {"model": ErrorOut, "description": "No snapshot loaded yet"},
}

SnapshotDate = Annotated[
    dt.date | None,
    Query(description="Read as of this published snapshot (YYYY-MM-DD) instead of the current one."),
]


# ---- page tokens -----------------------------------------------------------------------------------------


def encode_page_token(snapshot_date: dt.date, segment_id: int, after: int) -> str:
    document = json.dumps(
        {"snapshot_date": snapshot_date.isoformat(), "segment_id": segment_id, "after": after}
    )
    return base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")


def decode_page_token(token: str) -> tuple[dt.date, int, int]:
    """(snapshot, segment, last customer id) of a token this API issued; ApiError 400 otherwise."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        snapshot_date = dt.date.fromisoformat(document["snapshot_date"])
        segment_id, after = document["segment_id"], document["after"]
        if not (isinstance(segment_id, int) and isinstance(after, int)):
            raise TypeError
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise ApiError(
            400, "invalid_page_token", f"page_token {token[:80]!r} is not one this API issued"
        ) from None
    return snapshot_date, segment_id, after


# ---- the lookups' fast path ------------------------------------------------------------------------------


def _canonical_int(text: str) -> int | None:
    """`text` as an int64 when it is written the one way `str(int)` writes it, None otherwise."""
    try:
        number = int(text)
    except ValueError:
        return None
    return number if str(number) == text and INT64_MIN <= number <= INT64_MAX else None


def _canonical_date(query: bytes) -> dt.date | bool | None:
    """The snapshot date of a query string that is empty (None) or exactly `snapshot_date=YYYY-MM-DD`;
    False for anything else."""
    if not query:
        return None
    name, _, value = query.partition(b"=")
    if name != b"snapshot_date" or len(value) != 10:
        return False
    try:
        day = dt.date.fromisoformat(value.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        return False
    return day if day.isoformat().encode() == value else False


class LookupFastPath:
    """Answers the two hot reads, `GET /customers/{id}` and `GET /segments`, straight from the store's
    pre-encoded JSON: no routing, dependency solving or validation per request (about three quarters of
    a lookup's CPU time under FastAPI). It takes only requests it can answer with a 200 exactly as the
    FastAPI route would: a canonical id and date, a loaded snapshot, a known customer, the right key.
    Anything else (malformed, unknown, unauthorised) goes on to the FastAPI route, which documents the
    endpoint and gives every error its one JSON shape."""

    def __init__(self, app: ASGIApp, service: SegmentService, expected_key: bytes | None):
        self.app, self.service, self.expected_key = app, service, expected_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = self._answer(scope) if scope["type"] == "http" and scope["method"] == "GET" else None
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, scope: Scope) -> bytes | None:
        path = scope["path"]
        if path == "/segments":
            snapshot = self._snapshot(scope)
            return None if snapshot is None else snapshot.segments_json
        if path.startswith(CUSTOMER_PATH):
            customer_id = _canonical_int(path.removeprefix(CUSTOMER_PATH))
            snapshot = None if customer_id is None else self._snapshot(scope)
            return None if snapshot is None else snapshot.customer_json(customer_id)
        return None

    def _snapshot(self, scope: Scope) -> SnapshotStore | None:
        """The loaded store the request asks for, when it is authorised and its query is canonical."""
        snapshot_date = _canonical_date(scope["query_string"])
        if snapshot_date is False or not self._authorised(scope):
            return None
        try:
            return self.service.loaded_store(snapshot_date)
        except (NotReady, SnapshotNotFound):
            return None

    def _authorised(self, scope: Scope) -> bool:
        if self.expected_key is None:
            return True
        given = next((value for name, value in scope["headers"] if name == API_KEY_NAME), None)
        return given is not None and secrets.compare_digest(given, self.expected_key)


# ---- the app ---------------------------------------------------------------------------------------------


def create_app(service: SegmentService, settings: Settings, *, background_refresh: bool = True) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):
        if background_refresh:
            await anyio.to_thread.run_sync(service.refresh)
            service.start()
            # The imports (Airflow's task SDK, the BigQuery client) leave ~10^5 long-lived objects that
            # every full garbage collection would walk, a pause of tens of ms under load: exempt them.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            service.stop()
            gc.unfreeze()  # collectable again at exit, where native extensions check that they were freed

    app = FastAPI(
        title="Customer segments",
        version="1.0",
        description=(
            "Which segment a customer is in, what the segment looks like and what marketing should do next, "
            "from the segmentation pipeline's published snapshots. Send the API key in the "
            f"`{API_KEY_HEADER}` header when the service has one. The explorer page is at /explorer/."
        ),
        lifespan=lifespan,
    )
    install_error_handlers(app)
    key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="The service's API key.")
    expected = settings.api_key.get_secret_value().encode() if settings.api_key else None

    # async although it awaits nothing: FastAPI runs a plain function on a worker thread, a thread hop per request.
    async def require_key(given: Annotated[str | None, Depends(key_header)]) -> None:  # ruff: ignore[unused-async]
        if given is None or not secrets.compare_digest(given.encode(), expected):
            raise ApiError(401, "unauthorized", f"send the service's API key in the {API_KEY_HEADER} header")

    # Without a key (loopback only) there is nothing to check, and no per-request cost for it.
    guarded = {"dependencies": [Depends(require_key)] if expected else [], "responses": ERRORS}

    async def store(snapshot_date: dt.date | None) -> SnapshotStore:
        """The snapshot's store; loading an older one blocks, so it runs on a worker thread."""
        try:
            loaded = service.loaded_store(snapshot_date)
            return loaded or await anyio.to_thread.run_sync(service.store_for, snapshot_date)
        except SnapshotNotFound as error:
            raise ApiError(404, "snapshot_not_found", str(error)) from None

    @app.get("/snapshots", response_model=SnapshotsOut, tags=["snapshots"], **guarded)
    async def snapshots() -> JSONResponse:
        """Every published snapshot, oldest first, and the one served by default."""
        state = service.current()
        return JSONResponse(
            {
                "current": state.store.snapshot_date.isoformat(),
                "snapshots": [
                    {
                        "snapshot_date": info.snapshot_date.isoformat(),
                        "segments": info.segments,
                        "customers": info.customers,
                    }
                    for info in state.snapshots
                ],
            }
        )

    @app.get("/segments", response_model=SegmentsOut, tags=["segments"], **guarded)
    async def segments(snapshot_date: SnapshotDate = None) -> JSONResponse:
        """The snapshot's segments: size, shares, profile in original units, persona and next steps,
        predicted value when the pipeline computes it."""
        snapshot = await store(snapshot_date)
        return Response(snapshot.segments_json, media_type="application/json")

    @app.get("/segments/{segment_id}", response_model=SegmentMembersOut, tags=["segments"], **guarded)
    async def segment(
        segment_id: Annotated[int, Path(ge=INT64_MIN, le=INT64_MAX)],
        snapshot_date: SnapshotDate = None,
        page_size: Annotated[
            int, Query(ge=1, le=settings.max_page_size, description="Members per page.")
        ] = settings.default_page_size,
        page_token: Annotated[
            str | None, Query(max_length=512, description="next_page_token of the previous page.")
        ] = None,
    ) -> JSONResponse:
        """One segment and a page of its members, in customer id order."""
        after = None
        if page_token is not None:
            token_date, token_segment, after = decode_page_token(page_token)
            if token_segment != segment_id or (snapshot_date is not None and snapshot_date != token_date):
                raise ApiError(
                    400,
                    "invalid_page_token",
                    f"page_token belongs to segment {token_segment} of snapshot {token_date}",
                )
            snapshot_date = token_date  # later pages stay on the snapshot the first one came from
        snapshot = await store(snapshot_date)
        if segment_id not in snapshot.segments:
            known = ", ".join(map(str, snapshot.segments))
            raise ApiError(
                404,
                "segment_not_found",
                f"no segment {segment_id} in snapshot {snapshot.snapshot_date}; its segments are {known}",
            )
        members, last = snapshot.member_page(segment_id, after, page_size)
        token = None if last is None else encode_page_token(snapshot.snapshot_date, segment_id, last)
        return JSONResponse(
            {
                "snapshot_date": snapshot.snapshot_date.isoformat(),
                "segment": snapshot.segments[segment_id],
                "members": members,
                "next_page_token": token,
            }
        )

    @app.get("/customers/{customer_id}", response_model=CustomerOut, tags=["customers"], **guarded)
    async def customer(
        customer_id: Annotated[
            int, Path(ge=INT64_MIN, le=INT64_MAX, description="The source's customer id.")
        ],
        snapshot_date: SnapshotDate = None,
    ) -> JSONResponse:
        """The customer's segment in the snapshot, the features it was assigned on, the segment's persona
        and the snapshots where the customer entered a segment (first seen, or moved)."""
        snapshot = await store(snapshot_date)
        found = snapshot.customer_json(customer_id)
        if found is None:
            raise ApiError(
                404,
                "customer_not_found",
                f"customer {customer_id} is in no segment of snapshot {snapshot.snapshot_date}",
            )
        return Response(found, media_type="application/json")

    @app.get("/healthz", tags=["operations"], responses={503: {"model": ErrorOut}})
    async def healthz() -> JSONResponse:
        """`ok`, or `degraded` (the last refresh failed: the previous snapshot is still served), with 200;
        503 while no snapshot is loaded."""
        health = service.health()
        return JSONResponse(health, status_code=503 if service.state is None else 200)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/explorer/")

    app.mount("/explorer", StaticFiles(directory=EXPLORER, html=True), name="explorer")
    app.add_middleware(LookupFastPath, service=service, expected_key=expected)
    return app


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    def api_error(_request: Request, error: ApiError) -> JSONResponse:
        return error_response(error.status, error.code, error.message)

    @app.exception_handler(NotReady)
    def not_ready(_request: Request, error: NotReady) -> JSONResponse:
        return error_response(503, "not_ready", f"no snapshot loaded yet: {error}", {"Retry-After": "5"})

    @app.exception_handler(RequestValidationError)
    def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = []
        for issue in error.errors():
            where = issue["loc"][-1] if issue["loc"] else "request"
            problems.append(f"{where}: {issue['msg']} (got {str(issue.get('input'))[:80]!r})")
        return error_response(400, "invalid_request", "; ".join(problems))

    @app.exception_handler(StarletteHTTPException)
    def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(error.status_code, code, str(error.detail), getattr(error, "headers", None))
