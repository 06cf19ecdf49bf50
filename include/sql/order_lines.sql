-- Order lines, the one shape every feature and gate reads, from the configured kind of source.
{% include 'order_lines_' ~ params.source_kind ~ '.sql' %}
