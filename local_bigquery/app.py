"""The BigQuery v2 REST API over a Warehouse, in the shapes the official client parses."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from local_bigquery import __version__, resources
from local_bigquery.catalog import LOCAL_USER
from local_bigquery.errors import BigQueryError, InternalError, InvalidRequest, NotFound, Unsupported
from local_bigquery.guard import RequestGuard
from local_bigquery.translate import TableRef
from local_bigquery.uploads import Uploads
from local_bigquery.warehouse import Warehouse

log = logging.getLogger("local_bigquery")


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    return resources.parse_json_object(raw) if raw else {}


def _body_of(model: type[BaseModel]):
    """A dependency: the JSON body, checked to have the shape of `model` (see resources)."""

    async def body(request: Request) -> dict:
        return resources.check(model, await _json_body(request))

    return Depends(body)


async def _raw_body(request: Request) -> bytes:
    return await request.body()


# Routes take their body through these dependencies, which FastAPI awaits on the event loop, and are
# themselves plain functions, which it runs on worker threads: a route waiting for the warehouse (a long
# query holds it) never blocks the event loop, so health checks and job status keep being answered.
JobBody = Annotated[dict, _body_of(resources.Job)]
QueryBody = Annotated[dict, _body_of(resources.QueryRequest)]
DatasetBody = Annotated[dict, _body_of(resources.Dataset)]
TableBody = Annotated[dict, _body_of(resources.Table)]
InsertAllBody = Annotated[dict, _body_of(resources.InsertAllRequest)]
RawBody = Annotated[bytes, Depends(_raw_body)]


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "false").lower() == "true"


def _timestamp_format(request: Request) -> str:
    return resources.timestamp_format(
        _flag(request, "formatOptions.useInt64Timestamp"),
        request.query_params.get("formatOptions.timestampOutputFormat"),
    )


def _int(request: Request, name: str) -> int | None:
    maximum = resources.MAX_RESULTS if name == "maxResults" else resources.MAX_OFFSET
    return resources.non_negative(name, request.query_params.get(name), maximum)


def _rows_response(body: dict) -> JSONResponse:
    """A page of rows, serialized as it is: its values are already JSON types, and FastAPI's generic
    encoding of a returned dict walks every cell of every row, costing more than producing the page."""
    return JSONResponse(body)


def _list_page(items: list[dict], request: Request, key: str, kind: str) -> dict:
    start = resources.page_offset(request.query_params.get("pageToken"), None)
    count = _int(request, "maxResults") or 1000
    page = {"kind": kind, key: items[start : start + count], "totalItems": len(items)}
    if start + count < len(items):
        page["nextPageToken"] = str(start + count)
    return page


def _model_resource(stored) -> dict:
    from local_bigquery import bqml

    return bqml.model_resource(stored)


def _model_router(warehouse: Warehouse) -> APIRouter:
    router = APIRouter()
    base = "/projects/{project}/datasets/{dataset}/models"

    @router.get(base)
    def list_models(project: str, dataset: str, request: Request):
        models = warehouse.locked(warehouse.catalog.models.list, project, dataset)
        return _list_page(
            [_model_resource(m) for m in models], request, "models", "bigquery#listModelsResponse"
        )

    @router.get(base + "/{model}")
    def get_model(project: str, dataset: str, model: str):
        stored = warehouse.locked(warehouse.catalog.models.require, TableRef(project, dataset, model))
        return _model_resource(stored)

    @router.delete(base + "/{model}")
    def delete_model(project: str, dataset: str, model: str):
        warehouse.locked(warehouse.catalog.models.require, TableRef(project, dataset, model))
        warehouse.locked(warehouse.catalog.models.delete, TableRef(project, dataset, model))
        return Response(status_code=204)

    return router


# Routines are user-defined functions, table functions and procedures, which local_bigquery does not run
# (CREATE FUNCTION and CREATE PROCEDURE are refused in SQL too).
ROUTINES_REFUSAL = "routines (CREATE FUNCTION, CREATE TABLE FUNCTION, CREATE PROCEDURE)"


def _routine_router(warehouse: Warehouse) -> APIRouter:
    """The routines resource (https://cloud.google.com/bigquery/docs/reference/rest/v2/routines): creating or
    changing one is refused by name; reads answer what is true here, that a dataset holds no routine."""
    router = APIRouter()
    base = "/projects/{project}/datasets/{dataset}/routines"

    @router.post(base)
    @router.api_route(base + "/{routine}", methods=["PATCH", "PUT"])
    def write_routine(project: str, dataset: str, routine: str = ""):
        raise Unsupported(ROUTINES_REFUSAL)

    @router.get(base)
    def list_routines(project: str, dataset: str):
        warehouse.locked(warehouse.catalog.require_dataset, project, dataset)
        return {"routines": []}

    @router.api_route(base + "/{routine}", methods=["GET", "DELETE"])
    def missing_routine(project: str, dataset: str, routine: str):
        warehouse.locked(warehouse.catalog.require_dataset, project, dataset)
        raise NotFound(f"Not found: Routine {project}:{dataset}.{routine}")

    return router


def _row_access_policy_router(warehouse: Warehouse) -> APIRouter:
    """The rowAccessPolicies resource (https://cloud.google.com/bigquery/docs/reference/rest/v2/rowAccessPolicies):
    row-level security is not enforced here, and a policy accepted and then ignored would show every row to
    every caller, so creating or changing one is refused by name; reads answer that a table has none."""
    router = APIRouter()
    base = "/projects/{project}/datasets/{dataset}/tables/{table}/rowAccessPolicies"

    @router.post(base)
    @router.post(base + ":batchDelete")
    @router.api_route(base + "/{policy}", methods=["PATCH", "PUT"])
    def write_policy(project: str, dataset: str, table: str, policy: str = ""):
        raise Unsupported("row access policies")

    @router.get(base)
    def list_policies(project: str, dataset: str, table: str):
        warehouse.locked(warehouse.catalog.require_table, TableRef(project, dataset, table))
        return {"rowAccessPolicies": []}

    @router.api_route(base + "/{policy}", methods=["GET", "DELETE"])
    def missing_policy(project: str, dataset: str, table: str, policy: str):
        warehouse.locked(warehouse.catalog.require_table, TableRef(project, dataset, table))
        raise NotFound(f"Not found: Row access policy {policy} on table {project}:{dataset}.{table}")

    return router


def create_app(warehouse: Warehouse, allowed_hosts: Collection[str] = ()) -> FastAPI:
    """The REST app; it answers loopback hosts and `allowed_hosts` only (see `guard`)."""
    app = FastAPI(title="local_bigquery", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(RequestGuard, allowed_hosts=allowed_hosts)
    catalog = warehouse.catalog
    api = APIRouter(prefix="/bigquery/v2")

    @app.exception_handler(BigQueryError)
    def bigquery_error(request: Request, error: BigQueryError):
        return JSONResponse(error.response_body(), status_code=error.http_status)

    @app.exception_handler(StarletteHTTPException)
    def http_error(request: Request, error: StarletteHTTPException):
        failure = (
            NotFound(f"Not found: {request.method} {request.url.path}")
            if error.status_code == 404
            else (InvalidRequest(str(error.detail)))
        )
        failure.http_status = error.status_code
        return JSONResponse(failure.response_body(), status_code=error.status_code)

    @app.exception_handler(RecursionError)
    def too_deep(request: Request, error: RecursionError):
        failure = InvalidRequest("The request or its query nests too deeply to be processed.")
        return JSONResponse(failure.response_body(), status_code=failure.http_status)

    @app.exception_handler(Exception)
    def unexpected_error(request: Request, error: Exception):
        log.exception("unexpected error serving %s %s", request.method, request.url.path)
        failure = InternalError(f"local_bigquery internal error: {type(error).__name__}: {error}")
        return JSONResponse(failure.response_body(), status_code=500)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "version": __version__}

    # ---- jobs ---------------------------------------------------------------------------------------------

    @api.post("/projects/{project}/jobs")
    def insert_job(project: str, body: JobBody):
        return warehouse.insert_job(project, body)

    @api.get("/projects/{project}/jobs")
    def list_jobs(project: str, request: Request):
        # minCreationTime: only jobs created at or after it, in milliseconds since the epoch
        # (https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/list).
        since = _int(request, "minCreationTime") or 0
        # parentJobId: only that script's child jobs; without it, only top-level jobs.
        parent = request.query_params.get("parentJobId")
        jobs = [
            job
            for job in warehouse.list_jobs(project)
            if int(job["statistics"]["creationTime"]) >= since
            and job["statistics"].get("parentJobId") == parent
        ]
        return _list_page(jobs, request, "jobs", "bigquery#jobList")

    @api.get("/projects/{project}/jobs/{job_id}")
    def get_job(project: str, job_id: str):
        return warehouse.get_job(project, job_id)

    @api.post("/projects/{project}/jobs/{job_id}/cancel")
    def cancel_job(project: str, job_id: str):
        return warehouse.cancel_job(project, job_id)

    @api.delete("/projects/{project}/jobs/{job_id}/delete")
    def delete_job(project: str, job_id: str):
        warehouse.delete_job(project, job_id)
        return Response(status_code=204)

    @api.post("/projects/{project}/queries")
    def query(project: str, body: QueryBody):
        return _rows_response(warehouse.query(project, body))

    @api.get("/projects/{project}/queries/{job_id}")
    def get_query_results(project: str, job_id: str, request: Request):
        return _rows_response(
            warehouse.query_results(
                project,
                job_id,
                start_index=_int(request, "startIndex") or 0,
                page_token=request.query_params.get("pageToken"),
                max_results=_int(request, "maxResults"),
                timestamp_format=_timestamp_format(request),
            )
        )

    @api.get("/projects/{project}/serviceAccount")
    def get_service_account(project: str):
        # The account BigQuery acts as for the project; here, the server's one local user, who runs every job
        # (https://cloud.google.com/bigquery/docs/reference/rest/v2/projects/getServiceAccount).
        return {"kind": "bigquery#getServiceAccountResponse", "email": LOCAL_USER}

    # ---- datasets -----------------------------------------------------------------------------------------

    @api.post("/projects/{project}/datasets")
    def insert_dataset(project: str, body: DatasetBody):
        reference = body.get("datasetReference") or {}
        if not reference.get("datasetId"):
            raise InvalidRequest("Required parameter is missing: datasetReference.datasetId")
        return warehouse.locked(
            catalog.create_dataset, reference.get("projectId") or project, reference["datasetId"], body
        )

    @api.get("/projects/{project}/datasets")
    def list_datasets(project: str, request: Request):
        include_hidden = request.query_params.get("all", "").lower() == "true"
        datasets = warehouse.locked(catalog.list_datasets, project, include_hidden)
        return _list_page(datasets, request, "datasets", "bigquery#datasetList")

    @api.get("/projects/{project}/datasets/{dataset}")
    def get_dataset(project: str, dataset: str):
        return warehouse.locked(catalog.get_dataset, project, dataset)

    @api.api_route("/projects/{project}/datasets/{dataset}", methods=["PATCH", "PUT"])
    def patch_dataset(project: str, dataset: str, body: DatasetBody):
        return warehouse.locked(catalog.patch_dataset, project, dataset, body)

    @api.delete("/projects/{project}/datasets/{dataset}")
    def delete_dataset(project: str, dataset: str, request: Request):
        warehouse.locked(catalog.delete_dataset, project, dataset, _flag(request, "deleteContents"))
        return Response(status_code=204)

    # ---- tables and tabledata -----------------------------------------------------------------------------

    tables = "/projects/{project}/datasets/{dataset}/tables"

    @api.post(tables)
    def insert_table(project: str, dataset: str, body: TableBody):
        table_id = (body.get("tableReference") or {}).get("tableId")
        if not table_id:
            raise InvalidRequest("Required parameter is missing: tableReference.tableId")
        ref = TableRef(project, dataset, table_id)
        if "view" in body:
            return warehouse.create_view(ref, body)
        return warehouse.locked(catalog.create_table, ref, body)

    @api.get(tables)
    def list_tables(project: str, dataset: str, request: Request):
        return _list_page(
            warehouse.locked(catalog.list_tables, project, dataset), request, "tables", "bigquery#tableList"
        )

    @api.get(tables + "/{table}")
    def get_table(project: str, dataset: str, table: str):
        return warehouse.locked(catalog.get_table, TableRef(project, dataset, table))

    @api.api_route(tables + "/{table}", methods=["PATCH", "PUT"])
    def patch_table(project: str, dataset: str, table: str, body: TableBody):
        return warehouse.locked(catalog.patch_table, TableRef(project, dataset, table), body)

    @api.delete(tables + "/{table}")
    def delete_table(project: str, dataset: str, table: str):
        warehouse.locked(catalog.drop_table, TableRef(project, dataset, table))
        return Response(status_code=204)

    @api.post(tables + "/{table}:testIamPermissions")
    def test_iam_permissions(
        project: str, dataset: str, table: str, body: Annotated[dict, Depends(_json_body)]
    ):
        """The permissions asked for that the caller has on the table: the server's one local user has every
        BigQuery permission. https://cloud.google.com/bigquery/docs/reference/rest/v2/tables/testIamPermissions"""
        warehouse.locked(catalog.require_table, TableRef(project, dataset, table))
        asked = body.get("permissions") or []
        # Google's JSON reading of a repeated field takes nested lists flat, as the client's system test sends.
        flat = [p for item in asked for p in (item if isinstance(item, list) else [item])]
        if not all(isinstance(permission, str) for permission in flat):
            raise InvalidRequest("Invalid value at 'permissions': each permission is a string.")
        return {"permissions": [permission for permission in flat if permission.startswith("bigquery.")]}

    @api.get(tables + "/{table}/data")
    def list_rows(project: str, dataset: str, table: str, request: Request):
        return _rows_response(
            warehouse.list_rows(
                TableRef(project, dataset, table),
                start_index=_int(request, "startIndex") or 0,
                page_token=request.query_params.get("pageToken"),
                max_results=_int(request, "maxResults"),
                selected_fields=request.query_params.get("selectedFields"),
                timestamp_format=_timestamp_format(request),
            )
        )

    @api.post(tables + "/{table}/insertAll")
    def insert_all(project: str, dataset: str, table: str, body: InsertAllBody):
        return warehouse.insert_all(TableRef(project, dataset, table), body)

    api.include_router(_model_router(warehouse))
    api.include_router(_routine_router(warehouse))
    api.include_router(_row_access_policy_router(warehouse))
    app.include_router(api)
    app.include_router(_upload_router(warehouse))
    return app


def _upload_router(warehouse: Warehouse) -> APIRouter:
    """Load jobs with their file, as `Client.load_table_from_file` uploads it."""
    router = APIRouter(prefix="/upload/bigquery/v2")
    uploads = Uploads(warehouse)
    jobs = "/projects/{project}/jobs"

    @router.post(jobs)
    def start_upload(project: str, request: Request, body: RawBody):
        upload_type = request.query_params.get("uploadType")
        if upload_type == "multipart":
            return uploads.multipart(project, request.headers.get("content-type", ""), body)
        if upload_type == "resumable":
            upload_id = uploads.start(project, body)
            location = str(request.url.include_query_params(upload_id=upload_id))
            return Response(status_code=200, headers={"Location": location})
        raise InvalidRequest(f"Invalid uploadType {upload_type!r}: use multipart or resumable.")

    @router.put(jobs)
    def upload_chunk(project: str, request: Request, body: RawBody):
        outcome = uploads.put(
            request.query_params.get("upload_id", ""), request.headers.get("content-range"), body
        )
        if isinstance(outcome, dict):
            return outcome
        # 308 "Resume Incomplete" tells the client how much arrived; it sends the rest from there.
        headers = {"Range": f"bytes=0-{outcome - 1}"} if outcome else {}
        return Response(status_code=308, headers=headers)

    return router
