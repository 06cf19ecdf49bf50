"""`python -m services.segments [--host H] [--port P]`: the segment API and explorer under uvicorn.

Listens on 127.0.0.1:8000 unless told otherwise; Cloud Run passes its port in PORT. Beyond loopback it
requires an API key (SEGMENTS_API_KEY or SEGMENTS_API_KEY_FILE). Settings are checked, and the BigQuery
client created, before the server starts: a configuration error exits with status 2 and its message.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from segmentation.config import ConfigError
from services.segments.api import create_app
from services.segments.service import SegmentService
from services.segments.settings import Settings
from services.segments.source import WarehouseReader, make_client


def build(settings: Settings):
    client = make_client(settings.project_id)
    service = SegmentService(WarehouseReader(client, settings.project_id, settings.dataset), settings)
    return create_app(service, settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_environment(host=args.host, port=args.port)
        app = build(settings)
    except ConfigError as error:
        print(f"segments service: {error}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=args.log_level, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
