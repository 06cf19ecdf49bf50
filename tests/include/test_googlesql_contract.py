"""Every statement the DAG sends, for a matrix of settings, is analyzed by Google's ZetaSQL as BigQuery would.

Each job is rendered as Airflow renders it (scripts/dag_statements.py), split as BigQuery splits a script
and analyzed with BigQuery's language options against a catalog of the tables' declared schemas: the
pipeline's tables from plugins/segmentation/tables.py (published and staged), segment_personas from its
DDL, the thelook source as local_bigquery's sample declares the public dataset, a transactions table of
the mapped types, and BigQuery ML's table functions as their documentation pages declare them. All of it
runs in one ZetaSQL process (tests/googlesql.py). What ZetaSQL cannot check is in
test_googlesql_rules.py.
"""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot import exp

from local_bigquery import dialect
from local_bigquery.samples import thelook
from scripts.dag_statements import Job
from segmentation.config import PipelineConfig
from segmentation.features import (
    FEATURE_BOUNDS,
    ORDER_HISTORY,
    feature_bounds_columns,
    feature_columns,
    order_history_columns,
)
from segmentation.paths import sql_dir
from segmentation.sources import googlesql_type
from segmentation.tables import (
    MODEL,
    PERSONAS,
    RUN_COSTS,
    VALUE_BACKTEST_MODEL,
    VALUE_MODEL,
    partitioned_tables,
)
from tests import googlesql
from tests.googlesql_configs import (
    CONFIGS,
    DATASET,
    LOGICAL_DATE,
    PROJECT,
    TRANSACTIONS_SCHEMAS,
    TRANSACTIONS_TABLE,
    rendered_jobs,
)

pytestmark = pytest.mark.slow

DISTANCES = "ARRAY<STRUCT<centroid_id INT64, distance FLOAT64>>"


def declared_tables(name: str, config: PipelineConfig) -> list[dict]:
    """The tables a run of `config` reads, with the columns their declarations give them."""
    ds_nodash = LOGICAL_DATE.strftime("%Y%m%d")
    tables = []
    for table in partitioned_tables(config):
        columns = [[column.name, column.type] for column in table.columns]
        tables.append({"path": [PROJECT, DATASET, table.name], "columns": columns})
        tables.append({"path": [PROJECT, DATASET, f"_staging_{table.name}_{ds_nodash}"], "columns": columns})
    history = [[column.name, column.type] for column in order_history_columns(config)]
    tables.append({"path": [PROJECT, DATASET, f"_staging_{ORDER_HISTORY}_{ds_nodash}"], "columns": history})
    bounds = [[column.name, column.type] for column in feature_bounds_columns(config)]
    tables.append({"path": [PROJECT, DATASET, f"_staging_{FEATURE_BOUNDS}_{ds_nodash}"], "columns": bounds})
    for training, columns in value_training_tables(config).items():
        tables.append({"path": [PROJECT, DATASET, f"_staging_{training}_{ds_nodash}"], "columns": columns})
    for own_table, ddl in ((PERSONAS, "segment_personas_table.sql"), (RUN_COSTS, "run_costs_table.sql")):
        tables.append({"path": [PROJECT, DATASET, own_table], "columns": ddl_columns(ddl, own_table)})
    for source in thelook.TABLES:
        columns = [
            [field["name"], googlesql_type(field["type"])] for field in thelook.bigquery_schema(source)
        ]
        tables.append({"path": ["bigquery-public-data", "thelook_ecommerce", source], "columns": columns})
    if name in TRANSACTIONS_SCHEMAS:
        tables.append({"path": TRANSACTIONS_TABLE.split("."), "columns": TRANSACTIONS_SCHEMAS[name]})
    return tables


def value_features(config: PipelineConfig) -> list[list[str]]:
    """What include/sql/value_model_features.sql selects."""
    logs = [
        "log_recency_days",
        "log_frequency",
        "log_monetary",
        "log_avg_order_value",
        "log_frequency_x_log_recency",
        "log_frequency_x_log_order_value",
        "log_recency_x_log_monetary",
        "log_frequency_squared",
        "log_recency_squared",
        "log_monetary_squared",
    ]
    return [
        ["customer_id", "INT64"],
        *([feature.name, feature.type] for feature in feature_columns(config)),
        *([name, "FLOAT64"] for name in logs),
    ]


