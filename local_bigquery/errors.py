"""Errors in BigQuery's own vocabulary, so the official client raises the exception a user expects."""

from __future__ import annotations


class BigQueryError(Exception):
    """An error the REST layer renders as `{"error": {"code", "message", "errors": [...], "status"}}`."""

    http_status = 400
    reason = "invalid"
    status = "INVALID_ARGUMENT"

    def __init__(self, message: str, location: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location

    def error_proto(self) -> dict:
        """The ErrorProto used in `errors` lists and in a failed job's `status.errorResult`."""
        proto = {"reason": self.reason, "message": self.message}
        return proto | {"location": self.location} if self.location else proto

    def response_body(self) -> dict:
        return {
            "error": {
                "code": self.http_status,
                "message": self.message,
                "errors": [{**self.error_proto(), "domain": "global"}],
                "status": self.status,
            }
        }


class InvalidRequest(BigQueryError):
    pass


class InvalidQuery(BigQueryError):
    reason = "invalidQuery"

    def error_proto(self) -> dict:
        # BigQuery points a query's errors at the query text: "query" in a failed job, "q" (the request's
        # query parameter) where it refuses the request itself, as it does a failing dry run.
        return {**super().error_proto(), "location": self.location or "query"}


class Unsupported(InvalidQuery):
    """A valid GoogleSQL feature this server does not implement; the message always says so."""

    def __init__(self, what: str):
        super().__init__(f"not supported by local_bigquery: {what}")


class ResourceInUse(BigQueryError):
    """A dataset that still holds tables, deleted without deleteContents."""

    reason = "resourceInUse"


class NotFound(BigQueryError):
    http_status = 404
    reason = "notFound"
    status = "NOT_FOUND"


class Duplicate(BigQueryError):
    http_status = 409
    reason = "duplicate"
    status = "ALREADY_EXISTS"


class InternalError(BigQueryError):
    http_status = 500
    reason = "internalError"
    status = "INTERNAL"


class AccessDenied(BigQueryError):
    http_status = 403
    reason = "accessDenied"
    status = "PERMISSION_DENIED"


class UnsupportedMediaType(BigQueryError):
    http_status = 415


class BytesBilledLimitExceeded(BigQueryError):
    """The job would bill more than its `maximumBytesBilled`; BigQuery fails it before it runs, uncharged."""

    reason = "bytesBilledLimitExceeded"
