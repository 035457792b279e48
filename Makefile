# article-pipeline: the front door. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SHARED ?= ../shared
export ARTICLE_PIPELINE_SHARED := $(abspath $(SHARED))
# The package's bytecode, as `pip install` writes it for an installed package (an editable one
# gets none, and with PYTHONDONTWRITEBYTECODE set every run compiled the package again: 0.2 s).
BYTECODE = @$(BIN)/python -m compileall -q pipeline
LABELS := data/labels/sea-extra
HELDOUT := data/labels/sea-heldout

.PHONY: help setup run test test-browser train eval bench bench-full lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BYTECODE)
	@touch $@

setup: $(STAMP) ## create .venv with the exact pins of requirements.lock

run: $(STAMP) ## process seeds/ into out/seeds/ and print a summary
	$(BIN)/article-pipeline run seeds --out out/seeds

test: $(STAMP) ## run the test suite
	$(BIN)/python -m pytest -q

test-browser: $(STAMP) ## the run report in headless Chromium (installs chromium and playwright if missing)
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
		{ apt-get install -y -q chromium || { apt-get update -q && apt-get install -y -q chromium; }; } } || \
		echo "chromium could not be installed: the browser test will skip"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-browser.lock
	$(BIN)/python -m pytest -q tests/test_report_browser.py

train: $(STAMP) ## retrain the shipped models (topic: sea-dev + seeds + data/labels; lines: + zyte-dev)
	$(BIN)/article-pipeline train --out models/topic.joblib \
		--data $(SHARED)/corpus/sea-dev $(SHARED)/seeds $(LABELS)
	$(BIN)/article-pipeline train --kind lines --out models/lines.joblib \
		--data $(SHARED)/corpus/sea-dev $(SHARED)/seeds $(SHARED)/corpus/zyte-dev $(LABELS)

eval: $(STAMP) ## out-of-fold metrics on the training corpora, then the shipped models on held-out pages
	$(BIN)/article-pipeline eval --cv --out out/eval \
		--gold $(SHARED)/corpus/sea-dev $(SHARED)/seeds $(SHARED)/corpus/zyte-dev $(LABELS)
	$(BIN)/article-pipeline eval --out out/eval-heldout --gold $(HELDOUT)

bench: $(STAMP) ## speed, memory and duplicate-index benchmarks (bench-results/)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.lock
	$(BYTECODE)
	$(BIN)/python -m pipeline.bench
	$(BIN)/python -m pipeline.bench.replicated
	$(BIN)/python -m pipeline.bench.dask_engine

bench-full: $(STAMP) ## the scale run: 1k, 10k, 100k, 1M generated pages (--jobs 2 above 10k, same-story index kept; about an hour, ~9 GB of data)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.lock
	$(BYTECODE)
	$(BIN)/python -m pipeline.bench --full

lint: $(STAMP) ## ruff
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests

clean: ## remove outputs and caches (keeps .venv and models)
	rm -rf out .pytest_cache .ruff_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
