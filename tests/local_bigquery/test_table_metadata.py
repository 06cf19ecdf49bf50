"""What tables and datasets keep beyond column types, through the official client over HTTP: column
defaults, policy tags, key constraints, schema changes, tables without a schema, case-insensitive
datasets, and the project's service account and table permissions."""

import datetime as dt
import decimal

import pytest
from google.api_core import exceptions
from google.cloud import bigquery
from google.cloud.bigquery.schema import PolicyTagList
from google.cloud.bigquery.table import ColumnReference, ForeignKey, PrimaryKey, TableConstraints

from tests.conftest import PROJECT


def test_default_values_fill_missing_columns(bq_client, dataset):
    schema = [
        bigquery.SchemaField("name", "STRING", default_value_expression="'anonymous'"),
        bigquery.SchemaField("seen", "TIMESTAMP", default_value_expression="CURRENT_TIMESTAMP()"),
        bigquery.SchemaField("score", "INT64"),
    ]
    table = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.defaults", schema=schema))
    fetched = bq_client.get_table(table)
    assert [f.default_value_expression for f in fetched.schema] == [
        "'anonymous'",
        "CURRENT_TIMESTAMP()",
        None,
    ]

    assert bq_client.insert_rows(fetched, [{"score": 1}, {"name": "ann", "score": 2}]) == []
    bq_client.query_and_wait(f"INSERT INTO {dataset}.defaults (score) VALUES (3)")
    rows = {row["score"]: row for row in bq_client.list_rows(fetched)}
    assert rows[1]["name"] == "anonymous" and isinstance(rows[1]["seen"], dt.datetime)
    assert rows[2]["name"] == "ann"
    assert rows[3]["name"] == "anonymous"


@pytest.mark.parametrize("expression", ["(SELECT 1)", "read_text('/etc/passwd')", "score + 1"])
def test_default_values_are_literals_or_documented_functions(bq_client, dataset, expression):
    schema = [bigquery.SchemaField("score", "INT64", default_value_expression=expression)]
    with pytest.raises(exceptions.BadRequest, match="Invalid default value expression"):
        bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.bad_default", schema=schema))
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.bad_default")


def test_schema_patch_adds_columns_and_replaces_policy_tags(bq_client, dataset):
    tags = PolicyTagList(names=[f"projects/{PROJECT}/locations/us/taxonomies/1/policyTags/2"])
    schema = [
        bigquery.SchemaField("id", "INT64", mode="REQUIRED"),
        bigquery.SchemaField("secret", "INT64", mode="REQUIRED", description="numeric", policy_tags=tags),
    ]
    table = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.tagged", schema=schema))
    assert table.schema[1].policy_tags == tags and table.schema[1].description == "numeric"

    table.schema = [
        schema[0],
        bigquery.SchemaField("secret", "INT64", mode="NULLABLE", policy_tags=PolicyTagList()),
        bigquery.SchemaField("voter", "BOOL"),
    ]
    updated = bq_client.update_table(table, ["schema"])
    assert [(f.name, f.field_type, f.mode) for f in updated.schema] == [
        ("id", "INTEGER", "REQUIRED"),
        ("secret", "INTEGER", "NULLABLE"),
        ("voter", "BOOLEAN", "NULLABLE"),
    ]
    assert updated.schema[1].policy_tags is None and not updated.schema[1].description
    bq_client.insert_rows(updated, [{"id": 1}])  # secret is no longer REQUIRED

    for wrong, message in [
        ([schema[0]], "Field secret is missing in new schema"),
        (
            [schema[0], bigquery.SchemaField("secret", "STRING"), updated.schema[2]],
            "has changed type from INTEGER to STRING",
        ),
        ([*updated.schema, bigquery.SchemaField("must", "INT64", mode="REQUIRED")], "Cannot add required"),
    ]:
        updated.schema = wrong
        with pytest.raises(exceptions.BadRequest, match=message):
            bq_client.update_table(updated, ["schema"])


