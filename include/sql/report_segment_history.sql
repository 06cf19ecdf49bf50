-- The run report's history: segment sizes in the last @snapshots snapshots up to the report's own, with
-- each snapshot's persona title. Segment ids belong to each snapshot's model and may be renumbered.
WITH recent AS (
  SELECT DISTINCT snapshot_date
  FROM {{ table('segment_profiles') }}
  WHERE snapshot_date <= @snapshot_date
  ORDER BY snapshot_date DESC
  LIMIT @snapshots
)

SELECT
  profiles.snapshot_date,
  profiles.segment_id,
  profiles.customers,
  personas.title
FROM {{ table('segment_profiles') }} AS profiles
JOIN recent USING (snapshot_date)
LEFT JOIN {{ table('segment_personas') }} AS personas
  ON personas.snapshot_date = profiles.snapshot_date
  AND personas.segment_id = profiles.segment_id
ORDER BY profiles.snapshot_date, profiles.segment_id
