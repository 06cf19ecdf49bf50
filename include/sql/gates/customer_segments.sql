-- Gate on the staged customer_segments, before the published partition is replaced: every customer of
-- the snapshot has exactly one segment, nobody else has one, every centroid of the served trial has a
-- segment id and every segment has customers.
{%- set staged = staging_table('customer_segments') %}
WITH centroids AS (
  SELECT DISTINCT centroid_id
  FROM (
{% include 'trained_centroids.sql' %}
  )
),

mapping AS (
  SELECT centroid_id, segment_id
  FROM {{ staging_table('segment_id_mapping') }}
),

problems AS (
  SELECT *
  FROM (
{%- with row_noun = 'segment', holders = 'segmented' %}
{% include 'one_row_per_featured_customer.sql' %}
{%- endwith %}
  )
  UNION ALL
  SELECT COUNT(*), 'centroids without a segment id'
  FROM centroids
  WHERE centroid_id NOT IN (SELECT centroid_id FROM mapping)
  UNION ALL
  SELECT COUNT(*), 'empty segments (centroids nobody is assigned to)'
  FROM mapping
  WHERE centroid_id IN (SELECT centroid_id FROM centroids)
    AND segment_id NOT IN (SELECT segment_id FROM {{ staged }})
)

SELECT IF(
  COUNT(*) = 0,
  'ok',
  ERROR(CONCAT(
    'customer_segments gate failed: ',
    STRING_AGG(FORMAT('%d %s', problem_count, problem), '; ' ORDER BY problem)
  ))
) AS one_segment_each
FROM problems
WHERE problem_count > 0
