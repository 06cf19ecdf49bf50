-- What the training plan (segmentation.continuity.plan_training) needs to know about the snapshot before
-- the run's date: its segments' features and count, how many of them today's customers can seed, and its
-- model's quality against the rebase it continues; and which numeric features of today's model input have
-- no spread (one value for every customer; BigQuery ML imputes NULL with the mean, so NULLs add none),
-- which the model leaves out.
WITH model_rows AS (
{% include 'model_input.sql' %}
),

constant_features AS (
  {%- for feature in model_features() %}
  SELECT feature
  FROM (
    SELECT '{{ feature }}' AS feature, COALESCE(MIN({{ feature }}) = MAX({{ feature }}), TRUE) AS is_constant
    FROM model_rows
  )
  WHERE is_constant
  {{- ' UNION ALL' if not loop.last }}
  {%- endfor %}
),

previous AS (
  SELECT MAX(snapshot_date) AS snapshot_date
  FROM {{ table('segment_centroids') }}
  WHERE snapshot_date < DATE '{{ ds }}'
),

previous_centroids AS (
  SELECT centroids.segment_id, centroids.feature
  FROM {{ table('segment_centroids') }} AS centroids
  JOIN previous USING (snapshot_date)
),

last_rebase AS (
  SELECT MAX(snapshot_date) AS snapshot_date
  FROM {{ table('segment_stability') }}
  WHERE training = 'rebased' AND snapshot_date <= (SELECT snapshot_date FROM previous)
),

selected_quality AS (
  SELECT snapshot_date, davies_bouldin_index
  FROM {{ table('model_evaluations') }}
  WHERE is_selected
)

SELECT
  (SELECT snapshot_date FROM previous) AS previous_snapshot,
  (SELECT COUNT(DISTINCT segment_id) FROM previous_centroids) AS previous_k,
  (SELECT ARRAY_AGG(DISTINCT feature ORDER BY feature) FROM previous_centroids) AS previous_features,
  (
    SELECT COUNT(*)
    FROM (
{% include 'training_seeds.sql' %}
    )
  ) AS seeds,
  (
    SELECT MAX(davies_bouldin_index)
    FROM selected_quality
    WHERE snapshot_date = (SELECT snapshot_date FROM previous)
  ) AS previous_davies_bouldin,
  (
    SELECT MAX(davies_bouldin_index)
    FROM selected_quality
    WHERE snapshot_date = (SELECT snapshot_date FROM last_rebase)
  ) AS baseline_davies_bouldin,
  ARRAY(SELECT feature FROM constant_features ORDER BY feature) AS constant_features
