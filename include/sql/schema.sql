-- The pipeline's partitioned tables, as the data dictionary in plugins/segmentation/tables.py defines
-- them, then the persona step's table and the views over them. Idempotent: a table is created once, and columns the configured
-- feature set needs are added when missing (older partitions read NULL there).
{%- for target in all_tables() %}

CREATE TABLE IF NOT EXISTS {{ table(target.name) }} (
  {%- for column in target.columns %}
  {{ column.name }} {{ column.type }}{{ ' NOT NULL' if column.required }} OPTIONS (description = {{ sql_string(column.description) }}){{ ',' if not loop.last }}
  {%- endfor %}
)
PARTITION BY snapshot_date
CLUSTER BY {{ target.cluster_by | join(', ') }}
OPTIONS (description = {{ sql_string(target.description) }});
{%- if target.feature_dependent %}

ALTER TABLE {{ table(target.name) }}
  {%- for column in target.feature_dependent %}
  ADD COLUMN IF NOT EXISTS {{ column.name }} {{ column.type }} OPTIONS (description = {{ sql_string(column.description) }}){{ ',' if not loop.last else ';' }}
  {%- endfor %}
{%- endif %}
{%- endfor %}

{% include 'segment_personas_table.sql' %}

;

{% include 'run_costs_table.sql' %};

{% include 'segment_members_current.sql' %};

{% include 'customer_segment_history.sql' %}
