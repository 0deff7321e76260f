# CoopRide: `make run` runs the cooperative, `make test` runs every test. Both install what is missing.
SHELL := /bin/bash
VENV := $(CURDIR)/.venv
export PATH := $(VENV)/bin:$(PATH)
export SOLCX_BINARY_PATH := $(VENV)/solcx
export MPLBACKEND := Agg

.PHONY: setup run test demo bench-gas bench-matching compile clean

setup:
	@bash scripts/setup.sh

compile: setup
	brownie compile

run: setup
	coopride run

test: setup
	pytest

demo: setup
	coopride demo

bench-gas: setup
	python benchmarks/gas.py

bench-matching: setup
	python benchmarks/matching.py

clean:
	rm -rf build reports .coopride demo-output
