"""`python -m local_bigquery serve --port 9050 --data-dir .local/warehouse`"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from local_bigquery.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local_bigquery", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_cmd = commands.add_parser("serve", help="serve the BigQuery v2 REST API on DuckDB")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve_cmd.add_argument("--port", type=int, default=9050)
    serve_cmd.add_argument(
        "--data-dir", type=Path, default=Path(".local/warehouse"), help="where the DuckDB file lives"
    )
    serve_cmd.add_argument("--in-memory", action="store_true", help="keep nothing on disk")
    serve_cmd.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    serve(None if args.in_memory else args.data_dir, args.host, args.port, args.log_level)


if __name__ == "__main__":
    main()
