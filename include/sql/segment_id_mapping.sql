-- segment_id_mapping: the segment id each centroid of the run's model got from match_segment_ids
-- (continued segments keep the id of the previous centroid they are closest to, new ones get new ids).
SELECT
  DATE '{{ ds }}' AS snapshot_date,
  match.centroid_id,
  match.segment_id,
  match.previous_segment_id,
  match.centroid_shift
FROM UNNEST([
  {%- for match in segment_matches() %}
  STRUCT(
    {{ sql_int(match.centroid_id) }} AS centroid_id,
    {{ sql_int(match.segment_id) }} AS segment_id,
    {{ sql_int(match.previous_segment_id) }} AS previous_segment_id,
    {{ sql_float(match.centroid_shift) }} AS centroid_shift
  ){{ ',' if not loop.last }}
  {%- endfor %}
]) AS match
