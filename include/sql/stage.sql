-- Materializes the run's rows of {{ params.table }} in a staging table of the run's own, where the gates
-- inspect them before anything published is touched. Publishing drops it; a failed run's copy is replaced
-- when the date runs again, or expires after a week.
CREATE OR REPLACE TABLE {{ staging_table(params.table) }}
OPTIONS (expiration_timestamp = {{ staging_expiration() }})
AS
{% include params.table ~ '.sql' %}
