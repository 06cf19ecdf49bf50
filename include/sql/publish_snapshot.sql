-- Publishes the run's snapshot once every gate has passed: the snapshot_date partition of every table is
-- replaced by the run's staged rows in one transaction, so readers see the previous snapshot or the new
-- one, never a mix of days or of tables, and no other date is touched. Columns are listed by name, so a
-- table's column order does not matter. The date's personas described the segments being replaced, so
-- they go in the same transaction: the persona step writes the new segments' personas, and until it has
-- (or if it fails) the snapshot has none rather than another clustering's. The staging tables go once
-- their rows are published.
BEGIN TRANSACTION;
{% for target in all_tables() %}
{%- set column_list = target.column_names | join(', ') %}
DELETE FROM {{ table(target.name) }}
WHERE snapshot_date = DATE '{{ ds }}';

INSERT INTO {{ table(target.name) }} ({{ column_list }})
SELECT {{ column_list }}
FROM {{ staging_table(target.name) }};
{% endfor %}
DELETE FROM {{ table('segment_personas') }}
WHERE snapshot_date = DATE '{{ ds }}';

COMMIT TRANSACTION;
{% for target in all_tables() %}
DROP TABLE IF EXISTS {{ staging_table(target.name) }};
{%- endfor %}
DROP TABLE IF EXISTS {{ staging_table('customer_order_history') }};
DROP TABLE IF EXISTS {{ staging_table('feature_bounds') }};
