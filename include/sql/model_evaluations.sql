-- model_evaluations: how well the snapshot's model separates its customers, one row per k tried (a
-- single row when num_clusters fixes k). When several trials tie for best, BigQuery ML predicts with
-- the first of them, which is the one marked selected.
{%- set k_range = tuned_k_range() %}
WITH training AS (
  SELECT COUNT(*) AS training_rows
  FROM {{ staging_table('customer_features') }}
)
{%- if k_range %}

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  trial.trial_id,
  trial.hyperparameters.num_clusters AS k,
  evaluation.davies_bouldin_index,
  evaluation.mean_squared_distance,
  training.training_rows,
  trial.trial_id = MIN(IF(trial.is_optimal, trial.trial_id, NULL)) OVER () AS is_selected
FROM ML.TRIAL_INFO(MODEL {{ table('customer_segments_kmeans') }}) AS trial
JOIN ML.EVALUATE(MODEL {{ table('customer_segments_kmeans') }}) AS evaluation
  ON evaluation.trial_id = trial.trial_id
CROSS JOIN training
{%- else %}

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  CAST(NULL AS INT64) AS trial_id,
  {{ config().num_clusters }} AS k,
  evaluation.davies_bouldin_index,
  evaluation.mean_squared_distance,
  training.training_rows,
  TRUE AS is_selected
FROM ML.EVALUATE(MODEL {{ table('customer_segments_kmeans') }}) AS evaluation
CROSS JOIN training
{%- endif %}
