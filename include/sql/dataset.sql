-- The output dataset, created in the configured location by the first run.
CREATE SCHEMA IF NOT EXISTS {{ dataset() }}
OPTIONS (
  location = {{ sql_string(config().location) }},
  description = 'Daily customer segmentation (Airflow DAG customer_segmentation): features, k-means model, segments and profiles.'
)
