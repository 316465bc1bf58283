# Everything a fresh machine needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
BOOTSTRAP := .bootstrap
UV := $(shell command -v uv 2>/dev/null || echo $(BOOTSTRAP)/bin/uv)
VENV := .venv
DEMO_DIR ?= demo-output

# Debian packages the Python dependencies build or load against: ICU for followthemoney's
# pyicu, Pango and a font for WeasyPrint's PDFs.
SYSTEM_PACKAGES := libicu-dev pkg-config g++ libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core
# What only the test suite needs: a PostgreSQL server for the case store, Debian's Chromium
# for the browser tests (Playwright never downloads a browser), Node's npm for the UI libraries,
# Java 17 for the Spark engine's parity test (`vigil scan --engine spark`, the `spark` extra).
TEST_SYSTEM_PACKAGES := postgresql chromium openjdk-17-jre-headless

.PHONY: install system-deps test-system-deps model demo test lint format clean fuzz schema-fuzz

# Installs the Debian packages in $(1) that are missing (as root), or names them and stops.
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if ! command -v npm >/dev/null; then missing="$$missing npm"; fi; \
	if [ -n "$${missing// /}" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "Install these Debian packages first: $$missing" >&2; exit 1; fi; \
	fi
endef

system-deps:
	$(call apt_install,$(SYSTEM_PACKAGES))

test-system-deps:
	$(call apt_install,$(TEST_SYSTEM_PACKAGES))

$(BOOTSTRAP)/bin/uv:
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV) system-deps
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --extra spark --compile-bytecode --python $(PYTHON)
	touch $@

# The web UI's front-end libraries, from the npm registry through package-lock.json.
node_modules/.installed: package.json package-lock.json | system-deps
	npm ci --no-audit --no-fund --ignore-scripts
	touch $@

install: $(VENV)/.installed node_modules/.installed

# The default ranking model, trained reproducibly (fixed seeds) into ~/.cache/vigil once per
# version of the feature code; `vigil scan --model default` trains it on first use otherwise.
model: install
	$(VENV)/bin/vigil model train --default

demo: install
	$(VENV)/bin/vigil demo --out $(DEMO_DIR)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

test: lint test-system-deps
	$(VENV)/bin/pytest

# Coverage-guided fuzzing of ingest (atheris, its own dependency group): not part of `test`.
FUZZ_RUNS ?= 600
fuzz: install
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --inexact --group fuzz
	$(VENV)/bin/python -m benchmarks.fuzz_ingest -atheris_runs=$(FUZZ_RUNS)

# A long schemathesis run against the API (the test suite runs a short one).
SCHEMA_EXAMPLES ?= 200
schema-fuzz: install
	VIGIL_SCHEMA_EXAMPLES=$(SCHEMA_EXAMPLES) $(VENV)/bin/pytest -q -s \
		tests/web/test_api_schema_fuzz.py -k no_operation

format: install
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) $(BOOTSTRAP) $(DEMO_DIR) node_modules
