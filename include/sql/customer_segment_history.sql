-- customer_segment_history: each customer's segment in every published snapshot, with that day's persona
-- title and the date the next snapshot replaced it, so an as-of question is one filter: "segments as of
-- D" is WHERE snapshot_date <= D AND (valid_until IS NULL OR valid_until > D).
CREATE OR REPLACE VIEW {{ table('customer_segment_history') }}
OPTIONS (description = 'Each customer\'s segment per snapshot, and when the next snapshot replaced it.')
AS
WITH snapshots AS (
  SELECT
    snapshot_date,
    LEAD(snapshot_date) OVER (ORDER BY snapshot_date) AS next_snapshot_date
  FROM (SELECT DISTINCT snapshot_date FROM {{ table('customer_segments') }})
)

SELECT
  segments.customer_id,
  segments.snapshot_date,
  segments.segment_id,
  personas.title AS persona_title,
  snapshots.next_snapshot_date AS valid_until
FROM {{ table('customer_segments') }} AS segments
JOIN snapshots USING (snapshot_date)
LEFT JOIN {{ table('segment_personas') }} AS personas
  ON personas.snapshot_date = segments.snapshot_date
  AND personas.segment_id = segments.segment_id
