-- segment_transitions: how many customers went from each segment of the previous published snapshot to
-- each segment of this one. Customers new to the base have previous_segment_id NULL, customers gone from
-- it segment_id NULL, so the counts add up to both snapshots' customers (gates/segment_transitions.sql).
WITH
{% include 'previous_and_current_segments.sql' %}

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  previous_segment_id,
  segment_id,
  COUNT(*) AS customers
FROM memberships
GROUP BY previous_segment_id, segment_id
