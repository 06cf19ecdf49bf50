"""The DAG as Airflow parses it: integrity, scheduling, retries, params, task order, assets, parse time."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from datetime import timedelta

import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator
from airflow.sdk import RetryAction
from airflow.utils.file import iter_airflow_imports

from segmentation.alerts import DEADLINE_VARIABLE
from segmentation.config import ENVIRONMENT_VARIABLES, ConfigError, PipelineConfig
from segmentation.personas.profile import ProfileError
from segmentation.retries import FailFastOnBadInput
from segmentation.tables import MODEL, VALUE_MODEL, partitioned_tables
from tests.conftest import ROOT

DAG_FILE = ROOT / "dags" / "customer_segmentation.py"
DAG_ID = "customer_segmentation"
PARTITIONED_TABLES = [table.name for table in partitioned_tables(PipelineConfig())]


def _parse(**environ: str) -> DagBag:
    """The DAG file parsed the way Airflow does, in a deployment whose environment sets `environ`."""
    # Airflow's DAG processor imports the airflow modules a DAG file imports before it parses the file
    # ([dag_processor] parsing_pre_import_modules); the parse time below is measured the same way.
    for module in iter_airflow_imports(str(DAG_FILE)):
        importlib.import_module(module)
    with pytest.MonkeyPatch.context() as patch:
        for variables in ENVIRONMENT_VARIABLES.values():
            for name in variables:
                patch.delenv(name, raising=False)
        for name, value in environ.items():
            patch.setenv(name, value)
        return DagBag(dag_folder=str(DAG_FILE))


@pytest.fixture(scope="module")
def bag() -> DagBag:
    return _parse()


@pytest.fixture(scope="module")
def dag(bag):
    return bag.dags[DAG_ID]


def test_parses_without_import_errors_or_warnings(bag):
    assert bag.import_errors == {}
    assert bag.captured_warnings == {}
    assert list(bag.dags) == [DAG_ID]


def test_parses_in_under_a_second(bag):
    (stat,) = bag.dagbag_stats
    assert stat.duration < timedelta(seconds=1), f"parsing took {stat.duration}"


def test_has_no_cycles(dag):
    dag.check_cycle()


def test_uses_no_deprecated_airflow_imports():
    ruff = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--select", "AIR", "--preview", "--no-cache", str(DAG_FILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ruff.returncode == 0, ruff.stdout + ruff.stderr


def test_schedule_and_run_limits(dag):
    assert dag.schedule == "@daily"
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.dagrun_timeout is not None
    assert dag.start_date.tzinfo is not None
    assert dag.start_date.date().isoformat() <= "1998-07-01", "any date a source covers must run"


def test_ownership_tags_and_documentation(dag):
    assert dag.owner == "data-platform"
    assert {"segmentation", "bigquery"} <= set(dag.tags)
    assert "backfill" in dag.doc_md
    for task in dag.tasks:
        assert task.owner == "data-platform", task.task_id


def test_every_task_retries_with_exponential_backoff_and_fails_fast_on_bad_input(dag):
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.retry_exponential_backoff > 1, task.task_id
        assert task.max_retry_delay is not None, task.task_id
        assert isinstance(task.retry_policy, FailFastOnBadInput), task.task_id


@pytest.mark.parametrize(("setting", "minutes"), [("", 240), ("90", 90)])
def test_a_run_unfinished_at_the_deployments_deadline_alerts(setting, minutes):
    (deadline,) = _parse(**{DEADLINE_VARIABLE: setting}).dags[DAG_ID].deadline
    assert type(deadline.reference).__name__ == "DagRunQueuedAtDeadline"
    assert deadline.interval == timedelta(minutes=minutes)
    assert deadline.callback.path == "segmentation.alerts.SegmentationAlertNotifier"


def test_a_deployment_can_turn_the_deadline_off():
    assert not _parse(**{DEADLINE_VARIABLE: "off"}).dags[DAG_ID].deadline


def test_a_bad_deadline_setting_is_an_import_error_naming_it():
    (error,) = _parse(**{DEADLINE_VARIABLE: "4 hours"}).import_errors.values()
    assert f"{DEADLINE_VARIABLE} must be a number of minutes or 'off', got '4 hours'" in error


@pytest.mark.parametrize(
    ("exception", "action"),
    [
        (ConfigError("invalid pipeline settings: dataset: ..."), RetryAction.FAIL),
        (ProfileError("no rows in segment_profiles"), RetryAction.FAIL),
        (
            Exception("400 customer_features gate failed: 12 rows with negative monetary"),
            RetryAction.FAIL,
        ),
        (Exception("503 Service Unavailable"), RetryAction.DEFAULT),
        (ConnectionError("reset by peer"), RetryAction.DEFAULT),
    ],
)
def test_retry_policy_retries_only_what_a_retry_can_fix(exception, action):
    decision = FailFastOnBadInput().evaluate(exception, try_number=1, max_tries=4)
    assert decision.action == action


def test_task_groups_read_like_the_pipeline(dag):
    assert {group for group in dag.task_group_dict} == {
        "setup",
        "source",
        "features",
        "model",
        "customer_value",
        "segments",
        "changes",
        "personas",
    }
    order = [task.task_id for task in dag.topological_sort()]
    assert order[0] == "validate_config"
    assert order[-5:] == [
        "publish_current_view",
        "record_costs",
        "report",
        "record_report_costs",
        "check_run_outputs",
    ]
    first = {
        group: min(i for i, tid in enumerate(order) if tid.startswith(group + "."))
        for group in dag.task_group_dict
    }
    assert sorted(first, key=first.get) == [
        "setup",
        "source",
        "features",
        "model",
        "customer_value",
        "segments",
        "changes",
        "personas",
    ]
    assert (
        order.index("changes.check_segment_transitions") < order.index("publish_snapshot") < first["personas"]
    )


def test_settings_are_validated_before_any_bigquery_job(dag):
    downstream = dag.get_task("validate_config").get_flat_relative_ids(upstream=False)
    assert downstream == {task.task_id for task in dag.tasks} - {"validate_config"}


def test_all_bigquery_work_is_googlesql_query_jobs(dag):
    jobs = [
        task
        for task in dag.tasks
        if task.task_id
        not in {
            "validate_config",
            "check_source",
            "model.plan_training",
            "segments.match_segment_ids",
            "publish_model",
            "alert_segment_drift",
            "personas.generate_personas",
            "record_costs",
            "report",
            "record_report_costs",
            "check_run_outputs",
        }
    ]
    for task in jobs:
        assert isinstance(task, BigQueryInsertJobOperator), task.task_id
        assert task.configuration["query"]["useLegacySql"] is False
        assert task.configuration["query"]["query"].endswith(".sql")
        assert task.gcp_conn_id == "{{ config().gcp_conn_id }}"


@pytest.mark.parametrize("table", PARTITIONED_TABLES)
def test_each_table_is_staged_then_published(dag, table):
    stage = next(task for task in dag.tasks if task.task_id.endswith(f".stage_{table}"))
    assert stage.params["table"] == table
    assert "publish_snapshot" in stage.get_flat_relative_ids(upstream=False)


GATES = {
    "source.check_freshness",
    "source.check_values",
    "features.check_customer_features",
    "segments.check_customer_segments",
    "customer_value.check_customer_value_history",
    "customer_value.check_customer_value_predictions",
}


def test_nothing_is_published_before_every_gate_has_passed(dag):
    publishing = {task.task_id for task in dag.tasks if task.outlets}
    assert publishing == {
        "publish_snapshot",
        f"publish_{VALUE_MODEL}",
        "publish_model",
        "personas.generate_personas",
        "publish_current_view",
    }
    for task_id in publishing:
        assert dag.get_task(task_id).get_flat_relative_ids(upstream=True) >= GATES, task_id
    # The served model is replaced only after the snapshot it belongs to is published.
    assert "publish_snapshot" in dag.get_task("publish_model").get_flat_relative_ids(upstream=True)
    # Drift is told about published segments only.
    assert "publish_snapshot" in dag.get_task("alert_segment_drift").get_flat_relative_ids(upstream=True)


def test_the_model_is_trained_continuing_the_previous_snapshot_and_ids_follow_centroids(dag):
    train = dag.get_task(f"model.train_{MODEL}")
    assert "model.plan_training" in train.get_flat_relative_ids(upstream=True)
    mapping = dag.get_task("segments.stage_segment_id_mapping")
    assert "segments.match_segment_ids" in mapping.get_flat_relative_ids(upstream=True)
    assert "segments.stage_segment_id_mapping" in dag.get_task(
        "segments.stage_customer_segments"
    ).get_flat_relative_ids(upstream=True)


def test_the_model_learns_from_gated_features(dag):
    assert "features.check_customer_features" in dag.get_task(
        "model.train_customer_segments_kmeans"
    ).get_flat_relative_ids(upstream=True)


def test_every_published_table_is_an_asset_on_the_deployments_project():
    bag = _parse(GCP_PROJECT="acme-analytics", SEGMENTATION_DATASET="segments")
    dag = bag.dags[DAG_ID]
    outlets = {outlet.uri for task in dag.tasks for outlet in task.outlets}
    expected = {
        f"bigquery://acme-analytics/segments/{name}"
        for name in [
            *PARTITIONED_TABLES,
            "customer_segments_kmeans",
            VALUE_MODEL,
            "segment_personas",
            "customer_segments_current",
        ]
    }
    assert outlets == expected
    assert dag.params["project_id"] == "acme-analytics"
    assert dag.params["dataset"] == "segments"


def test_without_a_project_at_parse_time_assets_are_named_by_dataset(dag):
    features, *_ = dag.get_task("publish_snapshot").outlets
    assert features.name == "customer_segmentation.customer_segmentation.customer_features"


def test_params_cover_every_setting_with_valid_defaults(dag):
    assert set(dag.params) == set(PipelineConfig.model_fields)
    resolved = dag.params.validate()
    assert PipelineConfig.from_params(resolved).gcp_conn_id == "google_cloud_default"


COMPOSER_CHECK = """
from airflow.dag_processing.dagbag import DagBag
import pendulum, segmentation.paths
dag = DagBag(dag_folder="{dags}").dags["customer_segmentation"]
task = dag.get_task("setup.create_tables")
end = pendulum.datetime(2024, 3, 1, tz="UTC")
context = dict(params={{name: task.params[name] for name in task.params}}, ds="2024-03-01", ds_nodash="20240301",
               data_interval_start=end, data_interval_end=end)
