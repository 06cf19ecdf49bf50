# The segment lookup API and explorer (services/segments), for Cloud Run or the compose stack.
# Build from the repository root: docker build -f docker/segments-api.Dockerfile -t segments-api .
FROM python:3.11-slim

WORKDIR /app
COPY requirements.lock /tmp/requirements.lock
# Only what the service imports, at the versions the project's lock pins: the settings come from the
# pipeline's own config, which needs the Airflow task SDK (not Airflow itself).
RUN pip install --no-cache-dir -c /tmp/requirements.lock \
        apache-airflow-task-sdk fastapi google-cloud-bigquery httptools numpy packaging pyarrow pydantic uvicorn uvloop \
    && rm /tmp/requirements.lock

COPY plugins/segmentation/ /app/segmentation/
COPY services/ /app/services/
ENV PYTHONPATH=/app PYTHONUNBUFFERED=1 HOST=0.0.0.0 PORT=8080
USER nobody

EXPOSE 8080
# Listening beyond loopback, the service requires SEGMENTS_API_KEY or SEGMENTS_API_KEY_FILE.
CMD ["python", "-m", "services.segments"]
