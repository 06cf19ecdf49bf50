"""The warehouse: one DuckDB database, its catalog, and BigQuery jobs run against it.

Every job runs in a single DuckDB transaction under one lock: it either takes full effect or none, so a
failing statement never leaves a table half-written.
"""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from local_bigquery import (
    copy_jobs,
    dialect,
    functions,
    loading,
    query_cache,
    resources,
    sandbox,
    semantics,
    syntax,
)
from local_bigquery.catalog import LOCAL_USER, LOCATION, Catalog, first_row, now_ms, run_sql
from local_bigquery.dry_run import JobReads, dry_run_statistics, job_reads
from local_bigquery.engine import (
    Outcome,
    QueryResult,
    ScriptRun,
    bigquery_error,
    check_clustering_fields,
    check_partition_column,
    release_relation,
)
from local_bigquery.errors import (
    AccessDenied,
    BigQueryError,
    BytesBilledLimitExceeded,
    Duplicate,
    InvalidQuery,
    InvalidRequest,
    NotFound,
    Unsupported,
)
from local_bigquery.jobs import JobRecords
from local_bigquery.translate import Binding, NameResolver, TableRef, validate_ids
from local_bigquery.types import (
    arrow_schema,
    decode_json_value,
    encode_rows,
    query_parameter_sql_type,
    query_parameter_value,
    quote_identifier,
    schema_for_relation,
    table_in_schema,
)

DEFAULT_PAGE_ROWS = 50_000
_RESULTS_KEPT = 256
_PARTITION_DECORATOR = re.compile(r"^(?P<table>[^$]+)\$(?P<partition>\d{8})$")


def _parameters(config: dict) -> tuple[dict[str, Binding], list[Binding]]:
    named: dict[str, Binding] = {}
    positional: list[Binding] = []
    for index, parameter in enumerate(config.get("queryParameters") or [], start=1):
        name = parameter.get("name")
        parameter_type = parameter.get("parameterType")
        if not parameter_type:
            raise InvalidRequest(f"Query parameter {name or index} has no parameterType.")
        binding = Binding(
            query_parameter_value(parameter_type, parameter.get("parameterValue"), name or str(index)),
            query_parameter_sql_type(parameter_type),
        )
        if name:
            named[name] = binding
        else:
            positional.append(binding)
    if named and positional:
        raise InvalidRequest("Query parameters must be all named or all positional.")
    return named, positional


def _parse(sql: str, default_project: str) -> list[exp.Expression]:
    """The statements of a script as the user wrote them, or BigQuery's error about its text: its syntax,
    the number of arguments of a built-in, a function GoogleSQL does not have."""
    if not sql or not sql.strip():
        raise InvalidQuery("Query text is empty.")
    tokens: list = []
    try:
        tokens = dialect.tokenize(sql)
        statements = dialect.parse(sql, tokens)
    except ParseError as error:
        refused = dialect.refused_statement(sql)
        if refused:
            raise Unsupported(refused) from None
        raise syntax.syntax_error(sql, error, tokens) from None
    except TokenError as error:
        raise syntax.syntax_error(sql, error) from None
    except RecursionError:
        raise InvalidQuery("Syntax error: the query nests too deeply to be parsed.") from None
    syntax.refuse_reserved_aliases(statements)
    wrong_count = functions.argument_count_error(sql, tokens)
    if wrong_count:
        raise InvalidQuery(wrong_count)
    functions.refuse_unknown_functions(statements, default_project)
    if not statements:
        raise InvalidQuery("Query text has no statement.")
    return statements


def _destination(config: dict, default_project: str) -> tuple[TableRef, str | None] | None:
    table = config.get("destinationTable")
    if not table:
        return None
    match = _PARTITION_DECORATOR.match(table["tableId"])
    table_id, partition = (match["table"], match["partition"]) if match else (table["tableId"], None)
    ref = TableRef(table.get("projectId") or default_project, table["datasetId"], table_id)
    validate_ids(ref.project, ref.dataset, ref.table)
    return ref, partition


@dataclass
class Session:
    """A BigQuery session's state here: the hidden dataset of its temporary tables, by their names."""

    dataset: str
    temporary: dict[str, TableRef] = field(default_factory=dict)


