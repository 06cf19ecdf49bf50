"""docker-compose.yaml and its Dockerfiles, checked without a Docker engine: the services of the Airflow 3
stack, their mounts, environment and health checks, and local_bigquery's image and sample loader."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
# Import names whose distribution is named differently.
DISTRIBUTIONS = {"sklearn": "scikit-learn", "farmhash": "pyfarmhash"}


def interpolate(value):
    """Compose's `${NAME:-default}` with nothing set, and `$$` escapes, applied through the whole file."""
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    if isinstance(value, str):
        value = re.sub(r"(?<!\$)\$\{(\w+)(?::?-([^}]*))?\}", lambda m: m.group(2) or "", value)
        return value.replace("$$", "$")
    return value


@pytest.fixture(scope="module")
def compose() -> dict:
    return interpolate(yaml.safe_load((ROOT / "docker-compose.yaml").read_text()))


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def locked_version(package: str) -> str:
    (version,) = re.findall(rf"^{re.escape(package)}==(\S+)$", (ROOT / "requirements.lock").read_text(), re.M)
    return version


def test_the_stack_has_the_airflow_3_components_and_local_bigquery(services):
    assert set(services) == {
        "postgres",
        "airflow-init",
        "airflow-cli",
        *AIRFLOW_SERVICES,
        "local-bigquery-init",
        "local-bigquery",
        "segments-api",
    }
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES}
    assert commands == {
        "airflow-apiserver": "api-server",
        "airflow-scheduler": "scheduler",
        "airflow-dag-processor": "dag-processor",
        "airflow-triggerer": "triggerer",
    }


def test_airflow_image_is_the_pinned_official_one_plus_requirements(services):
    version = locked_version("apache-airflow")
    dockerfile = (ROOT / "docker" / "airflow.Dockerfile").read_text()
    assert "FROM apache/airflow:${AIRFLOW_VERSION}-python3.11" in dockerfile
    assert re.search(
        r'pip install .*"apache-airflow==\$\{AIRFLOW_VERSION\}" -r \S*requirements\.txt', dockerfile
    )
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        build = services[name]["build"]
        assert build["dockerfile"] == "docker/airflow.Dockerfile"
        assert build["args"]["AIRFLOW_VERSION"] == version
        assert (ROOT / build["context"] / build["dockerfile"]).is_file()


def test_airflow_services_mount_dags_include_and_plugins(services):
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        mounts = dict(volume.rsplit(":", 1)[::-1] for volume in services[name]["volumes"])
        for folder in ("dags", "include", "plugins"):
            assert mounts[f"/opt/airflow/{folder}"] == f"./{folder}", name
            assert (ROOT / folder).is_dir()


def test_google_cloud_default_points_at_local_bigquery(services):
    server = services["local-bigquery"]
    port = server["command"][server["command"].index("--port") + 1]
    for name in (*AIRFLOW_SERVICES, "airflow-init"):
        env = services[name]["environment"]
        connection = json.loads(env["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"])
        assert connection["conn_type"] == "google_cloud_platform"
        assert connection["extra"] == {"is_anonymous": True, "project": env["SEGMENTATION_PROJECT_ID"]}
        assert env["BIGQUERY_EMULATOR_HOST"] == f"http://local-bigquery:{port}"
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres/airflow")


