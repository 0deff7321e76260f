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


def _wait_out_false_drops() -> None:
    """Brownie 1.22 calls a transaction dropped when its sender's nonce has moved past it while the node
    has no receipt for it yet, and then raises 'Tx dropped without known replacement'. Anvil can answer
    the nonce a moment before the receipt (seen under load, in the state-machine tests), so a mined
    transaction was reported lost. Before raising, ask the node for the receipt for a few seconds; a
    transaction that really was dropped still raises."""
    from brownie.exceptions import TransactionError
    from brownie.network.account import _PrivateKeyAccount
    from brownie.network.transaction import Status
    from brownie.network.web3 import web3
    from web3.exceptions import TimeExhausted

    await_confirmation = _PrivateKeyAccount._await_confirmation

    def patient(self, receipt, required_confs, gas_strategy, gas_iter):
        try:
            return await_confirmation(self, receipt, required_confs, gas_strategy, gas_iter)
        except TransactionError as error:
            if "dropped without known replacement" not in str(error):
                raise
            try:
                mined = web3.eth.wait_for_transaction_receipt(receipt.txid, timeout=5, poll_latency=0.1)
            except TimeExhausted:
                raise error from None
            receipt.status = Status(-1)
            receipt._confirmed.clear()
            receipt._await_confirmation(mined["blockNumber"], required_confs)
            return receipt

    _PrivateKeyAccount._await_confirmation = patient


_wait_out_false_drops()


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
