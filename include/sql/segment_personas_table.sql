-- segment_personas: one marketing persona per segment and snapshot, written by the persona task
-- (plugins/segmentation/personas) with include/sql/segment_personas.sql. Idempotent: the task runs it
-- before every MERGE, and the DAG may run it earlier so that views can join the table. A table created before
-- personas were carried over gets written_for_snapshot added (NULL there: written for its own snapshot).
CREATE TABLE IF NOT EXISTS {{ table('segment_personas') }} (
  snapshot_date DATE NOT NULL OPTIONS (description = 'The run\'s logical date; one partition per snapshot.'),
  segment_id INT64 NOT NULL OPTIONS (description = 'The segment described, as in segment_profiles.'),
  title STRING NOT NULL OPTIONS (description = 'Short name of the segment for marketers.'),
  persona STRING NOT NULL OPTIONS (description = 'Who the customers are and how they buy.'),
  summary STRING NOT NULL OPTIONS (description = 'The segment\'s value and risk in a sentence or two.'),
  next_marketing_steps ARRAY<STRING> OPTIONS (description = 'Exactly three concrete next actions.'),
  recommended_channel STRING NOT NULL OPTIONS (description = 'email, sms, push, in_app, paid_social, paid_search, display, direct_mail or loyalty_program.'),
  backend STRING NOT NULL OPTIONS (description = 'Writer of the persona: gemini, or offline (deterministic rules, no model).'),
  model STRING NOT NULL OPTIONS (description = 'Model version that answered, or the offline rule set\'s version.'),
  prompt_version STRING NOT NULL OPTIONS (description = 'Version of the prompt and response schema.'),
  prompt_sha256 STRING NOT NULL OPTIONS (description = 'SHA-256 of the exact prompt text sent.'),
  input_tokens INT64 OPTIONS (description = 'Prompt tokens billed for the model call that wrote the persona; NULL offline.'),
  output_tokens INT64 OPTIONS (description = 'Output (and thinking) tokens billed for that call; NULL offline.'),
  latency_ms INT64 NOT NULL OPTIONS (description = 'Time the backend took to answer, retries included.'),
  generated_at TIMESTAMP NOT NULL OPTIONS (description = 'When the validated answer was stored.'),
  raw_response JSON OPTIONS (description = 'The backend\'s whole answer for the run, for audits.'),
  written_for_snapshot DATE OPTIONS (description = 'The snapshot the persona was written for: snapshot_date when written this run, an earlier one when carried over unchanged because its segment had not moved past the refresh thresholds.')
)
PARTITION BY snapshot_date
CLUSTER BY segment_id
OPTIONS (description = 'Marketing persona per segment and snapshot, validated against segment_profiles before it is stored.');

ALTER TABLE {{ table('segment_personas') }}
  ADD COLUMN IF NOT EXISTS written_for_snapshot DATE OPTIONS (description = 'The snapshot the persona was written for: snapshot_date when written this run, an earlier one when carried over unchanged because its segment had not moved past the refresh thresholds.')
