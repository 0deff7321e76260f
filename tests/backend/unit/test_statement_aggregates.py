"""The statements' and regions' SQL aggregates equal the sums over the rows, on SQLite and PostgreSQL, also for
share amounts above 64 bits (18 decimals)."""

from __future__ import annotations

import random

from sqlmodel import Session

from coopride.db import make_engine
from coopride.models import Trip
from coopride.models.enums import DisputeStatus, TripStatus
from coopride.services import statements

DATABASES = ("sqlite", "postgresql")

ADDRESSES = [f"0x{i:040x}" for i in range(1, 5)]


def _random_trips(seed: int, count: int) -> list[Trip]:
    rng = random.Random(seed)
    trips = []
    for n in range(count):
        status = rng.choice(list(TripStatus))
        settled = status == TripStatus.SETTLED
        driver = rng.choice(ADDRESSES)
        rider = rng.choice([None, *[a for a in ADDRESSES if a != driver]])
        resolved = rider is not None and rng.random() < 0.3
        trips.append(
            Trip(
                id=n + 1 + rng.randrange(1, 2**40) * 1000,
                driver=driver,
                rider=rider,
                region_id=rng.choice([1, 2, 3]),
                distance_metres=rng.randrange(0, 20_000),
                fare=rng.randrange(0, 10**8),
                start_time=1_000,
                end_time=2_000,
                trace_hash="0x" + "00" * 32,
                status=status,
                fare_paid=rng.randrange(0, 10**8) if settled else None,
                fee_paid=rng.randrange(0, 10**6) if settled and rng.random() < 0.9 else None,
                # up to 10**22: above SQLite's 64-bit integers once summed (and each alone, beyond 9.2e18)
                shares_minted=str(rng.randrange(0, 10**22)) if settled and rng.random() < 0.9 else None,
                dispute_status=DisputeStatus.RESOLVED_PAID if resolved else None,
                dispute_award=rng.randrange(0, 10**7) if resolved and rng.random() < 0.9 else None,
                dispute_fee=rng.randrange(0, 10**5) if resolved and rng.random() < 0.9 else None,
                resolution_tx_hash=("0x" + "11" * 32) if resolved and rng.random() < 0.8 else None,
            )
        )
    return trips


def _award(t: Trip) -> int:
    return (t.dispute_award or 0) if t.resolution_tx_hash is not None else 0


def _award_fee(t: Trip) -> int:
    return (t.dispute_fee or 0) if t.resolution_tx_hash is not None else 0


def test_aggregates_equal_the_sums_over_the_rows(database_url):
    trips = _random_trips(seed=13, count=300)
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            session.add_all([Trip.model_validate(t.model_dump()) for t in trips])
            session.commit()
        live = [t for t in trips if t.status != TripStatus.VOID]
        with Session(engine) as session:
            totals = statements._region_totals(session, [1, 2, 3, 4])
            assert set(totals) <= {1, 2, 3}
            for region_id in (1, 2, 3):
                mine = [t for t in live if t.region_id == region_id]
                settled = [t for t in mine if t.status == TripStatus.SETTLED]
                expected = {
                    "trips_logged": len(mine),
                    "trips_settled": len(settled),
                    "metres_verified": sum(t.distance_metres for t in mine),
                    "metres_shared": sum(t.distance_metres for t in mine if t.rider is not None),
                    "metres_settled": sum(t.distance_metres for t in settled),
                    "shares_minted": sum(int(t.shares_minted or 0) for t in settled),
                    "fees_to_treasury": sum(t.fee_paid or 0 for t in settled) + sum(_award_fee(t) for t in mine),
                }
                assert totals.get(region_id, statements._NO_TRIPS) == expected
            assert max(v["shares_minted"] for v in totals.values()) > 2**63

            for address in [*ADDRESSES, "0x" + "ff" * 20]:
                driven = [t for t in live if t.driver == address]
                settled = [t for t in driven if t.status == TripStatus.SETTLED]
                driving = statements._driving(session, address)
                assert driving.metres_driven == sum(t.distance_metres for t in driven)
                assert driving.metres_shared == sum(t.distance_metres for t in driven if t.rider is not None)
                assert driving.metres_settled == sum(t.distance_metres for t in settled)
                assert driving.shares_earned == sum(int(t.shares_minted or 0) for t in settled)
                assert driving.fares_received == sum((t.fare_paid or 0) - (t.fee_paid or 0) for t in settled) + sum(
                    _award(t) - _award_fee(t) for t in driven
                )
                assert driving.fees_paid_to_treasury == sum(t.fee_paid or 0 for t in settled) + sum(
                    _award_fee(t) for t in driven
                )
                ridden = [t for t in live if t.rider == address]
                riding = statements._riding(session, address)
                assert riding.metres_ridden == sum(t.distance_metres for t in ridden)
                assert riding.fares_paid == sum(
                    t.fare_paid or 0 for t in ridden if t.status == TripStatus.SETTLED
                ) + sum(_award(t) for t in ridden)
    finally:
        engine.dispose()
