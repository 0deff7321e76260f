"""Exactly once under faults: the worker dies, the node goes away, the node forgets a transaction, the
nonce is taken by something else, a batch is sent again. Whatever happens, every queued trip ends up
settled exactly once, the database agrees with the chain, and no balance moves twice."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import pytest
from eth_account import Account
from settlement_helpers import rider_funds
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from sqlalchemy import update
from sqlmodel import Session, select
from web3 import Web3
from web3.exceptions import TransactionNotFound

from coopride.chain.client import ChainClient
from coopride.models import SettlementBatch, Trip
from coopride.models.enums import BatchStatus, TripStatus
from coopride.settlement.reconcile import audit
from coopride.settlement.worker import SettlementHooks, SettlementWorker

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/backend/conftest.py)


class WorkerDied(Exception):
    """Stands in for the process dying at a hook."""


def die(_batch):
    raise WorkerDied


@pytest.fixture
def funded_trips(operating_region, members, queue_trip, fund_rider):
    """Three paid trips by two drivers for one funded rider, booked (their fares held); returns their ids, sorted."""
    rider = members["riders"][0]
    fund_rider(rider, 10_000_000)
    return sorted(queue_trip(members["drivers"][i % 2], rider, region_id=operating_region) for i in range(3))


@pytest.fixture
def assert_settled_exactly_once(members, chain_client, engine, trips_in_db, paid_trip):
    """Checks trips, events and balances against what settling each trip once must give."""
    drivers, rider = members["drivers"], members["riders"][0]
    before = {
        "escrow": rider_funds(chain_client, engine, rider),
        "earnings": [chain_client.earnings_of(d.address) for d in drivers],
        "shares": [chain_client.shares_of(d.address) for d in drivers],
        "treasury": chain_client.treasury_balance(),
    }

    def check(trip_ids: list[int]) -> None:
        trips = trips_in_db(*trip_ids)
        assert {t.status for t in trips.values()} == {TripStatus.SETTLED}
        fare, fee = paid_trip
        for trip in trips.values():
            events = chain_client.ledger.events.TripSettled.get_logs(from_block=0, argument_filters={"tripId": trip.id})
            assert len(events) == 1, f"trip {trip.id} settled {len(events)} times"
            assert trip.tx_hash == events[0]["transactionHash"].to_0x_hex()
            assert chain_client.is_settled(trip.id)
        assert rider_funds(chain_client, engine, rider) == before["escrow"] - len(trip_ids) * fare
        assert chain_client.treasury_balance() == before["treasury"] + len(trip_ids) * fee
        for i, driver in enumerate(drivers):
            own = [t for t in trips.values() if t.driver == driver.address]
            assert chain_client.earnings_of(driver.address) == before["earnings"][i] + len(own) * (fare - fee)
            assert chain_client.shares_of(driver.address) == before["shares"][i] + sum(int(t.shares_minted) for t in own)
        with Session(engine) as session:
            assert audit(session, chain_client) == []

    return check


def _in_the_pool(web3, tx_hash: str) -> bool:
    """True while the node holds the transaction unmined."""
    try:
        return web3.eth.get_transaction(tx_hash)["blockNumber"] is None
    except TransactionNotFound:
        return False


def _only_batch(engine) -> SettlementBatch:
    with Session(engine) as session:
        return session.exec(select(SettlementBatch)).one()


class TestWorkerDies:
    def test_death_before_broadcast_sends_the_stored_transaction_on_restart(
        self, funded_trips, make_worker, engine, chain_client, trips_in_db, assert_settled_exactly_once
    ):
        with pytest.raises(WorkerDied):
            make_worker(hooks=SettlementHooks(after_persist=die)).run_once()
        stored = _only_batch(engine)
        assert stored.status == BatchStatus.SUBMITTED
        assert {t.status for t in trips_in_db(*funded_trips).values()} == {TripStatus.SUBMITTED}
        assert not any(chain_client.is_settled(i) for i in funded_trips)

        report = make_worker().run_once()

        assert report.batches_sent == []  # nothing new: the stored transaction went out
        assert sorted(report.settled) == funded_trips
        assert _only_batch(engine).status == BatchStatus.CONFIRMED
        assert {t.tx_hash for t in trips_in_db(*funded_trips).values()} == {stored.tx_hash}
        assert_settled_exactly_once(funded_trips)

    def test_death_after_broadcast_records_from_the_receipt_without_sending_again(
        self, funded_trips, make_worker, engine, chain_client, trips_in_db, assert_settled_exactly_once
    ):
        with pytest.raises(WorkerDied):
            make_worker(hooks=SettlementHooks(after_broadcast=die)).run_once()
        assert {t.status for t in trips_in_db(*funded_trips).values()} == {TripStatus.SUBMITTED}
        nonce_after_crash = chain_client.transactions.confirmed_nonce()

        report = make_worker().run_once()

        assert sorted(report.settled) == funded_trips
        assert chain_client.transactions.confirmed_nonce() == nonce_after_crash
        assert_settled_exactly_once(funded_trips)

    def test_kill_9_between_send_and_record_loses_and_doubles_nothing(
        self, funded_trips, deployment, engine, make_worker, chain_client, assert_settled_exactly_once
    ):
        script = textwrap.dedent(
            """
            import os, signal, sys
            from coopride.chain.client import ChainClient
            from coopride.chain.manifest import load_manifest
            from coopride.db import make_engine
            from coopride.settlement.worker import SettlementHooks, SettlementWorker

            database_url, rpc_url, manifest_path, key = sys.argv[1:5]
            chain = ChainClient(rpc_url, load_manifest(manifest_path), key)
            hooks = SettlementHooks(after_broadcast=lambda batch: os.kill(os.getpid(), signal.SIGKILL))
            SettlementWorker(make_engine(database_url), chain, max_age_seconds=0, hooks=hooks).run_once()
            """
        )
        database_url = engine.url.render_as_string(hide_password=False)
        process = subprocess.run(
            [sys.executable, "-c", script, database_url, deployment.rpc_url, str(deployment.manifest_path), deployment.settler_key],
            capture_output=True, text=True, timeout=120,
        )
        assert process.returncode == -signal.SIGKILL, process.stderr
        assert _only_batch(engine).status == BatchStatus.SUBMITTED
        assert all(chain_client.is_settled(i) for i in funded_trips)  # on chain, not yet in the database

        report = make_worker().run_once()

        assert sorted(report.settled) == funded_trips
        assert_settled_exactly_once(funded_trips)


class TestChainFaults:
    def test_node_down_before_sending_leaves_the_queue_untouched(
        self, funded_trips, engine, chain_client, trips_in_db, make_worker, deployment
    ):
        unreachable = ChainClient("http://127.0.0.1:9", chain_client.manifest, deployment.settler_key, request_timeout=1)

        report = SettlementWorker(engine, unreachable, max_age_seconds=0).run_once()

        assert report.chain_unavailable
        assert {t.status for t in trips_in_db(*funded_trips).values()} == {TripStatus.QUEUED}
        with Session(engine) as session:
            assert session.exec(select(SettlementBatch)).all() == []

    def test_node_down_at_broadcast_then_back_settles_once(
        self, funded_trips, engine, chain_client, make_worker, assert_settled_exactly_once
    ):
        working_provider = chain_client.w3.provider

        def node_goes_down(_batch):
            chain_client.w3.provider = Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1})

        try:
            report = make_worker(hooks=SettlementHooks(after_persist=node_goes_down)).run_once()
            assert report.chain_unavailable
            assert _only_batch(engine).status == BatchStatus.SUBMITTED
            assert make_worker().run_once().chain_unavailable  # still down: nothing changes
            assert _only_batch(engine).status == BatchStatus.SUBMITTED
        finally:
            chain_client.w3.provider = working_provider

        report = make_worker().run_once()

        assert sorted(report.settled) == funded_trips
        assert_settled_exactly_once(funded_trips)

    def test_a_transaction_the_node_dropped_is_broadcast_again(
        self, funded_trips, engine, chain_client, make_worker, web3, assert_settled_exactly_once
    ):
        web3.provider.make_request("evm_setAutomine", [False])
        try:
            report = make_worker(receipt_timeout=0.3).run_once()
            stored = _only_batch(engine)
            assert report.unfinished_batches == [stored.id]
            web3.provider.make_request("anvil_dropTransaction", [stored.tx_hash])
            assert not _in_the_pool(web3, stored.tx_hash)
        finally:
            web3.provider.make_request("evm_setAutomine", [True])

        report = make_worker().run_once()

        assert sorted(report.settled) == funded_trips
        assert _only_batch(engine).broadcast_count == 2
        assert_settled_exactly_once(funded_trips)

    def test_a_pending_transaction_is_waited_for_not_duplicated(
        self, funded_trips, engine, chain_client, make_worker, web3, assert_settled_exactly_once
    ):
        web3.provider.make_request("evm_setAutomine", [False])
        try:
            make_worker(receipt_timeout=0.3).run_once()
            second = make_worker(receipt_timeout=0.3).run_once()
            assert second.batches_sent == [] and second.unfinished_batches == [_only_batch(engine).id]
        finally:
            web3.provider.make_request("evm_setAutomine", [True])
        web3.provider.make_request("evm_mine", [])

        report = make_worker().run_once()

        assert sorted(report.settled) == funded_trips
        assert_settled_exactly_once(funded_trips)

    def test_a_nonce_taken_by_another_transaction_requeues_and_settles_once(
        self, funded_trips, engine, chain_client, make_worker, deployment, assert_settled_exactly_once
    ):
        with pytest.raises(WorkerDied):
            make_worker(hooks=SettlementHooks(after_persist=die)).run_once()
        stored = _only_batch(engine)
        _send_plain_transfer(chain_client, deployment.settler_key, stored.nonce)

        report = make_worker().run_once()

        assert stored.id in report.batches_finished
        assert sorted(report.requeued) == funded_trips
        assert sorted(report.settled) == funded_trips  # the same pass sent them again, in a new batch
        with Session(engine) as session:
            assert session.get(SettlementBatch, stored.id).status == BatchStatus.SUPERSEDED
        assert_settled_exactly_once(funded_trips)


    def test_a_nonce_held_by_another_pending_transaction_is_waited_out_then_reconciled(
        self, funded_trips, engine, chain_client, make_worker, deployment, web3, assert_settled_exactly_once
    ):
        with pytest.raises(WorkerDied):
            make_worker(hooks=SettlementHooks(after_persist=die)).run_once()
        stored = _only_batch(engine)
        web3.provider.make_request("evm_setAutomine", [False])
        try:
            _send_plain_transfer(chain_client, deployment.settler_key, stored.nonce, wait=False)
            report = make_worker().run_once()
            assert report.unfinished_batches == [stored.id] and report.settled == []
            assert _only_batch(engine).status == BatchStatus.SUBMITTED
            assert not _in_the_pool(web3, stored.tx_hash)  # the other transaction kept the nonce
        finally:
            web3.provider.make_request("evm_setAutomine", [True])
        web3.provider.make_request("evm_mine", [])

        report = make_worker().run_once()

        assert sorted(report.requeued) == funded_trips and sorted(report.settled) == funded_trips
        assert_settled_exactly_once(funded_trips)


class TestFeeBumping:
    """A batch left unmined (fees too low for a busy chain) is re-signed with higher fees under the same nonce."""

    BUMP_AFTER = 180.0

    @pytest.fixture
    def clock(self):
        """The worker's clock, moved by hand; it starts at the wall clock, which the queued trips' ages count on."""
        return [time.time()]

    @pytest.fixture
    def stuck_batch(self, funded_trips, engine, make_worker, web3, clock):
        """The batch, broadcast and pending (mining off), its first version signed at clock[0]."""
        web3.provider.make_request("evm_setAutomine", [False])
        try:  # mining stays off only inside this fixture, whatever fails: every later test needs blocks
            report = make_worker(receipt_timeout=0.3, clock=lambda: clock[0], bump_after_seconds=self.BUMP_AFTER).run_once()
            stored = _only_batch(engine)
            assert report.unfinished_batches == [stored.id]
            yield stored
        finally:
            web3.provider.make_request("evm_setAutomine", [True])

    def test_a_batch_pending_too_long_is_replaced_by_one_with_higher_fees_and_settles_once(
        self, stuck_batch, funded_trips, engine, chain_client, make_worker, web3, clock, trips_in_db,
        assert_settled_exactly_once,
    ):
        worker = make_worker(receipt_timeout=0.3, clock=lambda: clock[0], bump_after_seconds=self.BUMP_AFTER)
        clock[0] += self.BUMP_AFTER - 1
        worker.run_once()
        assert _only_batch(engine).tx_hash == stuck_batch.tx_hash  # not yet: the same bytes again

        clock[0] += 1
        report = worker.run_once()

        bumped = _only_batch(engine)
        assert report.unfinished_batches == [bumped.id] and bumped.status == BatchStatus.SUBMITTED
        assert bumped.tx_hash != stuck_batch.tx_hash and bumped.replaced_tx_hashes == [stuck_batch.tx_hash]
        first, second = (TypedTransaction.from_bytes(HexBytes(b.raw_tx)).as_dict() for b in (stuck_batch, bumped))
        assert chain_client.w3.eth.get_transaction(bumped.tx_hash)["hash"].to_0x_hex() == bumped.tx_hash  # in the pool
        assert second["nonce"] == first["nonce"] and second["data"] == first["data"]
        assert second["maxPriorityFeePerGas"] > first["maxPriorityFeePerGas"] * 1.1
        assert second["maxFeePerGas"] > first["maxFeePerGas"] * 1.1

        web3.provider.make_request("evm_setAutomine", [True])
        web3.provider.make_request("evm_mine", [])
        report = worker.run_once()

        assert sorted(report.settled) == funded_trips
        assert chain_client.transactions.receipt_of(bumped.tx_hash) is not None
        assert chain_client.transactions.receipt_of(stuck_batch.tx_hash) is None  # the node kept only the replacement
        assert {t.tx_hash for t in trips_in_db(*funded_trips).values()} == {bumped.tx_hash}
        assert _only_batch(engine).status == BatchStatus.CONFIRMED
        assert_settled_exactly_once(funded_trips)

    def test_at_the_fee_ceiling_the_batch_keeps_its_version_and_still_settles_once(
        self, stuck_batch, funded_trips, engine, chain_client, make_worker, web3, clock, trips_in_db,
        assert_settled_exactly_once,
    ):
        ceiling = TypedTransaction.from_bytes(HexBytes(stuck_batch.raw_tx)).as_dict()["maxFeePerGas"]
        worker = make_worker(receipt_timeout=0.3, clock=lambda: clock[0], bump_after_seconds=self.BUMP_AFTER,
                             max_fee_per_gas=ceiling)
        clock[0] += self.BUMP_AFTER

        report = worker.run_once()

        stored = _only_batch(engine)
        assert (stored.tx_hash, stored.replaced_tx_hashes) == (stuck_batch.tx_hash, [])
        assert report.unfinished_batches == [stored.id]
        assert any("fee ceiling" in error for error in report.errors)
        web3.provider.make_request("evm_setAutomine", [True])
        web3.provider.make_request("evm_mine", [])
        assert sorted(worker.run_once().settled) == funded_trips
        assert_settled_exactly_once(funded_trips)

    def test_when_the_replaced_version_is_mined_its_receipt_is_recorded(
        self, stuck_batch, funded_trips, engine, chain_client, make_worker, web3, clock, trips_in_db,
        assert_settled_exactly_once,
    ):
        def die_once_resigned(batch):
            if batch.replaced_tx_hashes:
                raise WorkerDied

        clock[0] += self.BUMP_AFTER
        with pytest.raises(WorkerDied):  # the new version is stored, then the worker dies before broadcasting it
            make_worker(clock=lambda: clock[0], bump_after_seconds=self.BUMP_AFTER,
                        hooks=SettlementHooks(after_persist=die_once_resigned)).run_once()
        assert _only_batch(engine).replaced_tx_hashes == [stuck_batch.tx_hash]
        web3.provider.make_request("evm_setAutomine", [True])
        web3.provider.make_request("evm_mine", [])  # the first version, still in the pool, is mined

        report = make_worker(clock=lambda: clock[0], bump_after_seconds=self.BUMP_AFTER).run_once()

        assert sorted(report.settled) == funded_trips
        assert {t.tx_hash for t in trips_in_db(*funded_trips).values()} == {stuck_batch.tx_hash}
        assert _only_batch(engine).status == BatchStatus.CONFIRMED
        assert_settled_exactly_once(funded_trips)


class TestPausedLedger:
    def test_a_paused_ledger_is_reported_and_the_queue_is_left_untouched(
        self, funded_trips, engine, chain_client, make_worker, trips_in_db, web3
    ):
        _as_timelock(chain_client, web3, "pause")

        report = make_worker().run_once()

        assert report.errors == ["settle would revert: EnforcedPause()"]
        assert {t.status for t in trips_in_db(*funded_trips).values()} == {TripStatus.QUEUED}
        with Session(engine) as session:
            assert session.exec(select(SettlementBatch)).all() == []

    def test_a_batch_that_reverts_whole_goes_back_to_the_queue_and_settles_after_unpause(
        self, funded_trips, engine, chain_client, make_worker, web3, assert_settled_exactly_once
    ):
        with pytest.raises(WorkerDied):
            make_worker(hooks=SettlementHooks(after_persist=die)).run_once()
        _as_timelock(chain_client, web3, "pause")  # paused after the batch was signed, before it went out

        reverted = make_worker().run_once()
        assert sorted(reverted.requeued) == funded_trips and reverted.settled == []
        assert _only_batch(engine).status == BatchStatus.REVERTED

        _as_timelock(chain_client, web3, "unpause")
        report = make_worker().run_once()

        assert sorted(report.settled) == funded_trips
        assert_settled_exactly_once(funded_trips)


class TestResending:
    def test_receipts_sent_again_are_recorded_as_settled_by_the_earlier_transaction(
        self, funded_trips, engine, chain_client, make_worker, trips_in_db, assert_settled_exactly_once
    ):
        make_worker().run_once()
        first_hashes = {i: t.tx_hash for i, t in trips_in_db(*funded_trips).items()}
        # The database loses its record (say, restored from an older backup): the trips look queued again.
        with Session(engine) as session:
            session.execute(update(Trip).where(Trip.id.in_(funded_trips)).values(status=TripStatus.QUEUED, batch_id=None, tx_hash=None))
            session.commit()

        report = make_worker().run_once()

        assert len(report.batches_sent) == 1
        assert report.settled == [] and report.rejected == {}
        assert sorted(report.already_settled) == funded_trips
        assert {i: t.tx_hash for i, t in trips_in_db(*funded_trips).items()} == first_hashes
        assert_settled_exactly_once(funded_trips)


def _send_plain_transfer(chain_client, key: str, nonce: int, wait: bool = True) -> None:
    account = Account.from_key(key)
    tx = {"to": account.address, "value": 1, "gas": 21_000, "nonce": nonce, "chainId": chain_client.chain_id,
          "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9}
    signed = account.sign_transaction(tx)
    tx_hash = chain_client.w3.eth.send_raw_transaction(signed.raw_transaction)
    if wait:
        chain_client.w3.eth.wait_for_transaction_receipt(tx_hash)


def _as_timelock(chain_client, web3, function: str) -> None:
    """Calls a governance-only ledger function as the Timelock would after a vote (impersonated on anvil)."""
    timelock = chain_client.manifest.address("TimelockController")
    web3.provider.make_request("anvil_impersonateAccount", [timelock])
    web3.provider.make_request("anvil_setBalance", [timelock, hex(10**18)])
    try:
        tx_hash = chain_client.w3.eth.send_transaction(
            {"from": timelock, "to": chain_client.ledger.address, "data": chain_client.ledger.encode_abi(function)}
        )
        assert chain_client.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    finally:
        web3.provider.make_request("anvil_stopImpersonatingAccount", [timelock])
