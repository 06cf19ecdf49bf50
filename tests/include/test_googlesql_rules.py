"""BigQuery rules ZetaSQL's analyzer does not check, as documented allow-lists over every job of the DAG.

ZetaSQL accepts any OPTIONS name and knows nothing of BigQuery's transactions or where BigQuery refuses
query parameters, so these read the rendered jobs (scripts/dag_statements.py) with sqlglot.
"""

from __future__ import annotations

import pytest
from sqlglot import exp

from local_bigquery import dialect
from scripts.dag_statements import Job
from segmentation.tables import MODEL
from tests.googlesql_configs import CONFIGS, rendered_jobs

# Every option of "The CREATE MODEL statement for K-means models"
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-kmeans#create_model_syntax).
# labels and description are not among them: they are ALTER MODEL SET OPTIONS options
# (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-alter-model).
KMEANS_OPTIONS = frozenset({
    "model_type",
    "num_clusters",
    "kmeans_init_method",
    "kmeans_init_col",
    "distance_type",
    "standardize_features",
    "max_iterations",
    "early_stop",
    "min_rel_progress",
    "warm_start",
    "num_trials",
    "max_parallel_trials",
    "hparam_tuning_algorithm",
    "hparam_tuning_objectives",
    "model_registry",
    "vertex_ai_model_id",
    "vertex_ai_model_version_aliases",
    "kms_key_name",
})  # fmt: skip
# What a multi-statement transaction may hold: queries and DML (temporary tables aside, which the DAG
# does not use). https://cloud.google.com/bigquery/docs/transactions#statements_supported_in_transactions
IN_TRANSACTION = (exp.Select, exp.Union, exp.Insert, exp.Update, exp.Delete, exp.Merge)
DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge)
# Query parameters stand for values in queries and DML only: never for identifiers, and not in DDL, whose
# results outlive the job (a view body, a table or model definition, OPTIONS).
# https://cloud.google.com/bigquery/docs/parameterized-queries
PARAMETER_STATEMENTS = (exp.Select, exp.Union, exp.Insert, exp.Update, exp.Delete, exp.Merge)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Job]]:
    return rendered_jobs()


def every_job(rendered):
    return [(name, job) for name, jobs in rendered.items() for job in jobs]


def model_options(sql: str) -> set[str]:
    """The OPTIONS of the job's CREATE MODEL statement (its first)."""
    create, *_ = dialect.parse(sql)
    assert isinstance(create, exp.Create) and create.kind == "MODEL"
    return {prop.name.lower() for prop in create.args["properties"].expressions}


def test_the_option_check_sees_every_option():
    sql = "CREATE MODEL `p.d.m` OPTIONS (model_type = 'KMEANS', labels = [('a', 'b')]) AS SELECT 1 AS x"
    assert model_options(sql) == {"model_type", "labels"}


@pytest.mark.parametrize("config", CONFIGS)
def test_create_model_uses_only_documented_kmeans_options(rendered, config):
    (train,) = [job for job in rendered[config] if job.task_id == f"model.train_{MODEL}"]
    assert model_options(train.sql) - KMEANS_OPTIONS == set()
    # Labels and description are set where BigQuery documents them: ALTER MODEL ... SET OPTIONS.
    (alter,) = [s for s in dialect.parse(train.sql) if isinstance(s, dialect.AlterModel)]
    assert {prop.name.lower() for prop in alter.args["properties"].expressions} == {"labels", "description"}


def test_dml_runs_only_inside_one_transaction_of_queries_and_dml(rendered):
    """A job of several statements changes tables only between BEGIN and COMMIT, nothing else in there."""
    for config, job in every_job(rendered):
        statements = dialect.parse(job.sql)
        if len(statements) == 1:
            continue
        inside = False
        for statement in statements:
            if isinstance(statement, exp.Transaction):
                assert not inside, (config, job.task_id, "nested BEGIN")
                inside = True
            elif isinstance(statement, exp.Commit):
                assert inside, (config, job.task_id, "COMMIT without BEGIN")
                inside = False
            elif inside:
                assert isinstance(statement, IN_TRANSACTION), (config, job.task_id, statement.sql()[:80])
            else:
                assert not isinstance(statement, DML), (config, job.task_id, statement.sql()[:80])
        assert not inside, (config, job.task_id, "BEGIN without COMMIT")


def test_query_parameters_only_where_bigquery_allows_them(rendered):
    parameterized = set()
    for config, job in every_job(rendered):
        for statement in dialect.parse(job.sql):
            used = {parameter.name for parameter in statement.find_all(exp.Parameter, exp.Placeholder)}
            if not used:
                continue
            assert isinstance(statement, PARAMETER_STATEMENTS), (config, job.task_id, sorted(used))
            assert used <= set(job.parameter_types), (config, job.task_id, sorted(used))
            parameterized.add(job.task_id)
    assert {"personas.generate_personas:merge", "report:customer_sample"} <= parameterized


def test_the_rules_catch_what_they_forbid():
    ddl_in_transaction = "BEGIN TRANSACTION; CREATE TABLE `p.d.t` (x INT64); COMMIT TRANSACTION"
    statements = dialect.parse(ddl_in_transaction)
    assert not isinstance(statements[1], IN_TRANSACTION)
    (view,) = dialect.parse("CREATE VIEW `p.d.v` AS SELECT * FROM `p.d.t` WHERE x = @x")
    assert list(view.find_all(exp.Parameter, exp.Placeholder)) and not isinstance(view, PARAMETER_STATEMENTS)
