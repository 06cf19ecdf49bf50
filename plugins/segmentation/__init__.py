"""Customer segmentation on BigQuery ML: the settings, table catalog and SQL templating the DAG uses."""

# First: an Airflow older than the DAG needs fails here with a message saying so.
from segmentation.compatibility import MINIMUM_AIRFLOW

__all__ = ["MINIMUM_AIRFLOW"]
