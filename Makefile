# Quick start: `make run` sets everything up and serves the API on 127.0.0.1:8000 (SQLite and
# the index under ./data, the packaged model); `make test` sets up and runs every check.
# Both build .venv from the pinned requirements on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup run demo test lint

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

run: setup
	$(BIN)/newsdedup serve

demo: setup
	$(BIN)/newsdedup cluster samples/feed.jsonl -o data/sample-clusters.jsonl

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest
