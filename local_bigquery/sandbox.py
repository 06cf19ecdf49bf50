"""Nothing a query names reaches the file system, the network or DuckDB's settings.

BigQuery reads tables; DuckDB can also read any file or URL the server process can (`read_text`,
`read_csv`, `read_blob`, `glob`, `COPY`, `ATTACH`, extensions such as httpfs). Two layers keep queries to
tables: `refuse_table_functions` names the offending call with the usual "not supported by local_bigquery"
error, and `lock_down` switches DuckDB's external access off and locks its configuration, so that a form
the first layer misses still cannot open a file. Load jobs read their (uploaded or copied) file from one
private directory, the only one DuckDB may still read.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from sqlglot import exp

from local_bigquery import dialect
from local_bigquery.errors import Unsupported


def _call_name(function: exp.Func) -> str:
    return function.name if isinstance(function, exp.Anonymous) else function.sql_name()


def refuse_table_functions(statement: exp.Expression) -> None:
    """Refuse a function call where a table belongs (FROM, JOIN, LATERAL), ML table functions apart.

    GoogleSQL's other table-valued functions (user TVFs, APPENDS, GAP_FILL, ...) are not implemented here,
    and in DuckDB that position is where files are read."""
    for source in statement.find_all(exp.Table, exp.Lateral):
        function = source.this
        if isinstance(function, exp.Func) and not dialect.ml_function_kind(function):
            raise Unsupported(
                f"table function {_call_name(function)}: queries read tables, UNNEST and ML functions only "
                "(no files, URLs or DuckDB table functions)"
            )


# Order matters: the settings that need external access are changed before it is switched off, and the
# lock comes last.
_LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


def lock_down(con: duckdb.DuckDBPyConnection, private_directory: Path) -> None:
    """No file or URL access but `private_directory` (load jobs' files, DuckDB's spill files), for good.

    DuckDB keeps its temporary directory readable; it goes into the private one rather than the
    working directory's `.tmp`."""
    con.execute("SET temp_directory = $directory", {"directory": str(private_directory / "spill")})
    con.execute("SET allowed_directories = $directories", {"directories": [f"{private_directory}/"]})
    for setting in _LOCKDOWN:
        con.execute(setting)