class Warehouse:
    def __init__(self, data_dir: Path | None = None):
        if data_dir is None:
            self.con = duckdb.connect(":memory:")
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            try:
                self.con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
            except duckdb.IOException as error:
                raise RuntimeError(
                    f"Cannot open the warehouse in {data_dir}: {error}. Is another local_bigquery server "
                    "using the same --data-dir?"
                ) from None
        run_sql(self.con, "SET TimeZone = 'UTC'")
        # The only place DuckDB may read files from: load jobs' files are put here (see sandbox).
        self.private_directory = Path(tempfile.mkdtemp(prefix="local_bigquery_")).resolve()
        sandbox.lock_down(self.con, self.private_directory)
        semantics.register_functions(self.con)
        self.lock = threading.RLock()
        self.catalog = Catalog(self.con)
        self.jobs = JobRecords(self.con)
        self.sessions: dict[str, Session] = {}
        # Finished jobs' rows; their own lock, so that reading a page never waits for a running job.
        self._results: OrderedDict[tuple[str, str], QueryResult] = OrderedDict()
        self._results_lock = threading.Lock()
        self._query_cache = query_cache.QueryCache()

    def close(self) -> None:
        self.jobs.close()
        with self.lock:
            self.con.close()
        shutil.rmtree(self.private_directory, ignore_errors=True)

    def spool_file(self, data: bytes = b"") -> Path:
        """A new file for an upload, where load jobs can read it."""
        with tempfile.NamedTemporaryFile(prefix="upload_", dir=self.private_directory, delete=False) as spool:
            spool.write(data)
        return Path(spool.name)

    @contextmanager
    def _readable(self, source: Path | None) -> Generator[Path | None]:
        """`source` where DuckDB may read it: a file from elsewhere (the CLI's) is copied in for the job."""
        if source is None or not source.is_file() or source.resolve().parent == self.private_directory:
            yield source
            return
        folder = Path(tempfile.mkdtemp(prefix="load_", dir=self.private_directory))
        try:
            # The name is kept: the file's suffix tells its compression.
            yield Path(shutil.copy(source, folder / source.name))
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def locked(self, operation: Callable[..., Any], *args, **kwargs) -> Any:
        """Run a catalog operation under the lock and in its own transaction."""
        with self.lock:
            self.con.begin()
            try:
                value = operation(*args, **kwargs)
            except BaseException:
                self.con.rollback()
                raise
            self.con.commit()
            return value

    # ---- jobs ----------------------------------------------------------------------------------------------

    def insert_job(self, project: str, body: dict, source: Path | None = None) -> dict:
        """jobs.insert; `source` is the file a load job reads (an upload, or a local file from the CLI)."""
        reference = body.get("jobReference") or {}
        job_id = reference.get("jobId") or f"job_{uuid.uuid4().hex}"
        configuration = body.get("configuration") or {}
        query = configuration.get("query") or {}
        if query.get("queryParameters"):
            query["queryParameters"] = [resources.parameter_as_text(p) for p in query["queryParameters"]]
        job = self._new_job(project, job_id, configuration)
        self.jobs.start(project, job)
        try:
            with self.lock:
                self._run(project, job, source)
        except BaseException:
            self.jobs.abandon(project, job_id)
            raise
        self.jobs.finish(project, job)
        return self._public(job)

    def _run(self, project: str, job: dict, source: Path | None) -> None:
        """Run a job and record its outcome in it; the caller holds the lock."""
        configuration = job["configuration"]
        dry_run = bool(configuration.get("dryRun"))
        try:
            job_type = self._job_type(configuration)
            if job_type == "LOAD":
                self._run_load_job(project, job, source, dry_run)
            elif job_type == "COPY":
                self._run_copy_job(project, job, dry_run)
            else:
                job_id = job["jobReference"]["jobId"]
                job["statistics"] |= self._run_job(project, job_id, configuration["query"], dry_run)
        except BigQueryError as error:
            if dry_run:
                # BigQuery refuses a failing dry run in the request itself; no job remains.
                if isinstance(error, InvalidQuery):
                    error.location = error.location or "q"
                raise
            job["status"] = {
                "state": "DONE",
                "errorResult": error.error_proto(),
                "errors": [error.error_proto()],
            }
            job["_httpStatus"] = error.http_status
        job["statistics"]["endTime"] = str(now_ms())

    def query(self, project: str, body: dict) -> dict:
        """jobs.query: run a query job and answer with its first page, failing the request if it failed."""
        results_format = body.get("queryResultsFormat")
        format_options = body.get("formatOptions") or {}
        resources.timestamp_format(  # a wrong one fails before the job runs
            bool(format_options.get("useInt64Timestamp")), format_options.get("timestampOutputFormat")
        )
        if results_format not in (None, "ARROW"):
            raise InvalidRequest(
                f"Invalid queryResultsFormat {results_format!r}: the formats are JSON rows or ARROW."
            )
        configuration = {
            "query": {
                key: body[key]
                for key in (
                    "query",
                    "useLegacySql",
                    "useQueryCache",
                    "queryParameters",
                    "parameterMode",
                    "defaultDataset",
                    "labels",
                    "connectionProperties",
                    "createSession",
                )
                if key in body
            },
            "dryRun": body.get("dryRun", False),
            "labels": body.get("labels", {}),
        }
        reference = {"jobId": (body.get("requestId") and f"job_{body['requestId']}") or None}
        job = self.insert_job(project, {"jobReference": reference, "configuration": configuration})
        job_id = job["jobReference"]["jobId"]
        if configuration["dryRun"]:
            if job["status"].get("errorResult"):
                raise _job_error(job["status"]["errorResult"])
            statistics = job["statistics"]["query"]
            return {
                "kind": "bigquery#queryResponse",
                "jobReference": job["jobReference"],
                "jobComplete": True,
                "totalBytesProcessed": statistics["totalBytesProcessed"],
                "schema": statistics.get("schema", {"fields": []}),
            }
        if results_format == "ARROW":
            precision = (body.get("arrowSerializationOptions") or {}).get("picosTimestampPrecision")
            return self._arrow_results(project, job_id, picos=precision == "TIMESTAMP_PRECISION_PICOS")
        return self.query_results(
            project,
            job_id,
            max_results=body.get("maxResults"),
            timestamp_format=resources.timestamp_format(
                bool(format_options.get("useInt64Timestamp")), format_options.get("timestampOutputFormat")
            ),
            kind="bigquery#queryResponse",
        )

    def _arrow_results(self, project: str, job_id: str, picos: bool = False) -> dict:
        """jobs.query with queryResultsFormat=ARROW: every row in the response, as one serialized Arrow
        record batch in BigQuery's Arrow types, so the client never needs the Storage Read API.

        https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/query
        """
        response = self.query_results(project, job_id, max_results=0, kind="bigquery#queryResponse")
        response.pop("pageToken", None)
        with self._results_lock:
            result = self._results.get((project, job_id))
        if result is None:
            return response
        schema = arrow_schema(result.schema, picos)
        response["arrowSchema"] = {"serializedSchema": base64.b64encode(schema.serialize()).decode("ascii")}
        if result.total_rows:
            table = table_in_schema(result.fetch(0, result.total_rows), schema)
            (batch,) = table.combine_chunks().to_batches() or [pa.record_batch([], schema=schema)]
            serialized = base64.b64encode(batch.serialize()).decode("ascii")
            response["arrowRecordBatch"] = {
                "serializedRecordBatch": serialized,
                "rowCount": str(batch.num_rows),
            }
        return response

    def get_job(self, project: str, job_id: str) -> dict:
        return self._public(self.jobs.get(project, job_id))

    def list_jobs(self, project: str) -> list[dict]:
        return [self._public(job) for job in self.jobs.list(project)]

    def cancel_job(self, project: str, job_id: str) -> dict:
        # A running job runs to completion: cancelling is best effort on BigQuery too, and the answer is the
        # job as it is. https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/cancel
        return {"kind": "bigquery#jobCancelResponse", "job": self.get_job(project, job_id)}

    def delete_job(self, project: str, job_id: str) -> None:
        self.get_job(project, job_id)
        self.jobs.delete(project, job_id)
        with self._results_lock:
            self._results.pop((project, job_id), None)

    def query_results(
        self,
        project: str,
        job_id: str,
        start_index: int = 0,
        page_token: str | None = None,
        max_results: int | None = None,
        timestamp_format: str = "FLOAT64",
        kind: str = "bigquery#getQueryResultsResponse",
    ) -> dict:
        job = self.get_job(project, job_id)
        if job["status"]["state"] != "DONE":
            # The client polls again. https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/getQueryResults
            return {"kind": kind, "jobReference": job["jobReference"], "jobComplete": False}
        error = job["status"].get("errorResult")
        if error:
            raise _job_error(error)
        statistics = job["statistics"].get("query", {})
        response = {
            "kind": kind,
            "jobReference": job["jobReference"],
            "jobComplete": True,
            "totalBytesProcessed": statistics.get("totalBytesProcessed", "0"),
            "cacheHit": statistics.get("cacheHit", False),
        }
        if "numDmlAffectedRows" in statistics:
            response["numDmlAffectedRows"] = statistics["numDmlAffectedRows"]
        with self._results_lock:
            result = self._results.get((project, job_id))
        if result is None:
            response |= {"schema": statistics.get("schema", {"fields": []}), "totalRows": "0"}
            return response
        return response | self._page(result, start_index, page_token, max_results, timestamp_format)

    # ---- job execution -------------------------------------------------------------------------------------

    def _new_job(self, project: str, job_id: str, configuration: dict) -> dict:
        stamp = str(now_ms())
        return {
            "kind": "bigquery#job",
            "id": f"{project}:{LOCATION}.{job_id}",
            "jobReference": {"projectId": project, "jobId": job_id, "location": LOCATION},
            "configuration": configuration,
            "status": {"state": "DONE"},
            "statistics": {"creationTime": stamp, "startTime": stamp},
            "user_email": LOCAL_USER,
        }

    def _job_type(self, configuration: dict) -> str:
        for job_type in ("query", "load", "copy", "extract"):
            if job_type in configuration:
                if job_type not in ("query", "load", "copy"):
                    raise Unsupported(f"{job_type} jobs")
                configuration["jobType"] = job_type.upper()
                return job_type.upper()
        raise InvalidRequest("Job configuration has no query, load, copy or extract section.")

    def _run_job(self, project: str, job_id: str, config: dict, dry_run: bool) -> dict:
        if config.get("useLegacySql"):
            raise Unsupported("legacy SQL (set useLegacySql=false)")
        session_id, session = self._session(config)
        default = config.get("defaultDataset") or {}
        resolver = NameResolver(
            default.get("projectId") or project,
            default.get("datasetId"),
            session.temporary if session else {},
        )
        named, positional = _parameters(config)
        statements = _parse(config.get("query", ""), resolver.default_project)
        destination = _destination(config, project)
        if destination and (len(statements) != 1 or not isinstance(statements[0], exp.Query)):
            raise InvalidRequest("destinationTable needs a query that is a single SELECT statement.")
        run = ScriptRun(self.catalog, resolver, named, positional)
        if session:
            run.temporary_dataset, run.keeps_temporary_tables = session.dataset, True
        if dry_run:
            return self._dry_run(run, statements, destination)
        key = query_cache.cache_key(project, config, statements, destination)
        versions = query_cache.versions(run, statements[0]) if key else None
        cached = self._query_cache.get(key, versions) if versions is not None else None
        if cached is not None:
            return self._cache_hit(project, job_id, cached)
        reads = self._reads(run, statements, config.get("maximumBytesBilled"))
        started = time.monotonic()
        self.con.begin()
        try:
            if destination:
                outcomes = [self._write_destination(run, statements[0], destination, config)]
            else:
                outcomes = run.run(statements)
            self.con.commit()
        except BaseException as error:
            self.con.rollback()
            if isinstance(error, duckdb.Error):
                raise bigquery_error(error, statements, resolver.default_project) from None
            raise
        run.drop_temporary_tables()
        statistics = self._statistics(project, job_id, outcomes, len(statements) > 1)
        if len(statements) > 1:
            self._record_child_jobs(project, job_id, statements, outcomes)
        # Slot time is the job's own time here: one DuckDB connection does all the work.
        slot_ms = str(round((time.monotonic() - started) * 1000))
        statistics["query"] |= {
            "totalBytesProcessed": str(reads.processed),
            "totalBytesBilled": str(reads.billed),
            "totalSlotMs": slot_ms,
            # The tables the job read (https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobStatistics2).
            "referencedTables": reads.referenced_tables(),
        }
        if session_id:
            statistics["sessionInfo"] = {"sessionId": session_id}
        if versions is not None and outcomes[-1].result is not None:
            self._query_cache.put(key, versions, outcomes[-1].result, dict(statistics["query"]))
        return statistics | {"totalBytesProcessed": str(reads.processed), "totalSlotMs": slot_ms}

    def _cache_hit(self, project: str, job_id: str, cached: query_cache.Cached) -> dict:
        """A duplicate query answered from the cache: the first run's rows, nothing processed or billed
        (https://cloud.google.com/bigquery/docs/cached-results)."""
        self._keep_result(project, job_id, cached.result)
        free = {"totalBytesProcessed": "0", "totalSlotMs": "0"}
        return {"query": cached.statistics | free | {"totalBytesBilled": "0", "cacheHit": True}} | free

    def _keep_result(self, project: str, job_id: str, result: QueryResult) -> None:
        with self._results_lock:
            self._results[project, job_id] = result
            self._results.move_to_end((project, job_id))
            while len(self._results) > _RESULTS_KEPT:
                self._results.popitem(last=False)

    def _session(self, config: dict) -> tuple[str | None, Session | None]:
        """The session a query job runs in: a new one with createSession, the one a `session_id` connection
        property names, or none. A session keeps its temporary tables across its jobs.

        https://cloud.google.com/bigquery/docs/sessions-intro
        """
        given = [
            p.get("value") for p in config.get("connectionProperties") or [] if p.get("key") == "session_id"
        ]
        if given:
            if given[0] not in self.sessions:
                raise InvalidRequest("Invalid input session id.")
            return given[0], self.sessions[given[0]]
        if not config.get("createSession"):
            return None, None
        session_id = uuid.uuid4().hex
        self.sessions[session_id] = Session(dataset=f"_session_{session_id}")
        return session_id, self.sessions[session_id]

    def _record_child_jobs(
        self, project: str, parent_id: str, statements: list[exp.Expression], outcomes: list[Outcome]
    ) -> None:
        """A script's statements as its child jobs, listed by jobs.list with parentJobId; the statements of a
        transaction carry its id (statistics.transactionInfo).

        https://cloud.google.com/bigquery/docs/multi-statement-queries#child_jobs
        """
        transaction = None
        for index, (statement, outcome) in enumerate(zip(statements, outcomes, strict=True)):
            if outcome.statement_type == "BEGIN_TRANSACTION":
                transaction = uuid.uuid4().hex
            query = {"query": _statement_text(statement), "useLegacySql": False}
            child = self._new_job(
                project, f"script_job_{parent_id}_{index}", {"query": query, "jobType": "QUERY"}
            )
            statistics = {"statementType": outcome.statement_type}
            if outcome.affected_rows is not None:
                statistics["numDmlAffectedRows"] = str(outcome.affected_rows)
            child["statistics"] |= {
                "parentJobId": parent_id,
                "endTime": str(now_ms()),
                "scriptStatistics": {"evaluationKind": "STATEMENT"},
                "query": statistics,
            }
            if transaction:
                child["statistics"]["transactionInfo"] = {"transactionId": transaction}
            if outcome.statement_type in ("COMMIT_TRANSACTION", "ROLLBACK_TRANSACTION"):
                transaction = None
            self.jobs.finish(project, child)

    def _reads(self, run: ScriptRun, statements: list[exp.Expression], limit: str | None) -> JobReads:
        """What the job reads, processes and bills, measured before it runs (its scripts may drop tables);
        a job that would bill more than maximumBytesBilled fails before it starts, as on BigQuery."""
        try:
            reads = job_reads(run, statements)
        except (BigQueryError, duckdb.Error):
            return JobReads(0, 0, frozenset())  # the job itself fails, with the statement's own error
        if limit is not None and reads.billed > int(limit):
            raise BytesBilledLimitExceeded(
                f"Query exceeded limit for bytes billed: {int(limit)}. {reads.billed} or higher required."
            )
        return reads

    def _dry_run(self, run: ScriptRun, statements: list[exp.Expression], destination) -> dict:
        """Validates the job without running it: nothing is written (local_bigquery/dry_run.py)."""
        if destination:
            self.catalog.require_dataset(destination[0].project, destination[0].dataset)
        try:
            return dry_run_statistics(run, statements)
        except duckdb.Error as error:
            raise bigquery_error(error, statements, run.resolver.default_project) from None

    def _run_copy_job(self, project: str, job: dict, dry_run: bool) -> None:
        """A copy job of tables (`copy_jobs`) or of a model
        (https://cloud.google.com/bigquery/docs/managing-models#copy-model), in one transaction."""
        from local_bigquery import bqml

        config = job["configuration"]["copy"]
        sources = config.get("sourceTables") or [config.get("sourceTable")]
        if not all(sources) or not config.get("destinationTable"):
            raise InvalidRequest("A copy job needs a sourceTable (or sourceTables) and a destinationTable.")
        source_refs = [
            TableRef(ref.get("projectId") or project, ref.get("datasetId", ""), ref.get("tableId", ""))
            for ref in sources
        ]
        target = config["destinationTable"]
        destination = TableRef(
            target.get("projectId") or project, target.get("datasetId", ""), target.get("tableId", "")
        )
        is_model = any(self.catalog.models.get(source) is not None for source in source_refs)
        if is_model and len(source_refs) != 1:
            raise InvalidRequest("A model copy job needs one sourceTable and a destinationTable.")
        self.con.begin()
        try:
            if is_model:
                write = config.get("writeDisposition", "WRITE_EMPTY")
                bqml.copy_model(source_refs[0], destination, write, self.catalog.models)
            else:
                job["statistics"]["copy"] = copy_jobs.copy_tables(
                    self.catalog, source_refs, destination, config
                )
        except BaseException:
            self.con.rollback()
            raise
        if dry_run:
            self.con.rollback()
        else:
            self.con.commit()

    def _run_load_job(self, project: str, job: dict, source: Path | None, dry_run: bool) -> None:
        try:
            with self._readable(source) as readable:
                result = loading.run_load_job(
                    self.con, self.catalog, project, job["configuration"]["load"], readable, dry_run
                )
        except loading.TooManyBadRecords as error:
            job["status"] |= {"errorResult": error.error_proto(), "errors": error.error_protos()}
            return
        job["statistics"]["load"] = result.statistics()
        if result.record_errors:
            job["status"]["errors"] = result.record_errors

    def _statistics(self, project: str, job_id: str, outcomes: list[Outcome], is_script: bool) -> dict:
        last = outcomes[-1]
        query_statistics: dict[str, Any] = {
            "statementType": "SCRIPT" if is_script else last.statement_type,
            "totalBytesProcessed": "0",
            "totalBytesBilled": "0",
            "cacheHit": False,
        }
        if is_script:
            query_statistics["numChildJobs"] = str(len(outcomes))
        affected = [o.affected_rows for o in outcomes if o.affected_rows is not None]
        if affected:
            query_statistics["numDmlAffectedRows"] = str(sum(affected))
        dml_stats = _dml_stats(outcomes)
        if dml_stats:
            query_statistics["dmlStats"] = dml_stats
        if last.ddl_target and not is_script:
            query_statistics["ddlTargetTable"] = last.ddl_target.rest()
        if last.ddl_operation and not is_script:
            query_statistics["ddlOperationPerformed"] = last.ddl_operation
        # A script answers with the rows of its last statement when that is a query, and with none when it
        # ends with DDL or DML, as BigQuery does; a single CREATE with the new table's schema.
        result = last.result if last.statement_type == "SELECT" or not is_script else None
        if result is not None:
            self._keep_result(project, job_id, result)
            query_statistics["schema"] = result.schema
        return {"query": query_statistics, "totalBytesProcessed": "0"}

    def _write_destination(
        self,
        run: ScriptRun,
        statement: exp.Expression,
        destination: tuple[TableRef, str | None],
        config: dict,
    ) -> Outcome:
        ref, partition = destination
        disposition = config.get("writeDisposition") or "WRITE_EMPTY"
        if config.get("schemaUpdateOptions") and not (disposition == "WRITE_APPEND" or partition):
            raise InvalidRequest(
                "Schema update options should only be specified with WRITE_APPEND disposition, or with "
                "WRITE_TRUNCATE disposition on a table partition."
            )
        create = config.get("createDisposition") or "CREATE_IF_NEEDED"
        self.catalog.require_dataset(ref.project, ref.dataset)
        existing = self.catalog.table_kind(ref)
        exists = existing is not None
        if not exists and create == "CREATE_NEVER":
            raise NotFound(f"Not found: Table {ref} was not found in location {LOCATION}")
        if existing == "VIEW":
            raise InvalidQuery(f"Cannot write query results to view {ref}.")
        sql, values = run.prepare(statement)
        table_metadata = {k: config[k] for k in ("timePartitioning", "clustering") if k in config}
        if partition:
            self._replace_partition(ref, partition, sql, values, disposition, exists, table_metadata)
        elif not exists or disposition == "WRITE_TRUNCATE" or not self.catalog.column_names(ref):
            run_sql(self.con, f"CREATE OR REPLACE TABLE {ref.duckdb_name} AS {sql}", values or None)
            previous = self.catalog.get_table(ref) if exists else {}
            self.catalog.record_table(ref, {**previous, **table_metadata})
            check_partition_column(self.catalog, ref, table_metadata, InvalidRequest)
            check_clustering_fields(self.catalog, ref, table_metadata, InvalidRequest)
        elif disposition == "WRITE_APPEND":
            self._add_or_refuse_new_fields(ref, sql, values, config.get("schemaUpdateOptions") or [])
            run_sql(self.con, f"INSERT INTO {ref.duckdb_name} BY NAME {sql}", values or None)
            self.catalog.touch_table(ref)
        elif disposition == "WRITE_EMPTY":
            if self.catalog.row_count(ref):
                raise Duplicate(f"Already Exists: Table {ref} is not empty (writeDisposition WRITE_EMPTY)")
            run_sql(self.con, f"INSERT INTO {ref.duckdb_name} BY NAME {sql}", values or None)
            self.catalog.touch_table(ref)
        else:
            raise InvalidRequest(f"Invalid writeDisposition {disposition}.")
        rows_sql = f"SELECT * FROM {ref.duckdb_name}"
        if partition:
            column = self.catalog.get_table(ref)["timePartitioning"]["field"]
            rows_sql += f" WHERE CAST({column} AS DATE) = strptime('{partition}', '%Y%m%d')::DATE"
        return Outcome("SELECT", result=self._table_result(rows_sql), ddl_target=ref)

    def _add_or_refuse_new_fields(self, ref: TableRef, sql: str, values: dict, options: list[str]) -> None:
        """WRITE_APPEND of a query with columns the table lacks adds them (NULL in the rows already there)
        under schemaUpdateOptions ALLOW_FIELD_ADDITION, and is an invalid schema update without it.

        https://cloud.google.com/bigquery/docs/managing-table-schemas#add_columns_in_a_query_append_job
        """
        table_fields = {field["name"].lower() for field in self.catalog.table_schema(ref)["fields"]}
        query_fields = self.con.execute(f"DESCRIBE SELECT * FROM ({sql})", values or None).fetchall()
        for name, duckdb_type, *_ in query_fields:
            if name.lower() in table_fields:
                continue
            if "ALLOW_FIELD_ADDITION" not in options:
                raise InvalidRequest(f"Invalid schema update. Cannot add fields (field: {name})")
            run_sql(
                self.con, f"ALTER TABLE {ref.duckdb_name} ADD COLUMN {quote_identifier(name)} {duckdb_type}"
            )

    def _replace_partition(
        self,
        ref: TableRef,
        partition: str,
        sql: str,
        values: dict,
        disposition: str,
        exists: bool,
        metadata: dict,
    ) -> None:
        if not exists:
            if "timePartitioning" not in metadata:
                raise InvalidRequest(
                    f"Partition decorator on {ref}, which does not exist and has no timePartitioning."
                )
            run_sql(
                self.con, f"CREATE TABLE {ref.duckdb_name} AS SELECT * FROM ({sql}) LIMIT 0", values or None
            )
            self.catalog.record_table(ref, metadata)
        partitioning = self.catalog.get_table(ref).get("timePartitioning")
        if not partitioning or partitioning.get("type", "DAY") != "DAY" or "field" not in partitioning:
            raise Unsupported(
                f"partition decorators on {ref}: only day-partitioned tables with a partition column"
            )
        column = partitioning["field"]
        day = f"strptime('{partition}', '%Y%m%d')::DATE"
        staged = self.con.sql(sql, params=values or None).to_arrow_table()
        self.con.register("_staged_partition", staged)
        try:
            stray_rows = first_row(
                self.con,
                f"SELECT count(*) FROM _staged_partition WHERE CAST({column} AS DATE) IS DISTINCT FROM {day}",
            )[0]
            if stray_rows:
                raise InvalidQuery(
                    f"Some rows belong to different partitions rather than destination partition {partition}: "
                    f"{stray_rows} rows have another {column}."
                )
            if disposition == "WRITE_TRUNCATE":
                run_sql(self.con, f"DELETE FROM {ref.duckdb_name} WHERE CAST({column} AS DATE) = {day}")
            elif (
                disposition == "WRITE_EMPTY"
                and first_row(
                    self.con, f"SELECT count(*) FROM {ref.duckdb_name} WHERE CAST({column} AS DATE) = {day}"
                )[0]
            ):
                raise Duplicate(f"Already Exists: partition {partition} of {ref} is not empty (WRITE_EMPTY)")
            run_sql(self.con, f"INSERT INTO {ref.duckdb_name} BY NAME SELECT * FROM _staged_partition")
        finally:
            release_relation(self.con, "_staged_partition")
        self.catalog.touch_table(ref)

    def _table_result(self, rows_sql: str) -> QueryResult:
        relation = self.con.sql(rows_sql)
        schema = schema_for_relation(relation.columns, relation.types)
        total = first_row(self.con, f"SELECT count(*) FROM ({rows_sql})")[0]

        def fetch(start: int, count: int) -> pa.Table:
            with self.lock:
                return self.con.sql(f"{rows_sql} LIMIT {count} OFFSET {start}").to_arrow_table()

        return QueryResult(schema, total, fetch)

    def _page(
        self,
        result: QueryResult,
        start_index: int,
        page_token: str | None,
        max_results: int | None,
        timestamp_format: str,
    ) -> dict:
        start = min(resources.page_offset(page_token, start_index), result.total_rows)
        count = resources.non_negative("maxResults", max_results, resources.MAX_RESULTS)
        count = DEFAULT_PAGE_ROWS if count is None else count
        rows = result.fetch(start, min(count, result.total_rows - start)) if count else pa.table({})
        page = {"schema": result.schema, "totalRows": str(result.total_rows)}
        if count:
            page["rows"] = encode_rows(rows, result.schema, timestamp_format)
        if start + count < result.total_rows:
            page["pageToken"] = str(start + count)
        return page

    @staticmethod
    def _public(job: dict) -> dict:
        return {k: v for k, v in job.items() if not k.startswith("_")}

    def create_view(self, ref: TableRef, body: dict) -> dict:
        """tables.insert with `view.query`: the view's GoogleSQL goes through the query engine."""
        view = body.get("view") or {}
        if view.get("useLegacySql"):
            raise Unsupported("legacy SQL views (set view.useLegacySql=false)")
        statement = _parse(view.get("query", ""), ref.project)
        if len(statement) != 1 or not isinstance(statement[0], exp.Query):
            raise InvalidRequest(f"view.query of {ref} must be a single SELECT statement.")
        create = exp.Create(
            kind="VIEW",
            this=exp.Table(
                this=exp.to_identifier(ref.table, quoted=True),
                db=exp.to_identifier(ref.dataset, quoted=True),
                catalog=exp.to_identifier(ref.project, quoted=True),
            ),
            expression=statement[0],
        )

        def create_view() -> dict:
            ScriptRun(self.catalog, NameResolver(ref.project, ref.dataset)).run([create])
            return self.catalog.patch_table(ref, body)

        return self.locked(create_view)

    # ---- tabledata -----------------------------------------------------------------------------------------

    def list_rows(
        self,
        ref: TableRef,
        start_index: int = 0,
        page_token: str | None = None,
        max_results: int | None = None,
        selected_fields: str | None = None,
        timestamp_format: str = "FLOAT64",
    ) -> dict:
        with self.lock:
            self.catalog.require_table(ref)
            if not self.catalog.column_names(ref):  # a table created without a schema has no rows
                return {"kind": "bigquery#tableDataList", "totalRows": "0"}
            columns = "*"
            if selected_fields:
                names = [name.strip() for name in selected_fields.split(",") if name.strip()]
                known = {f["name"] for f in self.catalog.table_schema(ref)["fields"]}
                unknown = [name for name in names if name not in known]
                if unknown:
                    raise InvalidRequest(f"Unrecognized field in selectedFields: {', '.join(unknown)}")
                columns = ", ".join(f'"{name}"' for name in names)
            result = self._table_result(f"SELECT {columns} FROM {ref.duckdb_name}")
            page = self._page(result, start_index, page_token, max_results, timestamp_format)
        return {"kind": "bigquery#tableDataList", **{k: v for k, v in page.items() if k != "schema"}}

    def insert_all(self, ref: TableRef, body: dict) -> dict:
        """tabledata.insertAll: all rows or none; per-row errors name the row and the field."""
        with self.lock:
            self.catalog.require_table(ref)
            fields = self.catalog.table_schema(ref)["fields"]
            known = {field["name"] for field in fields}
            # A row without a column that has a default value gets the default
            # (https://cloud.google.com/bigquery/docs/default-values).
            defaults = self.catalog.columns_with_defaults(ref)
            decoded, errors = [], []
            for index, row in enumerate(body.get("rows") or []):
                values = row.get("json") or {}
                unknown = set(values) - known
                try:
                    if unknown and not body.get("ignoreUnknownValues"):
                        raise InvalidRequest(f"no such field: {', '.join(sorted(unknown))}.")
                    decoded.append(
                        {
                            f["name"]: decode_json_value(f, values.get(f["name"]), f"row {index}")
                            for f in fields
                            if f["name"] in values or f["name"] not in defaults
                        }
                    )
                except BigQueryError as error:
                    errors.append({"index": index, "errors": [{**error.error_proto(), "reason": "invalid"}]})
            if errors and not body.get("skipInvalidRows"):
                failed = {e["index"] for e in errors}
                errors += [
                    {"index": i, "errors": [{"reason": "stopped", "message": ""}]}
                    for i in range(len(body.get("rows") or []))
                    if i not in failed
                ]
                return {"kind": "bigquery#tableDataInsertAllResponse", "insertErrors": errors}
            if decoded:
                self.locked(self._insert_decoded, ref, fields, decoded)
        response = {"kind": "bigquery#tableDataInsertAllResponse"}
        if errors:
            response["insertErrors"] = errors
        return response

    def _insert_decoded(self, ref: TableRef, fields: list[dict], rows: list[dict]) -> None:
        """Rows by the columns they give (the others take their default), one INSERT per set of columns."""
        by_columns: dict[tuple[str, ...], list[list]] = {}
        for row in rows:
            columns = tuple(f["name"] for f in fields if f["name"] in row)
            by_columns.setdefault(columns, []).append([row[name] for name in columns])
        for columns, values in by_columns.items():
            if not columns:
                for _ in values:
                    run_sql(self.con, f"INSERT INTO {ref.duckdb_name} DEFAULT VALUES")
                continue
            names = ", ".join(quote_identifier(name) for name in columns)
            placeholders = ", ".join("?" for _ in columns)
            self.con.executemany(f"INSERT INTO {ref.duckdb_name} ({names}) VALUES ({placeholders})", values)
        self.catalog.touch_table(ref)

    def load_arrow(self, ref: TableRef, data: pa.Table, write_disposition: str = "WRITE_TRUNCATE") -> int:
        """Load Arrow data into a table (creating it), the fast path for sample data and files."""

        def load() -> int:
            self.catalog.require_dataset(ref.project, ref.dataset)
            exists = self.catalog.table_kind(ref) is not None
            self.con.register("_incoming", data)
            try:
                if exists and write_disposition == "WRITE_APPEND":
                    run_sql(self.con, f"INSERT INTO {ref.duckdb_name} BY NAME SELECT * FROM _incoming")
                    self.catalog.touch_table(ref)
                else:
                    run_sql(self.con, f"CREATE OR REPLACE TABLE {ref.duckdb_name} AS SELECT * FROM _incoming")
                    self.catalog.record_table(ref, self.catalog.get_table(ref) if exists else {})
            finally:
                release_relation(self.con, "_incoming")
            return data.num_rows

        return self.locked(load)


