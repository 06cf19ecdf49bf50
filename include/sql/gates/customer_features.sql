-- Gates on the staged customer_features, before the published partition is replaced: the snapshot must
-- have customers, sane recency/frequency/monetary, and not collapse against the previous snapshot.
{%- set staged = staging_table('customer_features') %}
SELECT IF(
  COUNT(*) > 0,
  'ok',
  ERROR('customer_features gate failed: no customers with orders before {{ cut_off_at() }}')
) AS has_customers
FROM {{ staged }};

WITH problems AS (
  {%- for column in ['recency_days', 'frequency', 'monetary'] %}
  {%- if not loop.first %}
  UNION ALL
  {%- endif %}
  SELECT COUNTIF({{ column }} IS NULL) AS row_count, 'NULL {{ column }}' AS problem FROM {{ staged }}
  UNION ALL
  SELECT COUNTIF({{ column }} < 0), 'negative {{ column }}' FROM {{ staged }}
  {%- endfor %}
)

SELECT IF(
  COUNT(*) = 0,
  'ok',
  ERROR(CONCAT(
    'customer_features gate failed: ',
    STRING_AGG(FORMAT('%d rows with %s', row_count, problem), ', ' ORDER BY problem)
  ))
) AS sane_values
FROM problems
WHERE row_count > 0;

WITH previous AS (
  SELECT snapshot_date, COUNT(*) AS customers
  FROM {{ table('customer_features') }}
  WHERE snapshot_date = (
    SELECT MAX(snapshot_date)
    FROM {{ table('customer_features') }}
    WHERE snapshot_date < DATE '{{ ds }}'
  )
  GROUP BY snapshot_date
),

staged AS (
  SELECT COUNT(*) AS customers FROM {{ staged }}
)

SELECT IF(
  previous.customers IS NULL
    OR staged.customers >= previous.customers * (1 - {{ config().max_row_drop_pct }} / 100),
  'ok',
  ERROR(FORMAT(
    'customer_features gate failed: %d customers, %.1f%% fewer than the %d of the previous snapshot %t (max_row_drop_pct %g)',
    staged.customers,
    100 * (1 - staged.customers / previous.customers),
    previous.customers,
    previous.snapshot_date,
    {{ config().max_row_drop_pct }}
  ))
) AS no_collapse
FROM staged
LEFT JOIN previous ON TRUE
