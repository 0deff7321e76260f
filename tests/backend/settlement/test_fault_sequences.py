"""Exactly once as a property of fault sequences: whatever interleaving of new trips, worker deaths,
node outages, stolen nonces and database restores hypothesis tries, no trip ever settles twice, money is conserved
at every step, and once the faults stop one clean pass settles everything the database holds."""

from __future__ import annotations

import itertools
import shutil

from fuzz_budget import examples
import pytest
from hypothesis import given, settings, strategies as st
from settlement_helpers import store_signed_trip
from sqlalchemy import update
from sqlmodel import Session, select
from web3 import Web3

from coopride.chain.client import ChainClient
from coopride.db import make_engine
from coopride.models import SettlementBatch, Trip
from coopride.models.enums import BatchStatus, TripStatus
from coopride.settlement.reconcile import audit
from coopride.settlement.worker import SettlementHooks, SettlementWorker

FAULTS = (
    "none",
    "die_after_persist",
    "die_after_broadcast",
    "node_down_at_broadcast",
    "die_after_persist_then_nonce_taken",
    "database_restored_from_an_old_backup",
)


class WorkerDied(Exception):
    pass


def _die(_batch):
    raise WorkerDied


# Each example takes its own chain snapshot and database, so brownie's wrapper around `given` is not needed.
@pytest.mark.filterwarnings("ignore:Directly importing `hypothesis.given`")
def test_no_sequence_of_faults_settles_a_trip_twice_or_loses_one(
    members, operating_region, bootstrap_region, fund_rider, chain_client: ChainClient, web3, tmp_path, deployment,
    migrated_database,
):
    drivers, rider = members["drivers"], members["riders"][0]
    fund_rider(rider, 10**12)
    databases = itertools.count()

    queue_step = st.tuples(st.just("queue"), st.sampled_from([0, 1]), st.booleans())
    run_step = st.tuples(st.just("run"), st.sampled_from(FAULTS))
    plans = st.lists(st.one_of(queue_step, run_step, run_step), min_size=2, max_size=10)

    @settings(max_examples=examples(20), deadline=None)
    @given(plan=plans)
    def every_plan(plan):
        example = ExampleUnderFaults(next(databases))
        try:
            for step in plan:
                if step[0] == "queue":
                    example.a_trip_is_queued(step[1], step[2])
                else:
                    example.the_worker_runs(step[1])
                example.no_trip_settles_twice_and_money_is_conserved()
            example.faults_stop_and_everything_settles()
        finally:
            example.close()

    class ExampleUnderFaults:
        def __init__(self, number: int):
            self.snapshot = web3.provider.make_request("evm_snapshot", [])["result"]
            database = tmp_path / f"example-{number}.db"
            shutil.copyfile(migrated_database, database)
            self.engine = make_engine(f"sqlite:///{database}")
            self.first_block = chain_client.block_number()
            self.escrow_before, self.treasury_before = self.balances_at(self.first_block)

        def worker(self, **options) -> SettlementWorker:
            return SettlementWorker(self.engine, chain_client, max_age_seconds=0, batch_size=3, receipt_timeout=5, **options)

        def a_trip_is_queued(self, driver, with_rider):
            store_signed_trip(self.engine, chain_client, drivers[driver], rider if with_rider else None,
                              region_id=operating_region if with_rider else bootstrap_region)

        def the_worker_runs(self, fault):
            if fault == "none":
                self.worker().run_once()
            elif fault == "node_down_at_broadcast":
                working = chain_client.w3.provider

                def node_goes_down(_batch):
                    chain_client.w3.provider = Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 1})

                try:
                    self.worker(hooks=SettlementHooks(after_persist=node_goes_down)).run_once()
                finally:
                    chain_client.w3.provider = working
            elif fault == "database_restored_from_an_old_backup":
                self.worker().run_once()
                with Session(self.engine) as session:
                    session.execute(update(Trip).where(Trip.status == TripStatus.SETTLED)
                                    .values(status=TripStatus.QUEUED, batch_id=None, tx_hash=None))
                    session.commit()
            else:
                hooks = SettlementHooks(after_broadcast=_die) if fault == "die_after_broadcast" else SettlementHooks(after_persist=_die)
                try:
                    self.worker(hooks=hooks).run_once()
                except WorkerDied:
                    pass
                if fault == "die_after_persist_then_nonce_taken":
                    self.another_transaction_takes_an_unsent_batchs_nonce()

        def another_transaction_takes_an_unsent_batchs_nonce(self):
            with Session(self.engine) as session:
                waiting = session.exec(select(SettlementBatch).where(SettlementBatch.status == BatchStatus.SUBMITTED)).all()
            for batch in waiting:
                if batch.nonce == chain_client.transactions.pending_nonce() and chain_client.transactions.receipt_of(batch.tx_hash) is None:
                    settler = chain_client.w3.eth.account.from_key(deployment.settler_key)
                    signed = settler.sign_transaction({"to": settler.address, "value": 1, "gas": 21_000,
                                                       "nonce": batch.nonce, "chainId": chain_client.chain_id,
                                                       "maxFeePerGas": 2 * 10**9, "maxPriorityFeePerGas": 10**9})
                    chain_client.w3.eth.wait_for_transaction_receipt(chain_client.w3.eth.send_raw_transaction(signed.raw_transaction))
                    return

        def balances_at(self, block: int) -> tuple[int, int]:
            """The rider's escrow (free, plus the active holds of their bookings) and the treasury as of `block`. Balances and logs are read at one block number:
            anvil can serve a new block's state a moment before that block's logs."""
            ledger = chain_client.ledger.functions
            with Session(self.engine) as session:
                shared = session.exec(select(Trip).where(Trip.rider == rider.address)).all()
            held = 0
            for trip in shared:  # what the rider's bookings hold is still the rider's until the trip settles
                max_fare, _cancel_by, _expiry, state = ledger.holdOf(trip.id, trip.driver, rider.address).call(
                    block_identifier=block)
                held += max_fare if state == 1 else 0
            return (ledger.escrowOf(rider.address).call(block_identifier=block) + held,
                    ledger.treasuryBalance().call(block_identifier=block))

        def no_trip_settles_twice_and_money_is_conserved(self):
            block = chain_client.block_number()
            events = chain_client.ledger.events.TripSettled.get_logs(from_block=self.first_block, to_block=block)
            trip_ids = [e["args"]["tripId"] for e in events]
            assert len(trip_ids) == len(set(trip_ids)), f"settled twice: {trip_ids}"
            fares = sum(e["args"]["fare"] for e in events)
            fees = sum(e["args"]["fee"] for e in events)
            escrow, treasury = self.balances_at(block)
            assert self.escrow_before - escrow == fares
            assert treasury - self.treasury_before == fees
            with Session(self.engine) as session:
                for trip in session.exec(select(Trip).where(Trip.status == TripStatus.SETTLED)).all():
                    assert trip.id in trip_ids

        def faults_stop_and_everything_settles(self):
            for _ in range(5):
                self.worker().run_once(force=True)
            with Session(self.engine) as session:
                trips = session.exec(select(Trip)).all()
                assert {t.status for t in trips} <= {TripStatus.SETTLED}, [(t.id, t.status) for t in trips]
                assert audit(session, chain_client) == []
            self.no_trip_settles_twice_and_money_is_conserved()

        def close(self):
            self.engine.dispose()
            web3.provider.make_request("evm_revert", [self.snapshot])

    every_plan()
