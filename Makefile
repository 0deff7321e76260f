# CoopRide: `make run` runs the cooperative, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export SOLCX_BINARY_PATH := $(VENV)/solcx
export MPLBACKEND := Agg

.PHONY: setup run test lint fuzz fuzz-api demo bench-gas bench-matching compile clean web web-budget screenshots

setup:
	@bash scripts/setup.sh

compile: setup
	brownie compile

run: setup
	coopride run

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

# The web app: rebuild its assets (setup does it when a source changed), measure its JavaScript per page,
# and retake the screenshots of docs/screenshots/ (phone and desktop) with the accessibility test.
web: setup
	node backend/coopride/web/frontend/build.mjs
	python -m coopride.web.budget

web-budget: setup
	python -m coopride.web.budget

screenshots: setup
	COOPRIDE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots pytest tests/web/test_web_accessibility.py tests/web/test_web_trip_flow.py tests/web/test_web_admissions.py -q

clean:
	rm -rf build reports .coopride demo-output