def test_every_long_running_service_has_a_health_check(services):
    checks = {
        name: " ".join(service["healthcheck"]["test"])
        for name, service in services.items()
        if "healthcheck" in service
    }
    assert set(checks) == {"postgres", "local-bigquery", "segments-api", *AIRFLOW_SERVICES}
    assert "pg_isready" in checks["postgres"]
    assert "http://localhost:8080/api/v2/version" in checks["airflow-apiserver"]
    assert "http://localhost:8974/health" in checks["airflow-scheduler"]
    assert "--job-type DagProcessorJob" in checks["airflow-dag-processor"]
    assert "--job-type TriggererJob" in checks["airflow-triggerer"]
    assert "http://localhost:9050/healthz" in checks["local-bigquery"]
    assert "http://localhost:8080/healthz" in checks["segments-api"]
    assert services["airflow-scheduler"]["environment"]["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "true"


def test_start_order_follows_health(services):
    for name in AIRFLOW_SERVICES:
        depends = {service: rule["condition"] for service, rule in services[name]["depends_on"].items()}
        assert depends == {
            "postgres": "service_healthy",
            "local-bigquery": "service_healthy",
            "airflow-init": "service_completed_successfully",
        }
    assert services["local-bigquery"]["depends_on"] == {
        "local-bigquery-init": {"condition": "service_completed_successfully"}
    }
    init_env = services["airflow-init"]["environment"]
    assert (init_env["_AIRFLOW_DB_MIGRATE"], init_env["_AIRFLOW_WWW_USER_CREATE"]) == ("true", "true")


def test_local_bigquery_serves_its_warehouse_volume(services, compose):
    for name in ("local-bigquery", "local-bigquery-init"):
        assert services[name]["build"]["dockerfile"] == "docker/local-bigquery.Dockerfile"
        assert services[name]["volumes"] == ["local-bigquery-data:/data"]
    assert services["local-bigquery"]["command"] == [
        "python", "-m", "local_bigquery", "serve", "--host", "0.0.0.0", "--port", "9050", "--data-dir", "/data",
        "--allow-host", "local-bigquery",
    ]  # fmt: skip
    # The name the Airflow containers address it by is the one it is told to answer besides loopback.
    assert (
        services["airflow-scheduler"]["environment"]["BIGQUERY_EMULATOR_HOST"] == "http://local-bigquery:9050"
    )
    assert services["local-bigquery-init"]["command"] == ["/app/load-sample.sh"]
    assert set(compose["volumes"]) >= {"local-bigquery-data", "postgres-db-volume"}


def test_local_bigquery_is_published_on_the_host_loopback_only(services):
    """The server runs any query it is sent: the host port must not be reachable from other machines."""
    assert services["local-bigquery"]["ports"] == ["127.0.0.1:9050:9050"]


def third_party_imports(package: Path) -> set[str]:
    names = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {package.name, "__future__"}


def test_local_bigquery_image_installs_every_library_the_server_imports():
    dockerfile = (ROOT / "docker" / "local-bigquery.Dockerfile").read_text()
    (install,) = re.findall(
        r"pip install --no-cache-dir -c /tmp/requirements.lock\s*\\\n\s*(.+?) \\", dockerfile
    )
    installed = set(install.split())
    needed = {DISTRIBUTIONS.get(name, name) for name in third_party_imports(ROOT / "local_bigquery")}
    # fastapi brings starlette, scikit-learn brings threadpoolctl.
    assert needed - {"starlette", "threadpoolctl"} <= installed
    for package in installed:
        assert locked_version(package)
    assert 'CMD ["python", "-m", "local_bigquery", "serve"' in dockerfile


def test_sample_loader_fills_the_warehouse_with_recent_orders(tmp_path):
    from local_bigquery.translate import TableRef
    from local_bigquery.warehouse import Warehouse

    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "data"),
        "SAMPLE_USERS": "300",
        "PYTHON": sys.executable,
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(["sh", str(ROOT / "docker" / "load-sample.sh")], env=env, check=True, timeout=300)
    subprocess.run(["sh", str(ROOT / "docker" / "load-sample.sh")], env=env, check=True, timeout=300)

    warehouse = Warehouse(tmp_path / "data")
    try:
        counts = {
            table: warehouse.con.execute(
                f"SELECT COUNT(*) FROM {TableRef('bigquery-public-data', 'thelook_ecommerce', table).duckdb_name}"
            ).fetchone()[0]
            for table in ("users", "orders", "order_items", "products")
        }
        (age_hours,) = warehouse.con.execute(
            "SELECT date_diff('hour', MAX(created_at), now()) FROM "
            + TableRef("bigquery-public-data", "thelook_ecommerce", "orders").duckdb_name
        ).fetchone()
    finally:
        warehouse.close()
    assert counts["users"] == 300  # loaded twice, replaced not appended
    assert min(counts.values()) > 0
    assert age_hours < 48


def test_the_segment_api_reads_local_bigquery_and_publishes_only_on_loopback(services):
    api = services["segments-api"]
    assert api["build"]["dockerfile"] == "docker/segments-api.Dockerfile"
    assert (ROOT / api["build"]["context"] / api["build"]["dockerfile"]).is_file()
    assert api["profiles"] == ["segments"]
    server = services["local-bigquery"]
    port = server["command"][server["command"].index("--port") + 1]
    assert api["environment"]["BIGQUERY_EMULATOR_HOST"] == f"http://local-bigquery:{port}"
    assert api["environment"]["SEGMENTATION_PROJECT_ID"] == "local-project"
    assert "SEGMENTS_API_KEY" in api["environment"]  # required: in the container it listens on 0.0.0.0
    assert api["depends_on"] == {"local-bigquery": {"condition": "service_healthy"}}
    (published,) = api["ports"]
    assert published.startswith("127.0.0.1:") and published.endswith(":8080")


