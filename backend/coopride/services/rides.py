"""Offers, ride requests and bookings: quoting, matching, accepting, pickup and cancellation.

Booking (v2): a request gets an unpredictable trip id when it is matched; accepting the match is the rider's
EIP-712 `FareAuthorisation` (the most they pay this driver for this trip id), which the backend relays
(`RideLedger.authoriseFare`): the fare is held in the rider's escrow until the trip settles. Whatever the chain
would refuse (an expired authorisation, escrow short of the fare, a signature that is not the rider's or not in
the one form the ledger accepts) is refused at submission with the same rule.

Cancellation policy (docs/api.md): before pickup a rider cancels for free and the seat returns to
the offer (once accepted, with the rider's signed `HoldRelease` before `cancelBy`, which returns the held fare);
after pickup, cancelling ends the ride early: the driver logs the trace up to the drop-off, which is not checked
against the booked destination, and the receipt charges only the kilometres that trace verifies.

Seats (issue 12): a matched request holds one numbered seat of its offer (`RideRequest.seat`, unique per offer in
the database) from its match to the end of its trip; only a cancellation gives it back. Everything that changes
who holds a seat (matching, accepting, cancelling) first takes the region's lock (`locks.lock_key`), then the rows
it changes (`locks.lock_row`): concurrent riders never share a seat, on SQLite or PostgreSQL. An offer closes when
it is full or its departure window has passed (a seat freed within the window reopens it). Its driver may cancel
it while nobody is booked on it: matched riders who have not accepted yet go back to waiting; once a rider has
accepted, their fare is held on chain under an authorisation only they can release, so cancelling the offer is a
409 until they cancel (or the driver drives them).

Matching (issue 13): a new request or offer is matched alone (`match_arriving_request`, `match_arriving_offer`)
against the rows its box query returns (each offer's stored footprint, `coopride.domain.incremental`), which gives
what `run_matching` would on the same book; a cancellation and `POST /regions/{id}/match` run the batch.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import Any

from eth_account.messages import encode_typed_data
from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, func, select

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import FareAuthorisation, fare_authorisation_typed_data
from coopride.chain.eip712 import hold_release_typed_data as hold_release_message
from coopride.config import Settings
from coopride.domain import incremental, matching
from coopride.domain.geo import GreatCircleDistance, LatLon
from coopride.domain.pricing import quote_fare
from coopride.domain.regions import RegionMap
from coopride.models import RideRequest, Trip, TripOffer, stored_id
from coopride.models.enums import SEAT_HOLDING, OfferStatus, RelayKind, RequestStatus
from coopride.schemas.rides import OfferPublic
from coopride.services.errors import Conflict, Forbidden, Invalid, NotFound
from coopride.services.locks import lock_key, lock_row
from coopride.services.relays import record_relayed
from coopride.services.signatures import recover_signer

ROAD_DISTANCE = GreatCircleDistance()

# Trip ids are uint64 on chain; drawn below 2**53 so that JSON readers that hold numbers as doubles (browsers)
# read them exactly. The ledger marks a trip settled in a bitmap of 256-bit words: ids of one aligned word share
# a storage slot, so the first trip settled in a word pays a new slot (~22k gas) and the others ~3k. Ids are
# therefore drawn at random among the free ids of an open word, itself drawn at random among 2**45 words: nobody
# can guess the next booking's id (1 in 256 at best, knowing its word), and settling any id needs the attester's
# signature anyway (issue 11); a batch's trips share a few words, which keeps settlement near 18k gas per trip.
TRIP_ID_BITS = 53
WORD_BITS = 8
WORD_IDS = 1 << WORD_BITS
# secp256k1's group order: the ledger (OpenZeppelin ECDSA) refuses an s in its upper half.
SECP256K1_HALF_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141 // 2


def _ids_taken(session: Session, first: int, last: int) -> set[int]:
    """Trip ids in [first, last] used by a booking or a trip, in the database or pending in `session`."""
    booked = session.exec(
        select(RideRequest.trip_id).where(col(RideRequest.trip_id) >= first, col(RideRequest.trip_id) <= last)
    ).all()
    driven = session.exec(select(Trip.id).where(col(Trip.id) >= first, col(Trip.id) <= last)).all()
    pending = {r.trip_id for r in session.new if isinstance(r, RideRequest)} | {
        t.id for t in session.new if isinstance(t, Trip)
    }
    return {i for i in (*booked, *driven, *pending) if i is not None and first <= i <= last}


def _latest_words(session: Session) -> list[int]:
    """The words of the latest booking's and the latest trip's ids: the open words, if they have room."""
    latest_booking = session.exec(
        select(RideRequest.trip_id).where(col(RideRequest.trip_id).is_not(None)).order_by(col(RideRequest.id).desc())
    ).first()
    latest_trip = session.exec(select(Trip.id).order_by(col(Trip.created_at).desc())).first()
    pending = [r.trip_id for r in session.new if isinstance(r, RideRequest)] + [
        t.id for t in session.new if isinstance(t, Trip)
    ]
    return [i >> WORD_BITS for i in (*pending, latest_booking, latest_trip) if i]


def allocate_trip_id(session: Session) -> int:
    """A fresh trip id, used by no booking and no trip: random among the free ids of the open word (see
    TRIP_ID_BITS), or of a fresh random word when it is full. The database's unique keys on
    `RideRequest.trip_id` and `Trip.id` refuse the rare id two writers draw at once."""
    for word in dict.fromkeys(_latest_words(session)):
        first = word << WORD_BITS
        free = sorted(set(range(max(first, 1), first + WORD_IDS)) - _ids_taken(session, first, first + WORD_IDS - 1))
        if free:
            return free[secrets.randbelow(len(free))]
    while True:
        first = secrets.randbits(TRIP_ID_BITS - WORD_BITS) << WORD_BITS
        if first and not _ids_taken(session, first, first + WORD_IDS - 1):
            return first + secrets.randbelow(WORD_IDS)


def ledger_deadline(chain: ChainClient, settings: Settings) -> int:
    """The deadline to put in a ledger message built now: `signature_deadline_seconds` past the next block's time
    (an idle chain's latest block may be far behind it)."""
    return chain.next_block_timestamp() + settings.signature_deadline_seconds


def require_ledger_signature(typed_data: dict[str, Any], signature: bytes, expected: str, what: str) -> None:
    """Refuses a signature the ledger would refuse: not 65 bytes, v not 27 or 28, s in the upper half order
    (422), or not `expected`'s over exactly `typed_data` (403)."""
    if len(signature) != 65:
        raise Invalid(f"the {what} signature has {len(signature)} bytes; the ledger takes 65")
    if signature[64] not in (27, 28):
        raise Invalid(f"the {what} signature's v is {signature[64]}; the ledger takes 27 or 28")
    if int.from_bytes(signature[32:64], "big") > SECP256K1_HALF_ORDER:
        raise Invalid(f"the {what} signature has a high s (its malleable twin); the ledger takes the low-s form")
    signer = recover_signer(encode_typed_data(full_message=typed_data), signature, f"the {what} signature")
    if signer != expected:
        raise Forbidden(
            f"the {what} signature is not {expected}'s over this exact typed data (it recovers to {signer})"
        )


def region_of(region_map: RegionMap, point: LatLon, what: str) -> int:
    region_id = region_map.region_of(point)
    if region_id is None:
        raise Invalid(f"the {what} ({point.lat}, {point.lon}) lies outside every CoopRide region")
    return region_id


def trip_region(region_map: RegionMap, origin: LatLon, destination: LatLon) -> int:
    """Trips belong to their origin's region; the destination must lie in some region too."""
    region_id = region_of(region_map, origin, "origin")
    region_of(region_map, destination, "destination")
    return region_id


def _registered_region(chain: ChainClient, region_map: RegionMap, origin: LatLon, destination: LatLon) -> int:
    region_id = trip_region(region_map, origin, destination)
    if not chain.region(region_id).exists:
        raise Invalid(f"region {region_id} is not registered on chain")
    return region_id


def seats_taken_by_offer(session: Session, offer_ids: Sequence[int]) -> dict[int, int]:
    """Seats held on each of these offers, in one query."""
    if not offer_ids:
        return {}
    query = (
        select(RideRequest.offer_id, func.count())
        .where(col(RideRequest.offer_id).in_(offer_ids), col(RideRequest.status).in_(SEAT_HOLDING))
        .group_by(col(RideRequest.offer_id))
    )
    taken: dict[int | None, int] = dict(session.exec(query).all())
    return {offer_id: taken.get(offer_id, 0) for offer_id in offer_ids}


def offers_public(session: Session, offers: Sequence[TripOffer]) -> list[OfferPublic]:
    taken = seats_taken_by_offer(session, [stored_id(offer) for offer in offers])
    return [OfferPublic.of(offer, seats_left=offer.seats - taken[stored_id(offer)]) for offer in offers]


def offers_of(session: Session, driver: str) -> list[OfferPublic]:
    offers = session.exec(select(TripOffer).where(TripOffer.driver == driver).order_by(col(TripOffer.id))).all()
    return offers_public(session, offers)


def post_offer(
    session: Session,
    chain: ChainClient,
    region_map: RegionMap,
    driver: str,
    *,
    origin: LatLon,
    destination: LatLon,
    depart_earliest: int,
    depart_latest: int,
    seats: int,
    max_detour_m: int,
) -> OfferPublic:
    """Publishes an offer and runs matching over its region."""
    region_id = _registered_region(chain, region_map, origin, destination)
    if depart_latest < depart_earliest:
        raise Invalid("the departure window ends before it starts")
    offer = TripOffer(
        driver=driver,
        region_id=region_id,
        origin_lat=origin.lat,
        origin_lon=origin.lon,
        destination_lat=destination.lat,
        destination_lon=destination.lon,
        depart_earliest=depart_earliest,
        depart_latest=depart_latest,
        seats=seats,
        max_detour_m=max_detour_m,
    )
    set_footprint(offer)
    session.add(offer)
    session.flush()
    match_arriving_offer(session, offer)
    return offers_public(session, [offer])[0]


def _own_offer(session: Session, offer_id: int, driver: str) -> TripOffer:
    offer = session.get(TripOffer, offer_id)
    if offer is None:
        raise NotFound(f"no offer {offer_id}")
    if offer.driver != driver:
        raise Forbidden(f"offer {offer_id} is not yours")
    return offer


def requests_on_offer(session: Session, offer_id: int, driver: str) -> list[RideRequest]:
    _own_offer(session, offer_id, driver)
    query = select(RideRequest).where(RideRequest.offer_id == offer_id).order_by(col(RideRequest.id))
    return list(session.exec(query).all())


def post_request(
    session: Session,
    chain: ChainClient,
    region_map: RegionMap,
    rider: str,
    *,
    origin: LatLon,
    destination: LatLon,
    earliest: int,
    latest: int,
) -> RideRequest:
    """Records a ride request quoted at the region's current fare (0 while it bootstraps) and runs matching."""
    region_id = trip_region(region_map, origin, destination)
    region = chain.region(region_id)
    if not region.exists:
        raise Invalid(f"region {region_id} is not registered on chain")
    estimated = round(ROAD_DISTANCE.road_metres(origin, destination))
    if estimated == 0:
        raise Invalid("origin and destination are the same point")
    fare_per_km = region.fare_per_km if region.operating else 0
    request = RideRequest(
        rider=rider,
        region_id=region_id,
        origin_lat=origin.lat,
        origin_lon=origin.lon,
        destination_lat=destination.lat,
        destination_lon=destination.lon,
        earliest=earliest,
        latest=latest,
        estimated_metres=estimated,
        fare_per_km=fare_per_km,
        quoted_fare=quote_fare(estimated, fare_per_km),
    )
    session.add(request)
    session.flush()
    match_arriving_request(session, request)
    return request


def cancel_offer(session: Session, offer_id: int, driver: str) -> OfferPublic:
    """Withdraws the driver's offer (the module's policy): riders matched but not booked go back to waiting and
    are matched again; 409 while a rider is booked or on board."""
    offer = _own_offer(session, offer_id, driver)
    lock_key(session, "region", offer.region_id)
    lock_row(session, offer)
    if offer.status == OfferStatus.CANCELLED:
        raise Conflict(f"offer {offer_id} is already cancelled")
    riders = session.exec(select(RideRequest).where(RideRequest.offer_id == offer_id)).all()
    booked = [r for r in riders if r.status in (RequestStatus.BOOKED, RequestStatus.PICKED_UP)]
    if booked:
        raise Conflict(
            f"offer {offer_id} has {len(booked)} booked rider(s) (requests {', '.join(str(r.id) for r in booked)}): "
            "their fares are held on chain until they cancel or you drive them"
        )
    for request in riders:
        if request.status == RequestStatus.MATCHED:
            _unmatch(request)
            session.add(request)
    offer.status = OfferStatus.CANCELLED
    session.add(offer)
    session.flush()
    run_matching(session, offer.region_id)
    return offers_public(session, [offer])[0]


def _unmatch(request: RideRequest) -> None:
    """A matched request back to waiting: its seat and its (never authorised) trip id given back."""
    request.status = RequestStatus.OPEN
    request.offer_id = None
    request.seat = None
    request.trip_id = None
    request.shared_metres = request.detour_metres = request.pickup_time = None


def _update_offer_states(session: Session, region_id: int, now: int) -> list[TripOffer]:
    """Closes the region's offers whose window has passed; opens or closes the others by their free seats. The
    offers still in their window, not cancelled."""
    offers = session.exec(
        select(TripOffer)
        .where(
            TripOffer.region_id == region_id,
            col(TripOffer.status).in_((OfferStatus.OPEN, OfferStatus.CLOSED)),
        )
        .order_by(col(TripOffer.id))
    ).all()
    taken = seats_taken_by_offer(session, [stored_id(offer) for offer in offers])
    current = []
    for offer in offers:
        in_window = offer.depart_latest >= now
        status = OfferStatus.OPEN if in_window and offer.seats > taken[stored_id(offer)] else OfferStatus.CLOSED
        if offer.status != status:
            offer.status = status
            session.add(offer)
        if in_window:
            current.append(offer)
    return current


def run_matching(session: Session, region_id: int, now: int | None = None) -> list[RideRequest]:
    """Matches the region's open requests to its open offers with free seats; returns the newly matched. Holds
    the region's lock until the caller's transaction ends (the module's seats).

    Nobody rides with themselves: the matcher is given who rides and who drives, and that rule is part of each
    pair's feasibility, so the book it leaves is settled (no open request is feasible with an offer that has a free
    seat), which `match_arriving_request` and `match_arriving_offer` rely on (issue 13).
    """
    lock_key(session, "region", region_id)
    now = int(time.time()) if now is None else now
    offers = [offer for offer in _update_offer_states(session, region_id, now) if offer.status == OfferStatus.OPEN]
    requests = session.exec(
        select(RideRequest)
        .where(RideRequest.region_id == region_id, RideRequest.status == RequestStatus.OPEN)
        .order_by(col(RideRequest.id))
    ).all()
    taken = seats_taken_by_offer(session, [stored_id(offer) for offer in offers])
    free = {stored_id(offer): offer.seats - taken[stored_id(offer)] for offer in offers}
    by_request: dict[object, RideRequest] = {r.id: r for r in requests}
    by_offer: dict[object, TripOffer] = {o.id: o for o in offers}
    matched = [
        _assign(session, by_request[a.request_id], by_offer[a.offer_id], a, free)
        for a in _match(requests, offers, free)
    ]
    session.flush()
    if matched:
        _update_offer_states(session, region_id, now)
        session.flush()
    return matched


def match_region(session: Session, chain: ChainClient, region_id: int) -> list[RideRequest]:
    """`run_matching` over a region registered on chain (404 otherwise)."""
    if not chain.region(region_id).exists:
        raise NotFound(f"no region {region_id}")
    return run_matching(session, region_id)


def _domain_request(r: RideRequest) -> matching.Request:
    return matching.Request(
        stored_id(r),
        LatLon(r.origin_lat, r.origin_lon),
        LatLon(r.destination_lat, r.destination_lon),
        r.earliest,
        r.latest,
        rider=r.rider,
    )


def _domain_offer(o: TripOffer, seats: int, offer_id: object = None) -> matching.Offer:
    return matching.Offer(
        stored_id(o) if offer_id is None else offer_id,
        LatLon(o.origin_lat, o.origin_lon),
        LatLon(o.destination_lat, o.destination_lon),
        o.depart_earliest,
        o.depart_latest,
        seats,
        o.max_detour_m,
        driver=o.driver,
    )


def _match(
    requests: Sequence[RideRequest], offers: Sequence[TripOffer], free: dict[int, int]
) -> list[matching.Assignment]:
    offers = [offer for offer in offers if free[stored_id(offer)] > 0]
    if not requests or not offers:
        return []
    return matching.match(
        [_domain_request(r) for r in requests], [_domain_offer(o, free[stored_id(o)]) for o in offers]
    )


FOOTPRINT_FIELDS = (
    "pickup_min_lat",
    "pickup_max_lat",
    "pickup_min_lon",
    "pickup_max_lon",
    "dropoff_min_lat",
    "dropoff_max_lat",
    "dropoff_min_lon",
    "dropoff_max_lon",
    "pickup_from",
    "pickup_until",
)


def set_footprint(offer: TripOffer) -> None:
    """Stores the offer's footprint (issue 13); left NULL where its boxes do not hold (the offer is then a
    candidate of every arriving request, and an arriving offer falls back to the batch)."""
    try:
        # (an offer not yet flushed has no id; the footprint does not depend on it)
        footprint = incremental.offer_footprint(_domain_offer(offer, offer.seats, offer_id=0), ROAD_DISTANCE)
    except ValueError:
        return
    pickup, dropoff = footprint.pickup_box, footprint.dropoff_box
    values = (
        *(pickup.min_lat, pickup.max_lat, pickup.min_lon, pickup.max_lon),
        *(dropoff.min_lat, dropoff.max_lat, dropoff.min_lon, dropoff.max_lon),
        footprint.pickup_from,
        footprint.pickup_until,
    )
    for name, value in zip(FOOTPRINT_FIELDS, values, strict=True):
        setattr(offer, name, value)


def candidate_offers(session: Session, request: RideRequest, now: int) -> list[TripOffer]:
    """The region's offers, in their window and not cancelled, whose footprint admits the request (or that have
    none), by id: a superset of the offers feasible for it (`incremental.OfferFootprint.admits`)."""
    admits = and_(
        col(TripOffer.pickup_min_lat) <= request.origin_lat,
        col(TripOffer.pickup_max_lat) >= request.origin_lat,
        col(TripOffer.pickup_min_lon) <= request.origin_lon,
        col(TripOffer.pickup_max_lon) >= request.origin_lon,
        col(TripOffer.dropoff_min_lat) <= request.destination_lat,
        col(TripOffer.dropoff_max_lat) >= request.destination_lat,
        col(TripOffer.dropoff_min_lon) <= request.destination_lon,
        col(TripOffer.dropoff_max_lon) >= request.destination_lon,
        col(TripOffer.pickup_from) <= request.latest,
        col(TripOffer.pickup_until) >= request.earliest,
    )
    query = (
        select(TripOffer)
        .where(
            TripOffer.region_id == request.region_id,
            col(TripOffer.status).in_((OfferStatus.OPEN, OfferStatus.CLOSED)),
            col(TripOffer.depart_latest) >= now,
            or_(col(TripOffer.pickup_min_lat).is_(None), admits),
        )
        .order_by(col(TripOffer.id))
    )
    return list(session.exec(query).all())


def candidate_requests(session: Session, offer: TripOffer) -> list[RideRequest]:
    """The region's open requests the offer's footprint admits, by id (the offer has a footprint)."""
    query = (
        select(RideRequest)
        .where(
            RideRequest.region_id == offer.region_id,
            RideRequest.status == RequestStatus.OPEN,
            col(RideRequest.origin_lat) >= offer.pickup_min_lat,
            col(RideRequest.origin_lat) <= offer.pickup_max_lat,
            col(RideRequest.origin_lon) >= offer.pickup_min_lon,
            col(RideRequest.origin_lon) <= offer.pickup_max_lon,
            col(RideRequest.destination_lat) >= offer.dropoff_min_lat,
            col(RideRequest.destination_lat) <= offer.dropoff_max_lat,
            col(RideRequest.destination_lon) >= offer.dropoff_min_lon,
            col(RideRequest.destination_lon) <= offer.dropoff_max_lon,
            col(RideRequest.latest) >= offer.pickup_from,
            col(RideRequest.earliest) <= offer.pickup_until,
        )
        .order_by(col(RideRequest.id))
    )
    return list(session.exec(query).all())


def _close_passed_offers(session: Session, region_id: int, now: int) -> None:
    """What `_update_offer_states` does to offers whose window has passed, in one UPDATE (no row loaded)."""
    session.execute(
        update(TripOffer)
        .where(
            col(TripOffer.region_id) == region_id,
            col(TripOffer.status) == OfferStatus.OPEN,
            col(TripOffer.depart_latest) < now,
        )
        .values(status=OfferStatus.CLOSED)
    )


def _refresh_offer_state(offer: TripOffer, free: int, now: int) -> None:
    """`_update_offer_states` for one offer."""
    status = OfferStatus.OPEN if offer.depart_latest >= now and free > 0 else OfferStatus.CLOSED
    if offer.status != status:
        offer.status = status


def match_arriving_request(session: Session, request: RideRequest, now: int | None = None) -> list[RideRequest]:
    """Matches a request just recorded (flushed, open) as `run_matching` would (issue 13,
    `coopride.domain.incremental`), querying only its candidate offers. Takes the region's lock."""
    lock_key(session, "region", request.region_id)
    now = int(time.time()) if now is None else now
    _close_passed_offers(session, request.region_id, now)
    offers = candidate_offers(session, request, now)
    taken = seats_taken_by_offer(session, [stored_id(offer) for offer in offers])
    free = {stored_id(offer): offer.seats - taken[stored_id(offer)] for offer in offers}
    for offer in offers:
        _refresh_offer_state(offer, free[stored_id(offer)], now)
    open_offers = [offer for offer in offers if offer.status == OfferStatus.OPEN]
    assignment = incremental.match_arriving_request(
        _domain_request(request), [_domain_offer(o, free[stored_id(o)]) for o in open_offers], ROAD_DISTANCE
    )
    matched = []
    if assignment is not None:
        offer = next(o for o in open_offers if stored_id(o) == assignment.offer_id)
        matched.append(_assign(session, request, offer, assignment, free))
        _refresh_offer_state(offer, free[stored_id(offer)], now)
    session.flush()
    return matched


def match_arriving_offer(session: Session, offer: TripOffer, now: int | None = None) -> list[RideRequest]:
    """Matches an offer just recorded (flushed, no seat taken) as `run_matching` would (issue 13), querying only
    the open requests inside its footprint. Takes the region's lock; without a footprint, runs the batch."""
    if offer.pickup_min_lat is None:
        return run_matching(session, offer.region_id, now)
    lock_key(session, "region", offer.region_id)
    now = int(time.time()) if now is None else now
    _close_passed_offers(session, offer.region_id, now)
    free = {stored_id(offer): offer.seats}
    _refresh_offer_state(offer, offer.seats, now)
    if offer.status != OfferStatus.OPEN:
        session.flush()
        return []
    requests = candidate_requests(session, offer)
    by_request: dict[object, RideRequest] = {stored_id(r): r for r in requests}
    assignments = incremental.match_arriving_offer(
        _domain_offer(offer, offer.seats), [_domain_request(r) for r in requests], ROAD_DISTANCE
    )
    matched = [_assign(session, by_request[a.request_id], offer, a, free) for a in assignments]
    _refresh_offer_state(offer, free[stored_id(offer)], now)
    session.flush()
    return matched


def _assign(
    session: Session, request: RideRequest, offer: TripOffer, assignment: matching.Assignment, free: dict[int, int]
) -> RideRequest:
    request.status = RequestStatus.MATCHED
    request.offer_id = stored_id(offer)
    request.shared_metres = round(assignment.shared_metres)
    request.detour_metres = round(assignment.detour_metres)
    request.pickup_time = int(assignment.pickup_time)
    request.trip_id = allocate_trip_id(session)
    held = set(
        session.exec(
            select(RideRequest.seat).where(RideRequest.offer_id == stored_id(offer), col(RideRequest.seat).is_not(None))
        ).all()
    )
    request.seat = min(set(range(1, offer.seats + 1)) - held)
    free[stored_id(offer)] -= 1
    session.add(request)
    session.flush()
    return request


def get_request(session: Session, request_id: int) -> RideRequest:
    request = session.get(RideRequest, request_id)
    if request is None:
        raise NotFound(f"no ride request {request_id}")
    return request


def driver_of(session: Session, request: RideRequest) -> str | None:
    if request.offer_id is None:
        return None
    offer = session.get(TripOffer, request.offer_id)
    return offer.driver if offer is not None else None


def visible_request(session: Session, request_id: int, caller: str) -> RideRequest:
    request = get_request(session, request_id)
    if caller not in (request.rider, driver_of(session, request)):
        raise Forbidden(f"ride request {request_id} is neither yours nor matched to your offer")
    return request


def _e6(degrees: float) -> int:
    return round(degrees * 1_000_000)


def authorisation(session: Session, chain: ChainClient, request: RideRequest) -> FareAuthorisation:
    """The `FareAuthorisation` a rider signs to accept their match: the quote for the matched distance at the
    fare per km the chain has now (0 while the region bootstraps), cancellable until the planned pickup, valid
    until the end of the offer's departure window plus the longest trip the ledger takes."""
    if request.status != RequestStatus.MATCHED:
        raise Conflict(f"ride request {request.id} is {request.status}; only a matched request can be accepted")
    offer = session.get(TripOffer, request.offer_id) if request.offer_id is not None else None
    if offer is None or request.trip_id is None or request.pickup_time is None:
        raise Conflict(f"ride request {request.id} has no match to accept")
    region = chain.region(request.region_id)
    metres = request.shared_metres or request.estimated_metres
    max_fare = quote_fare(metres, region.fare_per_km) if region.operating else 0
    expiry = offer.depart_latest + chain.max_trip_seconds()
    return FareAuthorisation(
        tripId=request.trip_id,
        rider=request.rider,
        driver=offer.driver,
        regionId=request.region_id,
        pickupLatE6=_e6(request.origin_lat),
        pickupLonE6=_e6(request.origin_lon),
        dropoffLatE6=_e6(request.destination_lat),
        dropoffLonE6=_e6(request.destination_lon),
        maxFare=max_fare,
        cancelBy=min(request.pickup_time, expiry),
        expiry=expiry,
    )


def _own_request(session: Session, request_id: int, rider: str) -> RideRequest:
    request = get_request(session, request_id)
    if request.rider != rider:
        raise Forbidden(f"ride request {request_id} is not yours")
    return request


def _locked_own_request(session: Session, request_id: int, rider: str) -> RideRequest:
    """The rider's request, its region's seats and its row locked until the transaction ends (module docstring)."""
    request = _own_request(session, request_id, rider)
    lock_key(session, "region", request.region_id)
    return lock_row(session, request)


def authorisation_typed_data(session: Session, chain: ChainClient, request_id: int, rider: str) -> dict[str, Any]:
    """The rider's `FareAuthorisation` typed data for their matched request."""
    request = _own_request(session, request_id, rider)
    return fare_authorisation_typed_data(chain.manifest.domains["receipt"], authorisation(session, chain, request))


def accept(session: Session, chain: ChainClient, request_id: int, rider: str, signature: bytes) -> RideRequest:
    """Books the seat: checks the rider's signed authorisation as the ledger will, then relays `authoriseFare`
    (the fare moves from the rider's free escrow into the booking's hold). The caller commits."""
    request = _locked_own_request(session, request_id, rider)
    auth = authorisation(session, chain, request)
    typed = fare_authorisation_typed_data(chain.manifest.domains["receipt"], auth)
    require_ledger_signature(typed, signature, rider, "fare authorisation")
    if chain.next_block_timestamp() >= auth.expiry:
        raise Conflict(f"the authorisation expired at {auth.expiry}: the offer's window has passed")
    if not chain.is_member(auth.driver):
        raise Conflict(f"the driver {auth.driver} is no longer a member")
    escrow = chain.escrow_of(rider)
    if escrow < auth.maxFare:
        raise Invalid(
            f"InsufficientBalance: your free escrow holds {escrow}, the booking holds up to {auth.maxFare}: "
            "deposit first"
        )
    outcome = chain.relay_authorise_fare(auth, signature)
    record_relayed(
        session, rider, RelayKind.AUTHORISE_FARE, outcome, region_id=request.region_id, amount=str(auth.maxFare)
    )
    return book(session, request_id, rider, auth, outcome.tx_hash)


def book(
    session: Session, request_id: int, rider: str, auth: FareAuthorisation | None = None, tx_hash: str | None = None
) -> RideRequest:
    """Records the booking of a matched request (the database side of `accept`, once the authorisation is on chain:
    `auth` and its transaction `tx_hash`)."""
    request = _own_request(session, request_id, rider)
    if request.status != RequestStatus.MATCHED:
        raise Conflict(f"ride request {request_id} is {request.status}; only a matched request can be accepted")
    request.status = RequestStatus.BOOKED
    if auth is not None:
        request.max_fare = auth.maxFare
        request.cancel_by = auth.cancelBy
        request.authorisation_expiry = auth.expiry
        request.authorisation_tx_hash = tx_hash
    session.add(request)
    return request


def pick_up(session: Session, request_id: int, driver: str, now: int | None = None) -> RideRequest:
    request = lock_row(session, get_request(session, request_id))
    if driver_of(session, request) != driver:
        raise Forbidden(f"ride request {request_id} is not booked on your offer")
    if request.status != RequestStatus.BOOKED:
        raise Conflict(f"ride request {request_id} is {request.status}; only a booked ride can be picked up")
    request.status = RequestStatus.PICKED_UP
    request.picked_up_at = int(time.time()) if now is None else now
    session.add(request)
    return request


def _booked_hold(session: Session, chain: ChainClient, request: RideRequest) -> tuple[str, int]:
    """(driver, cancelBy) of a booked request whose fare is held on chain; refuses once cancelBy has passed."""
    driver = driver_of(session, request)
    if driver is None or request.trip_id is None or request.cancel_by is None:
        raise Conflict(f"ride request {request.id} holds no fare to release")
    if chain.next_block_timestamp() >= request.cancel_by:
        raise Conflict(
            f"ride request {request.id} could be cancelled for free until {request.cancel_by}; the driver may still "
            "waive the fare"
        )
    return driver, request.cancel_by


def hold_release_typed_data(
    session: Session, chain: ChainClient, settings: Settings, request_id: int, rider: str
) -> dict[str, Any]:
    """The `HoldRelease` a rider signs to cancel a booked ride before its `cancelBy`."""
    request = _own_request(session, request_id, rider)
    if request.status != RequestStatus.BOOKED:
        raise Conflict(f"ride request {request_id} is {request.status}; only a booked ride releases its hold")
    driver, cancel_by = _booked_hold(session, chain, request)
    assert request.trip_id is not None  # checked by _booked_hold
    deadline = min(ledger_deadline(chain, settings), cancel_by)
    return _hold_release(chain, request.trip_id, driver, rider, chain.ledger_nonce(rider), deadline)


def _hold_release(
    chain: ChainClient, trip_id: int, driver: str, rider: str, nonce: int, deadline: int
) -> dict[str, Any]:
    return hold_release_message(chain.manifest.domains["receipt"], trip_id, driver, rider, rider, nonce, deadline)


def cancel(
    session: Session,
    chain: ChainClient,
    request_id: int,
    rider: str,
    now: int | None = None,
    *,
    deadline: int | None = None,
    signature: bytes | None = None,
) -> RideRequest:
    """Cancels or ends a ride (the module's policy). A booked ride whose fare is held needs the rider's signed
    `HoldRelease` (`deadline`, `signature`), relayed with `releaseHoldBySig`."""
    request = _locked_own_request(session, request_id, rider)
    if request.status == RequestStatus.BOOKED and request.authorisation_tx_hash is not None:
        if deadline is None or signature is None:
            raise Invalid(
                f"ride request {request_id} is booked: cancelling releases its hold with your signed HoldRelease "
                f"(GET /rides/requests/{request_id}/cancel/typed-data, then post deadline and signature)"
            )
        driver, _cancel_by = _booked_hold(session, chain, request)
        assert request.trip_id is not None  # checked by _booked_hold
        if deadline < chain.next_block_timestamp():
            raise Invalid("the signed deadline has passed: fetch fresh typed data")
        typed = _hold_release(chain, request.trip_id, driver, rider, chain.ledger_nonce(rider), deadline)
        require_ledger_signature(typed, signature, rider, "hold release")
        outcome = chain.relay_release_hold(request.trip_id, driver, rider, rider, deadline, signature)
        record_relayed(
            session,
            rider,
            RelayKind.RELEASE_HOLD,
            outcome,
            region_id=request.region_id,
            amount=str(request.max_fare or 0),
        )
        request.release_tx_hash = outcome.tx_hash
        request.status = RequestStatus.CANCELLED
    elif request.status in (RequestStatus.OPEN, RequestStatus.MATCHED, RequestStatus.BOOKED):
        request.status = RequestStatus.CANCELLED
    elif request.status == RequestStatus.PICKED_UP:
        request.status = RequestStatus.ENDED_EARLY
        request.ended_at = int(time.time()) if now is None else now
    else:
        raise Conflict(f"ride request {request_id} is {request.status} and can no longer be cancelled")
    freed = request.status == RequestStatus.CANCELLED and request.seat is not None
    if request.status == RequestStatus.CANCELLED:
        request.seat = None  # the seat goes back to the offer
    session.add(request)
    if freed:
        session.flush()
        run_matching(session, request.region_id)  # the freed seat may serve someone waiting
    return request
