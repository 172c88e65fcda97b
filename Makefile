# OneVisit: the two commands of the README.
#   make demo  – install into .venv and run the whole system on SQLite with the demo hall
#   make test  – install into .venv (with test extras) and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: demo test install install-dev run bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,scale]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/onevisit init
	$(BIN)/onevisit demo
	$(BIN)/onevisit demo-cases
	$(BIN)/onevisit run --host $(HOST) --port $(PORT)

# The suite runs in TEST_JOBS worker processes (pytest-xdist), a test file per worker at a time: most
# tests wait on a server process, a browser or a database, so three workers keep two cores busy. Files go
# out longest first by tests/timings.json (tests/scheduling.py); ONEVISIT_RECORD_TIMINGS=1 rewrites it.
TEST_JOBS ?= 3

test: install-dev
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile --durations=15 $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python bench/scan_bench.py --quick

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
