"""Offers, ride requests and bookings: quoting, matching, accepting, pickup and cancellation.

Cancellation policy (docs/api.md): before pickup a rider cancels for free and the seat returns to
the offer; after pickup, cancelling ends the ride early: the driver logs the trace up to the
drop-off, which is not checked against the booked destination, and the receipt charges only the
kilometres that trace verifies.
"""

from __future__ import annotations

import time

from sqlmodel import Session, func, select

from coopride.api.errors import Conflict, Forbidden, Invalid, NotFound
from coopride.chain.client import ChainClient
from coopride.domain import matching
from coopride.domain.geo import GreatCircleDistance, LatLon
from coopride.domain.pricing import quote_fare
from coopride.domain.regions import RegionMap
from coopride.models import RideRequest, TripOffer
from coopride.models.enums import SEAT_HOLDING, OfferStatus, RequestStatus
from coopride.schemas.rides import OfferCreate, OfferPublic, RideRequestCreate
from coopride.schemas.types import LatLonIn

ROAD_DISTANCE = GreatCircleDistance()


def region_of(region_map: RegionMap, point: LatLonIn, what: str) -> int:
    region_id = region_map.region_of(LatLon(point.lat, point.lon))
    if region_id is None:
        raise Invalid(f"the {what} ({point.lat}, {point.lon}) lies outside every CoopRide region")
    return region_id


def trip_region(region_map: RegionMap, origin: LatLonIn, destination: LatLonIn) -> int:
    """Trips belong to their origin's region; the destination must lie in some region too."""
    region_id = region_of(region_map, origin, "origin")
    region_of(region_map, destination, "destination")
    return region_id


def seats_taken(session: Session, offer_id: int) -> int:
    query = select(func.count()).select_from(RideRequest).where(
        RideRequest.offer_id == offer_id, RideRequest.status.in_(SEAT_HOLDING)
    )
    return session.exec(query).one()


def seats_taken_by_offer(session: Session, offer_ids: list[int]) -> dict[int, int]:
    """Seats held on each of these offers, in one query."""
    if not offer_ids:
        return {}
    query = (select(RideRequest.offer_id, func.count()).where(RideRequest.offer_id.in_(offer_ids),
                                                              RideRequest.status.in_(SEAT_HOLDING))
             .group_by(RideRequest.offer_id))
    taken = dict(session.exec(query).all())
    return {offer_id: taken.get(offer_id, 0) for offer_id in offer_ids}


def offers_public(session: Session, offers: list[TripOffer]) -> list[OfferPublic]:
    taken = seats_taken_by_offer(session, [offer.id for offer in offers])
    return [OfferPublic(**offer.model_dump(), seats_left=offer.seats - taken[offer.id]) for offer in offers]


def offer_public(session: Session, offer: TripOffer) -> OfferPublic:
    return offers_public(session, [offer])[0]


def post_offer(session: Session, chain: ChainClient, region_map: RegionMap, driver: str, body: OfferCreate) -> TripOffer:
    region_id = trip_region(region_map, body.origin, body.destination)
    if not chain.region(region_id).exists:
        raise Invalid(f"region {region_id} is not registered on chain")
    offer = TripOffer(
        driver=driver, region_id=region_id,
        origin_lat=body.origin.lat, origin_lon=body.origin.lon,
        destination_lat=body.destination.lat, destination_lon=body.destination.lon,
        depart_earliest=body.depart_earliest, depart_latest=body.depart_latest,
        seats=body.seats, max_detour_m=body.max_detour_m,
    )
    session.add(offer)
    session.flush()
    run_matching(session, region_id)
    return offer


def post_request(session: Session, chain: ChainClient, region_map: RegionMap, rider: str,
                 body: RideRequestCreate) -> RideRequest:
    region_id = trip_region(region_map, body.origin, body.destination)
    region = chain.region(region_id)
    if not region.exists:
        raise Invalid(f"region {region_id} is not registered on chain")
    estimated = round(ROAD_DISTANCE.road_metres(LatLon(body.origin.lat, body.origin.lon),
                                                LatLon(body.destination.lat, body.destination.lon)))
    if estimated == 0:
        raise Invalid("origin and destination are the same point")
    fare_per_km = region.fare_per_km if region.operating else 0
    request = RideRequest(
        rider=rider, region_id=region_id,
        origin_lat=body.origin.lat, origin_lon=body.origin.lon,
        destination_lat=body.destination.lat, destination_lon=body.destination.lon,
        earliest=body.earliest, latest=body.latest,
        estimated_metres=estimated, fare_per_km=fare_per_km, quoted_fare=quote_fare(estimated, fare_per_km),
    )
    session.add(request)
    session.flush()
    run_matching(session, region_id)
    return request


