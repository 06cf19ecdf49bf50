-- customer_value_model: a BigQuery ML linear regression of spend^{{ value_label_power }} (spend in the next
-- value_horizon_days) on the customer's features, trained on the features as of one horizon before the
-- cut-off and the spend that followed. Spend is heavily skewed (most customers spend nothing in a horizon,
-- a few a lot): squared loss on raw spend chases the largest spenders, on log spend it ranks the typical
-- customer but undervalues the largest; the power in between ranked the top tenth of future spenders best
-- in the backtests (README, benchmarks/customer_value.py). Predictions are mapped back to currency and
-- calibrated in value_prediction.sql. The normal
-- equation solves it exactly, so a retrain on the same rows is the same model; a small L2 penalty keeps
-- it unique when one-hot categories are collinear. Every row trains (NO_SPLIT): the honest evaluation is
-- the out-of-time backtest in value_model_evaluations.
-- https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-glm
-- Only options the page documents are set. A run trains its own staging copy; publish_customer_value_model replaces the served model with the same
-- training once every gate has passed.
{%- set training = training | default('customer_value_training') %}
CREATE OR REPLACE MODEL {{ model_name | default(staging_model('customer_value_model')) }}
OPTIONS (
  model_type = 'LINEAR_REG',
  input_label_cols = ['transformed_future_value'],
  optimize_strategy = 'NORMAL_EQUATION',
  l2_reg = 1.0,
  data_split_method = 'NO_SPLIT'
) AS
SELECT
  * EXCEPT (customer_id, future_value),
  POW(future_value, {{ value_label_power }}) AS transformed_future_value
FROM {{ staging_table(training) }}
