-- customer_segments_current: every customer's segment in the latest snapshot, next to the features it
-- was assigned on and the segment's marketing persona. The stable name analysts query; backfills of
-- older dates do not move it, and a snapshot whose persona step failed still lists its segments.
CREATE OR REPLACE VIEW {{ table('customer_segments_current') }}
OPTIONS (description = 'Customer segments of the latest snapshot, with their features and segment persona.')
AS
SELECT
  segments.snapshot_date,
  segments.customer_id,
  segments.segment_id,
  segments.distance,
  personas.title AS persona_title,
  personas.persona,
  personas.summary AS persona_summary,
  personas.next_marketing_steps,
  personas.recommended_channel,
  personas.backend AS persona_backend,
  features.* EXCEPT (snapshot_date, customer_id)
FROM {{ table('customer_segments') }} AS segments
JOIN {{ table('customer_features') }} AS features
  ON features.snapshot_date = segments.snapshot_date
  AND features.customer_id = segments.customer_id
LEFT JOIN {{ table('segment_personas') }} AS personas
  ON personas.snapshot_date = segments.snapshot_date
  AND personas.segment_id = segments.segment_id
WHERE segments.snapshot_date = (SELECT MAX(snapshot_date) FROM {{ table('customer_segments') }})
