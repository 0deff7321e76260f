# CoopRide: `make run` runs the cooperative, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export SOLCX_BINARY_PATH := $(VENV)/solcx
export MPLBACKEND := Agg

.PHONY: setup run run-pg test lint fuzz fuzz-api demo bench-gas bench-matching bench-api compile clean web web-budget screenshots

setup:
	@bash scripts/setup.sh

compile: setup
	brownie compile

run: setup
	coopride run

# The same on a private PostgreSQL server (started for the run, removed after) with one API process per core and
# the settlement worker in one process of its own. Your own server: DATABASE_URL=postgresql+psycopg://... and
# COOPRIDE_API_WORKERS=N with `make run`.
run-pg: setup
	coopride run --postgres

test: setup
	pytest

# The backend's linter (with import order), formatter check and type checker; CI runs it before the tests.
lint: setup
	ruff check backend
	ruff format --check backend
	mypy backend

# The property and state-machine tests with fresh random examples, COOPRIDE_FUZZ_FACTOR (default 10) times the suite's.
FUZZ_TESTS := $(shell grep -rl --include='test_*.py' hypothesis tests)
fuzz: setup
	COOPRIDE_FUZZ_FACTOR=$${COOPRIDE_FUZZ_FACTOR:-10} pytest $(FUZZ_TESTS)

# The whole HTTP API fuzzed from its OpenAPI document against a real `coopride run` (Schemathesis): no 5xx, every
# answer as documented. FUZZ_API_REQUESTS (default 10000) requests; CI runs a fixed-seed 1,000 (tests/e2e).
fuzz-api: setup
	python scripts/fuzz_api.py --requests $${FUZZ_API_REQUESTS:-10000}

demo: setup
	coopride demo

bench-gas: setup
	python benchmarks/gas.py

bench-matching: setup
	python benchmarks/matching.py

# The HTTP API under load against a bare FastAPI app in the same run (benchmarks/README.md); BENCH_API_FLAGS=--quick
# for a short look, --sqlite for the single-process mode, --soak for the 10-minute memory soak.
bench-api: setup
	python benchmarks/api.py $(BENCH_API_FLAGS)

# The web app: rebuild its assets (setup does it when a source changed), measure its JavaScript per page,
# and retake the screenshots of docs/screenshots/ (phone and desktop) with the accessibility, trip and admissions tests.
web: setup
	node backend/coopride/web/frontend/build.mjs
	python -m coopride.web.budget

web-budget: setup
	python -m coopride.web.budget

screenshots: setup
	COOPRIDE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots pytest tests/web/test_web_accessibility.py tests/web/test_web_trip_flow.py tests/web/test_web_admissions.py -q

clean:
	rm -rf build reports .coopride demo-output
