-- customer_segments: every customer of the snapshot, assigned to the nearest centroid of the model just
-- trained on the same snapshot (its optimal trial when it tuned k), under the segment id the centroid got.
SELECT
  DATE '{{ ds }}' AS snapshot_date,
  prediction.customer_id,
  mapping.segment_id,
  (
    SELECT MIN(candidate.distance)
    FROM UNNEST(prediction.nearest_centroids_distance) AS candidate
  ) AS distance
FROM ML.PREDICT(
  MODEL {{ trained_model() }},
  (
{% include 'model_input.sql' %}
  )
) AS prediction
JOIN {{ staging_table('segment_id_mapping') }} AS mapping
  ON mapping.centroid_id = prediction.centroid_id
