-- customer_order_history: the run's one read of the source. One row per customer with an order line before
-- the run's cut-off (and one for lines without a customer): the source gates' counts, and for every cut-off
-- the run measures at (cut_offs(): now, one and two value horizons back) the aggregates its features and
-- the value model's spend windows are made of. The gates, customer_features and the value model's training
-- sets read this customer-level table instead of the order lines, so a run scans the source's columns once
-- (BigQuery bills a query for the columns it reads of the tables it references:
-- https://cloud.google.com/bigquery/docs/estimate-costs). Zero counts and spends are NULL, which costs no
-- bytes to read. Column names and types: order_history_columns()
-- (plugins/segmentation/features.py).
{%- set settings = config() %}
{%- set line_key = settings.line_key %}
WITH order_lines AS (
{% include 'order_lines.sql' %}
),

lines AS (
  SELECT
    *,
    {%- if line_key %}
    -- Every copy of a line key beyond its first; which copy counts as the first changes no total.
    line_id IS NOT NULL AND ROW_NUMBER() OVER (PARTITION BY line_id ORDER BY ordered_at) > 1
    {%- else %}
    FALSE
    {%- endif %}
      AS repeats_a_line_key
  FROM order_lines
),

history AS (
  SELECT
    customer_id,
    MAX(ordered_at) AS latest_line_at,
    NULLIF(COUNTIF(sale_price < 0), 0) AS negative_price_lines,
    NULLIF(COUNTIF(sale_price IS NULL), 0) AS missing_price_lines,
    -- NOT (x <= bound) also holds for NaN and +inf, which compare false to everything
    -- (https://cloud.google.com/bigquery/docs/reference/standard-sql/operators#comparison_operators).
    NULLIF(COUNTIF(NOT sale_price <= {{ settings.max_line_amount }}), 0) AS implausible_price_lines,
    IF(customer_id IS NULL, COUNT(*), NULL) AS lines_without_customer,
    NULLIF(COUNTIF(order_id IS NULL), 0) AS missing_order_id_lines,
    NULLIF(COUNTIF(repeats_a_line_key), 0) AS repeated_line_key_lines
    {%- for days_before in cut_offs() %}
    {#- A purchase: a line before that cut-off, not cancelled; returned once its return is before it. #}
    {%- set purchase = 'NOT is_cancelled AND ordered_at < ' ~ cut_off(days_before) %}
    {%- set kept = 'IF(is_returned AND IFNULL(returned_at < ' ~ cut_off(days_before) ~ ', TRUE), 0, sale_price)' %},
    NULLIF(COUNTIF({{ purchase }}), 0) AS {{ history_column('purchased_lines', days_before) }},
    NULLIF(COUNTIF({{ purchase }} AND is_returned AND IFNULL(returned_at < {{ cut_off(days_before) }}, TRUE)), 0)
      AS {{ history_column('returned_lines', days_before) }},
    COUNT(DISTINCT IF({{ purchase }}, order_id, NULL)) AS {{ history_column('orders', days_before) }},
    {#- Summed as NUMERIC, exact: a FLOAT64 sum depends on the order a parallel engine adds the lines in, and
        a rerun of the date must give the same spend to the last digit (and so the same segments). An amount
        NUMERIC cannot hold is NULL here; the values gate fails the run on it. #}
    CAST(SUM(SAFE_CAST(IF({{ purchase }}, {{ kept }}, NULL) AS NUMERIC)) AS FLOAT64)
      AS {{ history_column('kept_value', days_before) }},
    MIN(IF({{ purchase }}, ordered_at, NULL)) AS {{ history_column('first_ordered_at', days_before) }},
    MAX(IF({{ purchase }}, ordered_at, NULL)) AS {{ history_column('last_ordered_at', days_before) }},
    SUM(IF({{ purchase }} AND ordered_at >= {{ cut_off(days_before + settings.value_horizon_days) }}, {{ kept }}, NULL))
      AS {{ history_column('horizon_spend', days_before) }}
    {%- for spend in spend_features() %},
    NULLIF(SUM(IF(
      {{ purchase }}
        AND ordered_at >= TIMESTAMP(DATETIME_SUB(DATETIME({{ cut_off(days_before) }}), INTERVAL {{ spend.months }} MONTH))
        AND department = {{ sql_string(spend.department) }} AND category = {{ sql_string(spend.category) }},
      {{ kept }},
      0
    )), 0) AS {{ history_column(spend.column.name, days_before) }}
    {%- endfor %}
    {%- endfor %}
  FROM lines
  GROUP BY customer_id
)
{%- if settings.feature_set == 'extended' %},

customers AS (
{% include 'customers.sql' %}
)

SELECT history.*, customers.* EXCEPT (customer_id)
FROM history
LEFT JOIN customers ON customers.customer_id = history.customer_id
{%- else %}

SELECT * FROM history
{%- endif %}
