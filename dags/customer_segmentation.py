"""
### Customer segmentation (daily)

Segments customers with a BigQuery ML k-means model, once per day, from thelook_ecommerce-shaped order
data (default `bigquery-public-data.thelook_ecommerce`).

1. **validate_config** refuses invalid or unknown settings before any BigQuery job runs; **check_source**
   refuses a transactions table whose mapped columns are missing or mistyped.
2. **setup** creates the dataset and tables when missing.
3. **source** reads the source once into the run's `customer_order_history` (per customer, what every
   later step needs of the order lines) and gates it: recent orders exist (freshness), values are sane.
4. **features** stages `customer_features` for the snapshot and gates it, and stages the run's clipping
   bounds (`feature_bounds`), which every job reading the model input clips the features to.
5. **model** plans the training (continue from the previous snapshot's centroids, or rebase), trains the
   run's own staging k-means model on the staged features and stages `model_evaluations`.
6. **customer_value** trains the customer value model (`customer_value_model`, a linear regression of
   spend^0.3 over the next `value_horizon_days`) on features as of one horizon before the cut-off, predicts
   every customer's value (`customer_value_predictions`, gated) and backtests the model out of time against
   the last-period baseline (`value_model_evaluations`).
7. **segments** matches the model's centroids to the previous snapshot's (`segment_id_mapping`: ids follow
   centroids), assigns every customer a segment (`customer_segments`, gated), and stages
   `segment_centroids`, `segment_profiles` and `segment_stability`.
8. **changes** stages `segment_transitions` (previous segment x segment -> customers, gated to add up to
   both snapshots' customers) and `segment_membership_changes` (who entered, moved or left).
9. **publish_snapshot** replaces the snapshot's partition of every table in one transaction, once every
   gate has passed (**alert_segment_drift** then alerts when segments drifted past the drift_alert_*
   params); **publish_customer_value_model** then serves the run's value model, and
   **publish_model** makes the run's k-means model the served `customer_segments_kmeans` when its date is
   the latest snapshot.
10. **personas** describes each segment for marketing (`segment_personas`): a segment keeps its previous
    persona (`written_for_snapshot` says which snapshot it describes) unless it is new or moved past
    `persona_refresh_shift` / `persona_refresh_size_pct`; only those go to Gemini.
11. **publish_current_view** points `customer_segments_current` at the latest snapshot.
12. **record_costs** writes what the run cost to `run_costs`: every BigQuery job's bytes processed and
    billed and slot time, and Gemini's tokens. Every job, the Python tasks' too, carries the labels dag_id,
    task_id, snapshot_date and run_id (record_costs finds the run's jobs by them), and
    `maximum_bytes_billed` caps each.
13. **report** renders the run's report (HTML with plots) to `report_destination` (on Cloud Composer the
    environment bucket's `data/reports`); the task's "Run report" link opens it. **record_report_costs**
    then records the run's costs again, the report's jobs included.
14. **check_run_outputs** fails the run when its personas or its report are missing: when the persona step
    fails, the view, the costs and the report still go out, and this task keeps the run from ending green.

**Dates.** The snapshot is the run's logical date (`snapshot_date`). Only orders before the cut-off count
and recency is measured to it: 00:00 UTC of the day the run's data interval ends in, which for a scheduled
run is the interval end itself. A manual run triggered at any hour of day D (the trigger form's "now")
snapshots D exactly as the scheduled run of D does, and a backfill reproduces what its day saw.
Backfills can reach back to the DAG's start date: `SEGMENTATION_START_DATE` (YYYY-MM-DD), default
1990-01-01. A logical date before it runs no task at all.

**Idempotent.** Each table is partitioned by `snapshot_date`; a run stages its rows, and only once every
gate has passed replaces exactly its own partition of every table, all in one transaction. Re-running a
date or backfilling never duplicates rows, and a failed gate leaves every published partition as it was.

**Failures.** A failed gate names the problem (e.g. `customer_features gate failed: 12 rows with negative
monetary`) and fails at once; transient errors are retried with exponential backoff. Every task failure
logs a one-line summary and, when the `segmentation_alerts` connection exists, notifies through it; so does
a run still unfinished `SEGMENTATION_DEADLINE_MINUTES` (default 240) after it was queued.

Settings are the params below; a deployment sets their defaults with `SEGMENTATION_*` environment variables.
Downstream DAGs can schedule on the assets of the published tables.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from airflow.sdk import Asset, TaskGroup, TriggerRule, chain, dag, get_current_context, task

from segmentation.alerts import on_task_failure, run_deadline
from segmentation.config import ConfigError, PipelineConfig, dag_params, dag_start_date, unknown_settings
from segmentation.costs import job_labels, label_value, prepare_query_job
from segmentation.features import FEATURE_BOUNDS, ORDER_HISTORY
from segmentation.jobs import GoogleSqlJobOperator, job_doc
from segmentation.paths import sql_dir
from segmentation.retries import FailFastOnBadInput
from segmentation.run_outputs import RUN_OUTPUT_TASKS, RunReportOperator, check_outputs
from segmentation.tables import CURRENT_VIEW, MODEL, PERSONAS, VALUE_MODEL, partitioned_tables
from segmentation.templating import MACROS, snapshot_cut_off

DEPLOYMENT = PipelineConfig.from_environment()
log = logging.getLogger(__name__)


def table_asset(name: str) -> Asset:
    """What downstream DAGs schedule on; it names the deployment's default project and dataset."""
    if DEPLOYMENT.project_id:
        return Asset(f"bigquery://{DEPLOYMENT.project_id}/{DEPLOYMENT.dataset}/{name}")
    return Asset(name=f"customer_segmentation.{DEPLOYMENT.dataset}.{name}")


