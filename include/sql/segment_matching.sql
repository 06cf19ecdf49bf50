-- The centroids the segment ids are matched on (segmentation.continuity.match_segments): the run's model
-- ('new', by centroid_id) and the previous snapshot's ('previous', by segment_id), each numeric feature
-- standardized with today's mean and standard deviation so both sides are in the same units.
WITH model_rows AS (
{% include 'model_input.sql' %}
),

statistics AS (
{% include 'feature_statistics.sql' %}
),

new_centroids AS (
{% include 'trained_centroids.sql' %}
),

previous_centroids AS (
  SELECT segment_id, feature, numerical_value
  FROM {{ table('segment_centroids') }}
  WHERE snapshot_date = (
    SELECT MAX(snapshot_date)
    FROM {{ table('segment_centroids') }}
    WHERE snapshot_date < DATE '{{ ds }}'
  )
)

SELECT
  'new' AS side,
  centroid_id AS id,
  feature,
  IFNULL(SAFE_DIVIDE(numerical_value - mean, stddev), 0) AS value
FROM new_centroids
JOIN statistics USING (feature)
UNION ALL
SELECT
  'previous' AS side,
  segment_id AS id,
  feature,
  IFNULL(SAFE_DIVIDE(numerical_value - mean, stddev), 0) AS value
FROM previous_centroids
JOIN statistics USING (feature)
