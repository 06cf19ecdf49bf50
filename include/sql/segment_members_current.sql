-- segment_members_current: the members of every segment in the latest snapshot, with the snapshot since
-- which each has been in it without a break (their latest membership change into it), for audiences such
-- as "current members of segment 3": WHERE segment_id = 3.
CREATE OR REPLACE VIEW {{ table('segment_members_current') }}
OPTIONS (description = 'Members of each segment in the latest snapshot, and since when they are members.')
AS
WITH latest AS (
  SELECT MAX(snapshot_date) AS snapshot_date
  FROM {{ table('customer_segments') }}
),

entries AS (
  SELECT customer_id, segment_id, MAX(changes.snapshot_date) AS member_since
  FROM {{ table('segment_membership_changes') }} AS changes
  WHERE changes.snapshot_date <= (SELECT snapshot_date FROM latest)
  GROUP BY customer_id, segment_id
)

SELECT
  segments.snapshot_date,
  segments.segment_id,
  segments.customer_id,
  entries.member_since
FROM {{ table('customer_segments') }} AS segments
LEFT JOIN entries
  ON entries.customer_id = segments.customer_id
  AND entries.segment_id = segments.segment_id
WHERE segments.snapshot_date = (SELECT snapshot_date FROM latest)