def value_training_tables(config: PipelineConfig) -> dict[str, list[list[str]]]:
    """The customer value models' staged training rows: their features (recent spend too) and label."""
    rows = [
        *value_features(config),
        ["recent_value", "FLOAT64"],
        ["log_recent_value", "FLOAT64"],
        ["log_recent_value_x_log_recency", "FLOAT64"],
        ["future_value", "FLOAT64"],
    ]
    return {"customer_value_backtest_training": rows, "customer_value_training": rows}


def ddl_columns(file_name: str, table: str) -> list[list[str]]:
    """A table created by its own DDL file (the persona step's, the cost ledger's), as the DDL declares it."""
    statements = sqlglot.parse(
        (sql_dir() / file_name).read_text().replace(f"{{{{ table('{table}') }}}}", "t"), read="bigquery"
    )
    create = next(statement for statement in statements if isinstance(statement, exp.Create))
    return [[column.name, column.args["kind"].sql("bigquery")] for column in create.find_all(exp.ColumnDef)]


def bigquery_ml(config: PipelineConfig) -> list[dict]:
    """BigQuery ML's functions for the model `config` trains, with the output columns their pages document.

    ML.PREDICT for k-means returns the input's columns, centroid_id and nearest_centroids_distance
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-predict#k-means).
    ML.CENTROIDS returns trial_id (tuned models only), centroid_id, feature, numerical_value,
    categorical_value and geography_value
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids#output).
    ML.EVALUATE for k-means returns davies_bouldin_index and mean_squared_distance, and trial_id on tuned
    models (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate#output,
    https://cloud.google.com/bigquery/docs/hp-tuning-overview). ML.TRIAL_INFO returns one row per trial
    (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-trial-info#output).
    """
    tuned = [["trial_id", "INT64"]] if config.k_range else []
    model_input = [["customer_id", "INT64"]] + [
        ["log_monetary", "FLOAT64"]
        if feature.name == "monetary" and config.log_transform_monetary
        else [feature.name, feature.type]
        for feature in feature_columns(config)
    ]
    settings = ["MODEL", "OPTIONAL ANY"]
    # One ML.PREDICT serves both models here, so it declares the columns of both: the customer value
    # model's (a linear regression) are its input's and predicted_<label>
    # (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-predict#output).
    value_input = value_training_tables(config)["customer_value_training"]
    names = {name for name, _ in model_input}
    value_prediction = [column for column in value_input if column[0] not in names]
    value_prediction.append(["predicted_transformed_future_value", "FLOAT64"])
    return [
        {
            "name": "ML.PREDICT",
            "arguments": ["MODEL", "TABLE", "OPTIONAL ANY"],
            "columns": [
                *model_input,
                ["centroid_id", "INT64"],
                ["nearest_centroids_distance", DISTANCES],
                *value_prediction,
            ],
        },
        {
            "name": "ML.CENTROIDS",
            "arguments": settings,
            "columns": [
                *tuned,
                ["centroid_id", "INT64"],
                ["feature", "STRING"],
                ["numerical_value", "FLOAT64"],
                ["categorical_value", "ARRAY<STRUCT<category STRING, value STRING>>"],
                ["geography_value", "STRING"],
            ],
        },
        {
            "name": "ML.EVALUATE",
            "arguments": settings,
            "columns": [*tuned, ["davies_bouldin_index", "FLOAT64"], ["mean_squared_distance", "FLOAT64"]],
        },
        {
            "name": "ML.TRAINING_INFO",
            "arguments": ["MODEL"],
            "columns": [
                *tuned,
                ["training_run", "INT64"],
                ["iteration", "INT64"],
                ["loss", "FLOAT64"],
                ["eval_loss", "FLOAT64"],
                ["duration_ms", "INT64"],
                [
                    "cluster_info",
                    "ARRAY<STRUCT<centroid_id INT64, cluster_radius FLOAT64, cluster_size INT64>>",
                ],
            ],
        },
        {
            "name": "ML.TRIAL_INFO",
            "arguments": ["MODEL"],
            "columns": [
                ["trial_id", "INT64"],
                ["hyperparameters", "STRUCT<num_clusters INT64>"],
                ["hparam_tuning_evaluation_metrics", "STRUCT<davies_bouldin_index FLOAT64>"],
                ["training_loss", "FLOAT64"],
                ["eval_loss", "FLOAT64"],
                ["status", "STRING"],
                ["error_message", "STRING"],
                ["is_optimal", "BOOL"],
            ],
        },
    ]


