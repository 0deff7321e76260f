"""The settlement worker on a real anvil, on SQLite and PostgreSQL: batching, recorded outcomes, the dispute window,
disputes and mediators' decisions, the attester's checks."""

from __future__ import annotations

import time

from settlement_helpers import trip_fixes
from sqlmodel import Session, select

from coopride.chain.eip712 import dispute_typed_data, resolution_typed_data, sign_typed_data
from coopride.chain.types import HoldState
from coopride.models import SettlementBatch
from coopride.models.enums import BatchStatus, TripStatus

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/backend/conftest.py)


def settled_events(chain_client, trip_id: int) -> list:
    return chain_client.ledger.events.TripSettled.get_logs(from_block=0, argument_filters={"tripId": trip_id})


class TestBatching:
    def test_young_trips_wait_until_the_batch_is_full(self, operating_region, members, queue_trip, make_worker, trips_in_db, fund_rider):
        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 10_000_000)
        worker = make_worker(batch_size=3, max_age_seconds=3600)
        first = [queue_trip(driver, rider, region_id=operating_region) for _ in range(2)]

        assert worker.run_once().batches_sent == []
        assert {t.status for t in trips_in_db(*first).values()} == {TripStatus.QUEUED}

        third = queue_trip(driver, rider, region_id=operating_region)
        report = worker.run_once()
        assert len(report.batches_sent) == 1, report
        assert sorted(report.settled) == sorted(first + [third]), report

    def test_a_partial_batch_goes_once_its_oldest_trip_is_old_enough(self, bootstrap_region, members, queue_trip, make_worker):
        driver = members["drivers"][0]
        trip_id = queue_trip(driver, region_id=bootstrap_region)

        assert make_worker(max_age_seconds=30).run_once().batches_sent == []
        report = make_worker(max_age_seconds=30, clock=lambda: time.time() + 31).run_once()
        assert report.settled == [trip_id]

    def test_a_trip_ending_after_the_chains_clock_waits_for_the_chain(self, bootstrap_region, members, queue_trip, make_worker):
        from brownie import chain

        trip_id = queue_trip(members["drivers"][0], region_id=bootstrap_region, ends_in=120)

        assert make_worker().run_once(force=True).batches_sent == []
        chain.sleep(180)
        chain.mine()
        assert make_worker().run_once(force=True).settled == [trip_id]

    def test_a_long_queue_is_split_into_batches_of_batch_size(self, bootstrap_region, members, queue_trip, make_worker, engine):
        ids = [queue_trip(members["drivers"][i % 2], region_id=bootstrap_region) for i in range(5)]

        report = make_worker(batch_size=2).run_once()

        assert len(report.batches_sent) == 3
        assert sorted(report.settled) == sorted(ids)
        with Session(engine) as session:
            sizes = sorted(len(b.trip_ids) for b in session.exec(select(SettlementBatch)).all())
        assert sizes == [1, 2, 2]

    def test_receipts_are_sent_ordered_by_driver(self, bootstrap_region, members, queue_trip, make_worker, chain_client, engine):
        drivers = members["drivers"]
        for i in range(4):
            queue_trip(drivers[i % 2], region_id=bootstrap_region)

        make_worker().run_once()

        with Session(engine) as session:
            batch = session.exec(select(SettlementBatch)).one()
        tx = chain_client.w3.eth.get_transaction(batch.tx_hash)
        _, arguments = chain_client.ledger.decode_function_input(tx["input"])
        sent_drivers = [signed["receipt"]["driver"].lower() for signed in arguments["receipts"]]
        assert sent_drivers == sorted(sent_drivers)


    def test_gas_per_trip_falls_as_batches_grow(self, bootstrap_region, members, queue_trip, make_worker):
        driver = members["drivers"][0]
        gas_per_trip = {}
        for size in (1, 20):
            for _ in range(size):
                queue_trip(driver, region_id=bootstrap_region)
            report = make_worker(batch_size=size).run_once()
            assert len(report.settled) == size
            gas_per_trip[size] = report.gas_used / size
        assert gas_per_trip[20] < 0.6 * gas_per_trip[1], gas_per_trip


