-- Materializes the run's rows of {{ params.table }} in a staging table of the run's own, where the gates
-- inspect them before anything published is touched. Publishing drops it; a failed run's copy is replaced
-- when the date runs again.
CREATE OR REPLACE TABLE {{ staging_table(params.table) }}
AS
{% include params.table ~ '.sql' %}
