"""Every SQL file, rendered as the DAG's tasks render it for production-like settings, is valid GoogleSQL.

Parsing uses sqlglot's BigQuery dialect as local_bigquery extends it with the BigQuery ML table functions
(ML.EVALUATE, ML.CENTROIDS, ML.TRIAL_INFO) that sqlglot does not know; statements without them must also
parse with plain sqlglot.
"""

from __future__ import annotations

import re

import pendulum
import pytest
import sqlglot
from airflow.dag_processing.dagbag import DagBag
from sqlglot import exp

from local_bigquery import dialect
from segmentation.config import ConfigError, PipelineConfig
from segmentation.features import (
    DEMOGRAPHIC_FEATURES,
    FEATURE_BOUNDS,
    ORDER_HISTORY,
    feature_bounds_columns,
    order_history_columns,
)
from segmentation.retries import GATE_FAILED
from segmentation.tables import (
    CURRENT_VIEW,
    MODEL,
    PERSONAS,
    VALUE_MODEL,
    VALUE_TRAINING_TABLES,
    partitioned_table,
    partitioned_tables,
)
from segmentation.templating import sql_string
from tests.conftest import ROOT

SQL_DIR = ROOT / "include" / "sql"
PARTITIONED_TABLES = [table.name for table in partitioned_tables(PipelineConfig())]
CUT_OFF = pendulum.datetime(2024, 3, 1, tz="UTC")

PRODUCTION = {"project_id": "acme-analytics", "dataset": "segmentation", "location": "EU"}
CONFIGS = {
    "base": PRODUCTION,
    "extended-tuned-log": {
        **PRODUCTION,
        "feature_set": "extended",
        "num_clusters": None,
        "k_min": 3,
        "k_max": 8,
        "log_transform_monetary": True,
    },
    "connection-project": {**PRODUCTION, "project_id": ""},
}
PLAIN_SQLGLOT_UNKNOWN = ("ML.EVALUATE", "ML.CENTROIDS", "ML.TRIAL_INFO")


@pytest.fixture(scope="module")
def dag():
    bag = DagBag(dag_folder=str(ROOT / "dags" / "customer_segmentation.py"))
    assert bag.import_errors == {}
    return bag.dags["customer_segmentation"]


def bigquery_tasks(dag):
    return [task for task in dag.tasks if hasattr(task, "configuration")]


def render(dag, task, conf: dict, template: str | None = None) -> str:
    """What the task sends to BigQuery for a run on CUT_OFF's date with `conf`."""
    params = {name: task.params[name] for name in task.params} | conf
    context = {
        "params": params,
        "ds": CUT_OFF.to_date_string(),
        "ds_nodash": CUT_OFF.format("YYYYMMDD"),
        "data_interval_start": CUT_OFF,
        "data_interval_end": CUT_OFF,
    }
    return task.render_template(
        template or task.configuration["query"]["query"], context, dag.get_template_env()
    )


@pytest.fixture(scope="module")
def rendered(dag) -> dict[tuple[str, str], str]:
    return {
        (name, task.task_id): render(dag, task, conf)
        for name, conf in CONFIGS.items()
        for task in bigquery_tasks(dag)
    }


def test_every_task_renders_to_valid_googlesql(rendered):
    for (config, task_id), sql in rendered.items():
        statements = dialect.parse(sql)
        assert statements, (config, task_id)
        if not any(function in sql for function in PLAIN_SQLGLOT_UNKNOWN):
            sqlglot.parse(sql, read="bigquery")


def test_one_file_per_table_model_and_view_named_after_it(dag):
    staged = {task.params["table"] for task in bigquery_tasks(dag) if "table" in task.params}
    assert staged == {*PARTITIONED_TABLES, *VALUE_TRAINING_TABLES, ORDER_HISTORY, FEATURE_BOUNDS}
    for name in [
        *PARTITIONED_TABLES,
        *VALUE_TRAINING_TABLES,
        ORDER_HISTORY,
        FEATURE_BOUNDS,
        MODEL,
        VALUE_MODEL,
        CURRENT_VIEW,
    ]:
        assert (SQL_DIR / f"{name}.sql").is_file(), name


