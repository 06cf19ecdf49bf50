-- The customers that seed a continuing model (KMEANS_INIT_COL): for each centroid of the previous
-- snapshot, the customer of today's snapshot nearest to it among those nearest to that centroid, in
-- standardized units of today's features (ties go to the lower id). Each customer is nearest to one
-- centroid only, so the seeds are distinct; a centroid nobody is nearest to any more has no seed, and the
-- training plan then rebases. Numeric features only. Reads the run's staged features.
SELECT customer_id
FROM (
  WITH seed_input AS (
{% include 'model_input.sql' %}
  ),

  seed_statistics AS (
    SELECT
      {%- for feature in model_features() %}
      AVG({{ feature }}) AS mean_{{ feature }},
      STDDEV_SAMP({{ feature }}) AS stddev_{{ feature }}{{ ',' if not loop.last }}
      {%- endfor %}
    FROM seed_input
  ),

  previous_centroids AS (
    SELECT
      segment_id,
      {%- for feature in model_features() %}
      MAX(IF(feature = '{{ feature }}', numerical_value, NULL)) AS {{ feature }}{{ ',' if not loop.last }}
      {%- endfor %}
    FROM {{ table('segment_centroids') }}
    WHERE snapshot_date = (
      SELECT MAX(snapshot_date)
      FROM {{ table('segment_centroids') }}
      WHERE snapshot_date < DATE '{{ ds }}'
    )
    GROUP BY segment_id
  ),

  distances AS (
    SELECT
      seed_input.customer_id,
      previous_centroids.segment_id,
      {%- for feature in model_features() %}
      POW(IFNULL(SAFE_DIVIDE(
        IFNULL(seed_input.{{ feature }}, seed_statistics.mean_{{ feature }}) - previous_centroids.{{ feature }},
        seed_statistics.stddev_{{ feature }}
      ), 0), 2){{ ' +' if not loop.last }}
      {%- endfor %} AS squared_distance
    FROM seed_input
    CROSS JOIN previous_centroids
    CROSS JOIN seed_statistics
  ),

  nearest AS (
    SELECT customer_id, segment_id, squared_distance
    FROM distances
    WHERE TRUE
    QUALIFY ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY squared_distance, segment_id) = 1
  )

  SELECT customer_id
  FROM nearest
  WHERE TRUE
  QUALIFY ROW_NUMBER() OVER (PARTITION BY segment_id ORDER BY squared_distance, customer_id) = 1
)