def record_snapshot_date(context: Any, result: Any = None) -> None:
    """The asset events of the task's outlets carry the snapshot they published, so that a DAG scheduled on
    them reads which partition is new (`triggering_asset_events`) instead of guessing the latest.
    https://airflow.apache.org/docs/apache-airflow/stable/authoring-and-scheduling/asset-scheduling.html
    (attaching extra information to an emitting asset event)."""
    for asset in context["task"].outlets:
        context["outlet_events"][asset].extra = {"snapshot_date": context["ds"]}


def bigquery_job(task_id: str, sql_file: str, *, table: str | None = None, **kwargs: Any):
    """A GoogleSQL query job running a file of include/sql; `table` is the table a generic file is for."""
    if "outlets" in kwargs:
        kwargs.setdefault("post_execute", record_snapshot_date)
    return GoogleSqlJobOperator(
        task_id=task_id,
        doc_md=job_doc(sql_file, table),
        configuration={"query": {"query": sql_file, "useLegacySql": False}},
        gcp_conn_id="{{ config().gcp_conn_id }}",
        params={"table": table} if table else None,
        # Labels attribute the job's cost to the run; the run's maximum_bytes_billed caps it.
        pre_execute=prepare_query_job,
        **kwargs,
    )


def stage(table: str):
    return bigquery_job(f"stage_{table}", "stage.sql", table=table)


@task(multiple_outputs=False)
def validate_config(params: dict[str, Any], dag_run: Any = None, data_interval_end: Any = None) -> dict:
    """Refuses a run whose settings cannot work, with the deployment's too, before any BigQuery job starts."""
    unknown = unknown_settings(dag_run.conf or {})
    if unknown:
        raise ConfigError(f"unknown settings in the run's conf: {unknown}; known: {sorted(params)}")
    if data_interval_end is None:
        raise ConfigError("the run has no data interval: trigger it with a logical date")
    cut_off = snapshot_cut_off(data_interval_end)
    moved = "" if cut_off == data_interval_end else f" (the run's interval ends at {data_interval_end})"
    log.info("the snapshot counts the orders before %s%s", cut_off, moved)
    config = PipelineConfig.from_params(params)
    # Imported at run time: the deployment's Variables and connections are looked up only when a run starts.
    from segmentation.preflight import check_deployment

    check_deployment(config)
    return config.model_dump(mode="json")


