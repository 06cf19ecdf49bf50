-- Replaces the run's rows of run_costs: re-recording a run never duplicates it, other runs stay.
--   @snapshot_date DATE, @run_id STRING, @recorded_at TIMESTAMP, @costs ARRAY<STRUCT<task_id STRING,
--   job_id STRING, statement_type STRING, total_bytes_processed INT64, total_bytes_billed INT64,
--   total_slot_ms INT64, gemini_input_tokens INT64, gemini_output_tokens INT64>>
BEGIN TRANSACTION;

DELETE FROM {{ table('run_costs') }}
WHERE snapshot_date = @snapshot_date AND run_id = @run_id;

INSERT INTO {{ table('run_costs') }} (
  snapshot_date, run_id, task_id, job_id, statement_type, total_bytes_processed, total_bytes_billed,
  total_slot_ms, gemini_input_tokens, gemini_output_tokens, recorded_at
)
SELECT
  @snapshot_date,
  @run_id,
  cost.task_id,
  cost.job_id,
  cost.statement_type,
  cost.total_bytes_processed,
  cost.total_bytes_billed,
  cost.total_slot_ms,
  cost.gemini_input_tokens,
  cost.gemini_output_tokens,
  @recorded_at
FROM UNNEST(@costs) AS cost;

COMMIT TRANSACTION;
