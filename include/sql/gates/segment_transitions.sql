-- Gate on the staged segment_transitions and segment_membership_changes, before anything is published:
-- the transitions account for every customer of both snapshots exactly once, and the change feed lists
-- exactly the customers the transitions count as having changed.
{%- set published = table('customer_segments') %}
WITH previous_customers AS (
  SELECT COUNT(*) AS customers
  FROM {{ published }}
  WHERE snapshot_date = (
    SELECT MAX(snapshot_date)
    FROM {{ published }}
    WHERE snapshot_date < DATE '{{ ds }}'
  )
),

transitions AS (
  SELECT
    SUM(IF(previous_segment_id IS NOT NULL, customers, 0)) AS from_previous,
    SUM(IF(segment_id IS NOT NULL, customers, 0)) AS into_current,
    SUM(
      IF(previous_segment_id IS NULL OR segment_id IS NULL OR previous_segment_id != segment_id, customers, 0)
    ) AS changed,
    COUNTIF(previous_segment_id IS NULL AND segment_id IS NULL) AS without_segments
  FROM {{ staging_table('segment_transitions') }}
),

problems AS (
  SELECT
    ABS(COALESCE(transitions.from_previous, 0) - previous_customers.customers) AS problem_count,
    'customers of the previous snapshot miscounted' AS problem
  FROM transitions CROSS JOIN previous_customers
  UNION ALL
  SELECT
    ABS(COALESCE(transitions.into_current, 0) - (SELECT COUNT(*) FROM {{ staging_table('customer_segments') }})),
    'customers of the snapshot miscounted'
  FROM transitions
  UNION ALL
  SELECT transitions.without_segments, 'transitions without either segment'
  FROM transitions
  UNION ALL
  SELECT
    ABS(COALESCE(transitions.changed, 0) - (SELECT COUNT(*) FROM {{ staging_table('segment_membership_changes') }})),
    'membership changes not matching the transitions'
  FROM transitions
)

SELECT IF(
  COUNT(*) = 0,
  'ok',
  ERROR(CONCAT(
    'segment_transitions gate failed: ',
    STRING_AGG(FORMAT('%d %s', problem_count, problem), '; ' ORDER BY problem)
  ))
) AS every_customer_counted_once
FROM problems
WHERE problem_count > 0
