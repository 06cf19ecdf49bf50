-- customer_value_backtest_training: the backtest's training rows, one horizon further back. Every customer
-- with an order before cut-off - 2 x value_horizon_days, with the value model's features as of then
-- (recent_value: the spend of the horizon before) and the spend of the horizon that followed
-- (future_value); nothing of the window it is scored on enters. The same rows as
-- customer_value_training, its label's window ending one horizon before the cut-off.
{%- with label_end_days_before = config().value_horizon_days %}
{% include 'customer_value_training.sql' %}
{%- endwith %}