def test_no_clock_reads(rendered):
    """Recency and windows are measured to the data interval end, so a backfill reproduces its day."""
    for (config, task_id), sql in rendered.items():
        assert not re.search(r"CURRENT_(DATE|TIMESTAMP|DATETIME|TIME)\b", sql, re.I), (
            config,
            task_id,
        )


def test_features_are_cut_off_at_the_data_interval_end(rendered):
    history = rendered["base", "source.stage_customer_order_history"]
    assert "WHERE item.created_at < TIMESTAMP '2024-03-01 00:00:00+00:00'" in history
    sql = rendered["base", "features.stage_customer_features"]
    assert (
        "TIMESTAMP_DIFF(TIMESTAMP '2024-03-01 00:00:00+00:00', last_ordered_at_0d_before, DAY) AS recency_days"
        in sql
    )


def test_a_manual_run_in_the_afternoon_is_cut_off_at_the_start_of_its_day(dag):
    """A run triggered by hand at 13:47 (the trigger form's "now") snapshots its day as the scheduled run
    of that day does: every cut-off, the gates' included, is 00:00 UTC."""
    afternoon = CUT_OFF.add(hours=13, minutes=47)
    for task_id in ("features.stage_customer_features", "source.check_freshness", "source.check_values"):
        task = dag.get_task(task_id)
        context = {
            "params": {name: task.params[name] for name in task.params},
            "ds": afternoon.to_date_string(),
            "ds_nodash": afternoon.format("YYYYMMDD"),
            "data_interval_start": afternoon,
            "data_interval_end": afternoon,
        }
        sql = task.render_template(task.configuration["query"]["query"], context, dag.get_template_env())
        assert "2024-03-01 00:00:00+00:00" in sql, task_id
        assert "13:47" not in sql, task_id


def _tables(sql: str) -> set[tuple[str, str, str]]:
    statements = dialect.parse(sql)
    ctes = {cte.alias for statement in statements for cte in statement.find_all(exp.CTE)}
    return {
        (table.catalog, table.db, table.name)
        for statement in statements
        for table in statement.find_all(exp.Table)
        if table.name not in ctes and table.name
    }


@pytest.mark.parametrize("config", ["base", "extended-tuned-log"])
def test_every_table_is_in_the_configured_dataset_or_the_source(rendered, config):
    allowed = {("acme-analytics", "segmentation"), ("bigquery-public-data", "thelook_ecommerce")}
    tables = {table for (name, _), sql in rendered.items() if name == config for table in _tables(sql)}
    assert {(catalog, db) for catalog, db, _ in tables} == allowed
    # The run trains, predicts and evaluates with its own staging model; publish_model serves it later.
    assert ("acme-analytics", "segmentation", "_staging_customer_segments_kmeans_20240301") in tables


def test_without_a_project_names_resolve_in_the_connections_project(rendered):
    sql = rendered["connection-project", "publish_snapshot"]
    assert "DELETE FROM `segmentation.customer_features`" in sql
    assert "acme-analytics" not in sql


@pytest.mark.parametrize("config", ["base", "extended-tuned-log"])
@pytest.mark.parametrize("table", PARTITIONED_TABLES)
def test_staged_columns_are_the_documented_columns(dag, config, table):
    task = next(task for task in bigquery_tasks(dag) if task.task_id.endswith(f"stage_{table}"))
    (create,) = dialect.parse(render(dag, task, CONFIGS[config]))
    query = create.expression
    documented = partitioned_table(PipelineConfig.from_params(CONFIGS[config]), table).column_names
    assert tuple(query.named_selects) == documented


@pytest.mark.parametrize("config", ["base", "extended-tuned-log"])
def test_the_order_history_holds_the_declared_columns(dag, config):
    (create,) = dialect.parse(
        render(dag, dag.get_task("source.stage_customer_order_history"), CONFIGS[config])
    )
    settings = PipelineConfig.from_params(CONFIGS[config])
    (history,) = [cte.this for cte in create.find_all(exp.CTE) if cte.alias == "history"]
    customers = [column.name for column in DEMOGRAPHIC_FEATURES] if settings.feature_set == "extended" else []
    declared = [column.name for column in order_history_columns(settings)]
    assert [*history.named_selects, *customers] == declared


