# `make demo` and `make test` each do their own setup from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Every install goes through constraints.txt: torch==2.13.0 is the local CPU wheel.
PIP := $(BIN)/python -m pip install --quiet -c constraints.txt

.PHONY: demo test lint docs golden clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	touch $@

demo: $(VENV)/.installed
	$(BIN)/neuro info

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site

test: lint docs
	$(BIN)/python -m pytest

# Regenerate the golden neuron trajectories (float64) after an intended change of a model.
golden: $(VENV)/.installed-test
	$(BIN)/python tests/core/neurons/golden/make_golden.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
