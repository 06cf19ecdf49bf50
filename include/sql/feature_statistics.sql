-- Per numeric model feature, its mean and sample standard deviation over the rows of `model_rows` (the
-- run's model input, a CTE of the including query): the standardized units centroids are compared in.
{%- for feature in model_features() %}
SELECT '{{ feature }}' AS feature, AVG({{ feature }}) AS mean, STDDEV_SAMP({{ feature }}) AS stddev
FROM model_rows
{{- ' UNION ALL' if not loop.last }}
{%- endfor %}
