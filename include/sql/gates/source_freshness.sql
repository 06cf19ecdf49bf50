-- Source gate: the source must hold orders from the last freshness_days days before the run's cut-off.
-- An empty window means a stale extract or a date before the data starts; features would be wrong.
-- It reads the run's customer_order_history: each customer's latest line, cancelled or not.
SELECT IF(
  MAX(latest_line_at) >= TIMESTAMP_SUB(TIMESTAMP '{{ cut_off_at() }}', INTERVAL {{ config().freshness_days }} DAY),
  'ok',
  ERROR(FORMAT(
    'source freshness gate failed: no orders in %s during the %d days before %t (freshness_days); latest earlier order: %s',
    {{ sql_string(config().source_project ~ '.' ~ config().source_dataset) }},
    {{ config().freshness_days }},
    TIMESTAMP '{{ cut_off_at() }}',
    -- CAST, not a nested FORMAT: the canonical 'YYYY-MM-DD HH:MM:SS+00' text of a TIMESTAMP
    -- (https://cloud.google.com/bigquery/docs/reference/standard-sql/conversion_functions#cast_as_string).
    IFNULL(CAST(MAX(latest_line_at) AS STRING), 'none')
  ))
) AS source_freshness
FROM {{ staging_table('customer_order_history') }}
