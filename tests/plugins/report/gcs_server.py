"""A local stand-in for the Cloud Storage JSON API's object calls (tests only).

The real google-cloud-storage client, under the provider's `GCSHook`, talks to it through
`STORAGE_EMULATOR_HOST`: multipart uploads, listing by prefix, media downloads and deletes. Objects live
in memory as {bucket: {name: (content type, bytes)}}; buckets exist once something is uploaded to them.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

UPLOAD_PREFIX = "/upload/storage/v1/b/"
API_PREFIX = "/storage/v1/b/"
DOWNLOAD_PREFIX = "/download/storage/v1/b/"


class FakeGcs:
    def __init__(self) -> None:
        self.objects: dict[str, dict[str, tuple[str, bytes]]] = {}
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGcs:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def resource(self, bucket: str, name: str) -> dict[str, Any]:
        content_type, data = self.objects[bucket][name]
        return {
            "kind": "storage#object",
            "id": f"{bucket}/{name}/1",
            "bucket": bucket,
            "name": name,
            "generation": "1",
            "contentType": content_type,
            "size": str(len(data)),
            "md5Hash": base64.b64encode(hashlib.md5(data).digest()).decode(),
        }


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], str, bytes]:
    """The object metadata, media content type and media of a multipart/related upload body."""
    header = f"Content-Type: {content_type}\r\n\r\n".encode()
    # compat32 keeps header values as sent, where newer policies would re-quote parameters.
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(header + body)
    metadata_part, media_part = message.get_payload()
    metadata = json.loads(metadata_part.get_payload())
    return metadata, media_part["Content-Type"], media_part.get_payload(decode=True)


def _handler(gcs: FakeGcs) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, status: int, body: dict[str, Any] | bytes | None = None, kind: str = "") -> None:
            payload = json.dumps(body).encode() if isinstance(body, dict) else body or b""
            self.send_response(status)
            self.send_header("Content-Type", kind or "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _not_found(self, what: str) -> None:
            self._reply(404, {"error": {"code": 404, "message": f"No such object: {what}"}})

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if not url.path.startswith(UPLOAD_PREFIX) or query.get("uploadType") != ["multipart"]:
                self._reply(400, {"error": {"code": 400, "message": f"unsupported upload {self.path}"}})
                return
            bucket = url.path.removeprefix(UPLOAD_PREFIX).split("/")[0]
            body = self.rfile.read(int(self.headers["Content-Length"]))
            metadata, media_type, media = _multipart(self.headers["Content-Type"], body)
            name = metadata.get("name") or query["name"][0]
            with gcs.lock:
                gcs.objects.setdefault(bucket, {})[name] = (metadata.get("contentType", media_type), media)
                self._reply(200, gcs.resource(bucket, name))

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            path = url.path.removeprefix(
                DOWNLOAD_PREFIX if url.path.startswith(DOWNLOAD_PREFIX) else API_PREFIX
            )
            bucket, _, rest = path.partition("/o")
            with gcs.lock:
                objects = gcs.objects.get(bucket, {})
                if not rest:  # objects.list
                    prefix = query.get("prefix", [""])[0]
                    names = sorted(name for name in objects if name.startswith(prefix))
                    self._reply(
                        200, {"kind": "storage#objects", "items": [gcs.resource(bucket, n) for n in names]}
                    )
                    return
                name = unquote(rest.removeprefix("/"))
                if name not in objects:
                    self._not_found(f"{bucket}/{name}")
                elif query.get("alt") == ["media"]:
                    content_type, data = objects[name]
                    self._reply(200, data, content_type)
                else:
                    self._reply(200, gcs.resource(bucket, name))

        def do_DELETE(self) -> None:
            bucket, _, rest = urlsplit(self.path).path.removeprefix(API_PREFIX).partition("/o/")
            name = unquote(rest)
            with gcs.lock:
                if name not in gcs.objects.get(bucket, {}):
                    self._not_found(f"{bucket}/{name}")
                    return
                del gcs.objects[bucket][name]
            self._reply(204)

    return Handler
