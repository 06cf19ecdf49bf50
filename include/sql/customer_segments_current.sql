-- customer_segments_current: every customer's segment in the latest snapshot, next to the features it
-- was assigned on and the segment's marketing persona. The stable name analysts query; backfills of
-- older dates do not move it, and a snapshot whose persona step failed still lists its segments.
-- Every column carries its data dictionary description (plugins/segmentation/tables.py), which BigQuery
-- shows in the view's schema: a view's column list may describe each column.
-- https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language#view_column_name_list
CREATE OR REPLACE VIEW {{ table('customer_segments_current') }} (
  {%- for view_column in current_view_schema() %}
  {{ view_column.column.name }} OPTIONS (description = {{ sql_string(view_column.column.description) }}){{ ',' if not loop.last }}
  {%- endfor %}
)
OPTIONS (description = 'Customer segments of the latest snapshot, with their features and segment persona.')
AS
SELECT
  {%- for view_column in current_view_schema() %}
  {{ view_column.source }}{{ ',' if not loop.last }}
  {%- endfor %}
FROM {{ table('customer_segments') }} AS segments
JOIN {{ table('customer_features') }} AS features
  ON features.snapshot_date = segments.snapshot_date
  AND features.customer_id = segments.customer_id
LEFT JOIN {{ table('segment_personas') }} AS personas
  ON personas.snapshot_date = segments.snapshot_date
  AND personas.segment_id = segments.segment_id
WHERE segments.snapshot_date = (SELECT MAX(snapshot_date) FROM {{ table('customer_segments') }})
