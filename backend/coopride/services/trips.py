"""Driven trips: check the GPS trace, record the trip, build its EIP-712 receipt, collect the signatures,
disputes and mediators' decisions.

A trip's id is its booking's trip id (a solo trip draws one the same way). The driver's signature on exactly the
receipt built here (`receipt_of`, which the worker sends as it is) makes the trip "queued"; the rider's signature
on the same receipt is their confirmation: it lets the fare go before the dispute window ends. Without it the
settlement worker waits for the window. Within the window either party may dispute a shared trip
(`Dispute`, relayed `disputeBySig`): the trip waits until a mediator decides (`Resolution`, relayed
`resolveDisputeBySig`), which pays the award at once; the receipt then settles without moving money.

Races (issue 12): a booking has one trip, whose id is the booking's: logging locks the booking's row (and the
driver's time line), so a repeat is a 409 and the database's primary key refuses any second insert. A driver's
trips may not overlap in time, except the shared trips of one offer (riders in the same car). A signature or a
dispute locks the trip's row first, so each party's signature is stored once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import (
    ZERO_ADDRESS,
    Domain,
    TripReceipt,
    dispute_typed_data,
    receipt_typed_data,
    resolution_typed_data,
)
from coopride.chain.types import HoldState
from coopride.config import Settings
from coopride.domain.geo import LatLon
from coopride.domain.pricing import quote_fare
from coopride.domain.regions import RegionMap
from coopride.domain.traces import Fix, check_booking_on_trace, check_trace, time_spans_overlap, trace_hash
from coopride.models import RideRequest, SettlementRetry, Trip
from coopride.models.enums import DisputeStatus, RelayKind, RequestStatus, TripRole, TripStatus
from coopride.services import rides
from coopride.services.errors import Conflict, Forbidden, Invalid, NotFound
from coopride.services.locks import lock_key, lock_row
from coopride.services.relays import record_relayed

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
    # The ledger refuses a receipt that ends after the block settling it: "now" is the later of the wall clock and
    # the chain's (a local chain's clock may run ahead).
    now = max(int(time.time()), chain.next_block_timestamp()) if now is None else now
    if fixes[-1].t > now + MAX_CLOCK_SKEW_SECONDS:
        raise Invalid("the trace ends in the future")

    request: RideRequest | None = None
    pickup = dropoff = None
    lock_key(session, "driver", driver)
    if request_id is None:
        region_id = rides.region_of(region_map, LatLon(fixes[0].lat, fixes[0].lon), "trace's first fix")
    else:
        request = rides.get_request(session, request_id)
        if rides.driver_of(session, request) != driver:
            raise Forbidden(f"ride request {request.id} is not booked on your offer")
        lock_row(session, request)
        if request.status == RequestStatus.COMPLETED:
            raise Conflict(f"ride request {request.id} is already logged as trip {request.trip_id}")
        if request.status not in (RequestStatus.BOOKED, RequestStatus.PICKED_UP, RequestStatus.ENDED_EARLY):
            raise Conflict(f"ride request {request.id} is {request.status}; only a booked ride can be logged")
        if request.trip_id is None or request.authorisation_tx_hash is None:
            raise Conflict(f"ride request {request.id} has no fare authorisation on chain: it cannot be logged")
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
    _refuse_overlap(session, driver, request, fixes[0].t, fixes[-1].t)
    check = check_trace(fixes, pickup=pickup, dropoff=dropoff)
    solo_while_operating = request is None and region.operating
    fare = quote_fare(check.verified_metres, region.fare_per_km) if request is not None and region.operating else 0
    if request is not None:
        fare = min(fare, request.max_fare or 0)  # never more than the rider authorised

    reasons = list(check.reasons)
    on_trace_accepted = True
    if request is not None:
        assert pickup is not None  # set with the request
        on_trace = check_booking_on_trace(
            fixes,
            pickup,
            dropoff,
            pickup_time=_pickup_moment(request.picked_up_at, fixes),
        )
        reasons.extend(reason for reason in on_trace.reasons if reason not in reasons)
        on_trace_accepted = on_trace.accepted
    if solo_while_operating:
        reasons.append("solo_in_operating_region")
    accepted = check.accepted and on_trace_accepted and not solo_while_operating
    trip = Trip(
        id=request.trip_id if request is not None else rides.allocate_trip_id(session),
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
        status=TripStatus.AWAITING_SIGNATURES if accepted else TripStatus.VOID,
    )
    session.add(trip)
    if request is not None:
        request.status = RequestStatus.COMPLETED
        session.add(request)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"trip {trip.id} is already logged") from None
    return trip


def _pickup_moment(picked_up_at: int | None, fixes: Sequence[Fix]) -> int | None:
    """The recorded pickup the trace must match in time: a pickup recorded before the trace's first fix means the
    rider was on board when the driver started recording (the trace must then start at the pickup, `check_trace`);
    one recorded during or after the trace must be a moment the trace is at the pickup (a trace that ends before
    the pickup is void)."""
    if picked_up_at is None or picked_up_at < fixes[0].t:
        return None
    return picked_up_at


def _refuse_overlap(session: Session, driver: str, request: RideRequest | None, start: int, end: int) -> None:
    """409 when the driver already has a trip (not void) overlapping [start, end) in time, unless both are shared
    trips of the same offer (riders in one car)."""
    query = select(Trip).where(
        Trip.driver == driver,
        col(Trip.status) != TripStatus.VOID,
        col(Trip.start_time) < end,
        col(Trip.end_time) > start,
    )
    for other in session.exec(query).all():
        if not time_spans_overlap((other.start_time, other.end_time), (start, end)):
            continue
        if request is not None and request.offer_id is not None and other.request_id is not None:
            other_request = session.get(RideRequest, other.request_id)
            if other_request is not None and other_request.offer_id == request.offer_id:
                continue
        raise Conflict(
            f"you already drove trip {other.id} from {other.start_time} to {other.end_time}: "
            "a driver's trips cannot overlap in time"
        )


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
    """Stores `signer`'s signature once it is, in the form the ledger accepts, `signer`'s over this trip's exact
    receipt. The driver's queues the trip; the rider's (the confirmation) may come until the trip is sent."""
    lock_row(session, trip)
    typed = receipt_data(trip, domain)
    role = TripRole.DRIVER if signer == trip.driver else TripRole.RIDER
    open_to = (
        (TripStatus.AWAITING_SIGNATURES,)
        if role == TripRole.DRIVER
        else (
            TripStatus.AWAITING_SIGNATURES,
            TripStatus.QUEUED,
        )
    )
    if getattr(trip, f"{role}_signature") is not None:
        raise Conflict(f"you already signed trip {trip.id} as its {role}")
    if trip.status not in open_to:
        raise Conflict(f"trip {trip.id} is {trip.status}: it takes no more {role} signature")
    try:
        rides.require_ledger_signature(typed, signature, signer, "receipt")
    except Forbidden:
        raise Forbidden(f"the signature is not the {role}'s over this exact receipt") from None
    setattr(trip, f"{role}_signature", "0x" + signature.hex())
    session.add(trip)
    session.flush()
    # Decided in SQL, so that a signature arriving while the trip changes state is never lost.
    session.execute(
        update(Trip)
        .where(
            col(Trip.id) == trip.id,
            col(Trip.status) == TripStatus.AWAITING_SIGNATURES,
            col(Trip.driver_signature).is_not(None),
        )
        .values(status=TripStatus.QUEUED)
    )
    session.refresh(trip)
    return trip


# ---------------------------------------------------------------- disputes and decisions
DISPUTABLE = (TripStatus.AWAITING_SIGNATURES, TripStatus.QUEUED, TripStatus.SUBMITTED)


def _disputable(chain: ChainClient, trip: Trip) -> str:
    """The rider of a shared trip whose hold a dispute may still stop; refuses any other trip."""
    if trip.rider is None:
        raise Conflict(f"trip {trip.id} is solo: there is no fare to dispute")
    if trip.dispute_status is not None:
        raise Conflict(f"trip {trip.id} is already disputed ({trip.dispute_status})")
    if trip.status not in DISPUTABLE:
        raise Conflict(f"trip {trip.id} is {trip.status}: it can no longer be disputed")
    hold = chain.hold_of(_trip_id(trip), trip.driver, trip.rider)
    if hold.state != HoldState.ACTIVE:
        raise Conflict(f"trip {trip.id}'s hold is {hold.state.name.lower()}: it can no longer be disputed")
    return trip.rider


def _trip_id(trip: Trip) -> int:
    assert trip.id is not None, "the trip has not been flushed"
    return trip.id


def dispute_data(chain: ChainClient, settings: Settings, trip: Trip, by: str, reason: str) -> dict[str, Any]:
    """The `Dispute` typed data the rider or the driver signs (`by` is the caller, a party of `trip`)."""
    rider = _disputable(chain, trip)
    deadline = rides.ledger_deadline(chain, settings)
    return _dispute(chain, trip, rider, reason, by, chain.ledger_nonce(by), deadline)


def _dispute(
    chain: ChainClient, trip: Trip, rider: str, reason: str, by: str, nonce: int, deadline: int
) -> dict[str, Any]:
    domain = chain.manifest.domains["receipt"]
    return dispute_typed_data(domain, _trip_id(trip), trip.driver, rider, reason, by, nonce, deadline)


def file_dispute(
    session: Session, chain: ChainClient, trip: Trip, by: str, reason: str, deadline: int, signature: bytes
) -> Trip:
    """Relays a party's signed dispute (`disputeBySig`): the trip waits for a mediator. The caller commits."""
    lock_row(session, trip)
    rider = _disputable(chain, trip)
    if deadline < chain.next_block_timestamp():
        raise Invalid("the signed deadline has passed: fetch fresh typed data")
    typed = _dispute(chain, trip, rider, reason, by, chain.ledger_nonce(by), deadline)
    rides.require_ledger_signature(typed, signature, by, "dispute")
    outcome = chain.relay_dispute(_trip_id(trip), trip.driver, rider, reason, by, deadline, signature)
    record_relayed(session, by, RelayKind.DISPUTE, outcome, region_id=trip.region_id)
    trip.dispute_status = DisputeStatus.OPEN
    trip.dispute_reason = reason
    trip.dispute_by = by
    trip.dispute_tx_hash = outcome.tx_hash
    session.add(trip)
    return trip