@pytest.mark.parametrize("config", CONFIGS)
def test_publishing_replaces_exactly_the_runs_partitions_in_one_transaction(rendered, config):
    statements = sqlglot.parse(rendered[config, "publish_snapshot"], read="bigquery")
    tables = len(PARTITIONED_TABLES)
    assert [type(statement) for statement in statements] == [
        exp.Transaction,
        *[exp.Delete, exp.Insert] * tables,
        exp.Delete,  # the personas of the segments being replaced
        exp.Commit,
        *[exp.Drop] * tables,
        exp.Drop,  # the run's order history
        exp.Drop,  # the run's clipping bounds
    ]
    deletes = [statement for statement in statements if isinstance(statement, exp.Delete)]
    assert [delete.this.name for delete in deletes] == [*PARTITIONED_TABLES, PERSONAS]
    for delete in deletes:
        assert delete.args["where"].this.sql("bigquery") == "snapshot_date = CAST('2024-03-01' AS DATE)"
    drops = [statement.sql("bigquery") for statement in statements if isinstance(statement, exp.Drop)]
    assert all("_staging_" in drop for drop in drops)


@pytest.mark.parametrize("config", ["base", "extended-tuned-log"])
def test_the_run_computes_its_clipping_bounds_once_and_every_model_input_reads_them(dag, rendered, config):
    """APPROX_QUANTILES is approximate on BigQuery: computed by each job, training and prediction could clip
    at different bounds. Only the bounds' own stage computes them; every other job reads its table."""
    bounds = f"`acme-analytics.segmentation._staging_{FEATURE_BOUNDS}_20240301`"
    stage = f"features.stage_{FEATURE_BOUNDS}"
    jobs = {task_id: sql for (name, task_id), sql in rendered.items() if name == config}
    quantiles = {task_id for task_id, sql in jobs.items() if "APPROX_QUANTILES" in sql}
    assert quantiles == {stage}
    (create,) = dialect.parse(jobs[stage])
    declared = feature_bounds_columns(PipelineConfig.from_params(CONFIGS[config]))
    assert tuple(create.expression.named_selects) == tuple(column.name for column in declared)
    readers = {task_id for task_id, sql in jobs.items() if bounds in sql and task_id != stage}
    assert {
        "model.train_customer_segments_kmeans",
        "model.stage_model_evaluations",
        "segments.stage_customer_segments",
        "segments.stage_segment_centroids",
    } <= readers
    assert readers <= dag.get_task(stage).get_flat_relative_ids(upstream=False)
    # The Python tasks' SQL (the training plan, the segment matching) reads the model input too.
    computing = {
        path.name
        for path in SQL_DIR.rglob("*.sql")
        if re.search(r"APPROX_QUANTILES|include 'feature_bounds", path.read_text())
    }
    assert computing == {f"{FEATURE_BOUNDS}.sql"}


def test_tables_are_created_partitioned_by_snapshot_date_only_if_missing(rendered):
    sql = rendered["extended-tuned-log", "setup.create_tables"]
    creates = re.findall(r"CREATE TABLE (IF NOT EXISTS )?(\S+)", sql)
    assert creates and all(if_not_exists for if_not_exists, _ in creates)
    assert sql.count("PARTITION BY snapshot_date") == len(creates)
    assert "ADD COLUMN IF NOT EXISTS spend_36m_women_dresses FLOAT64" in sql
    # Schema evolution is one ALTER TABLE per table, however many columns the feature set adds.
    evolving = [t.name for t in partitioned_tables(PipelineConfig.from_params(CONFIGS["extended-tuned-log"]))]
    alters = re.findall(r"ALTER TABLE (\S+)", sql)
    assert len(alters) == len(set(alters)) and {alter.split(".")[-1].strip("`") for alter in alters} <= {
        *evolving,
        PERSONAS,
    }
    # The base feature set adds no feature columns, only columns tables gained later: the value columns of
    # profiles, how model_evaluations prepared features, whom a carried-over persona was written for.
    base = rendered["base", "setup.create_tables"]
    assert base.count("ALTER TABLE") == 3 and "ADD COLUMN IF NOT EXISTS avg_predicted_value" in base
    assert "ADD COLUMN IF NOT EXISTS written_for_snapshot DATE" in base
    assert "ADD COLUMN IF NOT EXISTS feature_preparation ARRAY<STRUCT<" in base


