-- feature_bounds: one row, per numeric feature of the run's staged customer_features the bounds the model
-- input (model_input.sql) clips it to, its (100 - p)th and pth percentiles for p = clip_percentile.
-- APPROX_QUANTILES(x, 100) returns 101 boundaries, the first the minimum and the last the maximum, so
-- p = 100 clips nothing; NULLs are ignored
-- (https://cloud.google.com/bigquery/docs/reference/standard-sql/approximate_aggregate_functions#approx_quantiles).
-- Its results are approximate, "not necessarily the actual value" and with statistical uncertainty
-- (https://cloud.google.com/bigquery/docs/reference/standard-sql/approximate_aggregate_functions), so two
-- jobs computing them from the same rows could get different bounds. The run computes them once, in this
-- staging table, and every job reading the model input (the training plan and seeds, the training, the
-- predictions, the evaluations, the centroids) clips to these same bounds.
SELECT
  {%- for feature in features() if feature.is_numeric %}
  quantiles_{{ feature.name }}[OFFSET({{ 100 - config().clip_percentile }})] AS lower_{{ feature.name }},
  quantiles_{{ feature.name }}[OFFSET({{ config().clip_percentile }})] AS upper_{{ feature.name }}{{ ',' if not loop.last }}
  {%- endfor %}
FROM (
  SELECT
    {%- for feature in features() if feature.is_numeric %}
    APPROX_QUANTILES({{ feature.name }}, 100) AS quantiles_{{ feature.name }}{{ ',' if not loop.last }}
    {%- endfor %}
  FROM {{ staging_table('customer_features') }}
)
