-- Order lines, the one shape the run's order history (customer_order_history.sql) reads, from the
-- configured kind of source. returned_at: when the line was returned, NULL where the source does not say.
{% include 'order_lines_' ~ config().source_kind ~ '.sql' %}
