"""GoogleSQL features the pipeline relies on, run through the real client against the local server."""

import datetime as dt

import pytest
from google.api_core import exceptions
from google.cloud import bigquery

from tests.conftest import PROJECT


def _rows(client, sql, **params):
    config = bigquery.QueryJobConfig(
        query_parameters=[_parameter(name, value) for name, value in params.items()]
    )
    return [dict(row) for row in client.query_and_wait(sql, job_config=config)]


def _parameter(name, value):
    kind = {int: "INT64", float: "FLOAT64", str: "STRING", dt.date: "DATE"}[type(value)]
    return bigquery.ScalarQueryParameter(name, kind, value)


def test_ctas_with_partitioning_clustering_and_options(bq_client, dataset):
    bq_client.query_and_wait(
        f"""CREATE OR REPLACE TABLE `{PROJECT}.{dataset}.daily`
        PARTITION BY snapshot_date CLUSTER BY customer_id
        OPTIONS (description = 'daily numbers', labels = [('owner', 'tests')])
        AS SELECT 1 AS customer_id, DATE '2024-01-01' AS snapshot_date, 2.5 AS amount"""
    )
    table = bq_client.get_table(f"{dataset}.daily")
    assert table.time_partitioning.field == "snapshot_date"
    assert table.clustering_fields == ["customer_id"]
    assert table.description == "daily numbers"
    assert table.labels == {"owner": "tests"}
    assert [f.field_type for f in table.schema] == ["INTEGER", "DATE", "FLOAT"]


@pytest.mark.parametrize(
    "expiration",
    [
        "TIMESTAMP '2030-01-01 00:00:00+00'",
        'TIMESTAMP "2030-01-01 00:00:00 UTC"',
        "TIMESTAMP_ADD(TIMESTAMP '2029-12-25', INTERVAL 7 DAY)",
    ],
)
def test_expiration_timestamp_is_the_tables_expiry(bq_client, dataset, expiration):
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.short_lived OPTIONS (expiration_timestamp = {expiration}) AS SELECT 1 AS a"
    )
    expected = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert bq_client.get_table(f"{dataset}.short_lived").expires == expected


def test_expiration_relative_to_now_and_set_by_alter_table(bq_client, dataset):
    bq_client.query_and_wait(
        f"""CREATE TABLE {dataset}.week OPTIONS (
              expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 7 DAY)
            ) AS SELECT 1 AS a"""
    )
    in_a_week = dt.datetime.now(dt.UTC) + dt.timedelta(days=7)
    assert abs(bq_client.get_table(f"{dataset}.week").expires - in_a_week) < dt.timedelta(minutes=1)
    bq_client.query_and_wait(
        f"ALTER TABLE {dataset}.week SET OPTIONS (expiration_timestamp = TIMESTAMP '2031-06-01 12:00:00+00')"
    )
    assert bq_client.get_table(f"{dataset}.week").expires == dt.datetime(2031, 6, 1, 12, tzinfo=dt.UTC)


def test_an_expiration_that_is_no_timestamp_is_refused(bq_client, dataset):
    with pytest.raises(
        exceptions.BadRequest, match="OPTIONS expiration_timestamp = 'next week' is not a TIMESTAMP"
    ):
        bq_client.query_and_wait(
            f"CREATE TABLE {dataset}.never OPTIONS (expiration_timestamp = 'next week') AS SELECT 1 AS a"
        )
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.never")


def test_partitioning_on_a_non_date_column_is_refused(bq_client, dataset):
    with pytest.raises(exceptions.BadRequest, match="must be a DATE, TIMESTAMP or DATETIME column"):
        bq_client.query_and_wait(f"CREATE TABLE {dataset}.bad PARTITION BY n AS SELECT 1 AS n")


