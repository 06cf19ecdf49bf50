-- What the drift alert (segmentation.drift) reads once the snapshot is published: how its model trained
-- (segment_stability) and each segment's drift figures (segment_profiles), with the persona title the
-- segment had in the previous snapshot, so that an alert names segments as marketing knows them.
SELECT
  stability.previous_snapshot_date,
  stability.training,
  stability.rebase_reason,
  profiles.segment_id,
  profiles.customers,
  profiles.previous_customers,
  profiles.size_change,
  profiles.kept_share,
  profiles.centroid_shift,
  personas.title AS previous_title
FROM {{ table('segment_profiles') }} AS profiles
JOIN {{ table('segment_stability') }} AS stability
  ON stability.snapshot_date = profiles.snapshot_date
LEFT JOIN {{ table('segment_personas') }} AS personas
  ON personas.snapshot_date = stability.previous_snapshot_date
  AND personas.segment_id = profiles.segment_id
WHERE profiles.snapshot_date = DATE '{{ ds }}'
ORDER BY profiles.segment_id
