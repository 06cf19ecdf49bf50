-- What customer_segments_kmeans sees of the run's staged customer_features (published only once every
-- gate has passed), shared by training and prediction so both read the features identically. customer_id rides along for ML.PREDICT's output
-- and is dropped for training.
-- Numeric features are winsorised: clipped to the snapshot's percentile bounds, which the run stages once
-- (feature_bounds.sql) so that every job reading this input clips alike; a handful of extreme customers
-- then sit at the bound with the rest of the tail instead of pulling a centroid of their own. BigQuery ML
-- then standardizes the clipped values. A feature left with no spread is left out
-- of training by the training plan (segmentation.continuity).
{%- macro clipped(name) -%}
LEAST(GREATEST(features.{{ name }}, bounds.lower_{{ name }}), bounds.upper_{{ name }})
{%- endmacro %}
SELECT
  features.customer_id,
  {%- for feature in features() %}
  {%- if not feature.is_numeric %}
  features.{{ feature.name }}
  {%- elif feature.name == 'monetary' and config().log_transform_monetary %}
  LN(1 + {{ clipped('monetary') }}) AS log_monetary
  {%- else %}
  {{ clipped(feature.name) }} AS {{ feature.name }}
  {%- endif %}{{ ',' if not loop.last }}
  {%- endfor %}
FROM {{ staging_table('customer_features') }} AS features
CROSS JOIN {{ staging_table('feature_bounds') }} AS bounds
