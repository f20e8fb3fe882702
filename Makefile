# Community platform: one entry point for set-up, servers, tests and tools.
# `make up` and `make test` work on a fresh machine (no Docker needed).

SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTHON := $(BIN)/python
# every services/<name>/ with a pyproject.toml is a service (no list to keep up to date)
SERVICES := $(patsubst services/%/pyproject.toml,%,$(wildcard services/*/pyproject.toml))
PACKAGES := shared/schemas shared/kit $(addprefix services/,$(SERVICES))
PACKAGE_FILES := $(foreach p,$(PACKAGES),$(p)/pyproject.toml)
STAMP := $(VENV)/.installed
USER ?= alice
ROLES ?= member
SERVICE ?= reputation
PYTEST_ARGS ?=
# `make lock LOCK_ARGS=--upgrade` moves every unpinned transitive dependency forward
LOCK_ARGS ?=

# the analytics dashboard's chart library: a pinned npm package, copied into the service's
# static files at build time (the page fetches nothing from a CDN)
CHARTJS := services/analytics/src/analytics/static/vendor/chart.umd.min.js
# the official AsyncAPI parser (pinned in tools/asyncapi/package-lock.json): make test validates
# shared/schemas/asyncapi.yaml with it
ASYNCAPI_PARSER := tools/asyncapi/node_modules/.installed
# openapi-generator (typescript-fetch), a jar from Maven Central fetched once per machine: make
# test generates a client of every service with it
OPENAPI_GENERATOR_VERSION := 7.17.0
OPENAPI_GENERATOR := .cache/openapi-generator/openapi-generator-cli-$(OPENAPI_GENERATOR_VERSION).jar

.PHONY: help venv up down status prepare test test-unit test-contract test-integration test-security test-e2e \
        test-chaos lint fmt typecheck schemas token rebuild bench demo lock validate-deploy config-docs clean \
        assets browser asyncapi-tools openapi-generator contracts media-tools

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.lock $(PACKAGE_FILES)
	@test -x $(PYTHON) || $(PY) -m venv $(VENV)
	$(PYTHON) -m pip install -q --disable-pip-version-check uv==0.13.8
	$(BIN)/uv pip install -q --python $(PYTHON) -r requirements-dev.lock
	$(BIN)/uv pip install -q --python $(PYTHON) --no-deps $(foreach p,$(PACKAGES),-e $(p))
	@touch $@

venv: $(STAMP) $(CHARTJS) $(ASYNCAPI_PARSER) ## create the virtualenv with the pinned dependencies

# web/package.json's `vendor` script copies the files (the Dockerfile's assets stage runs it too)
$(CHARTJS): services/analytics/web/package-lock.json services/analytics/web/package.json
	@command -v npm >/dev/null || { echo "npm is needed to install the dashboard's chart library"; exit 1; }
	cd services/analytics/web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	cd services/analytics/web && npm run --silent vendor
	@touch $@

assets: $(CHARTJS) ## the analytics dashboard's pinned chart library (npm ci)

$(ASYNCAPI_PARSER): tools/asyncapi/package-lock.json tools/asyncapi/package.json
	@command -v npm >/dev/null || { echo "npm is needed to install the AsyncAPI parser"; exit 1; }
	cd tools/asyncapi && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

asyncapi-tools: $(ASYNCAPI_PARSER) ## the pinned official AsyncAPI parser (npm ci)

$(OPENAPI_GENERATOR):
	@command -v mvn >/dev/null || { echo "mvn (and java 17) are needed to fetch openapi-generator"; exit 1; }
	mvn -q -B dependency:copy -Dartifact=org.openapitools:openapi-generator-cli:$(OPENAPI_GENERATOR_VERSION) \
	  -DoutputDirectory=$(dir $(OPENAPI_GENERATOR))
	@test -f $@

openapi-generator: $(OPENAPI_GENERATOR) ## the pinned openapi-generator-cli jar (Maven Central, once per machine)

browser: ## Debian's chromium for the dashboard browser test (apt-get install when missing)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
	    || echo "[browser] apt-get could not install chromium: the dashboard browser test will skip"; \
	  else echo "[browser] no chromium and no usable apt-get: the dashboard browser test will skip"; fi; }

# the media worker's tools: ffmpeg/ffprobe (video checks, posters) and libmagic (type sniffing)
media-tools: ## ffmpeg, ffprobe and libmagic for the media service (apt-get install when missing)
	@{ command -v ffmpeg >/dev/null && command -v ffprobe >/dev/null \
	   && { ldconfig -p 2>/dev/null | grep -q libmagic.so.1; }; } || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	      ffmpeg libmagic1 >/dev/null \
	    || echo "[media-tools] apt-get could not install ffmpeg/libmagic1: the media video tests will skip"; \
	  else echo "[media-tools] no ffmpeg/libmagic and no usable apt-get: the media video tests will skip"; fi; }

prepare: venv media-tools ## download/build the local servers once (Kafka jars, FerretDB, versitygw) and the media tools
	$(PYTHON) deploy/local/localrun.py prepare

up: venv ## start Kafka, FerretDB and every service locally; wait until all are ready
	$(PYTHON) deploy/local/localrun.py up

down: ## stop what `make up` started (by PID)
	@$(PY) deploy/local/localrun.py down

status: ## what `make up` is running
	@$(PY) deploy/local/localrun.py status

test: prepare browser validate-deploy contracts openapi-generator ## the whole suite: deployment checks, contracts, unit, contract, integration, e2e
	OPENAPI_GENERATOR_JAR=$(OPENAPI_GENERATOR) $(PYTHON) -m pytest $(PYTEST_ARGS)

# not part of `make test` (it kills and restarts servers of its own: ~15 min on 2 cores);
# .ci/run runs it after the main suite
test-chaos: prepare ## reliability under faults (kill -9, SIGTERM, poison, duplicates, broker/store restarts) vs. the topic oracle
	$(PYTHON) -m pytest tests/chaos -m chaos $(PYTEST_ARGS)

test-unit: venv openapi-generator ## unit tests only (no servers)
	OPENAPI_GENERATOR_JAR=$(OPENAPI_GENERATOR) $(PYTHON) -m pytest -m "not integration and not e2e" $(PYTEST_ARGS)

test-contract: venv contracts openapi-generator ## event and API contract tests
	OPENAPI_GENERATOR_JAR=$(OPENAPI_GENERATOR) $(PYTHON) -m pytest tests/contract $(PYTEST_ARGS)

# needs the git history (a full clone): every event schema against its previous committed version
contracts: venv ## fail on a breaking change of an event schema within one .vN (removed/retyped field, newly required, narrowed enum)
	$(PYTHON) -m schemas.compat

test-integration: prepare browser ## integration tests against the real broker and database
	$(PYTHON) -m pytest -m integration $(PYTEST_ARGS)

test-security: prepare ## security suite: tokens, limits, authorization, injection, schemathesis
	$(PYTHON) -m pytest tests/security $(PYTEST_ARGS)

test-e2e: prepare ## end-to-end tests (services as processes, over HTTP)
	$(PYTHON) -m pytest -m e2e $(PYTEST_ARGS)

lint: venv ## ruff (lint + format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy shared/schemas/src shared/kit/src $(addsuffix /src,$(addprefix services/,$(SERVICES))) \
	  deploy/docker deploy/tools tools

fmt: venv ## format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

schemas: venv ## regenerate the event contracts: JSON Schemas (shared/schemas/jsonschema) and AsyncAPI (shared/schemas/asyncapi.yaml)
	$(PYTHON) -m schemas.export shared/schemas/jsonschema
	$(PYTHON) -m schemas.asyncapi

token: venv ## print a JWT: make token USER=alice ROLES=member,moderator
	@$(PYTHON) -c "import os,sys; from communitykit.auth import make_token; \
	print(make_token(os.environ.get('COMMUNITY_JWT_SECRET','dev-only-secret-change-me-32-bytes!'), \
	sys.argv[1], roles=sys.argv[2].split(',')))" "$(USER)" "$(ROLES)"

rebuild: venv ## rebuild a projection from offset 0 and compare with the live one
	$(PYTHON) -m $(SERVICE).rebuild

# DEMO_ARGS="--rate 30 --duration 120 --seed 3"; base URLs: --forum-url ... or DEMO_FORUM_URL ...
DEMO_ARGS ?=
demo: venv ## simulated community traffic through the public APIs (after `make up`)
	$(PYTHON) -m tools.demo $(DEMO_ARGS)

bench: venv ## benchmarks against raw aiokafka / raw PyMongo baselines
	$(PYTHON) benchmarks/run.py
	$(PYTHON) benchmarks/analytics_bench.py
	$(PYTHON) benchmarks/influence_bench.py
	$(PYTHON) benchmarks/listening_bench.py
	$(PYTHON) benchmarks/media_bench.py

# Three locks, all with hashes: runtime (the only thing the service image installs), build (the
# image's build backend) and dev (runtime at the same versions + tests, lint, deploy tools).
lock: venv ## recompile requirements-{runtime,build,dev}.lock from their .in files
	$(BIN)/uv pip compile -q --generate-hashes $(LOCK_ARGS) --python $(PYTHON) \
	  requirements-runtime.in -o requirements-runtime.lock
	$(BIN)/uv pip compile -q --generate-hashes $(LOCK_ARGS) --python $(PYTHON) \
	  requirements-build.in -o requirements-build.lock
	$(BIN)/uv pip compile -q --generate-hashes $(LOCK_ARGS) --python $(PYTHON) \
	  requirements-dev.in -o requirements-dev.lock

validate-deploy: venv ## check Dockerfile, compose file and k8s overlays offline (no Docker, no cluster)
	$(PYTHON) deploy/tools/validate_deploy.py

config-docs: venv ## regenerate README's configuration reference from the Settings classes
	$(PYTHON) deploy/tools/config_reference.py --write

clean: down ## remove the virtualenv and local server state (keeps the download cache)
	rm -rf $(VENV) .run
