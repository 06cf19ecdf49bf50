-- Keeps segment ids naming the same customers from one snapshot to the next. k-means numbers its centroids
-- arbitrarily, so without this step segment 3 could be a different group every day. The run's staged
-- customer_segments are renumbered: a segment takes the id of the previous snapshot's segment it shares
-- the most customers with, when that segment in turn shares the most with it. The other segments (all of
-- them when there is no previous snapshot or the number of segments changed) take the ids left over, in
-- the model's order. Ids stay 1..k; a backfill aligns with the snapshot before its own date.
{%- set staged = staging_table('customer_segments') %}
UPDATE {{ staged }} AS staged
SET segment_id = renumbering.stable_id
FROM (
  WITH model_ids AS (
    SELECT DISTINCT segment_id AS model_id
    FROM {{ staged }}
  ),

  previous AS (
    SELECT customer_id, segment_id
    FROM {{ table('customer_segments') }}
    WHERE snapshot_date = (
      SELECT MAX(snapshot_date)
      FROM {{ table('customer_segments') }}
      WHERE snapshot_date < DATE '{{ ds }}'
    )
  ),

  overlaps AS (
    SELECT
      current_segments.segment_id AS model_id,
      previous.segment_id AS previous_id,
      COUNT(*) AS shared_customers
    FROM {{ staged }} AS current_segments
    JOIN previous USING (customer_id)
    GROUP BY model_id, previous_id
  ),

  kept AS (
    SELECT model_id, previous_id AS stable_id
    FROM overlaps
    WHERE (SELECT COUNT(DISTINCT segment_id) FROM previous) = (SELECT COUNT(*) FROM model_ids)
    QUALIFY
      ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY shared_customers DESC, previous_id) = 1
      AND ROW_NUMBER() OVER (PARTITION BY previous_id ORDER BY shared_customers DESC, model_id) = 1
  ),

  unmatched_models AS (
    SELECT model_id, ROW_NUMBER() OVER (ORDER BY model_id) AS position
    FROM model_ids
    WHERE model_id NOT IN (SELECT model_id FROM kept)
  ),

  free_ids AS (
    SELECT id AS stable_id, ROW_NUMBER() OVER (ORDER BY id) AS position
    FROM UNNEST(GENERATE_ARRAY(1, (SELECT COUNT(*) FROM model_ids))) AS id
    WHERE id NOT IN (SELECT stable_id FROM kept)
  )

  SELECT model_id, stable_id
  FROM kept
  UNION ALL
  SELECT model_id, stable_id
  FROM unmatched_models
  JOIN free_ids USING (position)
) AS renumbering
WHERE staged.segment_id = renumbering.model_id
