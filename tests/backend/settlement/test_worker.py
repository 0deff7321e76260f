"""The settlement worker on a real anvil, on SQLite and PostgreSQL: batching, recorded outcomes, retries."""

from __future__ import annotations

import time

from sqlmodel import Session, select

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
        assert len(report.batches_sent) == 1
        assert sorted(report.settled) == first + [third]

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
        assert sorted(report.settled) == ids
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

        report = make_worker().run_once()

        assert sorted(report.settled) == ids
        trips = trips_in_db(*ids)
        fare, fee = paid_trip
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
        before = _balances(chain_client, driver, rider)
        trip_id = queue_trip(driver, rider, region_id=operating_region, rider_key=impostor.private_key)

        report = make_worker().run_once()

        assert report.rejected == {trip_id: "BadRiderSignature"}
        trip = trips_in_db(trip_id)[trip_id]
        assert (trip.status, trip.reject_reason) == (TripStatus.REJECTED, "BadRiderSignature")
        assert trip.fare_paid is None
        assert _balances(chain_client, driver, rider) == before
        assert make_worker().run_once().batches_sent == []

    def test_an_underfunded_rider_is_retried_after_a_top_up(
        self, operating_region, members, queue_trip, make_worker, trips_in_db, fund_rider, chain_client
    ):
        driver, rider = members["drivers"][0], members["riders"][1]
        trip_id = queue_trip(driver, rider, region_id=operating_region)

        first = make_worker(retry_delay_seconds=60).run_once()
        assert first.retry_later == {trip_id: "RiderUnderfunded"}
        trip = trips_in_db(trip_id)[trip_id]
        assert (trip.status, trip.reject_reason) == (TripStatus.QUEUED, "RiderUnderfunded")

        assert make_worker(retry_delay_seconds=60).run_once().batches_sent == []  # still inside the delay

        fund_rider(rider, 10_000_000)
        later = make_worker(retry_delay_seconds=60, clock=lambda: time.time() + 61).run_once()
        assert later.settled == [trip_id]
        trip = trips_in_db(trip_id)[trip_id]
        assert (trip.status, trip.reject_reason) == (TripStatus.SETTLED, None)
        assert chain_client.escrow_of(rider.address) == 10_000_000 - trip.fare_paid

    def test_an_underfunded_rider_is_rejected_for_good_after_the_last_attempt(
        self, operating_region, members, queue_trip, make_worker, trips_in_db
    ):
        trip_id = queue_trip(members["drivers"][0], members["riders"][1], region_id=operating_region)

        first = make_worker(retry_delay_seconds=60, max_attempts=2).run_once()
        assert first.retry_later == {trip_id: "RiderUnderfunded"}
        report = make_worker(retry_delay_seconds=60, max_attempts=2, clock=lambda: time.time() + 61).run_once()

        assert report.rejected == {trip_id: "RiderUnderfunded after 2 attempts"}
        assert trips_in_db(trip_id)[trip_id].status == TripStatus.REJECTED

    def test_batches_are_marked_confirmed_with_their_counts(self, operating_region, bootstrap_region, members, queue_trip, make_worker, engine):
        queue_trip(members["drivers"][0], region_id=bootstrap_region)
        queue_trip(members["drivers"][0], members["riders"][1], region_id=operating_region)

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
