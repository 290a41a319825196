# Two commands set everything up: `make run` (app with demo data) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint migrate clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/casework serve --demo

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

migrate: $(STAMP)
	$(BIN)/casework migrate

clean:
	rm -rf $(VENV) var *.egg-info

# Benchmarks (bench/): load-test tools live in bench/requirements.txt, installed into the same .venv.
.PHONY: bench bench-quick
BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP) bench/requirements.txt
	$(BIN)/python -m pip install --quiet -r bench/requirements.txt
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python bench/durability.py
	$(BIN)/python bench/run.py
	$(BIN)/python bench/lattice.py --database sqlite
	$(BIN)/python bench/lattice.py --database postgresql

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/run.py --quick --output var/bench/benchmarks-quick.md
