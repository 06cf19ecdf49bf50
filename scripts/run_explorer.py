"""`make explore`: the segment API and explorer on the local warehouse that `make run` filled.

Starts local_bigquery (in this process) on the data dir (default `.local/warehouse`), then the segment
service (`services/segments`) on 127.0.0.1:EXPLORE_PORT (default 8000), reading the pipeline's tables
through the official client as it would read BigQuery. Serves until Ctrl-C. Run the DAG for another date
meanwhile (`scripts/run_local.py --date ...`, on another data dir or after stopping this) and the
service picks the new snapshot up on its next refresh.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uvicorn

from local_bigquery.server import BackgroundServer
from local_bigquery.translate import TableRef
from local_bigquery.warehouse import Warehouse
from scripts.run_local import PROJECT, ROOT
from scripts.run_ui import StartupError, require_free_port
from segmentation.config import ConfigError
from services.segments.__main__ import build
from services.segments.settings import Settings


def require_published(warehouse: Warehouse, dataset: str) -> None:
    ref = TableRef(PROJECT, dataset, "segment_profiles")
    if not warehouse.locked(warehouse.catalog.table_exists, ref):
        raise StartupError(f"no {PROJECT}.{dataset}.segment_profiles in the warehouse: run `make run` first")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=9050, help="local_bigquery's port")
    parser.add_argument("--explore-port", type=int, default=int(os.environ.get("EXPLORE_PORT", "8000")))
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".local" / "warehouse")
    parser.add_argument("--refresh-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    dataset = os.environ.get("SEGMENTATION_DATASET", "customer_segmentation")
    try:
        if not (args.data_dir / "warehouse.duckdb").exists():
            raise StartupError(f"no warehouse in {args.data_dir}: run `make run` first")
        require_free_port(args.port, "PORT=...")
        require_free_port(args.explore_port, "EXPLORE_PORT=...")
        with BackgroundServer(Warehouse(args.data_dir), port=args.port) as server:
            require_published(server.warehouse, dataset)
            os.environ.update(
                BIGQUERY_EMULATOR_HOST=server.url,
                SEGMENTATION_PROJECT_ID=PROJECT,
                SEGMENTS_REFRESH_SECONDS=str(args.refresh_seconds),
            )
            settings = Settings.from_environment(port=args.explore_port)
            app = build(settings)
            url = f"http://127.0.0.1:{args.explore_port}"
            print(f"local_bigquery serving {server.url} from {args.data_dir}")
            print(f"Explorer: {url}/explorer/   API docs: {url}/docs")
            print("Press Ctrl-C to stop.", flush=True)
            uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning", access_log=False)
    except (StartupError, ConfigError) as error:
        print(f"make explore: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
