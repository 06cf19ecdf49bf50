{#- The value model's features of recent spend, from a relation `recent` (window_spend.sql ending at the
    features' cut-off) joined to the features: the spend of the horizon before the cut-off, its log, and
    the log times the log of recency. -#}
  IFNULL(recent.spend, 0) AS recent_value,
  LN(1 + IFNULL(recent.spend, 0)) AS log_recent_value,
  LN(1 + IFNULL(recent.spend, 0)) * LN(1 + recency_days) AS log_recent_value_x_log_recency
