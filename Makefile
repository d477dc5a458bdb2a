# Live Telecast Streams: every command a user or CI needs. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
EMULATOR_VENV := .local/ministack-venv
# checkov pins conflict with the dev venv's: it gets a venv of its own.
CHECKOV_VENV := .local/checkov-venv
CHECKOV := $(CHECKOV_VENV)/bin/checkov --config-file .checkov.yaml --file template.yaml
# Python 3.13 for `sam build` (the Lambda runtime) and for the emulator.
PY313 ?= $(shell PYENV_VERSION=3.13.0 pyenv which python3.13 2>/dev/null || command -v python3.13)
export TELECAST_PY313 := $(PY313)
export TELECAST_EMULATOR_PYTHON := $(CURDIR)/$(EMULATOR_VENV)/bin/python

.PHONY: help install run up down status tail import redrive test test-unit test-integration test-e2e \
        lint format build validate lock clean openapi bench

help: ## list every target with one line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  make %-18s %s\n", $$1, $$2}' \
		$(MAKEFILE_LIST)

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python requirements/dev.txt pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $@

$(EMULATOR_VENV)/.installed: requirements/ministack.txt
	@test -n "$(PY313)" || { echo "error: Python 3.13 not found (set PY313=/path/to/python3.13)"; exit 1; }
	$(PY313) -m venv $(EMULATOR_VENV)
	$(EMULATOR_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/ministack.txt
	@touch $@

install: $(VENV)/.installed $(EMULATOR_VENV)/.installed ## create both virtual environments from the lock files

run: install ## start everything locally with a demo, print notifications; Ctrl-C stops
	$(BIN)/telecast-local run

up: install ## start the local runtime in the background (emulator + deployed stack)
	$(BIN)/telecast-local up

down: ## stop the local runtime, keeping its state in .local/
	@if [ -x $(BIN)/telecast-local ]; then $(BIN)/telecast-local down; fi

status: ## print the local stack's outputs
	@$(BIN)/telecast-local status

tail: install ## print notifications from the local runtime's queue as they arrive
	$(BIN)/telecast-tail

import: install ## import an XMLTV listing: FILE=x.xml [START_IN=s] [SPEED=x] [DRY_RUN=1]
	@test -n "$(FILE)" || { echo "usage: make import FILE=x.xml [START_IN=s] [SPEED=x] [DRY_RUN=1]"; exit 2; }
	$(BIN)/telecast-import "$(FILE)" $(if $(START_IN),--start-in $(START_IN)) \
		$(if $(SPEED),--speed $(SPEED)) $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

redrive: install ## replay the dead-letter queue through the notifier [DRY_RUN=1] [STACK=name]
	$(BIN)/telecast-redrive $(if $(STACK),--stack $(STACK)) $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run)

test: install ## run every test tier: unit, integration (moto), end to end (local runtime)
	$(BIN)/pytest -q

test-unit: install ## unit tests only (no network)
	$(BIN)/pytest -q tests/unit

test-integration: install ## integration tests against moto
	$(BIN)/pytest -q tests/integration

test-e2e: install ## end-to-end tests against the local runtime (started if needed)
	$(BIN)/pytest -q tests/e2e

bench: install ## every benchmark (runs 1-5 of issue 8, ~10 min); writes benchmarks/results/
	$(BIN)/python -m benchmarks.run

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found"; exit 1; }
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	@touch $@

lint: install $(CHECKOV_VENV)/.installed ## ruff, mypy, cfn-lint, checkov (offline, .checkov.yaml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/telecast/telecast functions ops/telecast_ops benchmarks
	$(BIN)/cfn-lint template.yaml
	$(CHECKOV)

format: install ## format the code with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

build: install ## sam build (needs Python 3.13 on PATH, taken from PY313)
	PATH="$(dir $(PY313)):$$PATH" $(BIN)/sam build --cached --parallel

validate: install $(CHECKOV_VENV)/.installed ## sam validate --lint, cfn-lint and checkov
	$(BIN)/sam validate --lint --region us-east-1
	$(BIN)/cfn-lint template.yaml
	$(CHECKOV)

# To AWS (credentials needed): environments are samconfig.toml's default (dev) and prod.
ENV ?= prod
FUNCTION ?= notifier
LOGS_stream := StreamFunction
LOGS_notifier := NotifierFunction
LOGS_reconcile := ReconcileFunction
LOGS_api := ApiFunction

.PHONY: deploy sync logs
deploy: build ## sam build, then sam deploy --config-env ENV (prod unless ENV=default)
	$(BIN)/sam deploy --config-env $(ENV)

sync: install ## sam sync --watch: the dev stack (samconfig default) follows the tree
	PATH="$(dir $(PY313)):$$PATH" $(BIN)/sam sync --watch --config-env default

logs: install ## tail a deployed function's logs: FUNCTION=stream|notifier|reconcile|api [ENV=prod]
	@test -n "$(LOGS_$(FUNCTION))" || { echo "usage: make logs FUNCTION=stream|notifier|reconcile|api"; exit 2; }
	$(BIN)/sam logs --config-env $(ENV) --name $(LOGS_$(FUNCTION)) --tail \
		$(if $(STACK),--stack-name $(STACK))

lock: $(BIN)/python ## re-pin requirements/dev.txt from pyproject's dev dependencies
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet -e ".[dev]"
	{ head -2 requirements/dev.txt; .lock-venv/bin/pip freeze --exclude-editable; } > requirements/dev.tmp
	mv requirements/dev.tmp requirements/dev.txt && rm -rf .lock-venv

.PHONY: reconcile
reconcile: install ## put schedules and statuses back in step with the table [DRY_RUN=1] [STACK=name]
	$(BIN)/telecast-reconcile $(if $(filter 1 true yes,$(DRY_RUN)),--dry-run) \
		$(if $(STACK),--stack $(STACK))

openapi: install ## write the API's OpenAPI document, generated from its routes, to openapi.json
	PYTHONPATH=layers/telecast:functions/api $(BIN)/python -c \
		'import api_handler; print(api_handler.openapi_document(), end="")' > openapi.json

clean: down ## remove the local runtime's state and build output (keeps the venvs)
	rm -rf .local/state .local/s3 .local/tmp .local/outputs.json .aws-sam
