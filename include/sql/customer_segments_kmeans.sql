-- customer_segments_kmeans: k-means over the snapshot's standardized features, trained into the run's own
-- staging model; publish_model copies it over the served model once every gate has passed, and only when
-- the run's date is the latest snapshot.
-- Continuing (see segmentation.continuity): KMEANS_INIT_METHOD = 'CUSTOM' starts from the customers of
-- today's snapshot nearest to the previous snapshot's centroids (include/sql/training_seeds.sql), so the
-- segments carry over. Rebasing: k-means++, and given k_min and k_max a grid search that tries every k in
-- the range and predicts with the trial of the lowest Davies-Bouldin index.
-- Numeric features clipped to the snapshot's percentile bounds (model_input.sql); those the plan found
-- without spread are left out (EXCEPT), since a constant column separates nothing.
-- Training runs until the loss improves by less than 0.01 % per iteration (at most 100 iterations): close
-- to convergence, where the default (1 %, 20 iterations) stops after a few iterations.
-- https://cloud.google.com/bigquery/docs/reference/standard-sql/bigqueryml-syntax-create-kmeans
{%- set plan = training_plan() %}
CREATE OR REPLACE MODEL {{ trained_model() }}
OPTIONS (
  model_type = 'KMEANS',
  standardize_features = TRUE,
  max_iterations = 100,
  early_stop = TRUE,
  min_rel_progress = 0.0001,
  {%- if plan.continues %}
  kmeans_init_method = 'CUSTOM',
  kmeans_init_col = 'is_seed',
  num_clusters = {{ plan.num_clusters }}
  {%- elif plan.tuned %}
  kmeans_init_method = 'KMEANS++',
  num_clusters = HPARAM_RANGE({{ plan.k_min }}, {{ plan.k_max }}),
  num_trials = {{ plan.k_max - plan.k_min + 1 }},
  hparam_tuning_algorithm = 'GRID_SEARCH',
  hparam_tuning_objectives = ['DAVIES_BOULDIN_INDEX']
  {%- else %}
  kmeans_init_method = 'KMEANS++',
  num_clusters = {{ plan.num_clusters }}
  {%- endif %}
) AS
SELECT
  training_rows.* EXCEPT (customer_id{% for feature in plan.left_out_features %}, {{ feature }}{% endfor %})
  {%- if plan.continues %},
  training_rows.customer_id IN (
{% include 'training_seeds.sql' %}
  ) AS is_seed
  {%- endif %}
FROM (
{% include 'model_input.sql' %}
) AS training_rows;

-- Labels and description are model metadata that ALTER MODEL sets; CREATE MODEL for k-means documents
-- no such options.
-- https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#alter_model_set_options_statement
ALTER MODEL {{ trained_model() }}
SET OPTIONS (
  labels = [('snapshot_date', '{{ ds_nodash }}'), ('training', '{{ plan.training }}')],
  description = 'Customer segments of the customer_features snapshot {{ ds }} ({{ plan.training }}).'
);