def test_required_fields_inside_records_are_kept_and_enforced(bq_client, dataset):
    schema = [
        bigquery.SchemaField(
            "bar",
            "RECORD",
            mode="REQUIRED",
            fields=[
                bigquery.SchemaField("id", "INTEGER", mode="REQUIRED"),
                bigquery.SchemaField(
                    "inner", "RECORD", fields=[bigquery.SchemaField("x", "STRING", mode="REQUIRED")]
                ),
            ],
        )
    ]
    table = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.nested", schema=schema))
    assert bq_client.get_table(table).schema == schema
    assert (
        bq_client.insert_rows_json(table, [{"bar": {"id": 1, "inner": {"x": "a"}}}, {"bar": {"id": 2}}]) == []
    )
    with pytest.raises(exceptions.BadRequest):
        bq_client.query_and_wait(
            f"INSERT INTO {dataset}.nested (bar) VALUES (STRUCT(NULL AS id, NULL AS inner))"
        )
    with pytest.raises(exceptions.BadRequest):
        bq_client.query_and_wait(
            f"INSERT INTO {dataset}.nested (bar) VALUES (STRUCT(3 AS id, STRUCT(CAST(NULL AS STRING) AS x) AS inner))"
        )
    assert bq_client.get_table(table).num_rows == 2


def test_table_constraints_are_kept_and_removed(bq_client, dataset):
    key = [bigquery.SchemaField("id", "INT64", mode="REQUIRED")]
    parent = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.parent", schema=key))
    child = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.child", schema=key))
    constraints = TableConstraints(
        primary_key=PrimaryKey(columns=["id"]),
        foreign_keys=[
            ForeignKey(
                name="fk_id",
                referenced_table=parent.reference,
                column_references=[ColumnReference(referencing_column="id", referenced_column="id")],
            )
        ],
    )
    child.table_constraints = constraints
    child = bq_client.update_table(child, ["table_constraints"])
    assert bq_client.get_table(child).table_constraints == constraints

    child.table_constraints = TableConstraints(primary_key=PrimaryKey(columns=["nope"]), foreign_keys=None)
    with pytest.raises(exceptions.BadRequest, match="column nope is not in table"):
        bq_client.update_table(child, ["table_constraints"])
    child.table_constraints = None
    assert bq_client.update_table(child, ["table_constraints"]).table_constraints is None


def test_table_without_a_schema_until_one_is_given(bq_client, dataset):
    table = bq_client.create_table(f"{PROJECT}.{dataset}.bare")
    assert table.schema == [] and table.num_rows == 0
    assert tuple(bq_client.list_rows(table)) == ()
    (error,) = bq_client.insert_rows_json(table, [{"x": 1}])
    assert "no such field: x" in error["errors"][0]["message"]

    table.schema = [bigquery.SchemaField("x", "INT64")]
    table = bq_client.update_table(table, ["schema"])
    bq_client.insert_rows_json(table, [{"x": 1}])
    assert [row["x"] for row in bq_client.list_rows(table)] == [1]

    bq_client.create_table(f"{PROJECT}.{dataset}.bare_loaded")
    bq_client.load_table_from_json(
        [{"y": "a"}], f"{dataset}.bare_loaded", job_config=bigquery.LoadJobConfig(autodetect=True)
    ).result()
    assert [row["y"] for row in bq_client.list_rows(f"{dataset}.bare_loaded")] == ["a"]
    bq_client.create_table(f"{PROJECT}.{dataset}.bare_dropped")
    bq_client.delete_table(f"{dataset}.bare_dropped")
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.bare_dropped")


def test_external_tables_are_refused_not_created_empty(bq_client, dataset):
    table = bigquery.Table(f"{PROJECT}.{dataset}.outside")
    external = bigquery.ExternalConfig(bigquery.ExternalSourceFormat.PARQUET)
    external.source_uris = ["gs://bucket/a.parquet"]
    table.external_data_configuration = external
    with pytest.raises(exceptions.BadRequest, match="not supported by local_bigquery: external tables"):
        bq_client.create_table(table)
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(table)


def test_case_insensitive_dataset_finds_tables_by_any_spelling(bq_client):
    insensitive = bigquery.Dataset(f"{PROJECT}.ci_tables")
    insensitive.is_case_insensitive = True
    insensitive = bq_client.create_dataset(insensitive)
    sensitive = bq_client.create_dataset(f"{PROJECT}.cs_tables")
    try:
        assert insensitive.is_case_insensitive is True and sensitive.is_case_insensitive is False
        schema = [bigquery.SchemaField("a", "INT64")]
        bq_client.create_table(bigquery.Table(f"{PROJECT}.ci_tables.Mixed_Case", schema=schema))
        bq_client.create_table(bigquery.Table(f"{PROJECT}.cs_tables.Mixed_Case", schema=schema))
        assert bq_client.get_table("ci_tables.mixed_CASE").table_id == "Mixed_Case"
        bq_client.query_and_wait("INSERT INTO ci_tables.MIXED_case (a) VALUES (1)")
        assert bq_client.get_table("ci_tables.mixed_case").num_rows == 1
        with pytest.raises(exceptions.Conflict):
            bq_client.create_table(bigquery.Table(f"{PROJECT}.ci_tables.MIXED_CASE", schema=schema))
        with pytest.raises(exceptions.NotFound):
            bq_client.get_table("cs_tables.mixed_case")
    finally:
        for name in ("ci_tables", "cs_tables"):
            bq_client.delete_dataset(name, delete_contents=True)


