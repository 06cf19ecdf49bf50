"""Generators of sample data for the local BigQuery server."""
