# buylist: `make up` runs the platform locally, `make test` runs every test tier.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: help install up down status logs clean test lint unit integration browser faults chaos bench deploy cleanup chart cluster load

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

install: ## Install everything the platform and the tests need (idempotent, cached)
	@scripts/install.sh all chromium

up: ## Install what is missing, start every component, print the URLs
	@scripts/platform.sh up

down: ## Stop every component, keeping the data
	@scripts/platform.sh down

status: ## Show each component's process and readiness
	@scripts/platform.sh status

logs: ## Follow the logs (make logs C=customer-facing for one component)
	@scripts/platform.sh logs $(C)

clean: ## Stop everything and delete all local data
	@scripts/platform.sh clean

test: ## Run lint, type checks and every test tier (installs what they need)
	@scripts/test.sh

lint: ## ruff and mypy only
	@scripts/install.sh venv >/dev/null
	$(VENV)/bin/ruff check apps tests loadtests
	$(VENV)/bin/ruff format --check apps tests loadtests
	$(VENV)/bin/mypy

unit: ## Unit tests only
	@scripts/install.sh venv >/dev/null
	$(PY) -m pytest -m unit

integration: ## Integration tests only (starts its own Kafka, FerretDB, services, Prometheus)
	@scripts/install.sh venv kafka ferretdb system helm >/dev/null
	$(PY) -m pytest -m integration

chart: ## Chart tier only: helm lint, renders validated against Kubernetes schemas, checkov, property tests
	@scripts/install.sh venv helm checkov >/dev/null
	$(PY) -m pytest -m chart

cluster: ## Cluster tier: install into the cluster KUBECONFIG names and check it (skipped without one)
	@scripts/install.sh venv helm >/dev/null
	$(PY) -m pytest -m cluster

browser: ## Browser tests only
	@scripts/install.sh all chromium >/dev/null
	$(PY) -m pytest -m browser

faults: ## Fault tier only: kills under load, broker stalls, graceful shutdown, rebalance, schemathesis
	@scripts/install.sh venv kafka ferretdb system >/dev/null
	$(PY) -m pytest -m faults

chaos: ## The long chaos run (300 x SCALE purchases between faults); prints the accounting table
	@scripts/install.sh venv kafka ferretdb system >/dev/null
	$(PY) -m tests.support.chaos --scale $(or $(SCALE),5)

bench: ## Benchmarks against the running platform (make up first); prints tables, writes reports/bench-*.json
	@scripts/install.sh venv bench >/dev/null
	$(PY) -m tests.bench.bench $(BENCH_ARGS)

deploy: ## Build both images inside minikube, install the chart there and print the UI's URL (needs minikube, kubectl, docker or podman)
	@scripts/deploy.sh

cleanup: ## Uninstall the release and delete its namespace from minikube (ARGS=--delete-cluster deletes the cluster too)
	@scripts/cleanup.sh $(ARGS)

load: ## Locust headless against the running platform: make load PROFILE=smoke|step|spike|soak [LOAD_ARGS=...] (reports/)
	@scripts/install.sh venv helm >/dev/null
	$(PY) -m loadtests.run --profile $(or $(PROFILE),smoke) $(LOAD_ARGS)