# CREATE MODEL's hyperparameter tuning values (bigqueryml-syntax-create-kmeans#num_clusters).
HPARAM_FUNCTIONS = [
    {"name": "HPARAM_RANGE", "arguments": ["INT64", "INT64"], "returns": "INT64"},
    {"name": "HPARAM_CANDIDATES", "arguments": ["ARRAY<INT64>"], "returns": "INT64"},
]


def case(name: str, jobs: list[Job], config: PipelineConfig) -> dict:
    return {
        "name": name,
        "tables": declared_tables(name, config),
        # The served models, and the run's own staging models that its jobs train, evaluate and predict with.
        "models": [
            {"path": [PROJECT, DATASET, name]}
            for name in (
                MODEL,
                VALUE_MODEL,
                *(
                    f"_staging_{model}_{LOGICAL_DATE:%Y%m%d}"
                    for model in (MODEL, VALUE_MODEL, VALUE_BACKTEST_MODEL)
                ),
            )
        ],
        "tvfs": bigquery_ml(config),
        "functions": HPARAM_FUNCTIONS,
        "statements": [
            {"id": job.task_id, "sql": job.sql, "parameters": job.parameter_types} for job in jobs
        ],
    }


def job(jobs: list[Job], task_id: str) -> Job:
    return next(job for job in jobs if job.task_id == task_id)


def negative_controls(jobs: list[Job]) -> list[Job]:
    """Broken variants of real jobs, each of which the analysis must refuse or the type check flag."""
    history = job(jobs, f"source.stage_{ORDER_HISTORY}")
    features = job(jobs, "features.stage_customer_features")
    view = job(jobs, "publish_current_view")

    def variant(task_id: str, original: Job, old: str, new: str) -> Job:
        assert old in original.sql, (task_id, old)
        return Job(task_id, original.sql.replace(old, new, 1), original.parameters)

    return [
        variant(
            "wrong-column",
            features,
            "last_ordered_at_0d_before, DAY) AS recency_days",
            "last_ordered_0d_before, DAY) AS recency_days",
        ),
        variant(
            "date-vs-timestamp",
            history,
            "WHERE item.created_at < TIMESTAMP '2024-03-01 00:00:00+00:00'",
            "WHERE item.created_at < DATE '2024-03-01'",
        ),
        variant(
            "float-frequency",
            features,
            "orders_0d_before AS frequency",
            "CAST(orders_0d_before AS FLOAT64) AS frequency",
        ),
        Job(
            "parameter-in-view",
            view.sql.replace(
                "WHERE segments.snapshot_date = (", "WHERE segments.snapshot_date = @latest AND (", 1
            ),
            ({"name": "latest", "parameterType": {"type": "DATE"}},),
        ),
    ]


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Job]]:
    return rendered_jobs()


@pytest.fixture(scope="module")
def analysis(rendered) -> dict[str, dict[str, list[dict]]]:
    """ZetaSQL's results for every config's jobs plus the negative controls, from one process."""
    configs = {name: PipelineConfig.model_validate(conf) for name, conf in CONFIGS.items()}
    cases = [case(name, rendered[name], configs[name]) for name in CONFIGS]
    cases.append(case("negative", negative_controls(rendered["default"]), configs["default"]))
    return googlesql.run({"cases": cases})["cases"]


def errors(results: dict[str, list[dict]]) -> dict[str, str]:
    return {
        f"{task_id} #{index}: {result['sql'][:200]!r}": result["error"]
        for task_id, statements in results.items()
        for index, result in enumerate(statements)
        if result["error"]
    }


