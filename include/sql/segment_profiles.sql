-- segment_profiles: per segment of the snapshot, its size, its share of customers and of revenue, and
-- the mean of every numeric feature in original units (log transforms apply to the model input only):
-- what the persona step describes.
WITH members AS (
  SELECT
    segments.segment_id,
    features.*
  FROM {{ staging_table('customer_segments') }} AS segments
  JOIN {{ staging_table('customer_features') }} AS features
    ON features.customer_id = segments.customer_id
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  segment_id,
  COUNT(*) AS customers,
  COUNT(*) / SUM(COUNT(*)) OVER () AS customer_share,
  SAFE_DIVIDE(SUM(monetary), SUM(SUM(monetary)) OVER ()) AS revenue_share,
  {%- for feature in features() if feature.is_numeric %}
  AVG({{ feature.name }}) AS {{ feature.name }}{{ ',' if not loop.last }}
  {%- endfor %}
FROM members
GROUP BY segment_id
