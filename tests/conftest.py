"""Shared by every test: a private anvil for this pytest run.

Brownie launches anvil for `--network anvil` (pyproject's addopts) once collection is done. If
another anvil already listens on the configured port, Brownie would attach to it and snapshot and
revert a chain someone else is using (a `make run`, or a second test run), so each run takes a free
port of its own, unless COOPRIDE_TEST_PORT names one.

The suite runs on pytest-xdist workers (`-n auto` in pyproject's addopts; `-n 0` for one process). Brownie
hands out whole test files (module-scoped deployments are paid once per file), and every worker is a test
run of its own: its own anvil on its own free port, its own temporary folders, its own PostgreSQL server
and web stack when its tests need them.
"""

from __future__ import annotations

import gc
import os
import socket

import pytest
from brownie._config import CONFIG
from fuzz_budget import FACTOR, examples
from hypothesis import settings
from xdist.scheduler import LoadFileScheduling

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


@pytest.fixture(scope="module", autouse=True)
def _garbage_collected_once_per_module():
    """Brownie runs a full `gc.collect()` at every chain revert, so at the end of every test under `fn_isolation`,
    and a full collection walks every object of the process: hundreds of thousands by mid-run, which made a
    revert cost seconds. Objects alive when a test module starts are frozen for the module (collections skip
    them), so a revert walks only what the module made; they are unfrozen and collected with the rest once
    the module ends."""
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _xdist_worker_number(config) -> int:
    """N on xdist worker gwN, 0 in a run without workers."""
    workerinput = getattr(config, "workerinput", None)
    return int(workerinput["workerid"].removeprefix("gw")) if workerinput else 0


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    worker = _xdist_worker_number(config)
    fixed_port = os.environ.get("COOPRIDE_TEST_PORT")
    port = int(fixed_port) + worker if fixed_port else _free_port()
    # On an xdist worker, Brownie's plugin (configured after this hook) adds the worker's number to the port.
    CONFIG.networks["anvil"]["cmd_settings"]["port"] = port - worker
    CONFIG.networks["anvil"]["host"] = "http://127.0.0.1"
    os.environ["COOPRIDE_TEST_RPC_URL"] = f"http://127.0.0.1:{port}"



@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    """Stops this run's anvil once the tests are done. Brownie stops it only at interpreter exit, which an xdist
    worker does not always reach: a worker still busy a few seconds after reporting its end is interrupted and
    then ended with os._exit (execnet), and its anvil was left running. (Before xdist's own hook reports the end.)"""
    from brownie.network import rpc

    if rpc.is_child():
        rpc.kill(False)

# The test files that take about half a minute or more each (a browser, a long state machine, many deployments or
# servers; figures of `pytest --durations`). xdist starts them first: started last, one of them would keep a worker
# busy alone at the end of the run. Ordering only: a file missing from this list, or listed and gone, still runs.
LONG_FILES_FIRST = (
    "tests/web/test_web_trip_flow.py",
    "tests/web/test_web_accessibility.py",
    "tests/backend/api/test_trips.py",
    "tests/backend/api/test_governance.py",
    "tests/backend/api/test_rides.py",
    "tests/contracts/test_invariants.py",
    "tests/e2e/test_cooperative_flow.py",
    "tests/backend/api/test_members.py",
    "tests/e2e/test_api_fuzz.py",
    "tests/contracts/test_settlement_gas.py",
    "tests/backend/concurrency/test_booking_races.py",
    "tests/contracts/test_membership_invariants.py",
    "tests/backend/settlement/test_exactly_once.py",
    "tests/e2e/test_run_postgres.py",
)


class LongFilesFirst(LoadFileScheduling):
    """Brownie's scheduling (whole files to a worker), with LONG_FILES_FIRST at the head of the queue; the other
    files follow in xdist's order (most tests first)."""

    _ordered = False

    def _assign_work_unit(self, node) -> None:
        if not self._ordered:
            rank = {path: i for i, path in enumerate(LONG_FILES_FIRST)}
            queue = sorted(self.workqueue.items(), key=lambda item: rank.get(item[0], len(rank)))
            self.workqueue.clear()
            self.workqueue.update(queue)
            self._ordered = True
        super()._assign_work_unit(node)


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_make_scheduler(config, log):
    return LongFilesFirst(config, log)
