"""Incremental matching: place one arriving request or offer without loading the book.

The book is the open requests U and the offers F with free seats (an offer's `seats` is its number
of free seats). The batch matcher is `matching.match(U, F)`; the periodic re-optimisation keeps
calling it. Between two batch runs, each arrival is matched here, against the few candidates a
bounding-box query returns (`offer_footprint`).

What "equals the batch matcher for that arrival" means
------------------------------------------------------
Call a book *settled* when no request of U is feasible with any offer of F, that is
`match(U, F) == []`.

1. Whatever U and F, the book that `match(U, F)` leaves (U without the matched requests, F with
   their seats taken and full offers removed) is settled. The greedy takes each request once, and
   when a request is left unmatched, no feasible offer of it had a free seat at that moment (its
   fast path would have taken it); free seats only decrease afterwards. Feasibility of a pair
   depends on that request and that offer alone (see `matching`), so the leftover book's
   candidate graph is the restriction of the batch's, and has no edge.
2. A request r arrives on a settled book. In `match(U + [r], F)` the only edges are r's, so the
   batch result is r placed on its best feasible offer (least detour, then earliest pickup, then
   the earliest in F), or nothing. `match_arriving_request(r, C)` returns exactly that assignment
   when C contains every offer of F that is feasible for r (a bounding-box query with
   `offer_footprint` returns a superset of them) in the order F has them (only exact ties of detour
   and pickup time look at the order; the service should pass offers by id in both calls).
3. An offer o with s free seats arrives on a settled book. In `match(U, F + [o])` the only edges
   are between U and o: the greedy seats the s heaviest feasible requests (by trip distance, ties
   in the order of U) and no augmenting path exists for the others.
   `match_arriving_offer(o, C)` returns exactly those assignments when C contains every request
   of U feasible with o (the box query on o's footprint) in the order of U.
   A seat freed by a cancellation is the same event: call it with the offer's free seats after the
   cancellation. (If the offer had free seats before, no open request is feasible with it, and the
   result is empty, as the batch's is.)
4. After applying either result the book is settled again, so 2 and 3 hold for the next arrival:
   a stream of arrivals handled here equals, step by step, the batch matcher run after each one.

"Exactly" is meant literally: the same request and offer ids, and bit-for-bit the same shared
metres, detour and pickup time. Both paths evaluate each pair with `matching.feasible_pairs`,
element by element on the same inputs. The batch matcher's own tolerance against the optimum is
zero (its greedy is optimal); the one assumption is that numpy's vectorised sin/cos/arcsin give an
element the same value whatever the array's length, which holds on this platform and which the
tests check. Where it did not, only pairs within rounding of a threshold (a detour equal to the
limit, a travel time on a whole second) or two detours equal to within rounding could differ.

Nobody rides with themselves: give requests their `rider` and offers their `driver`, and the
rule is part of each pair's feasibility, in the batch and here alike, so all of the above holds
with it. (Applying the rule after `match` instead, as a filter, would break point 1: the greedy
could spend a seat on the rider's own car that someone else needed.)

Not covered here, and what the re-optimisation is for: moving riders already matched to other
offers to make room.

Bounding boxes
--------------
`offer_footprint` gives, per offer, a lat/lon box for pickups (the route's bounding rectangle in the
offer's local projection, widened by the pickup radius) and one for drop-offs, and the span of times
at which it can pick anyone up. A pair can be feasible only if

    pickup_box.min_lat <= request.origin.lat <= pickup_box.max_lat      (same for lon)
    dropoff_box.min_lat <= request.destination.lat <= dropoff_box.max_lat  (same for lon)
    request.latest >= pickup_from  and  request.earliest <= pickup_until

which is `OfferFootprint.admits(request)`, and the WHERE clause of both queries: offers for an
arriving request (the request's points as parameters), requests for an arriving offer (the
footprint as parameters). Store the footprint's eight numbers with the offer and index them
(B-tree on (pickup_min_lat, pickup_max_lat) or a PostGIS box); index requests on their points.

The boxes are exact for the corridor test (the local projection is affine in degrees). They are
refused, with a ValueError, where that projection does not hold: beyond +/-MAX_ABS_LATITUDE
degrees, and for a box that would cross the antimeridian (longitudes are not wrapped). The time
span assumes road metres are at most `circuity` (or 2) times great-circle metres, as the batch
search does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .geo import AVERAGE_CITY_SPEED_MPS, DistanceModel, GreatCircleDistance, LatLon
from .matching import (
    DEFAULT_DROPOFF_RADIUS_M,
    DEFAULT_PICKUP_RADIUS_M,
    Assignment,
    MatchingParameters,
    Offer,
    OfferArrays,
    Request,
    RequestArrays,
    circuity_bounds,
    corridor_box_arrays,
    feasible_pairs,
)

__all__ = [
    "LatLonBox",
    "OfferFootprint",
    "match_arriving_offer",
    "match_arriving_request",
    "offer_footprint",
    "offer_footprints",
]


@dataclass(frozen=True)
class LatLonBox:
    """A closed latitude/longitude box in degrees (never across the antimeridian)."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, point: LatLon) -> bool:
        return self.min_lat <= point[0] <= self.max_lat and self.min_lon <= point[1] <= self.max_lon


@dataclass(frozen=True)
class OfferFootprint:
    """Where and when an offer can pick up and drop off: a superset of its feasible requests."""

    pickup_box: LatLonBox
    dropoff_box: LatLonBox
    pickup_from: int  # no pickup before (the earliest departure)
    pickup_until: int  # no pickup after (the latest departure plus the longest drive to the pickup box)

    def admits(self, request: Request) -> bool:
        """The query's condition: True for every request the offer can serve (and some it cannot)."""
        return (
            self.pickup_box.contains(request.origin)
            and self.dropoff_box.contains(request.destination)
            and request.latest >= self.pickup_from
            and request.earliest <= self.pickup_until
        )


