{#- Predicted value of the rows of `scored` (a query with the value model's features) by the value model
    `model`, trained on the staging table `training`: exp(prediction) - 1, capped at the largest value the
    model was trained on and floored at 0, times the one factor that makes the model's predictions for its
    own training rows add up to their actual spend. The log scale predicts something like a median, which
    understates the mean of a skewed spend; the factor puts totals back in currency, so segment values add
    up. Columns: every column of `scored`, predicted_log_future_value and predicted_value. -#}
WITH bounds AS (
  SELECT MAX(LN(1 + future_value)) AS largest_log_value
  FROM {{ staging_table(training) }}
),

calibration AS (
  SELECT
    ANY_VALUE(bounds.largest_log_value) AS largest_log_value,
    IFNULL(
      SAFE_DIVIDE(
        SUM(fitted.future_value),
        SUM(GREATEST(EXP(LEAST(fitted.predicted_log_future_value, bounds.largest_log_value)) - 1, 0))
      ),
      1
    ) AS factor
  FROM ML.PREDICT(MODEL {{ model }}, TABLE {{ staging_table(training) }}) AS fitted
  CROSS JOIN bounds
)

SELECT
  scored.*,
  GREATEST(EXP(LEAST(scored.predicted_log_future_value, calibration.largest_log_value)) - 1, 0)
    * calibration.factor AS predicted_value
FROM ML.PREDICT(MODEL {{ model }}, ({{ scored }})) AS scored
CROSS JOIN calibration
