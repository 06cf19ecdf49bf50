-- The latest published snapshot: only a run of that date publishes its model as the served one, so a
-- backfill of an older date leaves the model the current snapshot used in place.
SELECT MAX(snapshot_date) AS latest_snapshot
FROM {{ table('customer_segments') }}
