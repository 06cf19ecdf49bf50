"""BigQuery ML k-means for local_bigquery: CREATE MODEL / DROP MODEL and the ML.* table functions.

The warehouse calls the three functions below; everything else in this package is the engine they use.
"""

from local_bigquery.bqml.resource import model_resource
from local_bigquery.bqml.sql import alter_model, copy_model, execute_model_statement, replace_ml_functions

__all__ = ["alter_model", "copy_model", "execute_model_statement", "model_resource", "replace_ml_functions"]
