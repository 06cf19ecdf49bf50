{#- Predicted value of the rows of `scored` (a query with the value model's features) by the value model
    `model`, trained on the staging table `training`: the prediction floored at 0 and capped at the
    largest label the model was trained on, raised back to spend (power 1 / value_label_power), times the
    one factor that makes the model's predictions for its own training rows add up to their actual spend.
    A compressed scale predicts something like a median, which understates the mean of a skewed spend; the
    factor puts totals back in currency, so segment values add up. Columns: every column of `scored`,
    predicted_transformed_future_value and predicted_value. -#}
WITH bounds AS (
  SELECT MAX(POW(future_value, {{ value_label_power }})) AS largest_label
  FROM {{ staging_table(training) }}
),

calibration AS (
  SELECT
    ANY_VALUE(bounds.largest_label) AS largest_label,
    IFNULL(
      SAFE_DIVIDE(
        SUM(fitted.future_value),
        SUM(POW(GREATEST(LEAST(fitted.predicted_transformed_future_value, bounds.largest_label), 0), 1 / {{ value_label_power }}))
      ),
      1
    ) AS factor
  FROM ML.PREDICT(MODEL {{ model }}, TABLE {{ staging_table(training) }}) AS fitted
  CROSS JOIN bounds
)

SELECT
  scored.*,
  POW(GREATEST(LEAST(scored.predicted_transformed_future_value, calibration.largest_label), 0), 1 / {{ value_label_power }})
    * calibration.factor AS predicted_value
FROM ML.PREDICT(MODEL {{ model }}, ({{ scored }})) AS scored
CROSS JOIN calibration