def test_tuned_k_uses_a_grid_search_over_the_range_and_fixed_k_does_not(rendered):
    tuned = rendered["extended-tuned-log", "model.train_customer_segments_kmeans"]
    assert "num_clusters = HPARAM_RANGE(3, 8)" in tuned
    assert "num_trials = 6" in tuned
    assert "hparam_tuning_algorithm = 'GRID_SEARCH'" in tuned, "only a grid search promises every k"
    assert "hparam_tuning_objectives = ['DAVIES_BOULDIN_INDEX']" in tuned
    assert (
        "LN(1 + LEAST(GREATEST(features.monetary, bounds.lower_monetary), bounds.upper_monetary)) AS log_monetary"
        in tuned
    )
    assert "CROSS JOIN `acme-analytics.segmentation._staging_feature_bounds_20240301` AS bounds" in tuned
    bounds = rendered["extended-tuned-log", "features.stage_feature_bounds"]
    assert "APPROX_QUANTILES(monetary, 100) AS quantiles_monetary" in bounds
    assert "quantiles_monetary[OFFSET(1)] AS lower_monetary" in bounds
    assert "quantiles_monetary[OFFSET(99)] AS upper_monetary" in bounds
    fixed = rendered["base", "model.train_customer_segments_kmeans"]
    assert "num_clusters = 5\n" in fixed and "HPARAM" not in fixed
    for sql in (tuned, fixed):
        create, alter = dialect.parse(sql)
        assert "kmeans_init_method = 'KMEANS++'" in sql
        assert "standardize_features = TRUE" in sql
        assert "training_rows.* EXCEPT (customer_id)" in sql
        assert "labels" not in create.sql("bigquery") and "description" not in create.sql("bigquery")
        assert isinstance(alter, dialect.AlterModel), "labels and description are set with ALTER MODEL"
    # A tuned model's ML.CENTROIDS holds every trial: whatever reads centroids selects the optimal one.
    for task_id in ("segments.check_customer_segments", "segments.stage_segment_centroids"):
        assert "WHERE is_optimal" in rendered["extended-tuned-log", task_id]
        assert "is_optimal" not in rendered["base", task_id]


class _RunXComs:
    """What the planning and matching tasks of a run returned, as a task instance hands it to templates."""

    def __init__(self, values: dict[str, object]) -> None:
        self.values = values

    def xcom_pull(self, task_ids: str):
        return self.values.get(task_ids)


def test_a_continuing_run_seeds_k_means_with_the_customers_nearest_the_previous_centroids(dag):
    task = dag.get_task("model.train_customer_segments_kmeans")
    plan = {
        "training": "continued",
        "previous_snapshot": "2024-02-29",
        "num_clusters": 4,
        "k_min": 4,
        "k_max": 4,
    }
    context_sql = render_in_run(dag, task, CONFIGS["base"], {"model.plan_training": plan})
    assert len(dialect.parse(context_sql)) == 2
    assert "kmeans_init_method = 'CUSTOM'" in context_sql and "kmeans_init_col = 'is_seed'" in context_sql
    assert "num_clusters = 4" in context_sql and "KMEANS++" not in context_sql
    assert "segment_centroids" in context_sql and "AS is_seed" in context_sql

    mapping = dag.get_task("segments.stage_segment_id_mapping")
    matches = [
        {"centroid_id": 1, "segment_id": 7, "previous_segment_id": 7, "centroid_shift": 0.25},
        {"centroid_id": 2, "segment_id": 9, "previous_segment_id": None, "centroid_shift": None},
    ]
    sql = render_in_run(
        dag, mapping, CONFIGS["base"], {"model.plan_training": plan, "segments.match_segment_ids": matches}
    )
    assert "7 AS segment_id" in sql and "CAST(NULL AS INT64) AS previous_segment_id" in sql
    assert "CAST(0.25 AS FLOAT64) AS centroid_shift" in sql


