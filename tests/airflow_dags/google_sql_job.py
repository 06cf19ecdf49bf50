"""One task of the operator the customer_segmentation DAG builds its BigQuery tasks with."""

import pendulum
from airflow.sdk import DAG

from segmentation.jobs import GoogleSqlJobOperator

with DAG("google_sql_job", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
    GoogleSqlJobOperator(
        task_id="run_sql",
        configuration={"query": {"query": "SELECT 1 AS one", "useLegacySql": False}},
        location="US",
        retries=0,
    )
