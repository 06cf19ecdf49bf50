-- A transactions table of the user's own as order lines, through the column mapping (transactions_columns).
-- Only lines placed before the run's cut-off (its data interval end) exist here. A DATETIME or DATE
-- ordered_at is read as UTC. Without a cancellation or return column no line is cancelled or returned;
-- without an order id column (order_id mapped to null) each customer's lines of one UTC day are one order.
-- No return time is recorded (returned_at is NULL).
{%- set column = transactions_column %}
SELECT
  {% if column('line_id') %}line.{{ column('line_id') }}{% else %}CAST(NULL AS STRING){% endif %} AS line_id,
  line.{{ column('customer_id') }} AS customer_id,
  {%- if column('order_id') %}
  line.{{ column('order_id') }} AS order_id,
  {%- else %}
  -- No order id: a customer's lines on one (UTC) day are one order.
  CONCAT(CAST(line.{{ column('customer_id') }} AS STRING), '/',
         CAST(DATE(CAST(line.{{ column('ordered_at') }} AS TIMESTAMP)) AS STRING)) AS order_id,
  {%- endif %}
  CAST(line.{{ column('ordered_at') }} AS TIMESTAMP) AS ordered_at,
  CAST(line.{{ column('amount') }} AS FLOAT64) AS sale_price,
  {%- if column('is_cancelled') %}
  IFNULL(line.{{ column('is_cancelled') }}, FALSE) AS is_cancelled,
  {%- elif column('status') %}
  IFNULL(LOWER(line.{{ column('status') }}) IN ('cancelled', 'canceled'), FALSE) AS is_cancelled,
  {%- else %}
  FALSE AS is_cancelled,
  {%- endif %}
  {%- if column('is_returned') %}
  IFNULL(line.{{ column('is_returned') }}, FALSE) AS is_returned,
  {%- elif column('status') %}
  IFNULL(LOWER(line.{{ column('status') }}) = 'returned', FALSE) AS is_returned,
  {%- else %}
  FALSE AS is_returned,
  {%- endif %}
  -- When a line was returned is not recorded: a returned line counts as returned at every cut-off.
  CAST(NULL AS TIMESTAMP) AS returned_at,
  CAST(NULL AS STRING) AS department,
  {% if column('category') %}line.{{ column('category') }}{% else %}CAST(NULL AS STRING){% endif %} AS category
FROM {{ transactions_table() }} AS line
WHERE CAST(line.{{ column('ordered_at') }} AS TIMESTAMP) < {{ cut_off(cut_off_days_before | default(0)) }}
