-- customer_segments_current: every customer's segment in the latest snapshot, next to the features it
-- was assigned on. The stable name analysts query; backfills of older dates do not move it.
CREATE OR REPLACE VIEW {{ table('customer_segments_current') }}
OPTIONS (description = 'Customer segments of the latest snapshot, with the features they were assigned on.')
AS
SELECT
  segments.snapshot_date,
  segments.customer_id,
  segments.segment_id,
  segments.distance,
  features.* EXCEPT (snapshot_date, customer_id)
FROM {{ table('customer_segments') }} AS segments
JOIN {{ table('customer_features') }} AS features
  ON features.snapshot_date = segments.snapshot_date
  AND features.customer_id = segments.customer_id
WHERE segments.snapshot_date = (SELECT MAX(snapshot_date) FROM {{ table('customer_segments') }})
