# One-word entries for a fresh machine: each target creates the environment it needs.
#   make demo   the main job on the bundled example (README's first command)
#   make test   every test (README's second command)
#   make lint   ruff (lint + format), mypy, the import contracts (lint-imports), and
#               eslint + prettier on the sidebar's TypeScript
#   make bench  every benchmark, side by side with the tools users run instead (a table)
#   make lab    JupyterLab with the sidebar on a sandbox, and the quickstart notebook

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test lint format bench lab clean

demo: $(VENV)/.base
	$(BIN)/jupyter-ack demo

JLPM := cd labextension && PATH="$(abspath $(BIN)):$$PATH" jlpm

test: $(VENV)/.dev
	$(JLPM) test
	$(BIN)/python -m pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check jupyter_ack tests benchmarks
	$(BIN)/ruff format --check jupyter_ack tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(JLPM) lint:check

format: $(VENV)/.dev
	$(BIN)/ruff check --fix jupyter_ack tests benchmarks
	$(BIN)/ruff format jupyter_ack tests benchmarks

# JupyterLab with the sidebar on a sandbox of its own (one example run in it), and the
# quickstart notebook open; the sandbox stops when JupyterLab does
SANDBOX := .sandbox
lab: $(VENV)/.dev
	$(BIN)/jupyter-ack sandbox up --detach --state-dir $(SANDBOX) --ack-period 2 --step-seconds 3
	. $(SANDBOX)/env && $(BIN)/jupyter-ack submit jupyter_ack/examples/abalone.json \
	  --name abalone --role-arn arn:aws:iam::123456789012:role/SageMakerPipelineRole --execute
	. $(SANDBOX)/env && $(BIN)/jupyter lab --ip=127.0.0.1 notebooks/quickstart.ipynb; \
	  $(BIN)/jupyter-ack sandbox down --state-dir $(SANDBOX)

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip

$(VENV)/.base: pyproject.toml | $(VENV)/bin/python
	SKIP_JUPYTER_BUILDER=1 $(PIP) -e '.[sandbox]'  # the demo needs no sidebar build
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(PIP) -e '.[dev]'
	$(JLPM) install --immutable
	touch $(VENV)/.base $@

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache .hypothesis