def test_service_account_and_table_permissions(bq_client, dataset):
    assert "@" in bq_client.get_service_account_email()
    table = bq_client.create_table(f"{PROJECT}.{dataset}.guarded")
    asked = ["bigquery.tables.get", "bigquery.tables.getData", "storage.objects.get"]
    granted = bq_client.test_iam_permissions(table, asked)["permissions"]
    assert granted == ["bigquery.tables.get", "bigquery.tables.getData"]
    with pytest.raises(exceptions.NotFound):
        bq_client.test_iam_permissions(f"{dataset}.missing", asked)


def test_rounding_modes_half_away_from_zero_is_kept_half_even_refused(bq_client, dataset):
    kept = bigquery.Dataset(f"{PROJECT}.rounding_away")
    kept.default_rounding_mode = "ROUND_HALF_AWAY_FROM_ZERO"
    try:
        assert bq_client.create_dataset(kept).default_rounding_mode == "ROUND_HALF_AWAY_FROM_ZERO"
    finally:
        bq_client.delete_dataset("rounding_away", not_found_ok=True)
    even = bigquery.Dataset(f"{PROJECT}.rounding_even")
    even.default_rounding_mode = "ROUND_HALF_EVEN"
    with pytest.raises(
        exceptions.BadRequest, match="not supported by local_bigquery: rounding mode ROUND_HALF_EVEN"
    ):
        bq_client.create_dataset(even)
    field = bigquery.SchemaField("amount", "NUMERIC", rounding_mode="ROUND_HALF_EVEN")
    with pytest.raises(exceptions.BadRequest, match=r"rounding mode ROUND_HALF_EVEN \(field amount"):
        bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.rounded", schema=[field]))
    field = bigquery.SchemaField("amount", "NUMERIC", rounding_mode="ROUND_HALF_AWAY_FROM_ZERO")
    table = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.rounded", schema=[field]))
    assert table.schema[0].rounding_mode == "ROUND_HALF_AWAY_FROM_ZERO"
    bq_client.query_and_wait(f"INSERT INTO {dataset}.rounded VALUES (NUMERIC '2.5' / 1000000000)")
    assert [row["amount"] for row in bq_client.list_rows(table)] == [decimal.Decimal("3E-9")]


def test_type_parameters_are_kept_and_enforced(bq_client, dataset):
    columns = "n NUMERIC, n92 NUMERIC(9, 2), bn9 BIGNUMERIC(38), s9 STRING(9), b3 BYTES(3)"
    bq_client.query_and_wait(f"CREATE TABLE {dataset}.sized ({columns})")
    table = bq_client.get_table(f"{dataset}.sized")
    keys = [field._key()[:2] for field in table.schema]
    assert keys == [
        ("n", "NUMERIC"),
        ("n92", "NUMERIC(9, 2)"),
        ("bn9", "BIGNUMERIC(38)"),
        ("s9", "STRING(9)"),
        ("b3", "BYTES(3)"),
    ]
    # The same schema through the REST API gives the same table.
    copy = bq_client.create_table(bigquery.Table(f"{PROJECT}.{dataset}.sized_copy", schema=table.schema))
    assert [field._key()[:2] for field in bq_client.get_table(copy).schema] == keys

    for name in ("sized", "sized_copy"):
        bq_client.query_and_wait(
            f"INSERT INTO {dataset}.{name} (n92, s9) VALUES (NUMERIC '1.555', 'nine char')"
        )
        for values in [
            "(n92) VALUES (NUMERIC '12345678')",
            "(s9) VALUES ('ten chars!')",
            "(b3) VALUES (b'four')",
        ]:
            with pytest.raises(exceptions.BadRequest):
                bq_client.query_and_wait(f"INSERT INTO {dataset}.{name} {values}")
        (row,) = bq_client.query_and_wait(f"SELECT n92 FROM {dataset}.{name}")
        assert row["n92"] == decimal.Decimal("1.56")  # rounded half away from zero to the scale
    for wrong, message in [("NUMERIC(40, 2)", "Invalid NUMERIC.40, 2."), ("STRING(0)", "Invalid length 0")]:
        with pytest.raises(exceptions.BadRequest, match=message):
            bq_client.query_and_wait(f"CREATE TABLE {dataset}.wrong (x {wrong})")


def test_a_table_clone_keeps_the_base_tables_columns_settings_and_rows_then_diverges(bq_client, dataset):
    bq_client.query_and_wait(
        f"""CREATE TABLE {dataset}.base (
              id INT64 NOT NULL OPTIONS (description = 'the key'), label STRING DEFAULT 'none'
            ) CLUSTER BY id OPTIONS (description = 'the base', labels = [('team', 'data')]);
            INSERT INTO {dataset}.base VALUES (1, 'a'), (2, 'b');"""
    )
    bq_client.query_and_wait(
        f"""CREATE TABLE {dataset}.copy CLONE {dataset}.base;
            DELETE FROM {dataset}.base WHERE id = 1;
            INSERT INTO {dataset}.copy (id) VALUES (3);"""
    )
    rows = bq_client.query_and_wait(f"SELECT id, label FROM {dataset}.copy ORDER BY id")
    assert [tuple(row.values()) for row in rows] == [(1, "a"), (2, "b"), (3, "none")]
    assert bq_client.get_table(f"{dataset}.base").num_rows == 1
    clone = bq_client.get_table(f"{dataset}.copy")
    assert [(f.name, f.mode, f.description) for f in clone.schema] == [
        ("id", "REQUIRED", "the key"),
        ("label", "NULLABLE", None),
    ]
    assert (clone.clustering_fields, clone.description, clone.labels) == (
        ["id"],
        "the base",
        {"team": "data"},
    )
    assert clone._properties["cloneDefinition"]["baseTableReference"]["tableId"] == "base"
    dry = bq_client.query(
        f"CREATE TABLE {dataset}.dry_copy CLONE {dataset}.base",
        job_config=bigquery.QueryJobConfig(dry_run=True),
    )
    assert [field.name for field in dry.schema] == ["id", "label"]
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(f"{dataset}.dry_copy")
    bq_client.query_and_wait(f"CREATE VIEW {dataset}.base_view AS SELECT id FROM {dataset}.base")
    with pytest.raises(exceptions.BadRequest, match="only tables can be cloned"):
        bq_client.query_and_wait(f"CREATE TABLE {dataset}.view_copy CLONE {dataset}.base_view")


def test_copy_jobs_copy_tables_by_their_dispositions_and_clone_them(bq_client, dataset):
    bq_client.query_and_wait(
        f"""CREATE TABLE {dataset}.jan PARTITION BY day CLUSTER BY id OPTIONS (description = 'January')
              AS SELECT 1 AS id, DATE '2024-01-01' AS day UNION ALL SELECT 2, DATE '2024-01-02';
            CREATE TABLE {dataset}.feb AS SELECT 3 AS id, DATE '2024-02-01' AS day;
            CREATE TABLE {dataset}.other AS SELECT 'x' AS name"""
    )
    jan, feb, both = (f"{PROJECT}.{dataset}.{name}" for name in ("jan", "feb", "both"))

    def copy(sources, **settings):
        return bq_client.copy_table(sources, both, job_config=bigquery.CopyJobConfig(**settings)).result()

    assert copy([jan, feb]).state == "DONE"

    def ids():
        (row,) = bq_client.query_and_wait(f"SELECT ARRAY_AGG(id ORDER BY id) AS ids FROM {dataset}.both")
        return row["ids"]

    assert ids() == [1, 2, 3]
    table = bq_client.get_table(both)
    assert (table.time_partitioning.field, table.clustering_fields, table.description) == (
        "day",
        ["id"],
        None,
    )
    with pytest.raises(exceptions.Conflict, match=f"Already Exists: Table {PROJECT}:{dataset}.both"):
        copy(feb)
    copy(feb, write_disposition="WRITE_APPEND")
    assert ids() == [1, 2, 3, 3]
    copy(feb, write_disposition="WRITE_TRUNCATE")
    assert ids() == [3]
    with pytest.raises(exceptions.BadRequest, match="Provided Schema does not match Table"):
        copy(f"{PROJECT}.{dataset}.other", write_disposition="WRITE_APPEND")
    with pytest.raises(exceptions.NotFound, match="missing was not found"):
        bq_client.copy_table(
            jan,
            f"{PROJECT}.{dataset}.missing",
            job_config=bigquery.CopyJobConfig(create_disposition="CREATE_NEVER"),
        ).result()
    clone = bigquery.CopyJobConfig(operation_type=bigquery.OperationType.CLONE)
    bq_client.copy_table(jan, f"{PROJECT}.{dataset}.jan_clone", job_config=clone).result()
    cloned = bq_client.get_table(f"{PROJECT}.{dataset}.jan_clone")
    assert (cloned.num_rows, cloned.clone_definition.base_table_reference.table_id) == (2, "jan")


def test_integer_range_partitioning_by_ddl_and_by_rest(bq_client, dataset):
    bq_client.query_and_wait(
        f"""CREATE TABLE {dataset}.by_user PARTITION BY RANGE_BUCKET(user_id, GENERATE_ARRAY(0, 100, 10))
            AS SELECT 5 AS user_id, 'a' AS s UNION ALL SELECT 250, 'b'"""
    )
    table = bq_client.get_table(f"{dataset}.by_user")
    spec = table.range_partitioning
    assert (spec.field, spec.range_.start, spec.range_.end, spec.range_.interval, table.num_rows) == (
        "user_id",
        0,
        100,
        10,
        2,
    )
    made = bigquery.Table(f"{PROJECT}.{dataset}.by_rest", schema=[bigquery.SchemaField("n", "INT64")])
    made.range_partitioning = bigquery.RangePartitioning(bigquery.PartitionRange(-50, 50, 5), field="n")
    assert bq_client.create_table(made).range_partitioning.range_.start == -50
    for column, bounds, message in [
        ("s", "0, 100, 10", "must partition by an INT64 column; s is STRING"),
        ("n", "0, 100000, 1", "makes more than 10000 partitions"),
    ]:
        with pytest.raises(exceptions.BadRequest, match=message):
            bq_client.query_and_wait(
                f"CREATE TABLE {dataset}.bad (n INT64, s STRING) "
                f"PARTITION BY RANGE_BUCKET({column}, GENERATE_ARRAY({bounds}))"
            )
    made = bigquery.Table(f"{PROJECT}.{dataset}.bad_rest", schema=[bigquery.SchemaField("s", "STRING")])
    made.range_partitioning = bigquery.RangePartitioning(bigquery.PartitionRange(0, 10, 1), field="s")
    with pytest.raises(exceptions.BadRequest, match=r"rangePartitioning\.field must be an INT64 field"):
        bq_client.create_table(made)


def test_table_snapshots_keep_the_rows_of_their_time_read_only_and_restore_them(bq_client, dataset):
    base, snap = f"{PROJECT}.{dataset}.base", f"{PROJECT}.{dataset}.base_snap"
    bq_client.query_and_wait(
        f"""CREATE TABLE `{base}` AS SELECT 1 AS id UNION ALL SELECT 2;
            CREATE SNAPSHOT TABLE `{snap}` CLONE `{base}`;
            DELETE FROM `{base}` WHERE id = 2; INSERT INTO `{base}` VALUES (3)"""
    )

    def ids(table):
        return sorted(row["id"] for row in bq_client.list_rows(table))

    assert (ids(base), ids(snap)) == ([1, 3], [1, 2])
    snapshot = bq_client.get_table(snap)
    assert (snapshot.table_type, snapshot.snapshot_definition.base_table_reference.table_id) == (
        "SNAPSHOT",
        "base",
    )
    with pytest.raises(exceptions.BadRequest, match="table snapshots are read-only"):
        bq_client.query_and_wait(f"INSERT INTO `{snap}` VALUES (9)")
    with pytest.raises(exceptions.BadRequest, match="is a table snapshot; use DROP SNAPSHOT TABLE"):
        bq_client.query_and_wait(f"DROP TABLE `{snap}`")
    bq_client.query_and_wait(f"CREATE TABLE `{base}_restored` CLONE `{snap}`")
    assert ids(f"{base}_restored") == [1, 2]

    by_job = bigquery.CopyJobConfig(
        operation_type=bigquery.OperationType.SNAPSHOT, destination_expiration_time="2030-01-01T00:00:00Z"
    )
    bq_client.copy_table(base, f"{snap}_2", job_config=by_job).result()
    assert bq_client.get_table(f"{snap}_2").expires == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    restore = bigquery.CopyJobConfig(
        operation_type=bigquery.OperationType.RESTORE, write_disposition="WRITE_TRUNCATE"
    )
    bq_client.copy_table(snap, base, job_config=restore).result()
    assert ids(base) == [1, 2]
    with pytest.raises(exceptions.BadRequest, match="RESTORE copies table snapshots"):
        bq_client.copy_table(base, f"{base}_other", job_config=restore).result()
    bq_client.query_and_wait(f"DROP SNAPSHOT TABLE `{snap}`; DROP SNAPSHOT TABLE IF EXISTS `{snap}`")
    with pytest.raises(exceptions.NotFound):
        bq_client.get_table(snap)
