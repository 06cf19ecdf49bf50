-- customer_value_backtest: the customer value model as it would have been trained one horizon earlier,
-- on features as of cut-off - 2 x value_horizon_days, so that value_model_evaluations can score it on the
-- window cut-off - horizon ... cut-off it never saw. Never served; publishing drops it.
{%- with training = 'customer_value_backtest_training', model_name = staging_model('customer_value_backtest') %}
{% include 'customer_value_model.sql' %}
{%- endwith %}