def run_matching(session: Session, region_id: int) -> list[RideRequest]:
    """Matches the region's open requests to its open offers with free seats; returns the newly matched.

    The matcher does not know who drives: a request it pairs with its own rider's offer is matched
    again afterwards against the other offers' remaining seats.
    """
    requests = session.exec(select(RideRequest).where(RideRequest.region_id == region_id,
                                                      RideRequest.status == RequestStatus.OPEN)).all()
    offers = session.exec(select(TripOffer).where(TripOffer.region_id == region_id, TripOffer.status == OfferStatus.OPEN)).all()
    taken = seats_taken_by_offer(session, [offer.id for offer in offers])
    free = {offer.id: offer.seats - taken[offer.id] for offer in offers}
    by_request = {r.id: r for r in requests}
    by_offer = {o.id: o for o in offers}
    matched, own_car = [], []
    for assignment in _match(requests, offers, free):
        request = by_request[assignment.request_id]
        if by_offer[assignment.offer_id].driver == request.rider:
            own_car.append(request)
        else:
            matched.append(_assign(session, request, assignment, free))
    for request in own_car:
        others = [offer for offer in offers if offer.driver != request.rider]
        for assignment in _match([request], others, free):
            matched.append(_assign(session, request, assignment, free))
    session.flush()
    return matched


def _match(requests: list[RideRequest], offers: list[TripOffer], free: dict[int, int]):
    offers = [offer for offer in offers if free[offer.id] > 0]
    if not requests or not offers:
        return []
    return matching.match(
        [matching.Request(r.id, LatLon(r.origin_lat, r.origin_lon), LatLon(r.destination_lat, r.destination_lon),
                          r.earliest, r.latest) for r in requests],
        [matching.Offer(o.id, LatLon(o.origin_lat, o.origin_lon), LatLon(o.destination_lat, o.destination_lon),
                        o.depart_earliest, o.depart_latest, free[o.id], o.max_detour_m) for o in offers],
    )


def _assign(session: Session, request: RideRequest, assignment, free: dict[int, int]) -> RideRequest:
    request.status = RequestStatus.MATCHED
    request.offer_id = assignment.offer_id
    request.shared_metres = round(assignment.shared_metres)
    request.detour_metres = round(assignment.detour_metres)
    request.pickup_time = int(assignment.pickup_time)
    free[assignment.offer_id] -= 1
    session.add(request)
    return request


def get_request(session: Session, request_id: int) -> RideRequest:
    request = session.get(RideRequest, request_id)
    if request is None:
        raise NotFound(f"no ride request {request_id}")
    return request


def driver_of(session: Session, request: RideRequest) -> str | None:
    if request.offer_id is None:
        return None
    return session.get(TripOffer, request.offer_id).driver


def visible_request(session: Session, request_id: int, caller: str) -> RideRequest:
    request = get_request(session, request_id)
    if caller not in (request.rider, driver_of(session, request)):
        raise Forbidden(f"ride request {request_id} is neither yours nor matched to your offer")
    return request


def accept(session: Session, request_id: int, rider: str) -> RideRequest:
    request = get_request(session, request_id)
    if request.rider != rider:
        raise Forbidden(f"ride request {request_id} is not yours")
    if request.status != RequestStatus.MATCHED:
        raise Conflict(f"ride request {request_id} is {request.status}; only a matched request can be accepted")
    request.status = RequestStatus.BOOKED
    session.add(request)
    return request


def pick_up(session: Session, request_id: int, driver: str, now: int | None = None) -> RideRequest:
    request = get_request(session, request_id)
    if driver_of(session, request) != driver:
        raise Forbidden(f"ride request {request_id} is not booked on your offer")
    if request.status != RequestStatus.BOOKED:
        raise Conflict(f"ride request {request_id} is {request.status}; only a booked ride can be picked up")
    request.status = RequestStatus.PICKED_UP
    request.picked_up_at = int(time.time()) if now is None else now
    session.add(request)
    return request


def cancel(session: Session, request_id: int, rider: str, now: int | None = None) -> RideRequest:
    request = get_request(session, request_id)
    if request.rider != rider:
        raise Forbidden(f"ride request {request_id} is not yours")
    if request.status in (RequestStatus.OPEN, RequestStatus.MATCHED, RequestStatus.BOOKED):
        request.status = RequestStatus.CANCELLED
    elif request.status == RequestStatus.PICKED_UP:
        request.status = RequestStatus.ENDED_EARLY
        request.ended_at = int(time.time()) if now is None else now
    else:
        raise Conflict(f"ride request {request_id} is {request.status} and can no longer be cancelled")
    session.add(request)
    if request.status == RequestStatus.CANCELLED and request.offer_id is not None:
        run_matching(session, request.region_id)  # the freed seat may serve someone waiting
    return request
