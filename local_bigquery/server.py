"""Serving the REST API: a foreground server for the CLI and a background one for tests and tools."""

from __future__ import annotations

import importlib
import socket
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from local_bigquery.app import create_app
from local_bigquery.warehouse import Warehouse


def _config(
    warehouse: Warehouse, host: str, port: int, log_level: str, allowed_hosts: Collection[str] = ()
) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(warehouse, allowed_hosts), host=host, port=port, log_level=log_level, access_log=False
    )


def _import_bqml_in_background() -> None:
    """BigQuery ML needs scikit-learn and SciPy, seconds to import: import them while the server waits for
    its first jobs rather than inside the first CREATE MODEL. A job that needs them meanwhile waits for the
    import to finish."""
    threading.Thread(
        target=importlib.import_module, args=("local_bigquery.bqml",), name="bqml-import", daemon=True
    ).start()


def serve(
    data_dir: Path | None,
    host: str = "127.0.0.1",
    port: int = 9050,
    log_level: str = "info",
    allowed_hosts: Collection[str] = (),
) -> None:
    warehouse = Warehouse(data_dir)
    _import_bqml_in_background()
    try:
        uvicorn.Server(_config(warehouse, host, port, log_level, allowed_hosts)).run()
    finally:
        warehouse.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class BackgroundServer:
    """A server on a thread of this process; `url` is what BIGQUERY_EMULATOR_HOST should be."""

    warehouse: Warehouse
    host: str = "127.0.0.1"
    port: int = 0
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self):
        self.port = self.port or free_port(self.host)
        self._server = uvicorn.Server(
            _config(self.warehouse, self.host, self.port, "warning", self.allowed_hosts)
        )
        self._server.install_signal_handlers = lambda: None
        self._thread = threading.Thread(target=self._server.run, name="local_bigquery", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> BackgroundServer:
        _import_bqml_in_background()
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"local_bigquery did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.warehouse.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