class TestRecordedOutcomes:
    def test_settled_trips_record_the_events_and_move_every_balance(
        self, operating_region, members, queue_trip, make_worker, trips_in_db, fund_rider, chain_client, paid_trip
    ):
        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 10_000_000)
        before = _balances(chain_client, driver, rider)
        ids = [queue_trip(driver, rider, region_id=operating_region) for _ in range(2)]
        fare, fee = paid_trip
        assert chain_client.escrow_of(rider.address) == before["escrow"] - 2 * fare  # held at booking

        report = make_worker().run_once()

        assert sorted(report.settled) == sorted(ids)
        trips = trips_in_db(*ids)
        for trip in trips.values():
            assert trip.status == TripStatus.SETTLED
            assert (trip.fare_paid, trip.fee_paid) == (fare, fee)
            [event] = settled_events(chain_client, trip.id)
            assert trip.tx_hash == event["transactionHash"].to_0x_hex()
            assert trip.block_number == event["blockNumber"]
            assert trip.shares_minted == str(event["args"]["shares"])
        after = _balances(chain_client, driver, rider)
        minted = sum(int(t.shares_minted) for t in trips.values())
        assert minted > 0
        assert after["escrow"] == before["escrow"] - 2 * fare
        assert after["earnings"] == before["earnings"] + 2 * (fare - fee)
        assert after["treasury"] == before["treasury"] + 2 * fee
        assert after["shares"] == before["shares"] + minted

    def test_a_bad_rider_signature_is_a_final_rejection_that_moves_nothing(
        self, operating_region, members, queue_trip, make_worker, trips_in_db, fund_rider, chain_client
    ):
        driver, rider, impostor = members["drivers"][0], members["riders"][0], members["riders"][1]
        fund_rider(rider, 10_000_000)
        trip_id = queue_trip(driver, rider, region_id=operating_region, rider_key=impostor.private_key)
        before = _balances(chain_client, driver, rider)

        report = make_worker().run_once()

        assert report.rejected == {trip_id: "BadRiderSignature"}
        trip = trips_in_db(trip_id)[trip_id]
        assert (trip.status, trip.reject_reason) == (TripStatus.REJECTED, "BadRiderSignature")
        assert trip.fare_paid is None
        assert _balances(chain_client, driver, rider) == before
        assert chain_client.hold_of(trip_id, driver.address, rider.address).state == HoldState.ACTIVE  # still owed
        assert make_worker().run_once().batches_sent == []

    def test_a_rider_who_withdraws_everything_after_accepting_cannot_leave_the_driver_unpaid(
        self, operating_region, members, queue_trip, make_worker, trips_in_db, fund_rider, chain_client, paid_trip
    ):
        from brownie import Contract

        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 10_000_000)
        trip_id = queue_trip(driver, rider, region_id=operating_region)
        ledger = Contract.from_abi("RideLedger", chain_client.ledger.address, chain_client.ledger.abi)
        ledger.withdrawEscrow(chain_client.escrow_of(rider.address), {"from": rider})
        assert chain_client.escrow_of(rider.address) == 0
        earnings = chain_client.earnings_of(driver.address)

        report = make_worker().run_once()

        fare, fee = paid_trip
        assert report.settled == [trip_id]
        assert trips_in_db(trip_id)[trip_id].fare_paid == fare
        assert chain_client.earnings_of(driver.address) == earnings + fare - fee

    def test_a_rider_who_never_confirms_still_pays_once_the_window_has_passed(
        self, operating_region, members, queue_trip, make_worker, trips_in_db, fund_rider, chain_client, paid_trip
    ):
        from brownie import chain

        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 10_000_000)
        trip_id = queue_trip(driver, rider, region_id=operating_region, confirm=False, ends_in=-5)

        assert make_worker().run_once(force=True).batches_sent == []  # the dispute window is open
        assert trips_in_db(trip_id)[trip_id].status == TripStatus.QUEUED
        chain.sleep(chain_client.dispute_window())
        chain.mine()

        report = make_worker().run_once()
        assert report.settled == [trip_id]
        assert trips_in_db(trip_id)[trip_id].fare_paid == paid_trip[0]

    def test_the_window_is_read_from_the_next_block_not_an_idle_chains_latest_one(
        self, operating_region, members, queue_trip, make_worker, fund_rider, chain_client
    ):
        from brownie import chain

        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 10_000_000)
        trip_id = queue_trip(driver, rider, region_id=operating_region, confirm=False, ends_in=-5)
        chain.sleep(chain_client.dispute_window())  # the clock moves on; no block is mined
        assert chain_client.latest_timestamp() < chain_client.next_block_timestamp()

        assert make_worker().run_once().settled == [trip_id]

    def test_a_dispute_holds_the_trip_until_a_mediator_decides(
        self, operating_region, members, queue_trip, make_worker, trips_in_db, fund_rider, chain_client, mediator
    ):
        from brownie import chain

        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 10_000_000)
        trip_id = queue_trip(driver, rider, region_id=operating_region, confirm=False, ends_in=-5)
        domain = chain_client.manifest.domains["receipt"]
        deadline = chain_client.latest_timestamp() + 600
        reason = "the driver dropped me two streets away"
        typed = dispute_typed_data(domain, trip_id, driver.address, rider.address, reason, rider.address,
                                   chain_client.ledger_nonce(rider.address), deadline)
        chain_client.relay_dispute(trip_id, driver.address, rider.address, reason, rider.address, deadline,
                                   sign_typed_data(rider.private_key, typed))
        chain.sleep(chain_client.dispute_window() + 1)
        chain.mine()

        first = make_worker(retry_delay_seconds=60).run_once()
        assert first.retry_later == {trip_id: "Disputed"}
        assert trips_in_db(trip_id)[trip_id].status == TripStatus.QUEUED
        assert make_worker(retry_delay_seconds=60).run_once().batches_sent == []  # within the delay

        hold = chain_client.hold_of(trip_id, driver.address, rider.address)
        award = hold.max_fare // 2
        earnings = chain_client.earnings_of(driver.address)
        typed = resolution_typed_data(domain, trip_id, driver.address, rider.address, award, "half the ride",
                                      mediator.address, chain_client.ledger_nonce(mediator.address), deadline + 600)
        chain_client.relay_resolution(trip_id, driver.address, rider.address, award, "half the ride", mediator.address,
                                      deadline + 600, sign_typed_data(mediator.private_key, typed))
        fee = award * chain_client.parameters().fee_bps // 10_000
        assert chain_client.earnings_of(driver.address) == earnings + award - fee
        assert chain_client.hold_of(trip_id, driver.address, rider.address).state == HoldState.RESOLVED_PAID

        later = make_worker(retry_delay_seconds=60, clock=lambda: time.time() + 61).run_once()
        assert later.settled == [trip_id]
        trip = trips_in_db(trip_id)[trip_id]
        assert (trip.fare_paid, trip.fee_paid) == (0, 0) and int(trip.shares_minted) > 0
        assert chain_client.earnings_of(driver.address) == earnings + award - fee  # the decision paid, once

    def test_a_solo_receipt_is_attested_only_if_its_trace_passes(
        self, bootstrap_region, members, queue_trip, make_worker, trips_in_db, chain_client
    ):
        driver = members["drivers"][0]
        end = chain_client.latest_timestamp() - 60
        shuffled = trip_fixes(end)
        shuffled[2], shuffled[3] = shuffled[3], shuffled[2]  # fixes out of order: the checks reject the trace
        made_up = queue_trip(driver, region_id=bootstrap_region, trace=shuffled)
        genuine = queue_trip(driver, region_id=bootstrap_region)

        report = make_worker().run_once()

        assert report.settled == [genuine]
        assert report.rejected[made_up].startswith("AttestationRefused: ") and "out_of_order" in report.rejected[made_up]
        assert trips_in_db(made_up)[made_up].status == TripStatus.REJECTED
        assert not chain_client.is_settled(made_up)
        with Session(make_worker().engine) as session:
            [batch] = session.exec(select(SettlementBatch)).all()
        assert batch.trip_ids == [genuine]

    def test_a_trip_the_rider_never_booked_is_rejected_not_authorised(
        self, operating_region, members, queue_trip, make_worker, trips_in_db, chain_client
    ):
        trip_id = queue_trip(members["drivers"][0], members["riders"][1], region_id=operating_region, book=False)
        report = make_worker().run_once()
        assert report.rejected == {trip_id: "NotAuthorised"}
        assert trips_in_db(trip_id)[trip_id].status == TripStatus.REJECTED

    def test_batches_are_marked_confirmed_with_their_counts(self, operating_region, bootstrap_region, members, queue_trip, make_worker, engine):
        queue_trip(members["drivers"][0], region_id=bootstrap_region)
        queue_trip(members["drivers"][0], members["riders"][1], region_id=operating_region, book=False)

        make_worker().run_once()

        with Session(engine) as session:
            batch = session.exec(select(SettlementBatch)).one()
        assert (batch.status, batch.settled_count, batch.rejected_count) == (BatchStatus.CONFIRMED, 1, 1)
        assert batch.gas_used > 0


def _balances(chain_client, driver, rider) -> dict[str, int]:
    return {
        "escrow": chain_client.escrow_of(rider.address),
        "earnings": chain_client.earnings_of(driver.address),
        "treasury": chain_client.treasury_balance(),
        "shares": chain_client.shares_of(driver.address),
    }
