-- segment_members_current: the members of every segment in the latest snapshot, with the snapshot since
-- which each has been in it without a break (their latest membership change into it), for audiences such
-- as "current members of segment 3": WHERE segment_id = 3. Its column list describes each column in the
-- view's schema, as customer_segments_current does.
-- https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#view_column_name_list
CREATE OR REPLACE VIEW {{ table('segment_members_current') }} (
  snapshot_date OPTIONS (description = 'The latest published snapshot.'),
  segment_id OPTIONS (description = 'The segment the customer is in, as in customer_segments.'),
  customer_id OPTIONS (description = 'The customer, as in customer_segments.'),
  member_since OPTIONS (description = 'The snapshot the customer last entered or moved into this segment (segment_membership_changes); NULL when no change into it was recorded.')
)
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