def require_mediator(chain: ChainClient, caller: str) -> None:
    """`caller` holds the ledger's MEDIATOR_ROLE and is a member."""
    if not (chain.is_mediator(caller) and chain.is_member(caller)):
        raise Forbidden("only a member holding the ledger's MEDIATOR_ROLE decides disputes")


def trip_for_mediator(session: Session, chain: ChainClient, trip_id: int, mediator: str) -> Trip:
    """A disputed trip `mediator` may decide: they hold MEDIATOR_ROLE, are a member and no party."""
    trip = session.get(Trip, trip_id)
    if trip is None:
        raise NotFound(f"no trip {trip_id}")
    require_mediator(chain, mediator)
    if mediator in (trip.driver, trip.rider):
        raise Forbidden(f"you are a party to trip {trip_id}: another mediator decides it")
    if trip.dispute_status != DisputeStatus.OPEN or trip.rider is None:
        raise Conflict(f"trip {trip_id} has no open dispute")
    return trip


def _resolution(
    chain: ChainClient, trip: Trip, award: int, reason: str, mediator: str, nonce: int, deadline: int
) -> dict[str, Any]:
    assert trip.rider is not None  # checked by trip_for_mediator
    hold = chain.hold_of(_trip_id(trip), trip.driver, trip.rider)
    if hold.state != HoldState.DISPUTED:
        raise Conflict(f"trip {trip.id}'s hold is {hold.state.name.lower()}, not disputed")
    if award > hold.max_fare:
        raise Invalid(f"the award {award} is above the fare the rider authorised ({hold.max_fare})")
    domain = chain.manifest.domains["receipt"]
    return resolution_typed_data(
        domain, _trip_id(trip), trip.driver, trip.rider, award, reason, mediator, nonce, deadline
    )