def test_merge_with_named_parameters(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.balances AS SELECT 1 AS id, 10.0 AS amount")
    merge = f"""
        MERGE {dataset}.balances AS target
        USING (SELECT @id AS id, @amount AS amount) AS source
        ON target.id = source.id
        WHEN MATCHED THEN UPDATE SET amount = target.amount + source.amount
        WHEN NOT MATCHED THEN INSERT (id, amount) VALUES (source.id, source.amount)"""
    for id_, amount in [(1, 5.0), (2, 7.5), (2, 0.5)]:
        job = bq_client.query(
            merge,
            job_config=bigquery.QueryJobConfig(
                query_parameters=[_parameter("id", id_), _parameter("amount", amount)]
            ),
        )
        job.result()
        assert job.num_dml_affected_rows == 1
    assert _rows(bq_client, f"SELECT id, amount FROM {dataset}.balances ORDER BY id") == [
        {"id": 1, "amount": 15.0},
        {"id": 2, "amount": 8.0},
    ]


def test_positional_parameters_and_typed_nulls(bq_client):
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(None, "INT64", 41),
            bigquery.ScalarQueryParameter(None, "DATE", None),
        ]
    )
    (row,) = bq_client.query_and_wait("SELECT ? + 1 AS answer, ? IS NULL AS missing", job_config=config)
    assert (row.answer, row.missing) == (42, True)


def test_array_and_struct_parameters(bq_client):
    config = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ArrayQueryParameter("ids", "INT64", [3, 1, 2]),
            bigquery.StructQueryParameter(
                "who",
                bigquery.ScalarQueryParameter("name", "STRING", "Ada"),
                bigquery.ScalarQueryParameter("age", "INT64", 36),
            ),
        ]
    )
    (row,) = bq_client.query_and_wait(
        "SELECT ARRAY_LENGTH(@ids) AS n, (SELECT MAX(i) FROM UNNEST(@ids) AS i) AS top, @who.name AS name",
        job_config=config,
    )
    assert (row.n, row.top, row.name) == (3, 3, "Ada")


def test_missing_parameter_is_named(bq_client):
    with pytest.raises(exceptions.BadRequest, match="Query parameter 'absent' not found"):
        bq_client.query_and_wait("SELECT @absent")


def test_bigquery_functions_translate(bq_client):
    (row,) = _rows(
        bq_client,
        """
        WITH orders AS (
          SELECT 1 AS customer, DATE '2024-01-01' AS day, 10.0 AS amount, 'Complete' AS status UNION ALL
          SELECT 1, DATE '2024-01-05', 30.0, 'Returned' UNION ALL
          SELECT 2, DATE '2024-01-03', 5.0, 'Complete'
        )
        SELECT
          COUNTIF(status = 'Returned') AS returned,
          SAFE_DIVIDE(SUM(amount), 0) AS by_zero,
          SAFE_DIVIDE(SUM(amount), COUNT(*)) AS mean,
          DATE_DIFF(@as_of, MIN(day), DAY) AS age_days,
          TIMESTAMP_DIFF(TIMESTAMP '2024-01-02 00:00:00+00', TIMESTAMP '2024-01-01 12:00:00+00', HOUR) AS hours,
          ARRAY_AGG(STRUCT(customer, amount) ORDER BY amount DESC LIMIT 1)[OFFSET(0)].amount AS biggest
        FROM orders""",
        as_of=dt.date(2024, 1, 11),
    )
    assert row == {"returned": 1, "by_zero": None, "mean": 15.0, "age_days": 10, "hours": 12, "biggest": 30.0}


def test_qualify_except_and_pivot(bq_client):
    rows = _rows(
        bq_client,
        """
        WITH sales AS (
          SELECT 1 AS customer, 'a' AS kind, 1.0 AS amount, 'x' AS noise UNION ALL
          SELECT 1, 'b', 2.0, 'x' UNION ALL
          SELECT 2, 'a', 4.0, 'y'
        ),
        latest AS (
          SELECT * EXCEPT (noise) FROM sales
          QUALIFY ROW_NUMBER() OVER (PARTITION BY customer ORDER BY amount DESC) = 1
        )
        SELECT * FROM (SELECT customer, kind, amount FROM sales) PIVOT (SUM(amount) FOR kind IN ('a', 'b'))
        ORDER BY customer""",
    )
    assert rows == [{"customer": 1, "a": 1.0, "b": 2.0}, {"customer": 2, "a": 4.0, "b": None}]
    latest = _rows(
        bq_client,
        """SELECT * EXCEPT (noise) FROM (SELECT 1 AS c, 2.0 AS v, 'z' AS noise UNION ALL SELECT 1, 3.0, 'z')
           QUALIFY ROW_NUMBER() OVER (PARTITION BY c ORDER BY v DESC) = 1""",
    )
    assert latest == [{"c": 1, "v": 3.0}]