sql = task.render_template(task.configuration["query"]["query"], context, dag.get_template_env())
print(segmentation.paths.__file__, segmentation.paths.sql_dir(), "CREATE TABLE IF NOT EXISTS" in sql)
"""


def test_finds_its_sql_in_the_cloud_composer_layout(tmp_path):
    """Composer syncs only the bucket's dags/ and plugins/: include/ is uploaded into dags/include/."""
    dags, plugins = tmp_path / "dags", tmp_path / "plugins"
    dags.mkdir()
    shutil.copy(DAG_FILE, dags)
    shutil.copytree(ROOT / "include", dags / "include")
    shutil.copytree(
        ROOT / "plugins" / "segmentation",
        plugins / "segmentation",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # As on Composer: no local report root, the environment's bucket named in GCS_BUCKET.
    environ = {name: value for name, value in os.environ.items() if name != "SEGMENTATION_REPORT_ROOT"} | {
        "PYTHONPATH": str(plugins),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
        "GCS_BUCKET": "us-central1-composer-env-bucket",
    }
    result = subprocess.run(
        [sys.executable, "-c", COMPOSER_CHECK.format(dags=dags)],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    module, sql_dir, rendered = result.stdout.split()[-3:]
    assert module == str(plugins / "segmentation" / "paths.py")
    assert sql_dir == str(dags / "include" / "sql")
    assert rendered == "True"


def test_a_persona_failure_neither_skips_the_report_nor_passes_unnoticed(dag):
    """The view waits for the persona step without needing it, so the costs and the report follow it
    either way; the last task depends on personas and the report, so a run missing either ends failed."""
    view = dag.get_task("publish_current_view")
    assert view.upstream_task_ids == {"publish_model", "personas.generate_personas", "alert_segment_drift"}
    assert view.trigger_rule == "all_done_min_one_success"
    last = dag.get_task("check_run_outputs")
    assert last.upstream_task_ids == {"report", "record_report_costs", "personas.generate_personas"}
    assert last.trigger_rule == "all_done_min_one_success"
    assert [task.task_id for task in dag.leaves] == ["check_run_outputs"]


def test_the_report_task_links_to_its_report_in_the_ui(dag):
    """The serialized DAG, which the UI reads, names the link and the XCom the worker stores it in."""
    from airflow.serialization.serialized_objects import OperatorSerialization

    report = OperatorSerialization.serialize_operator(dag.get_task("report"))
    assert report["_operator_extra_links"] == {"Run report": "_link_RunReportLink"}
