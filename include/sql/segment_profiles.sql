-- segment_profiles: per segment of the snapshot, its size, its share of customers and of revenue, and
-- the mean of every numeric feature in original units (log transforms apply to the model input only):
-- what the persona step describes; the value the customer value model predicts for them; and how the
-- segment drifted since the previous published snapshot: its size then, the relative size change, the
-- share of its previous customers it kept, and how far its centroid moved (segment_id_mapping).
WITH
{% include 'previous_and_current_segments.sql' %},

members AS (
  SELECT
    segments.segment_id,
    features.*,
    predictions.predicted_value
  FROM {{ staging_table('customer_segments') }} AS segments
  JOIN {{ staging_table('customer_features') }} AS features
    ON features.customer_id = segments.customer_id
  LEFT JOIN {{ staging_table('customer_value_predictions') }} AS predictions
    ON predictions.customer_id = segments.customer_id
),

profiles AS (
  SELECT
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
),

-- Per segment id of the previous snapshot: its customers then, those of them still in the base, and
-- those still in it. Ids follow centroids and are never reused, so the same id is the same segment.
previous_members AS (
  SELECT
    previous_segment_id AS segment_id,
    COUNT(*) AS previous_customers,
    COUNTIF(segment_id IS NOT NULL) AS remaining_customers,
    COUNTIF(segment_id = previous_segment_id) AS kept_customers
  FROM memberships
  WHERE previous_segment_id IS NOT NULL
  GROUP BY previous_segment_id
)

{%- set leading = ['segment_id', 'customers', 'customer_share', 'revenue_share', 'avg_predicted_value',
  'predicted_value_share'] %}

-- In the data dictionary's order: the drift figures before the feature means.
SELECT
  DATE '{{ ds }}' AS snapshot_date,
  {%- for column in leading %}
  profiles.{{ column }},
  {%- endfor %}
  previous_members.previous_customers,
  SAFE_DIVIDE(
    profiles.customers - previous_members.previous_customers, previous_members.previous_customers
  ) AS size_change,
  SAFE_DIVIDE(previous_members.kept_customers, previous_members.remaining_customers) AS kept_share,
  mapping.centroid_shift,
  {%- for feature in features() if feature.is_numeric %}
  profiles.{{ feature.name }}{{ ',' if not loop.last }}
  {%- endfor %}
FROM profiles
LEFT JOIN previous_members USING (segment_id)
LEFT JOIN {{ staging_table('segment_id_mapping') }} AS mapping USING (segment_id)
