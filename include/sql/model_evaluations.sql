-- model_evaluations: how well the snapshot's model separates its customers, one row per k tried (a
-- single row when k is fixed), with the Lloyd iterations each training ran and how the model input prepared
-- each numeric feature: the bounds it was clipped to (the run's staged feature_bounds), how many customers
-- were clipped, and whether it was clustered at all (false: no spread in the snapshot, left out). A tuned
-- model's ML.EVALUATE returns one row per trial, and ML.TRIAL_INFO's is_optimal marks the trial ML.PREDICT
-- serves
-- (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-evaluate,
-- https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-trial-info).
{%- set plan = training_plan() %}
WITH training AS (
  SELECT COUNT(*) AS training_rows
  FROM {{ staging_table('customer_features') }}
),

preparation AS (
  SELECT [
    {%- for feature in features() if feature.is_numeric %}
    {%- set name = feature.name %}
    STRUCT(
      '{{ name }}' AS feature,
      {{ 'FALSE' if model_feature(name) in plan.left_out_features else 'TRUE' }} AS clustered,
      CAST(MAX(bounds.lower_{{ name }}) AS FLOAT64) AS lower_bound,
      CAST(MAX(bounds.upper_{{ name }}) AS FLOAT64) AS upper_bound,
      COUNTIF(features.{{ name }} < bounds.lower_{{ name }} OR features.{{ name }} > bounds.upper_{{ name }}) AS clipped_customers
    ){{ ',' if not loop.last }}
    {%- endfor %}
  ] AS feature_preparation
  FROM {{ staging_table('customer_features') }} AS features
  CROSS JOIN {{ staging_table('feature_bounds') }} AS bounds
)
{%- if plan.tuned %},

iterations AS (
  SELECT trial_id, COUNT(*) AS iterations
  FROM ML.TRAINING_INFO(MODEL {{ trained_model() }})
  GROUP BY trial_id
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  trial.trial_id,
  trial.hyperparameters.num_clusters AS k,
  evaluation.davies_bouldin_index,
  evaluation.mean_squared_distance,
  training.training_rows,
  trial.is_optimal AS is_selected,
  iterations.iterations,
  preparation.feature_preparation
FROM ML.TRIAL_INFO(MODEL {{ trained_model() }}) AS trial
JOIN ML.EVALUATE(MODEL {{ trained_model() }}) AS evaluation
  ON evaluation.trial_id = trial.trial_id
LEFT JOIN iterations
  ON iterations.trial_id = trial.trial_id
CROSS JOIN training
CROSS JOIN preparation
{%- else %},

iterations AS (
  SELECT COUNT(*) AS iterations
  FROM ML.TRAINING_INFO(MODEL {{ trained_model() }})
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  CAST(NULL AS INT64) AS trial_id,
  {{ plan.num_clusters }} AS k,
  evaluation.davies_bouldin_index,
  evaluation.mean_squared_distance,
  training.training_rows,
  TRUE AS is_selected,
  iterations.iterations,
  preparation.feature_preparation
FROM ML.EVALUATE(MODEL {{ trained_model() }}) AS evaluation
CROSS JOIN training
CROSS JOIN iterations
CROSS JOIN preparation
{%- endif %}
