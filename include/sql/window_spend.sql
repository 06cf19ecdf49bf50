{#- Spend per customer in the value_horizon_days before cut_off(window_end_days_before): items ordered in
    the window, neither cancelled nor returned as of the window's end (what customer_features calls
    monetary). Customers without such spend have no row. -#}
{%- set cut_off_days_before = window_end_days_before %}
SELECT
  customer_id,
  SUM(IF(is_returned, 0, sale_price)) AS spend
FROM (
{% include 'order_lines.sql' %}
)
WHERE NOT is_cancelled
  AND ordered_at >= {{ cut_off(window_end_days_before + config().value_horizon_days) }}
GROUP BY customer_id
