-- Each customer's segment in the previous published snapshot (the latest before the run's date, so a
-- backfill compares with the snapshot before its own date) next to their segment in the run's staged,
-- final customer_segments: a customer in only one of them has NULL on the other side.
{%- set published = table('customer_segments') %}
previous_segments AS (
  SELECT customer_id, segment_id AS previous_segment_id
  FROM {{ published }}
  WHERE snapshot_date = (
    SELECT MAX(snapshot_date)
    FROM {{ published }}
    WHERE snapshot_date < DATE '{{ ds }}'
  )
),

current_segments AS (
  SELECT customer_id, segment_id
  FROM {{ staging_table('customer_segments') }}
),

memberships AS (
  SELECT customer_id, previous_segments.previous_segment_id, current_segments.segment_id
  FROM previous_segments
  FULL OUTER JOIN current_segments USING (customer_id)
)