@task(multiple_outputs=False)
def check_source(params: dict[str, Any]) -> dict:
    """Refuses a connection without a project, and a transactions table whose mapped columns are missing or
    mistyped, before anything is written."""
    # Imported at run time, like the persona step: parsing the DAG needs neither.
    from segmentation.connection import bigquery_client
    from segmentation.sources import check_transactions_table

    config = PipelineConfig.from_params(params)
    client = bigquery_client(config)
    if config.source_kind != "transactions":
        return {"source_kind": config.source_kind, "project": client.project}
    return check_transactions_table(client, config.transactions_table, config.transactions_columns)


@task(multiple_outputs=False)
def plan_training(params: dict[str, Any]) -> dict:
    """Decides whether the model continues from the previous snapshot's centroids or rebases, and why."""
    from segmentation.continuity import WarehouseJobs
    from segmentation.continuity import plan_training as decide

    config = PipelineConfig.from_params(params)
    (history,) = WarehouseJobs(config, get_current_context()).rows("training_plan.sql")
    plan = decide(config, history)
    log.info("training %s%s", plan.training, f": {plan.rebase_reason}" if plan.rebase_reason else "")
    if plan.left_out_features:
        log.warning("left out of the model, no spread in the snapshot: %s", ", ".join(plan.left_out_features))
    return plan.model_dump(mode="json")


@task(multiple_outputs=False)
def match_segment_ids(params: dict[str, Any]) -> list[dict]:
    """Gives each centroid of the run's model the id of the previous centroid it continues, or a new id."""
    from segmentation.continuity import WarehouseJobs, match_segments, matching_input

    config = PipelineConfig.from_params(params)
    jobs = WarehouseJobs(config, get_current_context())
    centroids, previous = matching_input(jobs.rows("segment_matching.sql"))
    (ids_used,) = jobs.rows("segment_ids_used.sql")
    matches = match_segments(
        centroids, previous, max_shift=config.max_segment_shift, first_new_id=ids_used["first_new_id"]
    )
    for match in matches:
        log.info(
            "centroid %d -> segment %d (shift %s)", match.centroid_id, match.segment_id, match.centroid_shift
        )
    return [match.model_dump() for match in matches]


@task(multiple_outputs=False, outlets=[table_asset(MODEL)], post_execute=record_snapshot_date)
def publish_model(params: dict[str, Any], ds: str | None = None, ds_nodash: str | None = None) -> str:
    """Copies the run's model over the served one when the run's date is the latest snapshot, then drops it.

    A backfill of an older date keeps the model the latest snapshot used; a failed gate never gets here, so
    the served model stays yesterday's.
    """
    from segmentation.continuity import WarehouseJobs

    config = PipelineConfig.from_params(params)
    jobs = WarehouseJobs(config, get_current_context())
    (latest,) = jobs.rows("latest_snapshot.sql")
    is_latest = latest["latest_snapshot"] is not None and latest["latest_snapshot"].isoformat() == ds
    if is_latest:
        jobs.copy_model(f"_staging_{MODEL}_{ds_nodash}", MODEL)
    jobs.rows("drop_trained_model.sql")
    outcome = (
        "published" if is_latest else f"kept the model of the latest snapshot {latest['latest_snapshot']}"
    )
    log.info("%s: %s", MODEL, outcome)
    return outcome


@task(multiple_outputs=False)
def alert_segment_drift(params: dict[str, Any], ds: str | None = None, ti: Any = None) -> list[str]:
    """Alerts (never fails) when the published snapshot's segments drifted past the drift_alert_* params."""
    from segmentation.continuity import WarehouseJobs
    from segmentation.drift import DriftThresholds, alert_drift

    config = PipelineConfig.from_params(params)
    rows = WarehouseJobs(config, get_current_context()).rows("segment_drift.sql")
    thresholds = DriftThresholds(config.drift_alert_size_change_pct, config.drift_alert_kept_pct)
    return alert_drift(rows, thresholds, snapshot_date=ds, ti=ti)


