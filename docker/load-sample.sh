#!/bin/sh
# Replaces the thelook_ecommerce source in the warehouse at DATA_DIR with generated sample data whose
# history ends now, so the DAG's freshness gate passes for today's runs as it would on live data.
# Runs while no server holds the warehouse (DuckDB allows one writer).
set -eu

DATA_DIR="${DATA_DIR:-/data}"
SAMPLE_USERS="${SAMPLE_USERS:-20000}"
PYTHON="${PYTHON:-python}"
SAMPLE_DIR="$(mktemp -d)"
trap 'rm -rf "$SAMPLE_DIR"' EXIT

"$PYTHON" -m local_bigquery.samples.thelook \
    --users "$SAMPLE_USERS" --seed 42 --end "$(date -u +%Y-%m-%dT%H:00:00)" --out "$SAMPLE_DIR"
for table in users orders order_items products; do
    "$PYTHON" -m local_bigquery load "bigquery-public-data.thelook_ecommerce.$table" \
        "$SAMPLE_DIR/$table.parquet" --data-dir "$DATA_DIR" --replace
done