_DML_STATS = {"INSERT": "insertedRowCount", "UPDATE": "updatedRowCount", "DELETE": "deletedRowCount"}


def _dml_stats(outcomes: list[Outcome]) -> dict[str, str] | None:
    """The rows the job's INSERT, UPDATE and DELETE statements inserted, updated and deleted. A MERGE's
    count is not split by kind here, so a job with one reports none.

    https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#DmlStats
    """
    dml = [o for o in outcomes if o.affected_rows is not None and o.statement_type != "TRUNCATE_TABLE"]
    if not dml or any(o.statement_type not in _DML_STATS for o in dml):
        return None
    counts = dict.fromkeys(_DML_STATS.values(), 0)
    for outcome in dml:
        counts[_DML_STATS[outcome.statement_type]] += outcome.affected_rows
    return {field: str(count) for field, count in counts.items()}


def _statement_text(statement: exp.Expression) -> str:
    try:
        return statement.sql("bigquery")
    except ValueError:  # a statement of this server's own dialect (ASSERT), which sqlglot cannot write
        return type(statement).__name__.upper()


def _job_error(error: dict) -> BigQueryError:
    by_reason = {cls.reason: cls for cls in (InvalidQuery, NotFound, Duplicate, InvalidRequest, AccessDenied)}
    failure = by_reason.get(error.get("reason"), BigQueryError)(error.get("message", "job failed"))
    failure.reason = error.get("reason", failure.reason)
    failure.location = error.get("location", failure.location)
    return failure
