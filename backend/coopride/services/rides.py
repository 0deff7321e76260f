"""Offers, ride requests and bookings: quoting, matching, accepting, pickup and cancellation.

Cancellation policy (docs/api.md): before pickup a rider cancels for free and the seat returns to
the offer; after pickup, cancelling ends the ride early: the driver logs the trace up to the
drop-off, which is not checked against the booked destination, and the receipt charges only the
kilometres that trace verifies.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from coopride.chain.client import ChainClient
from coopride.domain import matching
from coopride.domain.geo import GreatCircleDistance, LatLon
from coopride.domain.pricing import quote_fare
from coopride.domain.regions import RegionMap
from coopride.models import RideRequest, TripOffer, stored_id
from coopride.models.enums import SEAT_HOLDING, OfferStatus, RequestStatus
from coopride.schemas.rides import OfferPublic
from coopride.services.errors import Conflict, Forbidden, Invalid, NotFound

ROAD_DISTANCE = GreatCircleDistance()


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
    session.add(offer)
    session.flush()
    run_matching(session, region_id)
    return offers_public(session, [offer])[0]


def requests_on_offer(session: Session, offer_id: int, driver: str) -> list[RideRequest]:
    offer = session.get(TripOffer, offer_id)
    if offer is None:
        raise NotFound(f"no offer {offer_id}")
    if offer.driver != driver:
        raise Forbidden(f"offer {offer_id} is not yours")
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
    run_matching(session, region_id)
    return request


def run_matching(session: Session, region_id: int) -> list[RideRequest]:
    """Matches the region's open requests to its open offers with free seats; returns the newly matched.

    The matcher does not know who drives: a request it pairs with its own rider's offer is matched
    again afterwards against the other offers' remaining seats.
    """
    requests = session.exec(
        select(RideRequest).where(RideRequest.region_id == region_id, RideRequest.status == RequestStatus.OPEN)
    ).all()
    offers = session.exec(
        select(TripOffer).where(TripOffer.region_id == region_id, TripOffer.status == OfferStatus.OPEN)
    ).all()
    taken = seats_taken_by_offer(session, [stored_id(offer) for offer in offers])
    free = {stored_id(offer): offer.seats - taken[stored_id(offer)] for offer in offers}
    by_request: dict[object, RideRequest] = {r.id: r for r in requests}
    by_offer: dict[object, TripOffer] = {o.id: o for o in offers}
    matched, own_car = [], []
    for assignment in _match(requests, offers, free):
        request, offer = by_request[assignment.request_id], by_offer[assignment.offer_id]
        if offer.driver == request.rider:
            own_car.append(request)
        else:
            matched.append(_assign(session, request, offer, assignment, free))
    for request in own_car:
        others = [offer for offer in offers if offer.driver != request.rider]
        for assignment in _match([request], others, free):
            matched.append(_assign(session, request, by_offer[assignment.offer_id], assignment, free))
    session.flush()
    return matched


def _match(
    requests: Sequence[RideRequest], offers: Sequence[TripOffer], free: dict[int, int]
) -> list[matching.Assignment]:
    offers = [offer for offer in offers if free[stored_id(offer)] > 0]
    if not requests or not offers:
        return []
    return matching.match(
        [
            matching.Request(
                stored_id(r),
                LatLon(r.origin_lat, r.origin_lon),
                LatLon(r.destination_lat, r.destination_lon),
                r.earliest,
                r.latest,
            )
            for r in requests
        ],
        [
            matching.Offer(
                stored_id(o),
                LatLon(o.origin_lat, o.origin_lon),
                LatLon(o.destination_lat, o.destination_lon),
                o.depart_earliest,
                o.depart_latest,
                free[stored_id(o)],
                o.max_detour_m,
            )
            for o in offers
        ],
    )


def _assign(
    session: Session, request: RideRequest, offer: TripOffer, assignment: matching.Assignment, free: dict[int, int]
) -> RideRequest:
    request.status = RequestStatus.MATCHED
    request.offer_id = stored_id(offer)
    request.shared_metres = round(assignment.shared_metres)
    request.detour_metres = round(assignment.detour_metres)
    request.pickup_time = int(assignment.pickup_time)
    free[stored_id(offer)] -= 1
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
    offer = session.get(TripOffer, request.offer_id)
    return offer.driver if offer is not None else None


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
