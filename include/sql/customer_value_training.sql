-- customer_value_training: what the customer value model learns from. Every customer with an order before
-- cut-off - value_horizon_days, with the value model's features as of that instant, the spend of the
-- horizon that followed up to the cut-off (future_value, the label), and the spend of the horizon before
-- that instant (recent_value: a feature, and the last_period baseline's prediction). The backtest scores
-- its model on these rows too: the window cut-off - horizon ... cut-off is one its model never saw.
{#- customer_value_backtest_training is this file with the label's window ending label_end_days_before
    (one horizon) before the cut-off: the same rows, one horizon further back. #}
{%- set label_end_days_before = label_end_days_before | default(0) %}
{%- set features_days_before = label_end_days_before + config().value_horizon_days %}
WITH features AS (
{%- with cut_off_days_before = features_days_before %}
{% include 'customer_features.sql' %}
{%- endwith %}
),

future AS (
{%- with window_end_days_before = label_end_days_before %}
{% include 'window_spend.sql' %}
{%- endwith %}
),

recent AS (
{%- with window_end_days_before = features_days_before %}
{% include 'window_spend.sql' %}
{%- endwith %}
)

SELECT
{% include 'value_model_features.sql' %},
{% include 'value_model_recent.sql' %},
  IFNULL(future.spend, 0) AS future_value
FROM features
LEFT JOIN recent USING (customer_id)
LEFT JOIN future USING (customer_id)
