"""Driven trips: check the GPS trace, record the trip, build its EIP-712 receipt, collect both signatures.

A trip becomes "queued" for the settlement worker only once every required party (the driver; the
rider too when there is one) has signed exactly the receipt built here.
"""

from __future__ import annotations

import time

from sqlalchemy import or_, update
from sqlmodel import Session

from coopride.api import booking
from coopride.api.errors import Conflict, Forbidden, Invalid, NotFound
from coopride.chain.client import ChainClient
from coopride.chain.eip712 import ZERO_ADDRESS, Domain, TripReceipt, receipt_typed_data, recover_typed_data_signer
from coopride.domain.geo import LatLon
from coopride.domain.pricing import quote_fare
from coopride.domain.regions import RegionMap
from coopride.domain.traces import Fix, check_trace, trace_hash
from coopride.models import Trip
from coopride.models.enums import RequestStatus, TripStatus
from coopride.schemas.trips import TripCreate
from coopride.schemas.types import LatLonIn

# A ride cut short ends when the rider cancels; the driver's trace may run this long past that moment
# (the time to stop the car and stop the app) and no longer.
EARLY_END_GRACE_SECONDS = 120
# Receipts whose end time lies in the chain's future are invalid; allow for small clock skew only.
MAX_CLOCK_SKEW_SECONDS = 60


def log_trip(session: Session, chain: ChainClient, region_map: RegionMap, driver: str, body: TripCreate,
             now: int | None = None) -> Trip:
    now = int(time.time()) if now is None else now
    fixes = [Fix(f.t, f.lat, f.lon) for f in body.fixes]
    if fixes[-1].t > now + MAX_CLOCK_SKEW_SECONDS:
        raise Invalid("the trace ends in the future")

    request = None
    pickup = dropoff = None
    if body.request_id is None:
        region_id = booking.region_of(region_map, LatLonIn(lat=fixes[0].lat, lon=fixes[0].lon), "trace's first fix")
    else:
        request = booking.get_request(session, body.request_id)
        if booking.driver_of(session, request) != driver:
            raise Forbidden(f"ride request {request.id} is not booked on your offer")
        if request.status not in (RequestStatus.BOOKED, RequestStatus.PICKED_UP, RequestStatus.ENDED_EARLY):
            raise Conflict(f"ride request {request.id} is {request.status}; only a booked ride can be logged")
        region_id = request.region_id
        pickup = LatLon(request.origin_lat, request.origin_lon)
        if request.status == RequestStatus.ENDED_EARLY:
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


def get_trip(session: Session, trip_id: int, caller: str) -> Trip:
    trip = session.get(Trip, trip_id)
    if trip is None:
        raise NotFound(f"no trip {trip_id}")
    if caller not in (trip.driver, trip.rider):
        raise Forbidden(f"trip {trip_id} is neither driven nor ridden by you")
    return trip


def receipt_of(trip: Trip) -> TripReceipt:
    return TripReceipt(
        tripId=trip.id, driver=trip.driver, rider=trip.rider or ZERO_ADDRESS, regionId=trip.region_id,
        distanceMetres=trip.distance_metres, fare=trip.fare, startTime=trip.start_time, endTime=trip.end_time,
        traceHash=bytes.fromhex(trip.trace_hash.removeprefix("0x")),
    )


def receipt_data(trip: Trip, domain: Domain) -> dict:
    if trip.status == TripStatus.VOID:
        raise Conflict(f"trip {trip.id} is void ({', '.join(trip.check_reasons)}): it has no receipt")
    return receipt_typed_data(domain, receipt_of(trip))


def add_signature(session: Session, trip: Trip, domain: Domain, signer: str, signature: bytes) -> Trip:
    """Stores `signer`'s signature once it recovers to `signer` over this trip's exact receipt."""
    typed = receipt_data(trip, domain)
    if trip.status != TripStatus.AWAITING_SIGNATURES:
        raise Conflict(f"trip {trip.id} is {trip.status}: it takes no more signatures")
    role = "driver" if signer == trip.driver else "rider"
    if getattr(trip, f"{role}_signature") is not None:
        raise Conflict(f"you already signed trip {trip.id} as its {role}")
    try:
        recovered = recover_typed_data_signer(typed, signature)
    except Exception as exc:  # eth_keys raises several types for a malformed signature
        raise Forbidden(f"the receipt signature cannot be verified: {exc}") from None
    if recovered != signer:
        raise Forbidden(f"the signature is not the {role}'s over this exact receipt (it recovers to {recovered})")
    setattr(trip, f"{role}_signature", "0x" + signature.hex())
    session.add(trip)
    session.flush()
    # Decided in SQL, so that driver and rider signing at the same moment still queue the trip.
    session.execute(
        update(Trip)
        .where(Trip.id == trip.id, Trip.status == TripStatus.AWAITING_SIGNATURES, Trip.driver_signature.is_not(None),
               or_(Trip.rider.is_(None), Trip.rider_signature.is_not(None)))
        .values(status=TripStatus.QUEUED)
    )
    session.refresh(trip)
    return trip
