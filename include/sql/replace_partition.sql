-- Publishes the staged rows of {{ params.table }} as the run's snapshot_date partition in one
-- transaction: readers see the previous partition or the new one, never a mix, and no other date is
-- touched. Columns are listed by name, so the table's column order does not matter. The staging table
-- goes once its rows are published.
{%- set target = table_schema(params.table) %}
{%- set column_list = target.column_names | join(', ') %}
BEGIN TRANSACTION;

DELETE FROM {{ table(target.name) }}
WHERE snapshot_date = DATE '{{ ds }}';

INSERT INTO {{ table(target.name) }} ({{ column_list }})
SELECT {{ column_list }}
FROM {{ staging_table(target.name) }};

COMMIT TRANSACTION;

DROP TABLE IF EXISTS {{ staging_table(target.name) }};
