-- The run report's yardstick: mean and population standard deviation of each profiled feature over
-- every customer of the snapshot, to express segment means as z-scores against the whole base.
SELECT
  {%- for column in columns %}
  AVG({{ column }}) AS mean_{{ column }},
  STDDEV_POP({{ column }}) AS stddev_{{ column }}{{ ',' if not loop.last }}
  {%- endfor %}
FROM {{ table('customer_features') }}
WHERE snapshot_date = @snapshot_date
