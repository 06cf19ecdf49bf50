"""An embedded BigQuery-compatible server for local runs and CI: BigQuery v2 REST on DuckDB."""

__version__ = "0.1.0"
