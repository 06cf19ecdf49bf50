-- segment_profiles: per segment of the snapshot, its size, its share of customers and of revenue, and
-- the mean of every numeric feature in original units (log transforms apply to the model input only):
-- what the persona step describes; and the value the customer value model predicts for them.
WITH members AS (
  SELECT
    segments.segment_id,
    features.*,
    predictions.predicted_value
  FROM {{ staging_table('customer_segments') }} AS segments
  JOIN {{ staging_table('customer_features') }} AS features
    ON features.customer_id = segments.customer_id
  LEFT JOIN {{ staging_table('customer_value_predictions') }} AS predictions
    ON predictions.customer_id = segments.customer_id
)

SELECT
  DATE '{{ ds }}' AS snapshot_date,
  segment_id,
  COUNT(*) AS customers,
  COUNT(*) / SUM(COUNT(*)) OVER () AS customer_share,
  SAFE_DIVIDE(SUM(monetary), SUM(SUM(monetary)) OVER ()) AS revenue_share,
  AVG(predicted_value) AS avg_predicted_value,
  SAFE_DIVIDE(SUM(predicted_value), SUM(SUM(predicted_value)) OVER ()) AS predicted_value_share,
  {%- for feature in features() if feature.is_numeric %}
  AVG({{ feature.name }}) AS {{ feature.name }}{{ ',' if not loop.last }}
  {%- endfor %}
FROM members
GROUP BY segment_id
