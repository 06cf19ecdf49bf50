-- The lowest segment id no snapshot before the run's date used: where new segments' ids start.
SELECT IFNULL(MAX(segment_id), 0) + 1 AS first_new_id
FROM {{ table('segment_profiles') }}
WHERE snapshot_date < DATE '{{ ds }}'