@task(multiple_outputs=False, outlets=[table_asset(PERSONAS)], post_execute=record_snapshot_date)
def generate_personas(params: dict[str, Any], ds: str | None = None) -> dict:
    """Writes segment_personas for the snapshot from its segment_profiles: new personas for the segments
    that are new or moved past the refresh thresholds, the previous ones carried over for the others."""
    # Imported at run time: the persona step's client libraries are not needed to parse the DAG.
    from segmentation.personas import generate_personas as write_personas
    from segmentation.personas.refresh import RefreshThresholds

    config = PipelineConfig.from_params(params)
    return write_personas(
        job_labels=job_labels(get_current_context()),
        maximum_bytes_billed=config.maximum_bytes_billed,
        snapshot_date=ds,
        project_id=config.project_id,
        dataset=config.dataset,
        gcp_conn_id=config.gcp_conn_id,
        location=config.location,
        backend=config.persona_backend,
        gemini_conn_id=config.gemini_conn_id,
        gemini=config.gemini,
        thresholds=RefreshThresholds(config.persona_refresh_shift, config.persona_refresh_size_pct),
    )


@task(multiple_outputs=False)
def record_costs(
    params: dict[str, Any],
    ds: str | None = None,
    run_id: str | None = None,
    dag_run: Any = None,
    ti: Any = None,
) -> dict:
    """Writes run_costs: every BigQuery job of the run so far, found by the run's labels (bytes processed
    and billed, slot time), and Gemini's tokens."""
    from segmentation.costs import PERSONA_TASK, write_run_costs

    personas = ti.xcom_pull(task_ids=PERSONA_TASK) or {}
    return write_run_costs(
        config=PipelineConfig.from_params(params),
        snapshot_date=ds,
        run_id=run_id,
        labels=job_labels(get_current_context()),
        since=dag_run.start_date,
        task_ids={label_value(task.task_id): task.task_id for task in ti.task.dag.tasks},
        gemini_tokens=(personas.get("input_tokens"), personas.get("output_tokens")),
    )


def publish_report(params: dict[str, Any], ds: str | None = None) -> str:
    """Renders the snapshot's run report (HTML and PNGs) and returns where it was published; the task's
    "Run report" link opens it."""
    from segmentation.report import build_report

    config = PipelineConfig.from_params(params)
    return build_report(
        job_labels=job_labels(get_current_context()),
        maximum_bytes_billed=config.maximum_bytes_billed,
        snapshot_date=ds,
        project_id=config.project_id,
        dataset=config.dataset,
        gcp_conn_id=config.gcp_conn_id,
        destination=config.report_destination,
        location=config.location,
        log_transform_monetary=config.log_transform_monetary,
    )


@task(trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS)
def check_run_outputs(ti: Any = None, ds: str | None = None) -> None:
    """Fails the run when its personas or its report are missing.

    The view, the cost ledger and the report go out without personas when the persona step failed, so
    that the snapshot's segments are still reported; this last task keeps such a run from ending green.
    """
    check_outputs(ds, {task_id: ti.xcom_pull(task_ids=task_id) for task_id in RUN_OUTPUT_TASKS})


