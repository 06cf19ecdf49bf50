# The Airflow image of the compose stack: the official image at the version the lock pins, plus the
# pipeline's requirements.txt (what Cloud Composer installs from the same file).
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
ARG AIRFLOW_VERSION

COPY requirements.txt /opt/airflow/requirements.txt
# Naming apache-airflow at its image version keeps pip from moving Airflow itself to satisfy a provider.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" -r /opt/airflow/requirements.txt