def resolution_data(
    session: Session, chain: ChainClient, settings: Settings, trip_id: int, mediator: str, award: int, reason: str
) -> dict[str, Any]:
    """The `Resolution` typed data a mediator signs."""
    trip = trip_for_mediator(session, chain, trip_id, mediator)
    deadline = rides.ledger_deadline(chain, settings)
    return _resolution(chain, trip, award, reason, mediator, chain.ledger_nonce(mediator), deadline)


def resolve(
    session: Session,
    chain: ChainClient,
    trip_id: int,
    mediator: str,
    award: int,
    reason: str,
    deadline: int,
    signature: bytes,
) -> Trip:
    """Relays a mediator's signed decision (`resolveDisputeBySig`): the award is paid now, the rest refunded; the
    receipt may then settle (no money, shares only for an award above zero). The caller commits."""
    trip = session.get(Trip, trip_id)
    if trip is not None:
        lock_row(session, trip)
    trip = trip_for_mediator(session, chain, trip_id, mediator)
    assert trip.rider is not None  # checked by trip_for_mediator
    if deadline < chain.next_block_timestamp():
        raise Invalid("the signed deadline has passed: fetch fresh typed data")
    typed = _resolution(chain, trip, award, reason, mediator, chain.ledger_nonce(mediator), deadline)
    rides.require_ledger_signature(typed, signature, mediator, "resolution")
    outcome = chain.relay_resolution(
        _trip_id(trip), trip.driver, trip.rider, award, reason, mediator, deadline, signature
    )
    record_relayed(session, mediator, RelayKind.RESOLVE_DISPUTE, outcome, region_id=trip.region_id, amount=str(award))
    trip.dispute_status = DisputeStatus.RESOLVED_PAID if award > 0 else DisputeStatus.RESOLVED_UNPAID
    trip.dispute_award = award
    trip.dispute_fee = award * chain.parameters().fee_bps // 10_000  # as the ledger computes it, in that block
    trip.dispute_mediator = mediator
    trip.resolution_reason = reason
    trip.resolution_tx_hash = outcome.tx_hash
    session.add(trip)
    retry = session.get(SettlementRetry, _trip_id(trip))
    if retry is not None:  # rejected Disputed before: it may go out at once now
        retry.retry_after = 0.0
        session.add(retry)
    return trip
