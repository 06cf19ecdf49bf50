-- customer_features: one row per customer with an order line before the run's cut-off (its data
-- interval end). Every feature is measured as of that instant, so a backfill reproduces its day. Included
-- with cut_off_days_before = N, it measures the same features as of N days before the cut-off (what the
-- customer value model trains on).
WITH order_lines AS (
{% include 'order_lines.sql' %}
),

purchases AS (
  -- Cancelled items never count; returned items count towards orders but not towards spend.
  SELECT
    *,
    IF(is_returned, 0, sale_price) AS kept_value
  FROM order_lines
  WHERE NOT is_cancelled
),

rfm AS (
  SELECT
    customer_id,
    TIMESTAMP_DIFF({{ cut_off(cut_off_days_before | default(0)) }}, MAX(ordered_at), DAY) AS recency_days,
    COUNT(DISTINCT order_id) AS frequency,
    SUM(kept_value) AS monetary,
    TIMESTAMP_DIFF({{ cut_off(cut_off_days_before | default(0)) }}, MIN(ordered_at), DAY) AS tenure_days,
    COUNTIF(is_returned) / COUNT(*) AS return_ratio
  FROM purchases
  GROUP BY customer_id
)
{%- if config().feature_set == 'extended' %},

customers AS (
{% include 'customers.sql' %}
),

windowed_purchases AS (
  SELECT
    *,
    {%- for months in spend_windows_months %}
    ordered_at >= TIMESTAMP(DATETIME_SUB(DATETIME({{ cut_off(cut_off_days_before | default(0)) }}), INTERVAL {{ months }} MONTH))
      AS within_{{ months }}_months{{ ',' if not loop.last }}
    {%- endfor %}
  FROM purchases
),

category_spend AS (
  SELECT
    customer_id,
    {%- for spend in spend_features() %}
    SUM(IF(within_{{ spend.months }}_months AND department = {{ sql_string(spend.department) }} AND category = {{ sql_string(spend.category) }}, kept_value, 0))
      AS {{ spend.column.name }}{{ ',' if not loop.last }}
    {%- endfor %}
  FROM windowed_purchases
  GROUP BY customer_id
)
{%- endif %}

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  rfm.customer_id,
  rfm.recency_days,
  rfm.frequency,
  rfm.monetary,
  SAFE_DIVIDE(rfm.monetary, rfm.frequency) AS avg_order_value,
  rfm.tenure_days,
  rfm.return_ratio
  {%- if config().feature_set == 'extended' %},
  customers.age,
  customers.gender,
  customers.country,
  customers.traffic_source,
  {%- for spend in spend_features() %}
  IFNULL(category_spend.{{ spend.column.name }}, 0) AS {{ spend.column.name }}{{ ',' if not loop.last }}
  {%- endfor %}
  {%- endif %}
FROM rfm
{%- if config().feature_set == 'extended' %}
LEFT JOIN customers USING (customer_id)
LEFT JOIN category_spend USING (customer_id)
{%- endif %}
