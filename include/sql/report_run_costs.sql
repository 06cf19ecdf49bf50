-- The run report's cost line: what the snapshot's latest recorded run cost (run_costs, written just before
-- the report by record_costs): its BigQuery jobs' bytes processed and billed and slot time, Gemini's tokens.
SELECT
  run_id,
  COUNT(job_id) AS jobs,
  SUM(total_bytes_processed) AS bytes_processed,
  SUM(total_bytes_billed) AS bytes_billed,
  SUM(total_slot_ms) AS slot_ms,
  MAX(gemini_input_tokens) AS gemini_input_tokens,
  MAX(gemini_output_tokens) AS gemini_output_tokens
FROM {{ table('run_costs') }}
WHERE snapshot_date = @snapshot_date
GROUP BY run_id
ORDER BY MAX(recorded_at) DESC
LIMIT 1
