{#- The columns the customer value model reads, selected from a relation holding customer_features'
    columns: every feature of the configured set, and the logarithms of the skewed counts and amounts,
    which a linear model on log spend weighs better than the raw ones. -#}
  customer_id,
  {%- for feature in features() %}
  {{ feature.name }},
  {%- endfor %}
  LN(1 + recency_days) AS log_recency_days,
  LN(1 + frequency) AS log_frequency,
  LN(1 + monetary) AS log_monetary,
  LN(1 + avg_order_value) AS log_avg_order_value
