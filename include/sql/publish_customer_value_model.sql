-- Serves the run's customer value model once the snapshot is published: the served model is trained again
-- from the same staged rows with the same options (the normal equation gives the same model), because
-- BigQuery has no SQL statement that copies a model. Then the run's staged models and training rows go.
{%- with model_name = table('customer_value_model') %}
{% include 'customer_value_model.sql' %};
{%- endwith %}

DROP MODEL IF EXISTS {{ staging_model('customer_value_model') }};
DROP MODEL IF EXISTS {{ staging_model('customer_value_backtest') }};
DROP TABLE IF EXISTS {{ staging_table('customer_value_training') }};
DROP TABLE IF EXISTS {{ staging_table('customer_value_backtest_training') }};
