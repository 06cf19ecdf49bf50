-- The run report's "What changed": customers per (previous segment, segment) against the previous
-- published snapshot (segment_transitions), each side named by the persona title it had on its own day:
-- the previous segment by the previous snapshot's persona, the segment by this snapshot's.
SELECT
  transitions.previous_segment_id,
  transitions.segment_id,
  transitions.customers,
  stability.previous_snapshot_date,
  previous_personas.title AS previous_title,
  personas.title
FROM {{ table('segment_transitions') }} AS transitions
LEFT JOIN {{ table('segment_stability') }} AS stability
  ON stability.snapshot_date = transitions.snapshot_date
LEFT JOIN {{ table('segment_personas') }} AS previous_personas
  ON previous_personas.snapshot_date = stability.previous_snapshot_date
  AND previous_personas.segment_id = transitions.previous_segment_id
LEFT JOIN {{ table('segment_personas') }} AS personas
  ON personas.snapshot_date = transitions.snapshot_date
  AND personas.segment_id = transitions.segment_id
WHERE transitions.snapshot_date = @snapshot_date
ORDER BY transitions.previous_segment_id, transitions.segment_id
