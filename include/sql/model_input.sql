-- What customer_segments_kmeans sees of the run's staged customer_features (published only once every
-- gate has passed), shared by training and prediction so both read the features identically. customer_id rides along for ML.PREDICT's output
-- and is dropped for training.
SELECT
  customer_id,
  {%- for feature in features() %}
  {%- if feature.name == 'monetary' and config().log_transform_monetary %}
  LN(1 + monetary) AS log_monetary{{ ',' if not loop.last }}
  {%- else %}
  {{ feature.name }}{{ ',' if not loop.last }}
  {%- endif %}
  {%- endfor %}
FROM {{ staging_table('customer_features') }}
