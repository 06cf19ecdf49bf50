-- Gate on the staged customer_value_predictions, before the published partition is replaced: every
-- customer of the snapshot's features has exactly one prediction, nobody else has one, and no predicted
-- value is NULL or negative.
{%- set staged = staging_table('customer_value_predictions') %}
WITH problems AS (
  SELECT *
  FROM (
{%- with row_noun = 'prediction', holders = 'predicted' %}
{% include 'one_row_per_featured_customer.sql' %}
{%- endwith %}
  )
  UNION ALL
  SELECT COUNTIF(predicted_value IS NULL), 'NULL predicted_value'
  FROM {{ staged }}
  UNION ALL
  SELECT COUNTIF(predicted_value < 0), 'negative predicted_value'
  FROM {{ staged }}
)

SELECT IF(
  COUNT(*) = 0,
  'ok',
  ERROR(CONCAT(
    'customer_value_predictions gate failed: ',
    STRING_AGG(FORMAT('%d %s', problem_count, problem), '; ' ORDER BY problem)
  ))
) AS one_prediction_each
FROM problems
WHERE problem_count > 0