def type_mismatches(analyzed: list[list[str]], declared: list[list[str]]) -> list[str]:
    """Where a staged table's analyzed columns differ from its declared columns, in name, order or type."""
    problems = [
        f"column {index}: analyzed {got}, declared {want}"
        for index, (got, want) in enumerate(zip(analyzed, declared, strict=False))
        if [got[0].casefold(), got[1]] != [want[0].casefold(), want[1]]
    ]
    if len(analyzed) != len(declared):
        problems.append(f"{len(analyzed)} columns analyzed, {len(declared)} declared")
    return problems


def staged_columns(analysis, config: str, table: str) -> list[list[str]]:
    (statement,) = analysis[config][f"{table_task(table)}"]
    assert statement["kind"] == "create_table_as_select_stmt", statement
    return statement["columns"]


def table_task(table: str) -> str:
    group = {
        "customer_features": "features",
        "model_evaluations": "model",
        "customer_value_predictions": "customer_value",
        "value_model_evaluations": "customer_value",
        "segment_transitions": "changes",
        "segment_membership_changes": "changes",
    }.get(table, "segments")
    return f"{group}.stage_{table}"


@pytest.mark.parametrize("config", CONFIGS)
def test_every_statement_of_every_job_is_valid_googlesql(rendered, analysis, config):
    assert errors(analysis[config]) == {}
    assert set(analysis[config]) == {job.task_id for job in rendered[config]}


@pytest.mark.parametrize("config", CONFIGS)
def test_scripts_are_split_into_their_statements(rendered, analysis, config):
    for job in rendered[config]:
        assert len(analysis[config][job.task_id]) == len(dialect.parse(job.sql)), job.task_id
    kinds = [statement["kind"] for statement in analysis[config]["publish_snapshot"]]
    commit = kinds.index("commit_stmt")
    assert kinds[0] == "begin_stmt"
    assert set(kinds[1:commit]) == {"delete_stmt", "insert_stmt"}
    assert set(kinds[commit + 1 :]) == {"drop_stmt"}


@pytest.mark.parametrize("config", CONFIGS)
def test_staged_tables_have_exactly_the_published_tables_declared_types(analysis, config):
    problems = {}
    for table in partitioned_tables(PipelineConfig.model_validate(CONFIGS[config])):
        declared = [[column.name, column.type] for column in table.columns]
        if mismatches := type_mismatches(staged_columns(analysis, config, table.name), declared):
            problems[table.name] = mismatches
    assert problems == {}


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize(
    ("task_id", "declared_columns"),
    [
        pytest.param(f"source.stage_{ORDER_HISTORY}", order_history_columns, id="order_history"),
        pytest.param(f"features.stage_{FEATURE_BOUNDS}", feature_bounds_columns, id="clipping_bounds"),
    ],
)
def test_the_run_s_own_staged_tables_have_their_declared_types(analysis, config, task_id, declared_columns):
    declared = [
        [column.name, column.type]
        for column in declared_columns(PipelineConfig.model_validate(CONFIGS[config]))
    ]
    (statement,) = analysis[config][task_id]
    assert type_mismatches(statement["columns"], declared) == []


@pytest.mark.parametrize(
    ("control", "message"),
    [
        ("wrong-column", "Unrecognized name: last_ordered_0d_before"),
        ("date-vs-timestamp", "No matching signature for operator <"),
        ("parameter-in-view", "Query parameters cannot be used inside SQL view bodies"),
    ],
)
def test_the_analysis_refuses_broken_sql(analysis, control, message):
    (result,) = analysis["negative"][control]
    assert message in (result["error"] or ""), result


def test_the_type_check_flags_a_staged_column_of_another_type(analysis):
    (statement,) = analysis["negative"]["float-frequency"]
    assert statement["error"] is None
    declared = [[c.name, c.type] for c in partitioned_tables(PipelineConfig())[0].columns]
    assert type_mismatches(statement["columns"], declared) == [
        "column 3: analyzed ['frequency', 'FLOAT64'], declared ['frequency', 'INT64']"
    ]
