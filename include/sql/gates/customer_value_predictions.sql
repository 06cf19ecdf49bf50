-- Gate on the staged customer_value_predictions, before the published partition is replaced: every
-- customer of the snapshot's features has exactly one prediction, nobody else has one, and no predicted
-- value is NULL or negative.
{%- set staged = staging_table('customer_value_predictions') %}
WITH featured AS (
  SELECT customer_id
  FROM {{ staging_table('customer_features') }}
),

predicted AS (
  SELECT customer_id, COUNT(*) AS predictions
  FROM {{ staged }}
  GROUP BY customer_id
),

problems AS (
  SELECT COUNT(*) AS problem_count, 'featured customers without a prediction' AS problem
  FROM featured
  LEFT JOIN predicted ON predicted.customer_id = featured.customer_id
  WHERE predicted.customer_id IS NULL
  UNION ALL
  SELECT COUNTIF(predictions > 1), 'customers with more than one prediction'
  FROM predicted
  UNION ALL
  SELECT COUNT(*), 'predicted customers missing from customer_features'
  FROM predicted
  LEFT JOIN featured ON featured.customer_id = predicted.customer_id
  WHERE featured.customer_id IS NULL
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
