-- Order lines, the one shape every feature and gate reads, from the configured kind of source.
{% include 'order_lines_' ~ config().source_kind ~ '.sql' %}
