-- customer_value_backtest_training: the backtest's training rows, one horizon further back. Every customer
-- with an order before cut-off - 2 x value_horizon_days, with the value model's features as of then
-- (recent_value: the spend of the horizon before) and the spend of the horizon that followed
-- (future_value); nothing of the window it is scored on enters.
WITH features AS (
{%- with cut_off_days_before = 2 * config().value_horizon_days %}
{% include 'customer_features.sql' %}
{%- endwith %}
),

recent AS (
{%- with window_end_days_before = 2 * config().value_horizon_days %}
{% include 'window_spend.sql' %}
{%- endwith %}
),

future AS (
{%- with window_end_days_before = config().value_horizon_days %}
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
