-- segment_membership_changes: one row per customer whose segment changed since the previous published
-- snapshot, the feed an activation tool syncs: 'entered' (no segment before: a new customer, or every
-- customer of the first snapshot), 'moved' (another segment) or 'left' (no segment now).
WITH
{% include 'previous_and_current_segments.sql' %}

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  customer_id,
  previous_segment_id,
  segment_id,
  CASE
    WHEN previous_segment_id IS NULL THEN 'entered'
    WHEN segment_id IS NULL THEN 'left'
    ELSE 'moved'
  END AS change
FROM memberships
WHERE previous_segment_id IS NULL OR segment_id IS NULL OR previous_segment_id != segment_id
