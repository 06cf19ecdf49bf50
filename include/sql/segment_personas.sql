-- segment_personas for one snapshot_date, replaced in a single atomic MERGE: rows for segments in the
-- answer are updated or inserted, that date's rows for segments no longer present are deleted, other
-- dates are untouched. Every value is a query parameter, so the model's text never becomes SQL.
--   @snapshot_date DATE, @personas ARRAY<STRUCT<segment_id INT64, title STRING, persona STRING,
--   summary STRING, next_marketing_steps ARRAY<STRING>, recommended_channel STRING>>, @backend,
--   @model, @prompt_version, @prompt_sha256 STRING, @input_tokens, @output_tokens, @latency_ms INT64,
--   @generated_at TIMESTAMP, @raw_response STRING (JSON text)
MERGE {{ table('segment_personas') }} AS target
USING (
  SELECT
    persona.segment_id,
    persona.title,
    persona.persona,
    persona.summary,
    persona.next_marketing_steps,
    persona.recommended_channel
  FROM UNNEST(@personas) AS persona
) AS source
ON target.snapshot_date = @snapshot_date AND target.segment_id = source.segment_id
WHEN MATCHED THEN UPDATE SET
  title = source.title,
  persona = source.persona,
  summary = source.summary,
  next_marketing_steps = source.next_marketing_steps,
  recommended_channel = source.recommended_channel,
  backend = @backend,
  model = @model,
  prompt_version = @prompt_version,
  prompt_sha256 = @prompt_sha256,
  input_tokens = @input_tokens,
  output_tokens = @output_tokens,
  latency_ms = @latency_ms,
  generated_at = @generated_at,
  raw_response = PARSE_JSON(@raw_response)
WHEN NOT MATCHED BY TARGET THEN INSERT (
  snapshot_date, segment_id, title, persona, summary, next_marketing_steps, recommended_channel,
  backend, model, prompt_version, prompt_sha256, input_tokens, output_tokens, latency_ms,
  generated_at, raw_response
) VALUES (
  @snapshot_date, source.segment_id, source.title, source.persona, source.summary,
  source.next_marketing_steps, source.recommended_channel,
  @backend, @model, @prompt_version, @prompt_sha256, @input_tokens, @output_tokens, @latency_ms,
  @generated_at, PARSE_JSON(@raw_response)
)
WHEN NOT MATCHED BY SOURCE AND target.snapshot_date = @snapshot_date THEN DELETE
