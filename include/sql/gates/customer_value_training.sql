-- Gate on the value models' staged training rows, before any model trains: the source's history must
-- reach back beyond both training cut-offs (cut-off - horizon, and cut-off - 2 x horizon for the
-- backtest), or there is nothing to learn from; the run fails naming the horizon, and nothing is published.
{%- for training, days_before in [
  ('customer_value_training', config().value_horizon_days),
  ('customer_value_backtest_training', 2 * config().value_horizon_days),
] %}
SELECT IF(
  COUNT(*) > 0,
  'ok',
  ERROR(CONCAT(
    'customer_value gate failed: no customers with orders before ',
    CAST(DATE({{ cut_off(days_before) }}) AS STRING),
    ' (the cut-off minus {{ days_before }} days): the source history is shorter than ',
    '{{ "twice " if days_before != config().value_horizon_days }}value_horizon_days ({{ config().value_horizon_days }}); ',
    'lower value_horizon_days'
  ))
) AS has_history
FROM {{ staging_table(training) }};
{%- endfor %}
