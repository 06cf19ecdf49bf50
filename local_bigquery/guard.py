"""Who may talk to the server: clients on this machine, never a web page the developer happens to open.

Any page in a browser can send requests to 127.0.0.1. Three checks keep it out, before any route runs:

- **Host**: the `Host` header must name a loopback address (`localhost`, `127.0.0.1`, `[::1]`) or a host
  configured with `serve --allow-host`. A DNS-rebinding page reaches the server under its own name.
- **Origin**: a browser request (it carries `Origin`, or `Sec-Fetch-Site: cross-site`) must come from a
  loopback or the same origin; cross-origin requests are refused.
- **Content-Type**: a body must be `application/json` (uploads: `multipart/related`, or the job resource
  as JSON, then the file's chunks by PUT), so no HTML form or `text/plain` request without a CORS preflight
  can post a query.

Refusals are BigQuery-shaped errors: 403 `accessDenied`, 415 `invalid`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from local_bigquery.errors import AccessDenied, BigQueryError, UnsupportedMediaType

UPLOAD_PREFIX = "/upload/"
_METHODS_WITH_BODIES = {"POST", "PUT", "PATCH"}


def _is_loopback(hostname: str) -> bool:
    if hostname == "localhost" or hostname.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def _hostname(netloc: str) -> str:
    """`host[:port]` or `[v6]:port` → the lower-case host name."""
    return (urlsplit(f"//{netloc}").hostname or "").lower()


def _media_type(headers: Headers) -> str:
    return headers.get("content-type", "").split(";")[0].strip().lower()


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers


class RequestGuard:
    """ASGI middleware refusing requests that did not come from a local client (see the module doc)."""

    def __init__(self, app: ASGIApp, allowed_hosts: Collection[str] = ()):
        self.app = app
        self.allowed_hosts = {host.lower() for host in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            problem = self.problem(scope["method"], scope["path"], Headers(scope=scope))
            if problem is not None:
                response = JSONResponse(problem.response_body(), status_code=problem.http_status)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def problem(self, method: str, path: str, headers: Headers) -> BigQueryError | None:
        for check in (self._host, self._origin, self._content_type):
            problem = check(method, path, headers)
            if problem is not None:
                return problem
        return None

    def _allowed(self, hostname: str) -> bool:
        return _is_loopback(hostname) or hostname in self.allowed_hosts

    def _host(self, method: str, path: str, headers: Headers) -> BigQueryError | None:
        host = headers.get("host", "")
        if self._allowed(_hostname(host)):
            return None
        return AccessDenied(
            f"Access Denied: Host {host!r} is not a loopback address; local_bigquery answers only requests "
            "addressed to this machine (start it with --allow-host NAME to serve another name)."
        )

    def _origin(self, method: str, path: str, headers: Headers) -> BigQueryError | None:
        origin = headers.get("origin")
        if origin is None:
            if headers.get("sec-fetch-site") == "cross-site":
                return AccessDenied("Access Denied: cross-site browser requests are refused.")
            return None
        netloc = urlsplit(origin).netloc
        if netloc and (self._allowed(_hostname(netloc)) or netloc.lower() == headers.get("host", "").lower()):
            return None
        return AccessDenied(f"Access Denied: requests from origin {origin!r} are refused (cross-origin).")

    def _content_type(self, method: str, path: str, headers: Headers) -> BigQueryError | None:
        if method not in _METHODS_WITH_BODIES or not _has_body(headers):
            return None
        media_type = _media_type(headers)
        if path.startswith(UPLOAD_PREFIX):
            # A resumable upload PUTs the file's own bytes; a PUT always needs a CORS preflight.
            accepted = {"application/json", "multipart/related"} if method == "POST" else None
        else:
            accepted = {"application/json"}
        if accepted is None or media_type in accepted:
            return None
        return UnsupportedMediaType(
            f"Unsupported Content-Type {media_type or 'none'!r}: the request body must be "
            f"{' or '.join(sorted(accepted))}."
        )
