{#- The columns the customer value model reads, selected from a relation holding customer_features'
    columns: every feature of the configured set, the logarithms of the skewed counts and amounts, and
    their squares and products, which let a linear model bend the way purchase-rate models do (a frequent
    buyer who has gone quiet is worth less than a frequent buyer who has not). -#}
  customer_id,
  {%- for feature in features() %}
  {{ feature.name }},
  {%- endfor %}
  LN(1 + recency_days) AS log_recency_days,
  LN(1 + frequency) AS log_frequency,
  LN(1 + monetary) AS log_monetary,
  LN(1 + avg_order_value) AS log_avg_order_value,
  LN(1 + frequency) * LN(1 + recency_days) AS log_frequency_x_log_recency,
  LN(1 + frequency) * LN(1 + avg_order_value) AS log_frequency_x_log_order_value,
  LN(1 + recency_days) * LN(1 + monetary) AS log_recency_x_log_monetary,
  POW(LN(1 + frequency), 2) AS log_frequency_squared,
  POW(LN(1 + recency_days), 2) AS log_recency_squared,
  POW(LN(1 + monetary), 2) AS log_monetary_squared
