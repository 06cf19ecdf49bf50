-- customer_segments_kmeans: k-means over the snapshot's standardized features, seeded with k-means++.
-- Given k_min and k_max, BigQuery ML tries every k in the range and predicts with the trial of the
-- lowest Davies-Bouldin index.
{%- set k_range = tuned_k_range() %}
CREATE OR REPLACE MODEL {{ table('customer_segments_kmeans') }}
OPTIONS (
  model_type = 'KMEANS',
  kmeans_init_method = 'KMEANS++',
  standardize_features = TRUE,
  {%- if k_range %}
  num_clusters = HPARAM_RANGE({{ k_range[0] }}, {{ k_range[1] }}),
  num_trials = {{ k_range[1] - k_range[0] + 1 }},
  hparam_tuning_objectives = ['DAVIES_BOULDIN_INDEX'],
  {%- else %}
  num_clusters = {{ config().num_clusters }},
  {%- endif %}
  labels = [('snapshot_date', '{{ ds_nodash }}')],
  description = 'Customer segments of the customer_features snapshot {{ ds }}.'
) AS
SELECT * EXCEPT (customer_id)
FROM (
{% include 'model_input.sql' %}
)
