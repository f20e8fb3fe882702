# Community platform: one entry point for set-up, servers, tests and tools.
# `make up` and `make test` work on a fresh machine (no Docker needed).

SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
PACKAGES := shared/schemas shared/kit services/forum services/reputation services/ideas \
	services/search services/analytics
PACKAGE_FILES := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
STAMP := $(VENV)/.installed
USER ?= alice
ROLES ?= member
SERVICE ?= reputation
PYTEST_ARGS ?=
# the analytics dashboard's chart library: a pinned npm package, copied into the service's
# static files at build time (the page fetches nothing from a CDN)
CHARTJS := services/analytics/src/analytics/static/vendor/chart.umd.min.js

.PHONY: help venv up down status prepare test test-unit test-contract test-integration test-e2e \
        lint fmt typecheck schemas token rebuild bench lock clean assets browser

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): requirements.lock $(PACKAGE_FILES)
	@test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install -q --python $(PYTHON) -r requirements.lock
	$(BIN)/uv pip install -q --python $(PYTHON) --no-deps $(foreach p,$(PACKAGES),-e $(p))
	@touch $@

venv: $(STAMP) $(CHARTJS) ## create the virtualenv with the pinned dependencies

$(CHARTJS): services/analytics/web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install the dashboard's chart library"; exit 1; }
	cd services/analytics/web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	mkdir -p $(dir $(CHARTJS))
	cp services/analytics/web/node_modules/chart.js/dist/chart.umd.min.js $@

assets: $(CHARTJS) ## the analytics dashboard's pinned chart library (npm ci)

browser: ## Debian's chromium for the dashboard browser test (apt-get install when missing)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    || echo "[browser] apt-get could not install chromium: the dashboard browser test will skip"; \
	  else echo "[browser] no chromium and no usable apt-get: the dashboard browser test will skip"; fi; }

prepare: venv ## download/build the local servers once (Kafka jars, FerretDB binary)
	$(PYTHON) deploy/local/localrun.py prepare

up: venv ## start Kafka, FerretDB and every service locally; wait until all are ready
	$(PYTHON) deploy/local/localrun.py up

down: ## stop what `make up` started (by PID)
	@$(PY) deploy/local/localrun.py down

status: ## what `make up` is running
	@$(PY) deploy/local/localrun.py status

test: prepare browser ## the whole suite: unit, contract, integration, end-to-end (real servers)
	$(PYTHON) -m pytest $(PYTEST_ARGS)

test-unit: venv ## unit tests only (no servers)
	$(PYTHON) -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

test-contract: venv ## event contract tests
	$(PYTHON) -m pytest tests/contract $(PYTEST_ARGS)

test-integration: prepare browser ## integration tests against the real broker and database
	$(PYTHON) -m pytest -m integration $(PYTEST_ARGS)

test-e2e: prepare ## end-to-end tests (services as processes, over HTTP)
	$(PYTHON) -m pytest -m e2e $(PYTEST_ARGS)

lint: venv ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/schemas/src shared/kit/src services/forum/src services/reputation/src \
		services/ideas/src services/search/src services/analytics/src

fmt: venv ## format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schemas: venv ## export JSON Schemas of every event to shared/schemas/jsonschema
	$(PYTHON) -m schemas.export shared/schemas/jsonschema

token: venv ## print a JWT: make token USER=alice ROLES=member,moderator
	@$(PYTHON) -c "import os,sys; from communitykit.auth import make_token; \
	print(make_token(os.environ.get('COMMUNITY_JWT_SECRET','dev-only-secret-change-me-32-bytes!'), \
	sys.argv[1], roles=sys.argv[2].split(',')))" "$(USER)" "$(ROLES)"

rebuild: venv ## rebuild a projection from offset 0 and compare with the live one
	$(PYTHON) -m $(SERVICE).rebuild

bench: venv ## benchmarks against raw aiokafka / raw PyMongo baselines
	$(PYTHON) benchmarks/run.py
	$(PYTHON) benchmarks/analytics_bench.py

lock: venv ## recompile requirements.lock from requirements.in
	$(BIN)/uv pip compile -q requirements.in -o requirements.lock --python $(PYTHON)

clean: down ## remove the virtualenv and local server state (keeps the download cache)
	rm -rf $(VENV) .run
