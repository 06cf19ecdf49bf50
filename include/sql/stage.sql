-- Materializes the run's rows of {{ params.table }} in a staging table of the run's own, where the gates
-- inspect them before anything published is touched. Staging tables expire after a week.
CREATE OR REPLACE TABLE {{ staging_table(params.table) }}
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 7 DAY))
AS
{% include params.table ~ '.sql' %}
