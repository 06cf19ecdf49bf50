-- value_model_evaluations: the out-of-time backtest. The backtest model, trained on features as of
-- cut-off - 2 x horizon, predicts the spend of the window cut-off - horizon ... cut-off from the features
-- as of its start; so does the last_period baseline (next horizon = the horizon before). Both are scored
-- against what the customers actually spent in the window: mean absolute and root mean squared error,
-- Spearman's rank correlation (ties get their average rank), the share of the window's spend made by the
-- predicted top tenth of customers, and per predicted decile the mean predicted and actual spend.
{%- set scored %}
SELECT *
FROM {{ staging_table('customer_value_training') }}
{%- endset %}
WITH backtest AS (
{%- with model = staging_model('customer_value_backtest'), training = 'customer_value_backtest_training' %}
{% include 'value_prediction.sql' %}
{%- endwith %}
),

predictions AS (
  SELECT 'value_model' AS model, customer_id, predicted_value, future_value AS actual_value
  FROM backtest
  UNION ALL
  SELECT 'last_period', customer_id, recent_value, future_value
  FROM {{ staging_table('customer_value_training') }}
),

ranked AS (
  SELECT
    *,
    -- A tie's average rank: halfway between its first rank and the count of rows up to and including it
    -- (the default frame of an ordered window ends at the current row's last peer).
    (RANK() OVER (PARTITION BY model ORDER BY predicted_value)
      + COUNT(*) OVER (PARTITION BY model ORDER BY predicted_value)) / 2 AS predicted_rank,
    (RANK() OVER (PARTITION BY model ORDER BY actual_value)
      + COUNT(*) OVER (PARTITION BY model ORDER BY actual_value)) / 2 AS actual_rank,
    NTILE(10) OVER (PARTITION BY model ORDER BY predicted_value DESC, customer_id) AS decile
  FROM predictions
),

deciles AS (
  SELECT
    model,
    ARRAY_AGG(
      STRUCT(decile, customers, mean_predicted_value, mean_actual_value) ORDER BY decile
    ) AS deciles
  FROM (
    SELECT
      model,
      decile,
      COUNT(*) AS customers,
      AVG(predicted_value) AS mean_predicted_value,
      AVG(actual_value) AS mean_actual_value
    FROM ranked
    GROUP BY model, decile
  )
  GROUP BY model
),

scores AS (
  SELECT
    model,
    COUNT(*) AS customers,
    AVG(ABS(predicted_value - actual_value)) AS mean_absolute_error,
    SQRT(AVG(POW(predicted_value - actual_value, 2))) AS root_mean_squared_error,
    CORR(predicted_rank, actual_rank) AS spearman,
    SAFE_DIVIDE(SUM(IF(decile = 1, actual_value, 0)), SUM(actual_value)) AS top_decile_capture
  FROM ranked
  GROUP BY model
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  scores.model,
  {{ config().value_horizon_days }} AS horizon_days,
  scores.customers,
  scores.mean_absolute_error,
  scores.root_mean_squared_error,
  scores.spearman,
  scores.top_decile_capture,
  deciles.deciles
FROM scores
JOIN deciles USING (model)
