# local_bigquery, the embedded BigQuery-API server, for the compose stack (development only).
FROM python:3.11-slim

WORKDIR /app
COPY requirements.lock /tmp/requirements.lock
# Only the server's own dependencies, at the versions the project's lock pins.
RUN pip install --no-cache-dir -c /tmp/requirements.lock \
        duckdb fastapi numpy pyarrow pydantic pyfarmhash scikit-learn sqlglot uvicorn \
    && rm /tmp/requirements.lock

COPY local_bigquery/ /app/local_bigquery/
COPY docker/load-sample.sh /app/load-sample.sh
ENV PYTHONPATH=/app PYTHONUNBUFFERED=1

EXPOSE 9050
VOLUME /data
CMD ["python", "-m", "local_bigquery", "serve", "--host", "0.0.0.0", "--port", "9050", "--data-dir", "/data"]
