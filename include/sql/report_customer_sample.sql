-- The run report's customer sample: every feature and the segment of at most @sample_size customers of
-- the snapshot. Ordering by a hash of the customer id picks the same customers for the same data on
-- every run and engine, and any prefix of the result is itself a uniform sample.
SELECT
  segments.segment_id,
  features.* EXCEPT (snapshot_date)
FROM {{ table('customer_segments') }} AS segments
JOIN {{ table('customer_features') }} AS features
  ON features.snapshot_date = segments.snapshot_date
  AND features.customer_id = segments.customer_id
WHERE segments.snapshot_date = @snapshot_date
ORDER BY MD5(CAST(segments.customer_id AS STRING)), segments.customer_id
LIMIT @sample_size
