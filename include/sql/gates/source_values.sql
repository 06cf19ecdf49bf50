-- Source gate: the order lines features are computed from must carry sane values. Names every problem
-- found among the lines before the run's cut-off: missing or negative amounts, amounts beyond
-- max_line_amount (or NaN / infinite), and a line key seen twice (the same line loaded twice would
-- count its revenue twice). It reads the counts the run's customer_order_history keeps per customer.
{%- set settings = config() %}
{%- set line_key = settings.line_key %}
{%- set history = staging_table('customer_order_history') %}
WITH problems AS (
  SELECT SUM(negative_price_lines) AS line_count, 'with a negative sale_price' AS problem FROM {{ history }}
  UNION ALL
  SELECT SUM(missing_price_lines), 'without a sale_price' FROM {{ history }}
  UNION ALL
  SELECT
    SUM(implausible_price_lines),
    {{ sql_string('with a sale_price above %.2f (max_line_amount) or not a finite number' | format(settings.max_line_amount)) }}
  FROM {{ history }}
  UNION ALL
  SELECT SUM(lines_without_customer), 'without a customer (user_id)' FROM {{ history }}
  UNION ALL
  SELECT SUM(missing_order_id_lines), 'without an order_id' FROM {{ history }}
  {%- if line_key %}
  UNION ALL
  -- Extra copies of a line: every line key beyond its first occurrence.
  SELECT SUM(repeated_line_key_lines), {{ sql_string('repeating the line key ' ~ line_key ~ ' of another line') }}
  FROM {{ history }}
  {%- endif %}
)

SELECT IF(
  COUNT(*) = 0,
  'ok',
  ERROR(CONCAT(
    'source values gate failed: ',
    STRING_AGG(FORMAT('%d order lines %s', line_count, problem), '; ' ORDER BY problem),
    ' in ',
    {{ sql_string(settings.source_project ~ '.' ~ settings.source_dataset) }},
    ' before {{ cut_off_at() }}'
  ))
) AS source_values
FROM problems
WHERE line_count > 0
