# `make demo` runs the hub on the embedded default; `make test` runs every check.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# make demo rings generated calls (callers across the area) so a newcomer sees the console live.
CALLS_PER_MINUTE ?= 2

.PHONY: install demo serve test lint unit fuzz bench bench-replay profile clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.11 or newer is needed (python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/dispatch demo --calls-per-minute $(CALLS_PER_MINUTE)

serve: $(STAMP)
	$(BIN)/dispatch serve

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy dispatch

unit: $(STAMP)
	bash .ci/services
	bash .ci/browser
	$(BIN)/pytest

test: lint unit

# Before a release: schemathesis with thousands of examples per operation (tests/test_fuzz.py).
fuzz: $(STAMP)
	bash .ci/services
	DISPATCH_FUZZ_EXAMPLES=$${DISPATCH_FUZZ_EXAMPLES:-2000} $(BIN)/pytest tests/test_fuzz.py -s

bench: $(STAMP)
	bash .ci/services
	$(BIN)/python -m loadtests.run_all

# Only the replays: the SF week at 100x and the overlay run (results in loadtests/results/).
bench-replay: $(STAMP)
	bash .ci/services
	$(BIN)/python -m loadtests.bench_replay

# Where a request's CPU goes: a py-spy flame graph of bench_requests (hub CPU per request).
profile: $(STAMP)
	bash .ci/services
	$(BIN)/python -m loadtests.bench_requests --profile loadtests/results/profile-requests.svg

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
