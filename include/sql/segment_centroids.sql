-- segment_centroids: each segment's centroid per numeric model feature in the model input's units, with the
-- feature's mean and standard deviation over the snapshot; the next snapshot continues from these.
WITH model_rows AS (
{% include 'model_input.sql' %}
),

statistics AS (
{% include 'feature_statistics.sql' %}
),

centroids AS (
{% include 'trained_centroids.sql' %}
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  mapping.segment_id,
  centroids.feature,
  centroids.numerical_value,
  statistics.mean AS feature_mean,
  statistics.stddev AS feature_stddev
FROM centroids
JOIN {{ staging_table('segment_id_mapping') }} AS mapping USING (centroid_id)
JOIN statistics USING (feature)
