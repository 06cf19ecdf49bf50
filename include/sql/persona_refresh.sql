-- What the persona step (segmentation.personas.refresh) decides on, per segment of the snapshot: the
-- persona it had at the latest earlier snapshot holding personas, and how far the segment moved since the
-- snapshot that persona was written for — its centroid's Euclidean shift in standardized units of today's
-- features (as include/sql/segment_matching.sql measures it) and its size then. Ids follow centroids and are
-- never reused, so the same segment_id on both dates is the same segment.
--   @snapshot_date DATE
WITH previous_personas AS (
  SELECT
    segment_id,
    snapshot_date AS persona_snapshot,
    IFNULL(written_for_snapshot, snapshot_date) AS written_for_snapshot,
    title,
    backend,
    prompt_version
  FROM {{ table('segment_personas') }}
  WHERE snapshot_date = (
    SELECT MAX(snapshot_date)
    FROM {{ table('segment_personas') }}
    WHERE snapshot_date < @snapshot_date
  )
),

current_centroids AS (
  SELECT segment_id, feature, numerical_value, feature_stddev
  FROM {{ table('segment_centroids') }}
  WHERE snapshot_date = @snapshot_date
),

shifts AS (
  SELECT
    previous_personas.segment_id,
    SQRT(SUM(POW(IFNULL(SAFE_DIVIDE(current_centroids.numerical_value - written.numerical_value,
      current_centroids.feature_stddev), 0), 2))) AS centroid_shift
  FROM previous_personas
  JOIN current_centroids USING (segment_id)
  JOIN {{ table('segment_centroids') }} AS written
    ON written.snapshot_date = previous_personas.written_for_snapshot
    AND written.segment_id = previous_personas.segment_id
    AND written.feature = current_centroids.feature
  GROUP BY previous_personas.segment_id
)

SELECT
  profiles.segment_id,
  profiles.customers,
  previous_personas.persona_snapshot,
  previous_personas.written_for_snapshot,
  previous_personas.title,
  previous_personas.backend,
  previous_personas.prompt_version,
  written_profiles.customers AS written_for_customers,
  shifts.centroid_shift
FROM {{ table('segment_profiles') }} AS profiles
LEFT JOIN previous_personas ON previous_personas.segment_id = profiles.segment_id
LEFT JOIN {{ table('segment_profiles') }} AS written_profiles
  ON written_profiles.snapshot_date = previous_personas.written_for_snapshot
  AND written_profiles.segment_id = profiles.segment_id
LEFT JOIN shifts ON shifts.segment_id = profiles.segment_id
WHERE profiles.snapshot_date = @snapshot_date
ORDER BY profiles.segment_id
