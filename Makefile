# Two entry points: `make demo` and `make test`. Each creates .venv when missing and installs samscape into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# the optional dependency groups of pyproject.toml that `make` installs, comma-separated
EXTRAS := test,sweep,explore

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/samscape demo --out samscape-out
	@echo "open $(CURDIR)/samscape-out/index.html"

# test processes (pytest-xdist); TEST_JOBS=0 runs the suite in this one process
TEST_JOBS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_JOBS)

# BENCH_ARGS="--quick" for smaller sizes; BENCH_ARGS="--against OLD_CHECKOUT" times the kernels of both trees
bench: $(STAMP)
	$(BIN)/python benchmarks/bench_integrator.py $(BENCH_ARGS)
	$(BIN)/python benchmarks/bench_variants.py $(if $(findstring --quick,$(BENCH_ARGS)),--quick,)

clean:
	rm -rf $(VENV) samscape-out .pytest_cache
