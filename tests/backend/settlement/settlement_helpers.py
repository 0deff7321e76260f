"""Helpers for the settlement tests (imported by the conftest and by tests that need their own database)."""

from __future__ import annotations

from sqlmodel import Session

from coopride.chain.eip712 import ZERO_ADDRESS, TripReceipt, receipt_typed_data, sign_typed_data
from coopride.domain.traces import Fix, trace_hash
from coopride.models import Trip
from coopride.models.enums import TripStatus

TRIP_METRES = 4_000


def store_signed_trip(engine, chain_client, driver, rider=None, *, region_id: int, metres: int = TRIP_METRES,
                      fare: int | None = None, rider_key: str | None = None, ends_in: int = -60) -> int:
    """Stores a trip that ended a minute ago (or `ends_in` seconds from the chain's time), signed by its driver
    (and rider), status "queued"; returns its id."""
    end = chain_client.latest_timestamp() + ends_in
    start = end - 600
    fixes = [Fix(start, 45.76, 4.83), Fix(end, 45.76 + metres / 111_000, 4.83)]
    if fare is None:
        fare = metres * chain_client.region(region_id).fare_per_km // 1000 if rider is not None else 0
    with Session(engine) as session:
        trip = Trip(driver=driver.address, rider=rider.address if rider else None, region_id=region_id,
                    distance_metres=metres, fare=fare, start_time=start, end_time=end,
                    trace_hash="0x" + trace_hash(fixes).hex(), trace=[[f.t, f.lat, f.lon] for f in fixes])
        session.add(trip)
        session.flush()
        receipt = TripReceipt(trip.id, driver.address, rider.address if rider else ZERO_ADDRESS, region_id, metres,
                              fare, start, end, trace_hash(fixes))
        typed = receipt_typed_data(chain_client.manifest.domains["receipt"], receipt)
        trip.driver_signature = "0x" + sign_typed_data(driver.private_key, typed).hex()
        if rider is not None:
            trip.rider_signature = "0x" + sign_typed_data(rider_key or rider.private_key, typed).hex()
        trip.status = TripStatus.QUEUED
        session.add(trip)
        session.commit()
        return trip.id
