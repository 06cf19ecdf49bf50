-- Source gate: the order lines features are computed from must carry sane values. Names every problem
-- found among the lines before the run's cut-off: missing or negative amounts, amounts beyond
-- max_line_amount (or NaN / infinite), and a line key seen twice (the same line loaded twice would
-- count its revenue twice).
{%- set settings = config() %}
{%- if settings.source_kind == 'thelook' %}
{%- set line_key = 'order_items.id' %}
{%- else %}
{%- set line_key = settings.transactions_columns.get('line_id') %}
{%- endif %}
WITH order_lines AS (
{% include 'order_lines.sql' %}
),

problems AS (
  SELECT COUNTIF(sale_price < 0) AS line_count, 'with a negative sale_price' AS problem FROM order_lines
  UNION ALL
  SELECT COUNTIF(sale_price IS NULL), 'without a sale_price' FROM order_lines
  UNION ALL
  -- NOT (x <= bound) also holds for NaN and +inf, which compare false to everything
  -- (https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#comparison_operators).
  SELECT
    COUNTIF(NOT sale_price <= {{ settings.max_line_amount }}),
    {{ sql_string('with a sale_price above %.2f (max_line_amount) or not a finite number' | format(settings.max_line_amount)) }}
  FROM order_lines
  UNION ALL
  SELECT COUNTIF(customer_id IS NULL), 'without a customer (user_id)' FROM order_lines
  UNION ALL
  SELECT COUNTIF(order_id IS NULL), 'without an order_id' FROM order_lines
  {%- if line_key %}
  UNION ALL
  -- Extra copies of a line: every line key beyond its first occurrence.
  SELECT COUNT(line_id) - COUNT(DISTINCT line_id), {{ sql_string('repeating the line key ' ~ line_key ~ ' of another line') }}
  FROM order_lines
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
