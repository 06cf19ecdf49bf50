-- The numeric centroids of the run's model in the model input's units; of the served (optimal) trial when
-- the model tuned k, since ML.CENTROIDS then returns every trial's centroids with their trial_id
-- (https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-centroids).
SELECT centroid_id, feature, numerical_value
FROM ML.CENTROIDS(MODEL {{ trained_model() }})
WHERE numerical_value IS NOT NULL
{%- if training_plan().tuned %}
  AND trial_id = (SELECT trial_id FROM ML.TRIAL_INFO(MODEL {{ trained_model() }}) WHERE is_optimal)
{%- endif %}
