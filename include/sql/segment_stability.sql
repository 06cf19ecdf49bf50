-- segment_stability: how the snapshot's model started (continued from the previous centroids, or rebased
-- and why) and how many customers kept their segment id against the previous published snapshot, overall
-- and among unchanged customers (the same orders and spend: no order or return since).
{%- set plan = training_plan() %}
WITH previous_segments AS (
  SELECT segments.customer_id, segments.segment_id, features.frequency, features.monetary
  FROM {{ table('customer_segments') }} AS segments
  JOIN {{ table('customer_features') }} AS features
    ON features.snapshot_date = segments.snapshot_date AND features.customer_id = segments.customer_id
  WHERE {{ "segments.snapshot_date = DATE '%s'" % plan.previous_snapshot if plan.previous_snapshot else 'FALSE' }}
),

pairs AS (
  SELECT
    segments.segment_id = previous_segments.segment_id AS kept,
    features.frequency = previous_segments.frequency
      AND features.monetary = previous_segments.monetary AS unchanged
  FROM {{ staging_table('customer_segments') }} AS segments
  JOIN {{ staging_table('customer_features') }} AS features USING (customer_id)
  JOIN previous_segments USING (customer_id)
),

mapping AS (
  SELECT
    COUNTIF(previous_segment_id IS NULL) AS new_segments,
    MAX(centroid_shift) AS max_centroid_shift
  FROM {{ staging_table('segment_id_mapping') }}
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  {{ "DATE '%s'" % plan.previous_snapshot if plan.previous_snapshot else 'CAST(NULL AS DATE)' }} AS previous_snapshot_date,
  {{ sql_string(plan.training) }} AS training,
  {{ sql_string(plan.rebase_reason) if plan.rebase_reason else 'CAST(NULL AS STRING)' }} AS rebase_reason,
  (SELECT COUNT(*) FROM {{ staging_table('customer_segments') }}) AS customers,
  (SELECT SAFE_DIVIDE(COUNTIF(kept), COUNT(*)) FROM pairs) AS kept_share,
  (SELECT SAFE_DIVIDE(COUNTIF(kept AND unchanged), COUNTIF(unchanged)) FROM pairs) AS unchanged_kept_share,
  mapping.new_segments,
  mapping.max_centroid_shift
FROM mapping
