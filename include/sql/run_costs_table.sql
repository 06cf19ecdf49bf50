-- run_costs: what each run of the DAG cost, written by its record_costs task
-- (plugins/segmentation/costs.py, include/sql/run_costs.sql): one row per BigQuery job with the bytes
-- it processed and billed and its slot time, and one row for the persona step's Gemini tokens.
CREATE TABLE IF NOT EXISTS {{ table('run_costs') }} (
  snapshot_date DATE NOT NULL OPTIONS (description = 'The run\'s logical date; one partition per snapshot.'),
  run_id STRING NOT NULL OPTIONS (description = 'The Airflow run; re-running a date adds the new run\'s rows.'),
  task_id STRING NOT NULL OPTIONS (description = 'The task that sent the job, or personas.generate_personas for Gemini.'),
  job_id STRING OPTIONS (description = 'The BigQuery job; NULL on the Gemini row.'),
  statement_type STRING OPTIONS (description = 'SELECT, CREATE_TABLE_AS_SELECT, SCRIPT, ... as BigQuery reports it.'),
  total_bytes_processed INT64 OPTIONS (description = 'Bytes the job processed.'),
  total_bytes_billed INT64 OPTIONS (description = 'Bytes billed for the job (on-demand pricing).'),
  total_slot_ms INT64 OPTIONS (description = 'Slot milliseconds the job used.'),
  gemini_input_tokens INT64 OPTIONS (description = 'Prompt tokens of the run\'s Gemini call; NULL offline and on job rows.'),
  gemini_output_tokens INT64 OPTIONS (description = 'Output (and thinking) tokens of that call.'),
  recorded_at TIMESTAMP NOT NULL OPTIONS (description = 'When the row was recorded.')
)
PARTITION BY snapshot_date
CLUSTER BY run_id
OPTIONS (description = 'BigQuery jobs and Gemini tokens of every run of the customer_segmentation DAG.')
