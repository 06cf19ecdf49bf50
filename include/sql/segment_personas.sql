-- segment_personas for one snapshot_date, replaced in a single atomic MERGE: the date's rows become the
-- personas written this run (@personas) and the ones carried over unchanged from @carried_from for the
-- segments in @carried_segment_ids (their text, provenance and written_for_snapshot as they were);
-- that date's rows for segments in neither are deleted, other dates are untouched. Every value is a query
-- parameter, so the model's text never becomes SQL.
--   @snapshot_date DATE, @personas ARRAY<STRUCT<segment_id INT64, title STRING, persona STRING,
--   summary STRING, next_marketing_steps ARRAY<STRING>, recommended_channel STRING>>, @backend,
--   @model, @prompt_version, @prompt_sha256 STRING, @input_tokens, @output_tokens, @latency_ms INT64,
--   @generated_at TIMESTAMP, @raw_response STRING (JSON text), @carried_from DATE,
--   @carried_segment_ids ARRAY<INT64>
MERGE {{ table('segment_personas') }} AS target
USING (
  SELECT
    persona.segment_id,
    persona.title,
    persona.persona,
    persona.summary,
    persona.next_marketing_steps,
    persona.recommended_channel,
    @backend AS backend,
    @model AS model,
    @prompt_version AS prompt_version,
    @prompt_sha256 AS prompt_sha256,
    @input_tokens AS input_tokens,
    @output_tokens AS output_tokens,
    @latency_ms AS latency_ms,
    @generated_at AS generated_at,
    PARSE_JSON(@raw_response) AS raw_response,
    @snapshot_date AS written_for_snapshot
  FROM UNNEST(@personas) AS persona
  UNION ALL
  SELECT
    segment_id,
    title,
    persona,
    summary,
    next_marketing_steps,
    recommended_channel,
    backend,
    model,
    prompt_version,
    prompt_sha256,
    input_tokens,
    output_tokens,
    latency_ms,
    generated_at,
    raw_response,
    IFNULL(written_for_snapshot, snapshot_date) AS written_for_snapshot
  FROM {{ table('segment_personas') }}
  WHERE snapshot_date = @carried_from AND segment_id IN UNNEST(@carried_segment_ids)
) AS source
ON target.snapshot_date = @snapshot_date AND target.segment_id = source.segment_id
WHEN MATCHED THEN UPDATE SET
  title = source.title,
  persona = source.persona,
  summary = source.summary,
  next_marketing_steps = source.next_marketing_steps,
  recommended_channel = source.recommended_channel,
  backend = source.backend,
  model = source.model,
  prompt_version = source.prompt_version,
  prompt_sha256 = source.prompt_sha256,
  input_tokens = source.input_tokens,
  output_tokens = source.output_tokens,
  latency_ms = source.latency_ms,
  generated_at = source.generated_at,
  raw_response = source.raw_response,
  written_for_snapshot = source.written_for_snapshot
WHEN NOT MATCHED BY TARGET THEN INSERT (
  snapshot_date, segment_id, title, persona, summary, next_marketing_steps, recommended_channel,
  backend, model, prompt_version, prompt_sha256, input_tokens, output_tokens, latency_ms,
  generated_at, raw_response, written_for_snapshot
) VALUES (
  @snapshot_date, source.segment_id, source.title, source.persona, source.summary,
  source.next_marketing_steps, source.recommended_channel, source.backend, source.model,
  source.prompt_version, source.prompt_sha256, source.input_tokens, source.output_tokens,
  source.latency_ms, source.generated_at, source.raw_response, source.written_for_snapshot
)
WHEN NOT MATCHED BY SOURCE AND target.snapshot_date = @snapshot_date THEN DELETE
