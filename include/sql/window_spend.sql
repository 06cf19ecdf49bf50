{#- Spend per customer in the value_horizon_days before cut_off(window_end_days_before) (one of
    cut_offs()): items ordered in the window, neither cancelled nor returned as of the window's end (what
    customer_features calls monetary), from the run's customer_order_history. Customers without items in
    the window have no row. -#}
SELECT
  customer_id,
  {{ history_column('horizon_spend', window_end_days_before) }} AS spend
FROM {{ staging_table('customer_order_history') }}
WHERE {{ history_column('horizon_spend', window_end_days_before) }} IS NOT NULL
