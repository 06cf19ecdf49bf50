"""A one-task DAG that runs whatever GoogleSQL it is given, for testing BigQueryInsertJobOperator."""

import pendulum
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator
from airflow.sdk import DAG, Param

with DAG(
    "bigquery_operator_smoke",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    params={"sql": Param("SELECT 1", type="string")},
    render_template_as_native_obj=False,
):
    BigQueryInsertJobOperator(
        task_id="run_sql",
        configuration={"query": {"query": "{{ params.sql }}", "useLegacySql": False}},
        location="US",
        retries=0,
    )