@dag(
    dag_id="customer_segmentation",
    schedule="@daily",
    # Backfills can reach back to here; catchup stays off.
    start_date=dag_start_date(),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=6),
    deadline=run_deadline(),
    default_args={
        "owner": "data-platform",
        "retries": 3,
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "retry_policy": FailFastOnBadInput(),
        "on_failure_callback": on_task_failure,
    },
    params=dag_params(),
    template_searchpath=[str(sql_dir())],
    user_defined_macros=MACROS,
    tags=["segmentation", "bigquery", "bigquery-ml", "marketing"],
    doc_md=__doc__,
)
def customer_segmentation():
    settings = validate_config()

    with TaskGroup("setup") as setup:
        chain(bigquery_job("create_dataset", "dataset.sql"), bigquery_job("create_tables", "schema.sql"))

    # The run's one read of the source: what the gates, the features and the value model need of its lines.
    with TaskGroup("source") as source:
        chain(
            stage(ORDER_HISTORY),
            [
                bigquery_job("check_freshness", "gates/source_freshness.sql"),
                bigquery_job("check_values", "gates/source_values.sql"),
            ],
        )

    with TaskGroup("features") as features:
        chain(
            stage("customer_features"),
            bigquery_job("check_customer_features", "gates/customer_features.sql"),
            # The clipping bounds, once per run: every job reading the model input clips to these.
            stage(FEATURE_BOUNDS),
        )

    with TaskGroup("model") as model:
        chain(
            plan_training(),
            bigquery_job(f"train_{MODEL}", f"{MODEL}.sql"),
            stage("model_evaluations"),
        )

    with TaskGroup("customer_value") as customer_value:
        value_training = [stage("customer_value_training"), stage("customer_value_backtest_training")]
        history = bigquery_job("check_customer_value_history", "gates/customer_value_training.sql")
        value_model = bigquery_job(f"train_{VALUE_MODEL}", f"{VALUE_MODEL}.sql")
        backtest = bigquery_job("train_customer_value_backtest", "customer_value_backtest.sql")
        chain(value_training, history, [value_model, backtest])
        chain(
            value_model,
            stage("customer_value_predictions"),
            bigquery_job("check_customer_value_predictions", "gates/customer_value_predictions.sql"),
        )
        chain(backtest, stage("value_model_evaluations"))

    with TaskGroup("segments") as segments:
        chain(
            match_segment_ids(),
            stage("segment_id_mapping"),
            stage("customer_segments"),
            bigquery_job("check_customer_segments", "gates/customer_segments.sql"),
            stage("segment_centroids"),
            stage("segment_profiles"),
            stage("segment_stability"),
        )

    # What moved since the previous snapshot, from the segments with their final ids.
    with TaskGroup("changes") as changes:
        chain(
            stage("segment_transitions"),
            stage("segment_membership_changes"),
            bigquery_job("check_segment_transitions", "gates/segment_transitions.sql"),
        )

    # Nothing of the snapshot is published until every gate has passed, and then all of it at once.
    published = bigquery_job(
        "publish_snapshot",
        "publish_snapshot.sql",
        outlets=[table_asset(table.name) for table in partitioned_tables(DEPLOYMENT)],
    )

    served_value_model = bigquery_job(
        f"publish_{VALUE_MODEL}", f"publish_{VALUE_MODEL}.sql", outlets=[table_asset(VALUE_MODEL)]
    )
    model_published = publish_model()

    with TaskGroup("personas") as personas:
        generate_personas()

    # The view, the cost ledger and the report go out once the snapshot is published, whether or not the
    # persona step succeeded (the trigger rule waits for personas without needing them):
    # check_run_outputs then fails a run that lacks them.
    current_view = bigquery_job(
        "publish_current_view",
        f"{CURRENT_VIEW}.sql",
        outlets=[table_asset(CURRENT_VIEW)],
        trigger_rule=TriggerRule.ALL_DONE_MIN_ONE_SUCCESS,
    )
    run_report = RunReportOperator(
        task_id="report", python_callable=publish_report, doc_md=publish_report.__doc__
    )
    outputs = check_run_outputs()

    chain(
        settings,
        check_source(),
        setup,
        source,
        features,
        model,
        customer_value,
        segments,
        changes,
        published,
        served_value_model,
        model_published,
        personas,
        current_view,
        record_costs(),
        run_report,
        # The report shows the run's costs up to the report; the ledger then holds the report's jobs too.
        record_costs.override(task_id="record_report_costs")(),
        outputs,
    )
    chain(model_published, current_view)
    # Drift is news, not a failure: told once the snapshot is published, beside the rest of the run; the
    # view waits for it without needing it (a failure of the task itself alerts like any other).
    chain(published, alert_segment_drift(), current_view)
    chain(personas, outputs)
    chain(run_report, outputs)


customer_segmentation()
