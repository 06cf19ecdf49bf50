-- customer_value_predictions: every customer of the snapshot's customer_features with the spend the value
-- model (trained for this run, not yet served) predicts for the value_horizon_days after the cut-off, and
-- its decile: 1 holds the tenth of customers predicted to be worth the most (ties broken by customer_id,
-- so deciles do not depend on row order).
{%- set scored %}
SELECT
{% include 'value_model_features.sql' %},
{% include 'value_model_recent.sql' %}
FROM {{ staging_table('customer_features') }}
LEFT JOIN (
{%- with window_end_days_before = 0 %}
{% include 'window_spend.sql' %}
{%- endwith %}
) AS recent USING (customer_id)
{%- endset %}
WITH predicted AS (
{%- with model = staging_model('customer_value_model'), training = 'customer_value_training' %}
{% include 'value_prediction.sql' %}
{%- endwith %}
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  customer_id,
  predicted_value,
  NTILE(10) OVER (ORDER BY predicted_value DESC, customer_id) AS predicted_value_decile,
  {{ config().value_horizon_days }} AS horizon_days
FROM predicted