def test_segment_api_image_installs_what_the_service_imports_and_never_local_bigquery():
    """The modules `python -m services.segments` loads, found by importing it, and their imports."""
    probe = (
        "import json, sys, services.segments.__main__;"
        "print(json.dumps(sorted(m.__file__ for n, m in list(sys.modules.items())"
        " if n.split('.')[0] in ('services', 'segmentation', 'local_bigquery') and getattr(m, '__file__', None))))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")])}
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True,
                                       check=True, timeout=300).stdout)  # fmt: skip
    assert not [path for path in loaded if "/local_bigquery/" in path]
    names = set()
    for path in map(Path, loaded):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    distributions = {"airflow": "apache-airflow-task-sdk", "google": "google-cloud-bigquery"}
    needed = {distributions.get(name, name) for name in names - set(sys.stdlib_module_names)}
    needed -= {"services", "segmentation", "__future__", "anyio", "starlette"}  # ours, and fastapi's own
    dockerfile = (ROOT / "docker" / "segments-api.Dockerfile").read_text()
    (install,) = re.findall(
        r"pip install --no-cache-dir -c /tmp/requirements.lock\s*\\\n\s*(.+?) \\", dockerfile
    )
    installed = set(install.split())
    assert needed <= installed, needed - installed
    for package in installed:
        assert locked_version(package)
    assert "COPY plugins/segmentation/ /app/segmentation/" in dockerfile
    assert "COPY services/ /app/services/" in dockerfile
    assert 'CMD ["python", "-m", "services.segments"]' in dockerfile


def test_like_the_reference_compose_file_the_image_is_chosen_by_airflow_image_name():
    raw = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    common = raw["x-airflow-common"]
    assert common["image"].startswith("${AIRFLOW_IMAGE_NAME:-")
    assert common["build"]["args"]["AIRFLOW_VERSION"].startswith("${AIRFLOW_VERSION:-")


def test_logs_and_config_are_host_folders(services, compose):
    for name in (*AIRFLOW_SERVICES, "airflow-init", "airflow-cli"):
        mounts = dict(volume.rsplit(":", 1)[::-1] for volume in services[name]["volumes"])
        assert mounts["/opt/airflow/logs"] == "./logs", name
        assert mounts["/opt/airflow/config"] == "./config", name
    assert not {"airflow-logs", "airflow-config"} & set(compose["volumes"])
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert {"/logs/", "/config/"} <= set(ignored)


def test_run_reports_land_in_a_host_folder_that_outlives_the_containers(services):
    """validate_config refuses a local report folder the deployment does not name: compose names one."""
    for name in AIRFLOW_SERVICES:
        mounts = dict(volume.rsplit(":", 1)[::-1] for volume in services[name]["volumes"])
        destination = services[name]["environment"]["SEGMENTATION_REPORT_DESTINATION"]
        assert mounts[destination] == "./reports", name
    assert "/reports/" in (ROOT / ".gitignore").read_text().splitlines()


def test_an_airflow_cli_service_runs_airflow_commands_on_demand(services):
    cli = services["airflow-cli"]
    assert cli["profiles"] == ["debug"]
    assert cli["command"] == ["bash", "-c", "airflow"]
    assert (
        cli["environment"]["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"]
        == (services["airflow-scheduler"]["environment"]["AIRFLOW_CONN_GOOGLE_CLOUD_DEFAULT"])
    )
    assert set(cli["depends_on"]) == {"postgres", "local-bigquery"}


def test_init_checks_memory_cpus_and_disk_before_starting(services):
    (script,) = [part for part in services["airflow-init"]["command"] if "mkdir" in part]
    for check in ("mem_available < 4000", "cpus_available < 2", "disk_available < one_meg * 10"):
        assert check in script
    checks = script.index("warning_resources")
    assert checks < script.index("/entrypoint airflow config list")
    result = subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True)
    assert result.returncode == 0, result.stderr
