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

.PHONY: install system-deps demo test lint format clean

system-deps:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "Install these Debian packages first: $$missing" >&2; exit 1; fi; \
	fi

$(BOOTSTRAP)/bin/uv:
	$(PYTHON) -m venv $(BOOTSTRAP)
	$(BOOTSTRAP)/bin/python -m pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.installed: pyproject.toml uv.lock | $(UV) system-deps
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --compile-bytecode --python $(PYTHON)
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/vigil demo --out $(DEMO_DIR)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

test: lint
	$(VENV)/bin/pytest

format: install
	$(VENV)/bin/ruff format src tests benchmarks
	$(VENV)/bin/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) $(BOOTSTRAP) $(DEMO_DIR)
