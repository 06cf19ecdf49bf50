"""Customer segmentation on BigQuery ML: the settings, table catalog and SQL templating the DAG uses."""
