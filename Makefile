# Two commands set up everything on a fresh machine with Python 3.11: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
INSTALLED := $(VENV)/.installed
PORT ?= 9050
DATA_DIR ?= .local/warehouse
export PYTHONPATH := $(CURDIR):$(CURDIR)/plugins

.PHONY: install run run-byod run-retail ui bench conformance preflight test lint lock serve clean

install: $(INSTALLED)

# Reinstalls only when the lock or this file changes; uv makes a warm install take seconds. Bytecode is
# compiled once here: where PYTHONDONTWRITEBYTECODE is set (CI images often do) every Airflow process
# would otherwise recompile each module it imports, ≈10 s of every `airflow dags test`.
$(INSTALLED): requirements.lock Makefile
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || { $(PY) -m pip --version >/dev/null 2>&1 || $(PY) -m ensurepip --upgrade >/dev/null; \
		$(PY) -m pip install --quiet --disable-pip-version-check uv; }
	$(UV) pip install --quiet --compile-bytecode --python $(PY) -r requirements.lock
	@touch $@

lock:
	$(UV) pip compile --quiet --python-version 3.11 requirements-dev.in -o requirements.lock

# Two workers, one test module each at a time (module fixtures such as the end-to-end runs stay shared),
# the slowest modules first (tests/conftest.py orders them; xdist would otherwise reorder by test count);
# the slowest tests are listed at the end so a slow-down shows in CI's log.
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=15

lint: install
	$(VENV)/bin/ruff check .

serve: install
	$(PY) -m local_bigquery serve --port $(PORT) --data-dir $(DATA_DIR)

run: install
	$(PY) scripts/run_local.py --port $(PORT) --data-dir $(DATA_DIR)

# The DAG on your own order lines: make run-byod FILE=orders.csv COLUMNS=customer_id=CustomerID,... [CONF='{...}']
run-byod: install
	@test -n "$(FILE)" || { echo "usage: make run-byod FILE=orders.csv COLUMNS=customer_id=CustomerID,order_id=InvoiceNo,ordered_at=InvoiceDate,amount=LineTotal [CONF='{\"num_clusters\": 4}']"; exit 2; }
	$(PY) scripts/run_local.py --port $(PORT) --data-dir $(DATA_DIR) --transactions '$(FILE)' --columns '$(COLUMNS)' --conf '$(or $(CONF),{})'

# The DAG on real data: UCI Online Retail from ../shared/data, as a `transactions` source.
run-retail: install
	$(PY) scripts/run_retail.py --port $(PORT) --data-dir .local/retail-warehouse

# Airflow UI on the local stack (local_bigquery + airflow standalone); Ctrl-C stops everything.
UI_PORT ?= 8080
ui: install
	$(PY) scripts/run_ui.py --port $(PORT) --ui-port $(UI_PORT)

# Dry-runs every job of a run on your BigQuery through the DAG's connection; writes nothing.
# make preflight [CONF='{"project_id": "my-project"}'] [DATE=2024-06-29] [GEMINI=1]
preflight: install
	$(PY) scripts/preflight.py --conf '$(or $(CONF),{})' $(if $(DATE),--date $(DATE)) $(if $(GEMINI),--gemini)

# The segment API and explorer on the local warehouse (after `make run`); Ctrl-C stops it.
.PHONY: explore
EXPLORE_PORT ?= 8000
explore: install
	$(PY) scripts/run_explorer.py --port $(PORT) --explore-port $(EXPLORE_PORT) --data-dir $(DATA_DIR)

# Pipeline benchmark at 1M and 10M order items: ours vs floor vs naive (several minutes).
bench: install
	$(PY) benchmarks/pipeline.py

# local_bigquery against three outside suites recorded on real BigQuery (fetched from PyPI, a few minutes).
conformance: install
	$(PY) benchmarks/conformance.py

clean:
	rm -rf .local
