"""The DAG's BigQuery query jobs: the provider's operator, configured for GoogleSQL, documented from its SQL.

Every job's configuration sets `useLegacySql: false`, so the provider's two deprecation warnings per task
are noise here: its hook still warns that its own `use_legacy_sql` default will change (the operator
builds the hook without one; the job ignores it), and the operator warns that it pushes a deprecated
`job_id_path` XCom (nothing in the pipeline reads it; the BigQuery job link does the same). They are
silenced for this operator alone, by their exact text, so any other warning still shows.
"""

from __future__ import annotations

import re
import warnings
from functools import cache
from typing import Any

from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator

from segmentation.paths import sql_dir

IGNORED_PROVIDER_WARNINGS = (
    r"The default value of `use_legacy_sql` is deprecated",
    r"BigQueryInsertJobOperator's `job_id_path` XCom is deprecated",
)


class GoogleSqlJobOperator(BigQueryInsertJobOperator):
    """A BigQuery job whose configuration selects GoogleSQL, without the provider's deprecation noise."""

    def execute(self, context: Any) -> Any:
        with warnings.catch_warnings():
            for message in IGNORED_PROVIDER_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            return super().execute(context)


@cache
def sql_header(sql_file: str) -> str:
    """The leading `--` comment of a file in include/sql: what its statement builds and why."""
    lines = []
    for line in (sql_dir() / sql_file).read_text().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)


def job_doc(sql_file: str, table: str | None = None) -> str:
    """A task's doc_md: its SQL file's header comment; for a generic file, the table's file header first."""
    header = re.sub(r"\{\{\s*params\.table\s*\}\}", f"`{table}`", sql_header(sql_file)) if table else None
    parts = [sql_header(f"{table}.sql"), header] if table else [sql_header(sql_file)]
    return "\n\n".join(parts) + f"\n\nSQL: `include/sql/{sql_file}`."