def test_script_with_declare_set_transaction_and_assert(bq_client, dataset):
    script = f"""
        DECLARE cutoff DATE DEFAULT DATE '2024-01-02';
        DECLARE n INT64;
        SET n = 3;
        CREATE TABLE {dataset}.log (day DATE, n INT64);
        BEGIN TRANSACTION;
        INSERT INTO {dataset}.log VALUES (cutoff, n), (DATE_SUB(cutoff, INTERVAL 1 DAY), n + 1);
        DELETE FROM {dataset}.log WHERE day < cutoff;
        COMMIT TRANSACTION;
        ASSERT (SELECT COUNT(*) FROM {dataset}.log) = 1 AS 'exactly one row expected';
        SELECT day, n FROM {dataset}.log;
    """
    job = bq_client.query(script)
    assert [dict(r) for r in job.result()] == [{"day": dt.date(2024, 1, 2), "n": 3}]
    assert job.statement_type == "SCRIPT"
    # Each statement is a child job of the script; those of the transaction carry its id.
    children = sorted(bq_client.list_jobs(parent_job=job), key=lambda child: child.job_id)
    assert [child.statement_type for child in children][4:8] == [
        "BEGIN_TRANSACTION",
        "INSERT",
        "DELETE",
        "COMMIT_TRANSACTION",
    ]
    assert len({child.transaction_info.transaction_id for child in children[4:8]}) == 1
    assert children[3].transaction_info is None and children[5].num_dml_affected_rows == 2
    assert all(listed.parent_job_id is None for listed in bq_client.list_jobs(max_results=50))


