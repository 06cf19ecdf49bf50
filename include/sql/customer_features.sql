-- customer_features: one row per customer with an order line before the run's cut-off (its data
-- interval end), not cancelled. Every feature is measured as of that instant, so a backfill reproduces its
-- day. Included with cut_off_days_before = N (one of cut_offs()), it measures the same features as of N days
-- before the cut-off (what the customer value model trains on). It reads the run's customer_order_history,
-- never the order lines: cancelled items never count; returned items count towards orders but not towards
-- spend.
{%- set days_before = cut_off_days_before | default(0) %}
SELECT
  DATE '{{ ds }}' AS snapshot_date,
  customer_id,
  TIMESTAMP_DIFF({{ cut_off(days_before) }}, {{ history_column('last_ordered_at', days_before) }}, DAY) AS recency_days,
  {{ history_column('orders', days_before) }} AS frequency,
  {{ history_column('kept_value', days_before) }} AS monetary,
  SAFE_DIVIDE({{ history_column('kept_value', days_before) }}, {{ history_column('orders', days_before) }}) AS avg_order_value,
  TIMESTAMP_DIFF({{ cut_off(days_before) }}, {{ history_column('first_ordered_at', days_before) }}, DAY) AS tenure_days,
  IFNULL({{ history_column('returned_lines', days_before) }}, 0) / {{ history_column('purchased_lines', days_before) }} AS return_ratio
  {%- if config().feature_set == 'extended' %},
  age,
  gender,
  country,
  traffic_source,
  {%- for spend in spend_features() %}
  IFNULL({{ history_column(spend.column.name, days_before) }}, 0) AS {{ spend.column.name }}{{ ',' if not loop.last }}
  {%- endfor %}
  {%- endif %}
FROM {{ staging_table('customer_order_history') }}
WHERE {{ history_column('purchased_lines', days_before) }} IS NOT NULL
