# `make demo` and `make test` each do their own setup from a fresh clone.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
# Every install goes through constraints.txt: torch==2.13.0 is the local CPU wheel.
PIP := $(BIN)/python -m pip install --quiet -c constraints.txt

.PHONY: demo test lint docs golden clean tts

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml constraints.txt
	$(PIP) -e .
	touch $@

# Interop tools whose declared requirements conflict with the pins above, installed without them
# (docs/interop.md, "Installing the tools"): sinabs 3.1.3 pins nir<=1.0.4 (snnTorch's export needs
# nir>=1.0.6) and requires samna; norse 1.1.0 and spikingjelly 2.0.0 require torchvision. What they
# really import (torch, nir, nirtorch, scipy, pbr, loguru) comes with the test extra.
INTEROP_NO_DEPS := norse==1.1.0 sinabs==3.1.3 spikingjelly==2.0.0

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) -e '.[test]'
	$(PIP) --no-deps $(INTEROP_NO_DEPS)
	touch $@

# spoken-digits synthesises speech with espeak-ng and flite (Debian packages). As root with apt we
# install them; otherwise we say how, and the tests that need them are skipped.
tts:
	@if command -v espeak-ng >/dev/null 2>&1 && command -v flite >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng flite >/dev/null) \
		|| echo "warning: could not install espeak-ng and flite; spoken-digits tests will be skipped"; \
	else echo "note: spoken-digits needs espeak-ng and flite: sudo apt-get install espeak-ng flite"; fi

# The main job: train a convolutional SNN on n-digits (generated on first use), evaluate, export
# to NIR and write a report into runs/default (a killed demo resumes where it stopped).
demo: $(VENV)/.installed
	$(BIN)/neuro info
	$(BIN)/neuro run

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports

docs: $(VENV)/.installed-test
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir $(VENV)/site

test: lint docs tts
	$(BIN)/python -m pytest

# Regenerate the golden neuron trajectories (float64) after an intended change of a model.
golden: $(VENV)/.installed-test
	$(BIN)/python tests/core/neurons/golden/make_golden.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
