# Two commands for a fresh machine:  make run  (the shop with demo data)  and  make test.
SHELL := /bin/bash
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run install install-test npm-deps system-deps services test test-sqlite test-postgres lint bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

# axe-core for the accessibility sweep (tests/e2e/test_every_page.py), pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

npm-deps: node_modules/.installed

run: install
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(FLASK) launch-check
	$(FLASK) run --host 127.0.0.1 --port 5000

system-deps:
	scripts/system-deps.sh

services:
	scripts/services.sh

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

test-sqlite: install-test npm-deps
	$(BIN)/python -m pytest -q

test-postgres: install-test npm-deps services
	DIADEM_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q

test: install-test system-deps services lint test-sqlite test-postgres

bench: install-test services
	$(BIN)/python bench/ar.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/photo_memory.py
	$(BIN)/python bench/topology.py

clean:
	rm -rf $(VENV) .pytest_cache node_modules
