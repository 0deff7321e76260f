"""Driven trips: check the GPS trace, record the trip, build its EIP-712 receipt, collect both signatures.

A trip becomes "queued" for the settlement worker only once every required party (the driver; the
rider too when there is one) has signed exactly the receipt built here (`receipt_of`, which the worker
sends as it is).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from eth_account.messages import encode_typed_data
from sqlalchemy import or_, update
from sqlmodel import Session, col, select

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import ZERO_ADDRESS, Domain, TripReceipt, receipt_typed_data
from coopride.domain.geo import LatLon
from coopride.domain.pricing import quote_fare
from coopride.domain.regions import RegionMap
from coopride.domain.traces import Fix, check_trace, trace_hash
from coopride.models import RideRequest, Trip
from coopride.models.enums import RequestStatus, TripRole, TripStatus
from coopride.services import rides
from coopride.services.errors import Conflict, Forbidden, Invalid, NotFound
from coopride.services.signatures import recover_signer

# A ride cut short ends when the rider cancels; the driver's trace may run this long past that moment
# (the time to stop the car and stop the app) and no longer.
EARLY_END_GRACE_SECONDS = 120
# Receipts whose end time lies in the chain's future are invalid; allow for small clock skew only.
MAX_CLOCK_SKEW_SECONDS = 60


def log_trip(
    session: Session,
    chain: ChainClient,
    region_map: RegionMap,
    driver: str,
    request_id: int | None,
    fixes: Sequence[Fix],
    now: int | None = None,
) -> Trip:
    """Records a driven trace: for the booked ride `request_id`, or solo movement when it is None."""
    now = int(time.time()) if now is None else now
    if fixes[-1].t > now + MAX_CLOCK_SKEW_SECONDS:
        raise Invalid("the trace ends in the future")

    request: RideRequest | None = None
    pickup = dropoff = None
    if request_id is None:
        region_id = rides.region_of(region_map, LatLon(fixes[0].lat, fixes[0].lon), "trace's first fix")
    else:
        request = rides.get_request(session, request_id)
        if rides.driver_of(session, request) != driver:
            raise Forbidden(f"ride request {request.id} is not booked on your offer")
        if request.status not in (RequestStatus.BOOKED, RequestStatus.PICKED_UP, RequestStatus.ENDED_EARLY):
            raise Conflict(f"ride request {request.id} is {request.status}; only a booked ride can be logged")
        region_id = request.region_id
        pickup = LatLon(request.origin_lat, request.origin_lon)
        if request.status == RequestStatus.ENDED_EARLY:
            assert request.ended_at is not None  # set with the status
            if fixes[-1].t > request.ended_at + EARLY_END_GRACE_SECONDS:
                raise Invalid("the rider ended this ride early: the trace must stop when the rider left")
        else:
            dropoff = LatLon(request.destination_lat, request.destination_lon)

    region = chain.region(region_id)
    if not region.exists:
        raise Invalid(f"region {region_id} is not registered on chain")
    check = check_trace(fixes, pickup=pickup, dropoff=dropoff)
    solo_while_operating = request is None and region.operating
    fare = quote_fare(check.verified_metres, region.fare_per_km) if request is not None and region.operating else 0

    reasons = list(check.reasons)
    if solo_while_operating:
        reasons.append("solo_in_operating_region")
    trip = Trip(
        driver=driver,
        rider=request.rider if request is not None else None,
        request_id=request.id if request is not None else None,
        region_id=region_id,
        distance_metres=check.verified_metres,
        fare=fare,
        start_time=fixes[0].t,
        end_time=fixes[-1].t,
        trace_hash="0x" + trace_hash(fixes).hex(),
        trace=[[f.t, f.lat, f.lon] for f in fixes],
        check_reasons=reasons,
        status=TripStatus.AWAITING_SIGNATURES if check.accepted and not solo_while_operating else TripStatus.VOID,
    )
    session.add(trip)
    if request is not None:
        request.status = RequestStatus.COMPLETED
        session.add(request)
    session.flush()
    return trip


def trips_of(session: Session, caller: str) -> list[Trip]:
    """The trips `caller` drove or rode."""
    query = select(Trip).where(or_(col(Trip.driver) == caller, col(Trip.rider) == caller)).order_by(col(Trip.id))
    return list(session.exec(query).all())


def get_trip(session: Session, trip_id: int, caller: str) -> Trip:
    trip = session.get(Trip, trip_id)
    if trip is None:
        raise NotFound(f"no trip {trip_id}")
    if caller not in (trip.driver, trip.rider):
        raise Forbidden(f"trip {trip_id} is neither driven nor ridden by you")
    return trip


def receipt_of(trip: Trip) -> TripReceipt:
    """The receipt driver and rider sign, and the settlement worker sends."""
    assert trip.id is not None, "the trip has not been flushed"
    return TripReceipt(
        tripId=trip.id,
        driver=trip.driver,
        rider=trip.rider or ZERO_ADDRESS,
        regionId=trip.region_id,
        distanceMetres=trip.distance_metres,
        fare=trip.fare,
        startTime=trip.start_time,
        endTime=trip.end_time,
        traceHash=bytes.fromhex(trip.trace_hash.removeprefix("0x")),
    )


def receipt_data(trip: Trip, domain: Domain) -> dict[str, Any]:
    """The receipt's EIP-712 typed data; a void trip has none (409)."""
    if trip.status == TripStatus.VOID:
        raise Conflict(f"trip {trip.id} is void ({', '.join(trip.check_reasons)}): it has no receipt")
    return receipt_typed_data(domain, receipt_of(trip))


def add_signature(session: Session, trip: Trip, domain: Domain, signer: str, signature: bytes) -> Trip:
    """Stores `signer`'s signature once it recovers to `signer` over this trip's exact receipt."""
    typed = receipt_data(trip, domain)
    if trip.status != TripStatus.AWAITING_SIGNATURES:
        raise Conflict(f"trip {trip.id} is {trip.status}: it takes no more signatures")
    role = TripRole.DRIVER if signer == trip.driver else TripRole.RIDER
    if getattr(trip, f"{role}_signature") is not None:
        raise Conflict(f"you already signed trip {trip.id} as its {role}")
    recovered = recover_signer(encode_typed_data(full_message=typed), signature, "the receipt signature")
    if recovered != signer:
        raise Forbidden(f"the signature is not the {role}'s over this exact receipt (it recovers to {recovered})")
    setattr(trip, f"{role}_signature", "0x" + signature.hex())
    session.add(trip)
    session.flush()
    # Decided in SQL, so that driver and rider signing at the same moment still queue the trip.
    session.execute(
        update(Trip)
        .where(
            col(Trip.id) == trip.id,
            col(Trip.status) == TripStatus.AWAITING_SIGNATURES,
            col(Trip.driver_signature).is_not(None),
            or_(col(Trip.rider).is_(None), col(Trip.rider_signature).is_not(None)),
        )
        .values(status=TripStatus.QUEUED)
    )
    session.refresh(trip)
    return trip
