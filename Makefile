# Two set-up-free commands: `make run` and `make test`. Each creates (or reuses) the
# virtual environment .venv in this folder and installs what it needs into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench bench-gpu clean docs dist

run: $(VENV)/.run-installed
	$(BIN)/chainrule explain

test: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# The reference epoch against the floor, NumPy, PyTorch and scikit-learn (a few minutes);
# BENCH_ARGS=--quick for a smoke run.
bench: $(VENV)/.test-installed
	$(BIN)/python benchmarks/bench_epoch.py $(BENCH_ARGS)

# The reference epoch and its 784-4096-4096-10 variant, chainrule's engine against PyTorch
# on one device: cuda if PyTorch sees one, else the CPU (slow there: the wide variant takes
# about half an hour; BENCH_ARGS="--rows 2048 --rounds 1" for a smoke run).
bench-gpu: $(VENV)/.test-installed
	$(BIN)/python benchmarks/bench_gpu.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_gpu.py --width 4096 $(BENCH_ARGS)

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The documentation site, built into site/ with warnings as errors (offline).
docs: $(VENV)/.test-installed
	$(BIN)/mkdocs build --strict --site-dir site

# An sdist and a wheel (built from the sdist) in dist/, with this environment's setuptools.
dist: $(VENV)/.test-installed
	$(BIN)/python -m build --no-isolation --outdir dist .

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable .
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --editable '.[test]'
	touch $@ $(VENV)/.run-installed

clean:
	rm -rf $(VENV) build dist site src/*.egg-info .pytest_cache .ruff_cache .hypothesis
