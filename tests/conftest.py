"""Shared by every test: a private anvil for this pytest run.

Brownie launches anvil for `--network anvil` (pyproject's addopts) once collection is done. If
another anvil already listens on the configured port, Brownie would attach to it and snapshot and
revert a chain someone else is using (a `make run`, or a second test run), so each run takes a free
port of its own, unless COOPRIDE_TEST_PORT names one.
"""

from __future__ import annotations

import os
import socket

import pytest
from brownie._config import CONFIG
from fuzz_budget import FACTOR, examples
from hypothesis import settings

# CI replays the same examples on every run, so a red build points at a change and not at a lucky draw;
# `make fuzz` draws fresh ones, COOPRIDE_FUZZ_FACTOR times as many (see fuzz_budget.py).
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("fuzz", max_examples=examples(settings.default.max_examples), print_blob=True)
if FACTOR > 1:
    settings.load_profile("fuzz")
elif os.environ.get("CI"):
    settings.load_profile("ci")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    port = int(os.environ.get("COOPRIDE_TEST_PORT") or _free_port())
    CONFIG.networks["anvil"]["cmd_settings"]["port"] = port
    CONFIG.networks["anvil"]["host"] = "http://127.0.0.1"
    os.environ["COOPRIDE_TEST_RPC_URL"] = f"http://127.0.0.1:{port}"