def test_a_script_ending_in_ddl_or_dml_answers_with_no_rows(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.ending (id INT64)")
    for last in (f"CREATE TABLE {dataset}.ended (id INT64)", f"INSERT INTO {dataset}.ending VALUES (1)"):
        job = bq_client.query(f"SELECT 1 AS a; {last}")
        job.result()
        assert job.schema in (None, [])
        assert list(job.result()) == []


def test_failing_script_changes_nothing(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.kept AS SELECT 1 AS n")
    script = f"""
        DELETE FROM {dataset}.kept WHERE TRUE;
        CREATE TABLE {dataset}.half_made AS SELECT 1 AS n;
        ASSERT FALSE AS 'gate: stop here';
    """
    with pytest.raises(exceptions.BadRequest, match="gate: stop here"):
        bq_client.query_and_wait(script)
    assert _rows(bq_client, f"SELECT n FROM {dataset}.kept") == [{"n": 1}]
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.half_made")


def test_error_function_message_reaches_the_client(bq_client):
    with pytest.raises(exceptions.BadRequest, match="3 customers have negative monetary"):
        bq_client.query_and_wait(
            "SELECT IF(3 > 0, ERROR(CONCAT(CAST(3 AS STRING), ' customers have negative monetary')), 'ok')"
        )


def test_partition_decorator_replaces_only_that_partition(bq_client, dataset):
    bq_client.query_and_wait(
        f"""CREATE TABLE {dataset}.snap PARTITION BY snapshot_date AS
            SELECT DATE '2024-01-01' AS snapshot_date, 1 AS v UNION ALL SELECT DATE '2024-01-02', 2"""
    )
    for _ in range(2):
        config = bigquery.QueryJobConfig(
            destination=f"{PROJECT}.{dataset}.snap$20240102",
            write_disposition="WRITE_TRUNCATE",
        )
        bq_client.query(
            "SELECT DATE '2024-01-02' AS snapshot_date, v FROM UNNEST([20, 21]) AS v", job_config=config
        ).result()
    assert _rows(bq_client, f"SELECT snapshot_date, v FROM {dataset}.snap ORDER BY v") == [
        {"snapshot_date": dt.date(2024, 1, 1), "v": 1},
        {"snapshot_date": dt.date(2024, 1, 2), "v": 20},
        {"snapshot_date": dt.date(2024, 1, 2), "v": 21},
    ]


def test_partition_decorator_refuses_rows_of_other_days(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.snap2 PARTITION BY d AS SELECT DATE '2024-01-01' AS d")
    config = bigquery.QueryJobConfig(
        destination=f"{PROJECT}.{dataset}.snap2$20240101", write_disposition="WRITE_TRUNCATE"
    )
    with pytest.raises(
        exceptions.BadRequest, match="different partitions rather than destination partition 20240101"
    ):
        bq_client.query("SELECT DATE '2024-01-05' AS d", job_config=config).result()
    assert _rows(bq_client, f"SELECT d FROM {dataset}.snap2") == [{"d": dt.date(2024, 1, 1)}]


def test_destination_table_write_dispositions(bq_client, dataset):
    destination = f"{PROJECT}.{dataset}.dest"

    def write(sql, disposition):
        config = bigquery.QueryJobConfig(destination=destination, write_disposition=disposition)
        bq_client.query(sql, job_config=config).result()

    write("SELECT 1 AS n", "WRITE_EMPTY")
    write("SELECT 2 AS n", "WRITE_APPEND")
    assert sorted(r["n"] for r in _rows(bq_client, f"SELECT n FROM {dataset}.dest")) == [1, 2]
    with pytest.raises(exceptions.Conflict, match="is not empty"):
        write("SELECT 3 AS n", "WRITE_EMPTY")
    write("SELECT 4 AS n", "WRITE_TRUNCATE")
    assert _rows(bq_client, f"SELECT n FROM {dataset}.dest") == [{"n": 4}]


def test_views_and_default_dataset(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.base AS SELECT 1 AS n UNION ALL SELECT 2")
    bq_client.query_and_wait(
        f"CREATE OR REPLACE VIEW {dataset}.doubled AS SELECT n * 2 AS n2 FROM {dataset}.base"
    )
    config = bigquery.QueryJobConfig(default_dataset=f"{PROJECT}.{dataset}")
    rows = bq_client.query_and_wait("SELECT SUM(n2) AS total FROM doubled", job_config=config)
    assert [r.total for r in rows] == [6]
    view = bq_client.get_table(f"{dataset}.doubled")
    assert view.table_type == "VIEW"
    assert "n * 2" in view.view_query


def test_a_views_column_list_names_and_describes_its_columns(bq_client, dataset):
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.described AS SELECT 1 AS n, 'a' AS label")
    bq_client.query_and_wait(
        f"""CREATE OR REPLACE VIEW {dataset}.described_view (
          number OPTIONS (description = 'How many.'), label
        ) AS SELECT n, label FROM {dataset}.described"""
    )
    view = bq_client.get_table(f"{dataset}.described_view")
    assert [(field.name, field.description) for field in view.schema] == [
        ("number", "How many."),
        ("label", None),
    ]
    assert view._properties["view"]["useExplicitColumnNames"] is True
    assert _rows(bq_client, f"SELECT number, label FROM {dataset}.described_view") == [
        {"number": 1, "label": "a"}
    ]
    with pytest.raises(
        exceptions.BadRequest,
        match=r"number of view column names \(1\) must be equal to the number of columns from the view query \(2\)",
    ):
        bq_client.query_and_wait(
            f"CREATE OR REPLACE VIEW {dataset}.described_view (number) AS SELECT n, label FROM {dataset}.described"
        )
    bq_client.query_and_wait(
        f"CREATE OR REPLACE VIEW {dataset}.described_view AS SELECT n FROM {dataset}.described"
    )
    assert [field.description for field in bq_client.get_table(f"{dataset}.described_view").schema] == [None]


def test_unqualified_table_without_default_dataset_is_explained(bq_client):
    with pytest.raises(exceptions.BadRequest, match="must be qualified with a dataset"):
        bq_client.query_and_wait("SELECT * FROM lonely")


def test_syntax_error_names_the_position(bq_client):
    with pytest.raises(exceptions.BadRequest, match=r"Syntax error: .* at \[1:"):
        bq_client.query_and_wait("SELECT FROM WHERE")


@pytest.mark.parametrize(
    ("sql", "what"),
    [
        ("SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS", "INFORMATION_SCHEMA"),
        ("CREATE FUNCTION d.f(x INT64) AS (x + 1)", "CREATE FUNCTION"),
        ("CREATE TEMP FUNCTION f(x INT64) RETURNS INT64 LANGUAGE js AS 'return x;'", "JavaScript"),
        ("CREATE TABLE FUNCTION d.f(n INT64) AS SELECT n AS x", "table functions"),
        ("SELECT ST_GEOGPOINT(1, 2)", "geography function"),
        # Parameter modes (IN, OUT, INOUT) are no syntax sqlglot reads: refused before the parse fails.
        (
            "DECLARE r STRING; CREATE PROCEDURE d.p(IN v STRING, OUT r STRING) BEGIN SET r = v; END",
            "PROCEDURE",
        ),
        ("CALL d.p('x')", "CALL of a stored procedure"),
        ("FOR row IN (SELECT NULL AS v) DO IF row.v IS NULL THEN SELECT 1; END IF; END FOR", "FOR … IN"),
        ("CREATE ROW ACCESS POLICY us ON d.t GRANT TO ('user:a@b.c') FILTER USING (c = 'US')", "row access"),
        ("CREATE TABLE d.c CLONE d.t FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP()", "FOR SYSTEM_TIME AS OF"),
        (
            "CREATE SNAPSHOT TABLE d.s CLONE d.t FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP()",
            "FOR SYSTEM_TIME AS OF",
        ),
        ("CREATE MATERIALIZED VIEW d.mv AS SELECT 1 AS n", "materialized views"),
        ("SELECT RANGE<DATE> '[2024-01-01, 2024-02-01)' AS r", "RANGE values"),
        ("SELECT RANGE_START(RANGE(DATE '2024-01-01', DATE '2024-12-31')) AS s", "RANGE values"),
        ("SELECT * FROM RANGE_SESSIONIZE(TABLE d.events, 'r', ['id'])", "RANGE values"),
        ("SELECT JUSTIFY_DAYS(INTERVAL 40 DAY) AS i", "INTERVAL values"),
        ("SELECT INTERVAL '1-2' YEAR TO MONTH AS i", "INTERVAL values .result column i"),
    ],
)
def test_unsupported_features_say_so(bq_client, sql, what):
    with pytest.raises(exceptions.BadRequest, match=f"not supported by local_bigquery: .*{what}"):
        bq_client.query_and_wait(sql)


@pytest.mark.parametrize(("column", "refusal"), [("r RANGE<DATE>", "RANGE"), ("g GEOGRAPHY", "GEOGRAPHY")])
def test_range_and_geography_columns_are_refused_by_name(bq_client, dataset, column, refusal):
    name = column.split()[0]
    with pytest.raises(
        exceptions.BadRequest, match=rf"local_bigquery: column type {refusal} \(field {name}\)"
    ):
        bq_client.query_and_wait(f"CREATE TABLE {dataset}.typed (id INT64, {column})")


def test_interval_literals_with_a_range_of_parts(bq_client):
    rows = _rows(
        bq_client,
        """SELECT EXTRACT(DAY FROM INTERVAL '7 12:0:0' DAY TO SECOND) AS d,
                  EXTRACT(YEAR FROM INTERVAL '5-3' YEAR TO MONTH) AS y,
                  EXTRACT(MICROSECOND FROM INTERVAL '0 0:0:0.123456' DAY TO SECOND) AS us,
                  DATETIME '2024-01-15 12:00:00' + INTERVAL '1 6' DAY TO HOUR AS t""",
    )
    assert rows == [{"d": 7, "y": 5, "us": 123456, "t": dt.datetime(2024, 1, 16, 18, 0)}]
    with pytest.raises(exceptions.BadRequest, match="Invalid interval literal '1 2'"):
        bq_client.query_and_wait("SELECT DATETIME '2024-01-15' + INTERVAL '1 2' DAY TO SECOND AS t")


def test_alter_table_adds_columns_once_and_sets_options(bq_client, dataset):
    bq_client.query_and_wait(
        f"CREATE TABLE {dataset}.grows PARTITION BY d AS SELECT DATE '2024-01-01' AS d, 1 AS a"
    )
    alter = f"""ALTER TABLE {dataset}.grows
        ADD COLUMN IF NOT EXISTS age INT64 OPTIONS (description = 'The customer\\'s age'),
        ADD COLUMN IF NOT EXISTS label STRING"""
    bq_client.query_and_wait(alter)
    bq_client.query_and_wait(alter)
    bq_client.query_and_wait(f"ALTER TABLE {dataset}.grows SET OPTIONS (description = 'grown')")
    table = bq_client.get_table(f"{dataset}.grows")
    assert [(f.name, f.field_type) for f in table.schema] == [
        ("d", "DATE"),
        ("a", "INTEGER"),
        ("age", "INTEGER"),
        ("label", "STRING"),
    ]
    assert table.schema[2].description == "The customer's age"
    assert table.description == "grown"
    assert table.time_partitioning.field == "d"
    with pytest.raises(exceptions.BadRequest, match="Column already exists: a"):
        bq_client.query_and_wait(f"ALTER TABLE {dataset}.grows ADD COLUMN a INT64")


def test_create_schema_with_options_is_idempotent(bq_client):
    statement = (
        "CREATE SCHEMA IF NOT EXISTS `local-project.schema_made_by_sql` "
        "OPTIONS (location = 'US', description = 'made by SQL', labels = [('team', 'data')])"
    )
    bq_client.query_and_wait(statement)
    bq_client.query_and_wait(statement)
    try:
        dataset = bq_client.get_dataset("schema_made_by_sql")
        assert (dataset.location, dataset.description, dataset.labels) == (
            "US",
            "made by SQL",
            {"team": "data"},
        )
    finally:
        bq_client.query_and_wait("DROP SCHEMA `local-project.schema_made_by_sql` CASCADE")
    with pytest.raises(exceptions.NotFound):
        bq_client.get_dataset("schema_made_by_sql")


def test_untokenizable_query_is_a_syntax_error(bq_client):
    with pytest.raises(exceptions.BadRequest, match=r"Syntax error: Unclosed string literal at \[1:8\]"):
        bq_client.query_and_wait("SELECT 'unterminated")


def test_timestamp_diff_counts_whole_intervals(bq_client):
    (row,) = _rows(
        bq_client,
        """SELECT
             TIMESTAMP_DIFF(TIMESTAMP '2024-04-01 00:00:00+00', TIMESTAMP '2024-03-31 12:00:00+00', DAY) AS half_day,
             TIMESTAMP_DIFF(TIMESTAMP '2024-04-01 00:00:00+00', TIMESTAMP '2024-03-30 23:00:00+00', DAY) AS day_and_hour,
             TIMESTAMP_DIFF(TIMESTAMP '2024-04-01 00:59:00+00', TIMESTAMP '2024-04-01 00:00:00+00', HOUR) AS minutes,
             DATE_DIFF(DATE '2024-04-01', DATE '2024-03-31', DAY) AS dates""",
    )
    assert row == {"half_day": 0, "day_and_hour": 1, "minutes": 0, "dates": 1}


def test_format_is_printf_style_inside_error(bq_client):
    assert _rows(bq_client, "SELECT FORMAT('%d rows with %s at %.2f', 12, 'negatives', 1.5) AS text") == [
        {"text": "12 rows with negatives at 1.50"}
    ]
    with pytest.raises(exceptions.BadRequest, match="gate failed: 12 rows with negative monetary"):
        bq_client.query_and_wait(
            "SELECT IF(FALSE, 'ok', ERROR(FORMAT('gate failed: %d rows with %s', 12, 'negative monetary')))"
        )


def test_format_t_is_the_text_of_any_value(bq_client):
    sql = "SELECT FORMAT('%t on %t: %d%% of %T', 12, DATE '2024-01-02', 50, TIMESTAMP '2024-01-01 00:00:00+00') AS text"
    assert _rows(bq_client, sql) == [{"text": "12 on 2024-01-02: 50% of 2024-01-01 00:00:00+00"}]


def test_approx_quantiles_are_boundaries_of_the_input_whatever_its_order(bq_client):
    sql = """SELECT
      APPROX_QUANTILES(x, 4) AS quartiles,
      APPROX_QUANTILES(x, 100)[OFFSET(99)] AS p99,
      APPROX_QUANTILES(IF(x > 50, NULL, x / 2), 2) AS halves
    FROM UNNEST(ARRAY(SELECT v FROM UNNEST(GENERATE_ARRAY(1, 100)) AS v ORDER BY {order})) AS x"""
    ascending, descending = (_rows(bq_client, sql.format(order=order)) for order in ("v", "-v"))
    assert ascending == descending
    (row,) = ascending
    assert row["quartiles"] == [1, 25, 50, 75, 100]  # minimum, quartiles, maximum; INT64 stays INT64
    assert row["p99"] == 99
    assert row["halves"] == [0.5, 12.5, 25.0]  # NULLs ignored


def test_unnest_of_unnamed_structs_spreads_their_fields(bq_client):
    rows = bq_client.query_and_wait("SELECT * FROM UNNEST([(1, 'a'), (3, 'b')])")
    assert [field.name for field in rows.schema] == ["_field_1", "_field_2"]
    assert [row.values() for row in rows] == [(1, "a"), (3, "b")]


def test_query_parameter_names_may_be_any_quoted_text(bq_client):
    from google.cloud.bigquery import dbapi

    cursor = dbapi.connect(bq_client).cursor()
    cursor.execute('SELECT %(a "very" weird `name`)s, %(b)s', {'a "very" weird `name`': True, "b": 2})
    assert cursor.fetchall()[0].values() == (True, 2)


def test_a_timestamp_parameter_is_text_not_epoch_seconds(bq_client):
    config = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("ts", "TIMESTAMP", 1.4810976e9)]
    )
    job = bq_client.query("SELECT TIMESTAMP_ADD(@ts, INTERVAL 1 HOUR)", job_config=config)
    with pytest.raises(
        exceptions.BadRequest, match=r"Invalid TIMESTAMP value '1481097600\.0' for query parameter ts"
    ):
        job.result()
    # The job keeps the value as the text it was read as, which is no timestamp either.
    failed = bq_client.get_job(job.job_id)
    assert failed.to_api_repr()["configuration"]["query"]["queryParameters"][0]["parameterValue"] == {
        "value": "1481097600.0"
    }
    with pytest.raises(ValueError):
        assert failed.query_parameters is None  # reading them fails first


def test_alter_table_rename_to_keeps_rows_columns_and_settings(bq_client, dataset):
    bq_client.query_and_wait(
        f"""CREATE TABLE {dataset}.before (id INT64 OPTIONS (description = 'the id')) CLUSTER BY id;
            INSERT INTO {dataset}.before (id) VALUES (1), (2);
            ALTER TABLE {dataset}.before RENAME TO after;
            CREATE TABLE {dataset}.taken (x INT64)"""
    )
    assert [row["id"] for row in bq_client.query_and_wait(f"SELECT id FROM {dataset}.after ORDER BY id")] == [
        1,
        2,
    ]
    table = bq_client.get_table(f"{dataset}.after")
    assert (table.schema[0].description, table.clustering_fields) == ("the id", ["id"])
    with pytest.raises(exceptions.NotFound, match="before was not found"):
        bq_client.get_table(f"{dataset}.before")
    with pytest.raises(exceptions.Conflict, match=f"Already Exists: Table {PROJECT}:{dataset}.taken"):
        bq_client.query_and_wait(f"ALTER TABLE {dataset}.after RENAME TO taken")
    with pytest.raises(exceptions.BadRequest, match=r"cannot move .* to another dataset"):
        bq_client.query_and_wait(f"ALTER TABLE {dataset}.after RENAME TO elsewhere.after")


def test_temporary_tables_last_for_their_script_or_their_session(bq_client, dataset):
    script = """CREATE TEMP TABLE numbers (id INT64);
        INSERT INTO numbers VALUES (1), (2), (3);
        SELECT SUM(id) AS total FROM numbers"""
    assert [row["total"] for row in bq_client.query_and_wait(script)] == [6]
    with pytest.raises(exceptions.BadRequest, match='Table "numbers" must be qualified with a dataset'):
        bq_client.query_and_wait("SELECT * FROM numbers")
    with pytest.raises(exceptions.BadRequest, match=r"Temporary table name .* cannot be qualified"):
        bq_client.query_and_wait(f"CREATE TEMP TABLE {dataset}.numbers (id INT64)")
    # A temporary table takes its name before the default dataset's table of that name.
    config = bigquery.QueryJobConfig(default_dataset=f"{PROJECT}.{dataset}")
    shadowed = f"""CREATE TABLE {dataset}.numbers AS SELECT 9 AS id;
        CREATE TEMP TABLE numbers AS SELECT 1 AS id;
        SELECT id FROM numbers UNION ALL SELECT id FROM {dataset}.numbers ORDER BY id"""
    assert [row["id"] for row in bq_client.query_and_wait(shadowed, job_config=config)] == [1, 9]

    first = bq_client.query(
        "CREATE TEMPORARY TABLE kept AS SELECT * FROM UNNEST([1, 2, 3]) AS id",
        job_config=bigquery.QueryJobConfig(create_session=True),
    )
    first.result()
    session = [bigquery.ConnectionProperty("session_id", first.session_info.session_id)]
    later = bigquery.QueryJobConfig(connection_properties=session)
    (row,) = bq_client.query_and_wait("SELECT COUNT(*) AS n FROM kept", job_config=later)
    assert row["n"] == 3
    # The session's tables are in a hidden dataset, listed only with all=true.
    assert not any(d.dataset_id.startswith("_") for d in bq_client.list_datasets())
    assert any(d.dataset_id.startswith("_session_") for d in bq_client.list_datasets(include_all=True))
    unknown = bigquery.QueryJobConfig(
        connection_properties=[bigquery.ConnectionProperty("session_id", "nope")]
    )
    with pytest.raises(exceptions.BadRequest, match="Invalid input session id"):
        bq_client.query_and_wait("SELECT 1", job_config=unknown)


def test_sql_temporary_functions_are_their_expression_of_typed_arguments(bq_client):
    script = """CREATE TEMP FUNCTION add_one(x INT64) AS (x + 1);
        CREATE TEMP FUNCTION half(x FLOAT64) RETURNS FLOAT64 AS (x / 2);
        CREATE TEMP FUNCTION pair(a INT64, b INT64) RETURNS STRUCT<x INT64, y INT64> AS (STRUCT(a AS x, b AS y));
        CREATE TEMP FUNCTION twice_plus_one(x INT64) AS (add_one(x * 2));
        SELECT ADD_ONE(1) AS two, half(3) AS one_and_a_half, pair(1, 2).y AS y, twice_plus_one(v) AS r
        FROM UNNEST([5]) AS v"""
    (row,) = bq_client.query_and_wait(script)
    assert dict(row.items()) == {"two": 2, "one_and_a_half": 1.5, "y": 2, "r": 11}
    with pytest.raises(
        exceptions.BadRequest, match="Function add_one takes 1 arguments but is called with 2"
    ):
        bq_client.query_and_wait("CREATE TEMP FUNCTION add_one(x INT64) AS (x + 1); SELECT add_one(1, 2)")
    with pytest.raises(exceptions.BadRequest, match="Function not found: add_one"):
        bq_client.query_and_wait("SELECT add_one(1)")
