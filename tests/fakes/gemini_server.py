"""A local stand-in for Vertex AI's Gemini `generateContent` and Google's OAuth token endpoint (tests only).

The real google-genai client and google-auth talk to it over HTTP: the fake service-account key it hands out
has `token_uri` pointing here, so credentials refresh by POSTing a signed JWT that the server verifies with
the key's public half; then `generateContent` calls must carry the bearer token it issued. Each call is
answered by the next scripted `Reply` (or by a function of the request), and every call is recorded.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.auth import jwt

GENERATE_PATH = re.compile(
    r"^/v1beta1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/google/models/(?P<model>[^/:]+):generateContent$"
)
# google-auth signs service-account grants for Google's token endpoint whatever the key's token_uri says.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
_ERROR_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    delay_seconds: float = 0.0


@dataclass(frozen=True)
class RecordedCall:
    path: str
    project: str
    location: str
    model: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt(self) -> str:
        return "".join(part.get("text", "") for content in self.body["contents"] for part in content["parts"])


def answer(
    text: str, *, input_tokens: int = 1200, output_tokens: int = 800, model: str = "gemini-2.5-flash"
) -> Reply:
    """A finished candidate whose only part is `text`, with usage metadata."""
    return Reply(
        200,
        {
            "candidates": [
                {"content": {"role": "model", "parts": [{"text": text}]}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": {
                "promptTokenCount": input_tokens,
                "candidatesTokenCount": output_tokens,
                "totalTokenCount": input_tokens + output_tokens,
                "trafficType": "ON_DEMAND",
            },
            "modelVersion": model,
            "responseId": secrets.token_hex(8),
        },
    )


def json_answer(document: Any, **usage: Any) -> Reply:
    return answer(json.dumps(document), **usage)


def error(status: int, message: str = "scripted failure") -> Reply:
    return Reply(
        status,
        {"error": {"code": status, "message": message, "status": _ERROR_STATUS.get(status, "UNKNOWN")}},
    )


def safety_blocked(category: str = "HARM_CATEGORY_HARASSMENT") -> Reply:
    """A candidate withheld by the safety filters: no content, finishReason SAFETY."""
    return Reply(
        200,
        {
            "candidates": [
                {
                    "finishReason": "SAFETY",
                    "index": 0,
                    "safetyRatings": [{"category": category, "probability": "HIGH", "blocked": True}],
                }
            ],
            "usageMetadata": {"promptTokenCount": 900, "totalTokenCount": 900},
            "modelVersion": "gemini-2.5-flash",
        },
    )


def slow(reply: Reply, seconds: float) -> Reply:
    return Reply(reply.status, reply.body, delay_seconds=seconds)


Responder = Callable[[RecordedCall], Reply]


@functools.cache
def _signing_key() -> rsa.RSAPrivateKey:
    """One RSA key per test session: generating one costs more than a whole fake call."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeGemini:
    """Start with `with FakeGemini() as gemini:`; script with `gemini.replies.append(...)`."""

    replies: deque[Reply | Responder] = field(default_factory=deque)
    calls: list[RecordedCall] = field(default_factory=list)
    token_grants: int = 0

    def __post_init__(self) -> None:
        self._key = _signing_key()
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeGemini:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def service_account_info(self, project: str = "fake-project") -> dict[str, str]:
        """A service-account key whose token endpoint is this server."""
        private_key = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        return {
            "type": "service_account",
            "project_id": project,
            "private_key_id": "fake-key-1",
            "private_key": private_key,
            "client_email": f"personas@{project}.iam.gserviceaccount.com",
            "client_id": "1",
            "token_uri": f"{self.url}/token",
        }

    def airflow_connection(self, project: str = "fake-project") -> str:
        """JSON for an `AIRFLOW_CONN_<ID>` environment variable: a GCP connection using the fake key."""
        return json.dumps(
            {
                "conn_type": "google_cloud_platform",
                "extra": {"keyfile_dict": self.service_account_info(project), "project": project},
            }
        )

    # -- request handling -------------------------------------------------------------------------------

    def _public_key_pem(self) -> bytes:
        return self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def grant_token(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != ["urn:ietf:params:oauth:grant-type:jwt-bearer"]:
            return 400, {"error": "unsupported_grant_type"}
        try:
            jwt.decode(form["assertion"][0], certs=self._public_key_pem(), audience=GOOGLE_TOKEN_AUDIENCE)
        except (KeyError, ValueError) as problem:
            return 400, {"error": "invalid_grant", "error_description": str(problem)}
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._tokens.add(token)
            self.token_grants += 1
        return 200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"}

    def authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        with self._lock:
            return scheme == "Bearer" and token in self._tokens

    def next_reply(self, call: RecordedCall) -> Reply:
        with self._lock:
            self.calls.append(call)
            scripted = (
                self.replies.popleft() if self.replies else error(500, "fake Gemini: no scripted reply left")
            )
        return scripted(call) if callable(scripted) else scripted


def _handler_for(fake: FakeGemini) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: dict[str, Any], delay_seconds: float = 0.0) -> None:
            time.sleep(delay_seconds)
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (timeout tests)
                pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.path == "/token":
                self._send(*fake.grant_token(parse_qs(raw.decode())))
                return
            route = GENERATE_PATH.match(self.path)
            if route is None:
                self._send(404, error(404, f"fake Gemini: no route {self.path}").body)
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            if not fake.authorized(headers):
                self._send(401, error(401, "missing or unknown bearer token").body)
                return
            call = RecordedCall(self.path, **route.groupdict(), headers=headers, body=json.loads(raw))
            reply = fake.next_reply(call)
            self._send(reply.status, reply.body, reply.delay_seconds)

    return Handler
