-- customer_segments: every customer of the snapshot, assigned to the nearest centroid of the model
-- just trained on the same snapshot.
SELECT
  DATE '{{ ds }}' AS snapshot_date,
  prediction.customer_id,
  prediction.centroid_id AS segment_id,
  (
    SELECT MIN(candidate.distance)
    FROM UNNEST(prediction.nearest_centroids_distance) AS candidate
  ) AS distance
FROM ML.PREDICT(
  MODEL {{ table('customer_segments_kmeans') }},
  (
{% include 'model_input.sql' %}
  )
) AS prediction
