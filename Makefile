# The two commands a newcomer runs: `make demo` and `make test`. Both build .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# `make dist` builds the Python package (sdist and wheel, `python -m build`) and, from the wheel,
# the Stash plugin source: DIST/plugin-source/{index.yml,stashplex-<version>.zip}. The index is
# dated with the last commit (SOURCE_DATE_EPOCH), so the same commit builds the same zip.
# PY=... builds with another interpreter that has the dev extra (the tests pass their own).
DIST ?= dist
PY ?= $(BIN)/python
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)
ifneq ($(SOURCE_DATE_EPOCH),)
export SOURCE_DATE_EPOCH
endif

.PHONY: demo test lint bench dist clean

$(BIN)/stashplex: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/stashplex
	$(BIN)/stashplex demo

# Two test processes (pytest-xdist), each taking a whole file at a time: a file's tests may build
# on each other, and most of the suite's time is spent waiting on real servers and processes.
test: $(BIN)/stashplex
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(BIN)/stashplex
	$(BIN)/python bench/run_all.py

dist: $(if $(filter command line,$(origin PY)),,$(BIN)/stashplex)
	rm -rf $(DIST)
	$(PY) -m build --outdir $(DIST) .
	$(PY) -m stashplex.plugin.dist --wheel $(DIST)/stashplex-*.whl --out $(DIST)/plugin-source

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info dist