def offer_footprints(
    offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
    speed_mps: float = AVERAGE_CITY_SPEED_MPS,
) -> list[OfferFootprint]:
    """The footprint of each offer (vectorised; raises ValueError where the projection does not hold)."""
    distance = distance or GreatCircleDistance()
    parameters = MatchingParameters(pickup_radius_m, dropoff_radius_m, speed_mps)
    arrays = OfferArrays(offers, distance, radii=(pickup_radius_m, dropoff_radius_m))
    if len(arrays) == 0:
        return []
    pickup_boxes = corridor_box_arrays(arrays, pickup_radius_m)
    dropoff_boxes = corridor_box_arrays(arrays, dropoff_radius_m)
    # Longest drive to a pickup: within the radius of the route, so at most route + radius local
    # metres from the origin; great-circle metres exceed local ones by at most the ratio of the
    # cosines over the box's latitudes (0.1 degree wider for the bow of a great circle).
    _, upper = circuity_bounds(distance)
    low = np.radians(np.maximum(pickup_boxes[:, 0] - 0.1, -90.0))
    high = np.radians(np.minimum(pickup_boxes[:, 1] + 0.1, 90.0))
    centre = np.radians(arrays.centre[:, 0])
    nearest_equator = np.clip(0.0, low, high)
    ratios = np.column_stack([np.cos(centre) / np.cos(edge) for edge in (low, high, nearest_equator)])
    kappa = np.maximum(ratios.max(axis=1), (1 / ratios).max(axis=1)) * (1 + 1e-6)
    longest_drive = upper * kappa * (arrays.route_length + pickup_radius_m)
    pickup_until = arrays.depart_latest + (np.ceil(longest_drive / parameters.speed_mps) + 1).astype(np.int64)
    return [
        OfferFootprint(
            pickup_box=LatLonBox(*(float(value) for value in pickup_boxes[index])),
            dropoff_box=LatLonBox(*(float(value) for value in dropoff_boxes[index])),
            pickup_from=int(arrays.depart_earliest[index]),
            pickup_until=int(pickup_until[index]),
        )
        for index in range(len(arrays))
    ]


def offer_footprint(offer: Offer, distance: DistanceModel | None = None, **parameters: float) -> OfferFootprint:
    """The footprint of one offer (see `offer_footprints`)."""
    return offer_footprints([offer], distance, **parameters)[0]


def _unique(items: Sequence, kind: str) -> None:
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{kind} ids must be unique")


def match_arriving_request(
    request: Request,
    candidate_offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
    speed_mps: float = AVERAGE_CITY_SPEED_MPS,
) -> Assignment | None:
    """The offer the batch matcher gives a request arriving on a settled book, or None.

    `candidate_offers` must include every offer with free seats whose footprint admits the
    request (more is fine), in the book's order; each offer's `seats` is its free seats.
    """
    distance = distance or GreatCircleDistance()
    _unique(candidate_offers, "offer")
    parameters = MatchingParameters(pickup_radius_m, dropoff_radius_m, speed_mps)
    requests = RequestArrays([request], distance)
    offers = OfferArrays(candidate_offers, distance, radii=(pickup_radius_m, dropoff_radius_m))
    if len(offers) == 0:
        return None
    _, offer_index, detour, pickup_time = feasible_pairs(
        requests, offers, np.zeros(len(offers), dtype=np.int64), np.arange(len(offers)), distance, parameters
    )
    if len(offer_index) == 0:
        return None
    best = np.lexsort((offer_index, pickup_time, detour))[0]
    return Assignment(
        request_id=request.id,
        offer_id=candidate_offers[int(offer_index[best])].id,
        shared_metres=float(requests.shared[0]),
        detour_metres=float(detour[best]),
        pickup_time=int(pickup_time[best]),
    )


def match_arriving_offer(
    offer: Offer,
    candidate_requests: Sequence[Request],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
    speed_mps: float = AVERAGE_CITY_SPEED_MPS,
) -> list[Assignment]:
    """The requests the batch matcher seats on an offer arriving on a settled book (at most `seats`).

    `candidate_requests` must include every open request the offer's footprint admits (more is
    fine), in the book's order. The result is in that order, as `match` returns it.
    """
    distance = distance or GreatCircleDistance()
    _unique(candidate_requests, "request")
    parameters = MatchingParameters(pickup_radius_m, dropoff_radius_m, speed_mps)
    offers = OfferArrays([offer], distance, radii=(pickup_radius_m, dropoff_radius_m))
    requests = RequestArrays(candidate_requests, distance)
    if len(requests) == 0:
        return []
    request_index, _, detour, pickup_time = feasible_pairs(
        requests, offers, np.arange(len(requests)), np.zeros(len(requests), dtype=np.int64), distance, parameters
    )
    # The batch greedy takes requests by descending trip distance, ties in input order.
    seated = np.lexsort((request_index, -requests.shared[request_index]))[: offer.seats]
    seated = seated[np.argsort(request_index[seated])]
    return [
        Assignment(
            request_id=candidate_requests[int(request_index[edge])].id,
            offer_id=offer.id,
            shared_metres=float(requests.shared[request_index[edge]]),
            detour_metres=float(detour[edge]),
            pickup_time=int(pickup_time[edge]),
        )
        for edge in seated
    ]
