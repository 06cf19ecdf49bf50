"""The segment lookup API and explorer: which segment a customer is in and what to do about it.

Reads the pipeline's published tables with the official BigQuery client, once per snapshot, into an
in-memory store (`store.py`) that every request is answered from; a background refresh swaps in the next
snapshot when the tables change (`service.py`). `api.py` is the FastAPI app, `explorer/` its page.
"""
