-- Source gate: the order lines features are computed from must carry sane values. Names every problem
-- found among the lines before the run's cut-off.
WITH order_lines AS (
{% include 'order_lines.sql' %}
),

problems AS (
  SELECT COUNTIF(sale_price < 0) AS line_count, 'with a negative sale_price' AS problem FROM order_lines
  UNION ALL
  SELECT COUNTIF(sale_price IS NULL), 'without a sale_price' FROM order_lines
  UNION ALL
  SELECT COUNTIF(customer_id IS NULL), 'without a customer (user_id)' FROM order_lines
  UNION ALL
  SELECT COUNTIF(order_id IS NULL), 'without an order_id' FROM order_lines
)

SELECT IF(
  COUNT(*) = 0,
  'ok',
  ERROR(CONCAT(
    'source values gate failed: ',
    STRING_AGG(FORMAT('%d order lines %s', line_count, problem), '; ' ORDER BY problem),
    ' in ',
    {{ sql_string(config().source_project ~ '.' ~ config().source_dataset) }},
    ' before {{ data_interval_end }}'
  ))
) AS source_values
FROM problems
WHERE line_count > 0
