-- customer_segment_history: each customer's segment in every published snapshot, with that day's persona
-- title and the date the next snapshot replaced it, so an as-of question is one filter: "segments as of
-- D" is WHERE snapshot_date <= D AND (valid_until IS NULL OR valid_until > D).
-- Its column list describes each column in the view's schema, as customer_segments_current does.
-- https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#view_column_name_list
CREATE OR REPLACE VIEW {{ table('customer_segment_history') }} (
  customer_id OPTIONS (description = 'The customer, as in customer_segments.'),
  snapshot_date OPTIONS (description = 'The published snapshot this row is of.'),
  segment_id OPTIONS (description = 'The customer\'s segment in that snapshot.'),
  persona_title OPTIONS (description = 'That snapshot\'s own persona title of the segment; NULL when it has no persona.'),
  valid_until OPTIONS (description = 'The next published snapshot\'s date, when this row stopped being current; NULL for the latest.')
)
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
