"""Where the GoogleSQL templates (`include/sql`) are, in each layout the pipeline is deployed in."""

from __future__ import annotations

from pathlib import Path

from airflow.sdk.configuration import conf

# plugins/segmentation/paths.py -> the directory holding dags/, include/ and plugins/.
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def sql_dir() -> Path:
    """`include/sql` beside `plugins/` (repository, docker compose, Astro) when it is there; otherwise
    `include/sql` in the DAGs folder, since Cloud Composer synchronises only its bucket's `dags/`,
    `plugins/` and `data/` folders."""
    beside_plugins = PROJECT_ROOT / "include" / "sql"
    if beside_plugins.is_dir():
        return beside_plugins
    return Path(conf.get("core", "dags_folder")) / "include" / "sql"