def test_a_run_whose_planning_task_returned_nothing_refuses_to_render(dag):
    task = dag.get_task("model.train_customer_segments_kmeans")
    with pytest.raises(ValueError, match=r"model\.plan_training has not run for this date"):
        render_in_run(dag, task, CONFIGS["base"], {})


def render_in_run(dag, task, conf: dict, xcoms: dict[str, object]) -> str:
    params = {name: task.params[name] for name in task.params} | conf
    context = {
        "params": params,
        "ds": CUT_OFF.to_date_string(),
        "ds_nodash": CUT_OFF.format("YYYYMMDD"),
        "data_interval_start": CUT_OFF,
        "data_interval_end": CUT_OFF,
        "ti": _RunXComs(xcoms),
    }
    return task.render_template(task.configuration["query"]["query"], context, dag.get_template_env())


def test_every_gate_fails_with_the_marker_the_retry_policy_knows():
    for path in (SQL_DIR / "gates").glob("*.sql"):
        errors = re.findall(r"ERROR\((?:FORMAT\(|CONCAT\()?\s*'([^']*)'", path.read_text())
        assert errors, path.name
        assert all(GATE_FAILED in message for message in errors), path.name


@pytest.mark.parametrize(
    "conf",
    [
        {"dataset": "x`; DROP SCHEMA prod; --"},
        {"project_id": "evil` --"},
        {"source_dataset": "thelook ecommerce"},
        {"spend_categories": [["Men", "Jeans') OR ('1'='1"]], "feature_set": "extended"},
    ],
)
def test_invalid_settings_never_reach_a_rendered_statement(dag, conf):
    task = dag.get_task("features.stage_customer_features")
    with pytest.raises(ConfigError, match="invalid pipeline settings"):
        render(dag, task, conf)


@pytest.mark.parametrize(
    ("macro", "name"),
    [("table", "orders"), ("staging_table", "customer_segments_kmeans"), ("source_table", "secrets")],
)
def test_macros_refuse_names_outside_the_pipeline(dag, macro, name):
    task = dag.get_task("setup.create_tables")
    with pytest.raises(KeyError, match=name):
        render(dag, task, {}, template=f"{{{{ {macro}('{name}') }}}}")


@pytest.mark.parametrize("value", ["plain", "it's", 'say "hi"', "both ' and \"", "back\\slash", "two\nlines"])
def test_sql_string_round_trips_through_the_parser(value):
    (select,) = sqlglot.parse(f"SELECT {sql_string(value)} AS v", read="bigquery")
    assert select.expressions[0].this.this == value


def test_templates_render_the_validated_settings_not_the_raw_params(dag):
    """A run's conf may say 4.0 where an integer is meant; what BigQuery gets is the validated 4."""
    conf = {"num_clusters": 4.0, "freshness_days": 3.0, "max_row_drop_pct": 20}
    train = render(dag, dag.get_task("model.train_customer_segments_kmeans"), conf)
    assert re.search(r"num_clusters = 4\b", train) and "4.0" not in train
    freshness = render(dag, dag.get_task("source.check_freshness"), conf)
    assert "INTERVAL 3 DAY" in freshness and "3.0" not in freshness
    assert "(1 - 20.0 / 100)" in render(dag, dag.get_task("features.check_customer_features"), conf)


def test_no_template_reads_a_setting_from_raw_params():
    """Only the staging tasks' own `table` param is read raw; settings come through config()."""
    for path in SQL_DIR.rglob("*.sql"):
        assert not re.findall(r"params\.(?!table\b)\w+", path.read_text()), path.name
