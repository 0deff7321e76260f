"""Assign ride requests to drivers' offers, maximising the shared kilometres.

A request can ride with an offer when
- its pickup lies within `pickup_radius_m` and its drop-off within `dropoff_radius_m` of the offer's
  route (the straight line origin -> destination), measured in the offer's own local projection: an
  equirectangular projection centred on the midpoint of the route (`OfferArrays`). The test depends
  on the request and the offer alone, never on the rest of the book, so an incremental matcher that
  sees only a few candidates decides exactly as the batch matcher does (`coopride.domain.incremental`);
- the detour d(o, pickup) + d(pickup, dropoff) + d(dropoff, destination) - d(o, destination), in
  road metres from the `DistanceModel`, is at most the offer's `max_detour_m`;
- some departure in the offer's window reaches the pickup (at AVERAGE_CITY_SPEED_MPS) inside the
  request's window; the earliest such pickup time is reported.

- the request's `rider` is not the offer's `driver` (when both are given): nobody rides with
  themselves.

Simplification: each rider is checked against the offer alone; riders sharing an offer are not
routed together (their detours are not summed). The offer's seats bound how many ride with it.

Supported geography: every point within +/-MAX_ABS_LATITUDE degrees, and no offer whose route plus
radii crosses the antimeridian (both refused with a ValueError; the local projections are not valid
there).

The objective is the total trip distance of the riders served. Its weight depends only on the
request, so the sets of requests that can be served together form a transversal matroid and
the matroid greedy is optimal: take requests by descending distance and keep each one for which an
augmenting path (moving already-placed riders to other feasible offers) frees a seat. `match` is
therefore exact, not approximate: its tolerance against the optimum is zero (floating point aside).
`match_optimal` solves the same problem with scipy's assignment solvers as a cross-check;
`match_first_come` is the baseline that seats requests in arrival order and never reshuffles.

Tie-breaks (so that results are deterministic and an incremental matcher can reproduce them):
requests of equal weight are taken in input order; a request placed on a free seat takes the
feasible offer with the least detour, then the earliest pickup, then the earliest in `offers`.

Candidate search (`find_candidates`) at city scale: a grid join. Requests are bucketed by
(pickup cell, drop-off cell) and sorted by earliest time inside each bucket; each offer probes the
(pickup cell, drop-off cell) pairs that its corridors cover and that a lower bound of the detour
admits, over the range of earliest times its window can reach. The probes return a superset of the
feasible pairs (every bound has a margin for the projection's distortion), which vectorised
necessary conditions then thin before the exact checks above decide. The bounds assume what the
previous search assumed too: a `DistanceModel` gives at least the great-circle distance (exactly
`circuity` times it for `GreatCircleDistance`) and at most `circuity` (or DEFAULT_CIRCUITY_BOUND)
times it. Offers are searched in blocks so that the intermediate arrays stay in the CPU cache.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

from .geo import (
    AVERAGE_CITY_SPEED_MPS,
    EARTH_RADIUS_M,
    DistanceModel,
    GreatCircleDistance,
    LatLon,
    validate_latlon,
)

DEFAULT_PICKUP_RADIUS_M = 2_000.0
DEFAULT_DROPOFF_RADIUS_M = 2_000.0
# Time pruning needs an upper bound of road / great-circle distance; models that do not expose
# `circuity` are assumed to stay under this. Every model is assumed to give at least the
# great-circle distance (GreatCircleDistance gives exactly `circuity` times it).
DEFAULT_CIRCUITY_BOUND = 2.0
# linear_sum_assignment works on a dense requests x seats matrix; refuse sizes beyond this.
MAX_OPTIMAL_CELLS = 16_000_000
# The local projections are refused beyond this latitude.
MAX_ABS_LATITUDE = 80.0

METRES_PER_DEGREE_LAT = math.radians(1) * EARTH_RADIUS_M
# The candidate grid's cell side, in units of the larger radius (measured: 1.0 is fastest on the
# synthetic city, where it balances probes per offer against pairs per probe).
GRID_CELL_PER_RADIUS = 1.0


@dataclass(frozen=True)
class Offer:
    id: object
    origin: LatLon
    destination: LatLon
    depart_earliest: int
    depart_latest: int
    seats: int
    max_detour_m: float
    driver: object = None  # who drives; never matched with a request whose `rider` is the same

    def __post_init__(self):
        object.__setattr__(self, "origin", validate_latlon(*self.origin))
        object.__setattr__(self, "destination", validate_latlon(*self.destination))
        if not self.depart_earliest <= self.depart_latest:
            raise ValueError(f"offer {self.id}: depart_earliest must be <= depart_latest")
        if isinstance(self.seats, bool) or not isinstance(self.seats, int) or self.seats < 1:
            raise ValueError(f"offer {self.id}: seats must be an int >= 1, got {self.seats!r}")
        if not (math.isfinite(self.max_detour_m) and self.max_detour_m >= 0):
            raise ValueError(f"offer {self.id}: max_detour_m must be a finite number >= 0, got {self.max_detour_m!r}")


@dataclass(frozen=True)
class Request:
    id: object
    origin: LatLon
    destination: LatLon
    earliest: int
    latest: int
    rider: object = None  # who rides; never matched with an offer whose `driver` is the same

    def __post_init__(self):
        object.__setattr__(self, "origin", validate_latlon(*self.origin))
        object.__setattr__(self, "destination", validate_latlon(*self.destination))
        if not self.earliest <= self.latest:
            raise ValueError(f"request {self.id}: earliest must be <= latest")
        if self.origin == self.destination:
            raise ValueError(f"request {self.id}: origin and destination must differ")


@dataclass(frozen=True)
class Assignment:
    request_id: object
    offer_id: object
    shared_metres: float
    detour_metres: float
    pickup_time: int


@dataclass(frozen=True)
class Candidates:
    """Every feasible (request, offer) pair, as parallel arrays sorted by request, then detour, then
    pickup time, then offer position."""

    request_index: np.ndarray
    offer_index: np.ndarray
    detour_metres: np.ndarray
    pickup_time: np.ndarray
    shared_metres: np.ndarray  # per request: its trip distance, the weight of serving it
    seats: np.ndarray  # per offer

    def __len__(self) -> int:
        return len(self.request_index)


@dataclass(frozen=True)
class MatchingParameters:
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M
    speed_mps: float = AVERAGE_CITY_SPEED_MPS

    def __post_init__(self):
        if not (self.pickup_radius_m > 0 and self.dropoff_radius_m > 0):
            raise ValueError("pickup_radius_m and dropoff_radius_m must be > 0")
        if not (math.isfinite(self.pickup_radius_m) and math.isfinite(self.dropoff_radius_m)):
            raise ValueError("pickup_radius_m and dropoff_radius_m must be finite")
        if not (math.isfinite(self.speed_mps) and self.speed_mps > 0):
            raise ValueError("speed_mps must be a finite number > 0")


def circuity_bounds(distance: DistanceModel) -> tuple[float, float]:
    """(lower, upper) bounds of road metres / great-circle metres that the searches rely on."""
    upper = float(getattr(distance, "circuity", DEFAULT_CIRCUITY_BOUND))
    lower = upper if type(distance) is GreatCircleDistance else 1.0
    return lower, upper


# ---------------------------------------------------------------------------------------------
# Arrays and the exact feasibility test (shared by the batch and the incremental matchers)


def _unique_ids(items: Sequence, kind: str) -> None:
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{kind} ids must be unique")


def _latlon_array(items: Sequence, field: str) -> np.ndarray:
    points = chain.from_iterable(getattr(item, field) for item in items)
    return np.fromiter(points, dtype=float, count=2 * len(items)).reshape(-1, 2)


def _numbers(items: Sequence, field: str, dtype: type) -> np.ndarray:
    return np.fromiter((getattr(item, field) for item in items), dtype=dtype, count=len(items))


def _check_latitudes(points: np.ndarray, kind: str) -> None:
    if len(points) and float(np.abs(points[:, 0]).max()) > MAX_ABS_LATITUDE:
        raise ValueError(f"{kind} beyond +/-{MAX_ABS_LATITUDE} degrees of latitude are not supported")


class RequestArrays:
    """Requests as numpy arrays: (lat, lon) points, windows and the weight of serving each."""

    def __init__(self, requests: Sequence[Request], distance: DistanceModel):
        self.pickup = _latlon_array(requests, "origin")
        self.dropoff = _latlon_array(requests, "destination")
        _check_latitudes(self.pickup, "request points")
        _check_latitudes(self.dropoff, "request points")
        self.earliest = _numbers(requests, "earliest", np.int64)
        self.latest = _numbers(requests, "latest", np.int64)
        self.shared = distance.road_metres_array(self.pickup, self.dropoff) if len(requests) else np.zeros(0)
        riders = [r.rider for r in requests]
        self.riders = riders if any(rider is not None for rider in riders) else None

    def __len__(self) -> int:
        return len(self.earliest)


class OfferArrays:
    """Offers as numpy arrays, with each route in its own local projection.

    The local projection of an offer is equirectangular around the midpoint (in degrees) of its
    origin and destination: x = (lon - centre_lon) * METRES_PER_DEGREE_LAT * cos(centre_lat),
    y = (lat - centre_lat) * METRES_PER_DEGREE_LAT.
    """

    def __init__(self, offers: Sequence[Offer], distance: DistanceModel, radii: tuple[float, float] | None = None):
        self.start = _latlon_array(offers, "origin")
        self.end = _latlon_array(offers, "destination")
        _check_latitudes(self.start, "offer points")
        _check_latitudes(self.end, "offer points")
        self.depart_earliest = _numbers(offers, "depart_earliest", np.int64)
        self.depart_latest = _numbers(offers, "depart_latest", np.int64)
        self.seats = _numbers(offers, "seats", np.int64)
        self.max_detour = _numbers(offers, "max_detour_m", float)
        self.direct = distance.road_metres_array(self.start, self.end) if len(offers) else np.zeros(0)
        drivers = [o.driver for o in offers]
        self.drivers = drivers if any(driver is not None for driver in drivers) else None
        self.centre = (self.start + self.end) / 2
        self.metres_per_degree_lon = METRES_PER_DEGREE_LAT * np.cos(np.radians(self.centre[:, 0]))
        self.start_local = self.local_xy(self.start, np.arange(len(offers)))
        self.end_local = self.local_xy(self.end, np.arange(len(offers)))
        self.route_local = self.end_local - self.start_local
        self.route_length = np.hypot(self.route_local[:, 0], self.route_local[:, 1])
        if radii is not None:
            for radius in radii:
                _check_boxes(corridor_box_arrays(self, radius))

    def __len__(self) -> int:
        return len(self.seats)

    def local_xy(self, points: np.ndarray, offer_index: np.ndarray) -> np.ndarray:
        """Points (lat, lon) in the local projections of the given offers (one offer per point)."""
        xy = np.empty((len(offer_index), 2))
        xy[:, 0] = (points[:, 1] - self.centre[offer_index, 1]) * self.metres_per_degree_lon[offer_index]
        xy[:, 1] = (points[:, 0] - self.centre[offer_index, 0]) * METRES_PER_DEGREE_LAT
        return xy


# A box is widened by this many degrees (about 0.1 mm) so that a point that passes the corridor test
# in local metres is inside it despite the rounding of the conversion back to degrees.
_BOX_MARGIN_DEGREES = 1e-9


def corridor_box_arrays(offers: OfferArrays, radius: float) -> np.ndarray:
    """Per offer, the lat/lon box (min_lat, max_lat, min_lon, max_lon) holding every point within
    `radius` of its route in its local projection.

    The local projection is affine in (lat, lon), so the route's bounding rectangle widened by the
    radius, mapped back to degrees, is exact (widened by _BOX_MARGIN_DEGREES against rounding).
    """
    low = np.minimum(offers.start_local, offers.end_local) - radius
    high = np.maximum(offers.start_local, offers.end_local) + radius
    lon_scale = offers.metres_per_degree_lon
    return np.column_stack(
        [
            offers.centre[:, 0] + low[:, 1] / METRES_PER_DEGREE_LAT - _BOX_MARGIN_DEGREES,
            offers.centre[:, 0] + high[:, 1] / METRES_PER_DEGREE_LAT + _BOX_MARGIN_DEGREES,
            offers.centre[:, 1] + low[:, 0] / lon_scale - _BOX_MARGIN_DEGREES,
            offers.centre[:, 1] + high[:, 0] / lon_scale + _BOX_MARGIN_DEGREES,
        ]
    ).reshape(-1, 4)


def _check_boxes(boxes: np.ndarray) -> None:
    """Refuse corridors the local projections cannot handle (near the poles, across the antimeridian)."""
    beyond = np.flatnonzero((boxes[:, 0] < -MAX_ABS_LATITUDE) | (boxes[:, 1] > MAX_ABS_LATITUDE))
    if len(beyond):
        raise ValueError(
            f"offer at index {beyond[0]}: its corridor reaches beyond +/-{MAX_ABS_LATITUDE} degrees of latitude"
        )
    across = np.flatnonzero((boxes[:, 2] < -180.0) | (boxes[:, 3] > 180.0))
    if len(across):
        raise ValueError(f"offer at index {across[0]}: its corridor crosses the antimeridian, which is not supported")


def _corridor_gap(offers: OfferArrays, points: np.ndarray, offer_index: np.ndarray) -> np.ndarray:
    """Distance from each point (lat, lon) to its offer's route, in the offer's local projection."""
    x = (points[:, 1] - offers.centre[offer_index, 1]) * offers.metres_per_degree_lon[offer_index]
    y = (points[:, 0] - offers.centre[offer_index, 0]) * METRES_PER_DEGREE_LAT
    x -= offers.start_local[offer_index, 0]
    y -= offers.start_local[offer_index, 1]
    dx, dy, length = (
        offers.route_local[offer_index, 0],
        offers.route_local[offer_index, 1],
        offers.route_length[offer_index],
    )
    safe_length = np.where(length > 0, length, 1.0)
    along = np.minimum(np.maximum((x * dx + y * dy) / safe_length, 0.0), length) / safe_length
    x -= dx * along
    y -= dy * along
    return np.asarray(np.hypot(x, y))


def _without_own_offers(
    riders: list, drivers: list, request_index: np.ndarray, offer_index: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Drop the pairs whose rider drives the offer (people are compared with ==; None is nobody)."""
    codes: dict = {}
    rider_code = np.array(
        [-1 if rider is None else codes.setdefault(rider, len(codes)) for rider in riders], dtype=np.int64
    )
    driver_code = np.array(
        [-2 if driver is None else codes.setdefault(driver, len(codes)) for driver in drivers], dtype=np.int64
    )
    keep = rider_code[request_index] != driver_code[offer_index]
    return request_index[keep], offer_index[keep]


def feasible_pairs(
    requests: RequestArrays,
    offers: OfferArrays,
    request_index: np.ndarray,
    offer_index: np.ndarray,
    distance: DistanceModel,
    parameters: MatchingParameters,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The exact test on given (request, offer) pairs: returns the feasible ones with detour and pickup time.

    Every quantity is computed element by element from the pair alone, so the batch matcher and
    the incremental one, which call this on different sets of pairs, agree on each pair.
    """
    if requests.riders is not None and offers.drivers is not None:
        request_index, offer_index = _without_own_offers(requests.riders, offers.drivers, request_index, offer_index)
    keep = _corridor_gap(offers, requests.pickup[request_index], offer_index) <= parameters.pickup_radius_m
    request_index, offer_index = request_index[keep], offer_index[keep]
    keep = _corridor_gap(offers, requests.dropoff[request_index], offer_index) <= parameters.dropoff_radius_m
    request_index, offer_index = request_index[keep], offer_index[keep]

    to_pickup = distance.road_metres_array(offers.start[offer_index], requests.pickup[request_index])
    from_dropoff = distance.road_metres_array(requests.dropoff[request_index], offers.end[offer_index])
    detour = np.maximum(0.0, to_pickup + requests.shared[request_index] + from_dropoff - offers.direct[offer_index])
    travel_seconds = np.ceil(to_pickup / parameters.speed_mps).astype(np.int64)
    pickup_time = np.maximum(offers.depart_earliest[offer_index] + travel_seconds, requests.earliest[request_index])
    last_pickup = np.minimum(offers.depart_latest[offer_index] + travel_seconds, requests.latest[request_index])
    keep = (detour <= offers.max_detour[offer_index]) & (pickup_time <= last_pickup)
    return request_index[keep], offer_index[keep], detour[keep], pickup_time[keep]


# ---------------------------------------------------------------------------------------------
# Candidate search: a grid join in a projection of the whole book


class _BookProjection:
    """Equirectangular projection of the whole book, with bounds of its distortion.

    `to_local_factor[o]` bounds (book-projection metres) / (offer o's local metres) for any vector
    (x scales by the ratio of the cosines, y not at all); `kappa` bounds both
    (book-projection metres) / (great-circle metres) and its inverse, over the book's latitudes.
    """

    def __init__(self, requests: RequestArrays, offers: OfferArrays):
        latitudes = np.concatenate(
            [requests.pickup[:, 0], requests.dropoff[:, 0], offers.start[:, 0], offers.end[:, 0]]
        )
        longitudes = np.concatenate([requests.pickup[:, 1], offers.start[:, 1]])
        low, high = float(latitudes.min()), float(latitudes.max())
        self.lat0, self.lon0 = (low + high) / 2, float(longitudes.mean())
        self.metres_per_degree_lon = METRES_PER_DEGREE_LAT * math.cos(math.radians(self.lat0))
        # A great circle between two points bows poleward of both; 0.1 degree covers routes of
        # several hundred kilometres.
        low, high = max(-90.0, low - 0.1), min(90.0, high + 0.1)
        cosines = np.cos(np.radians([low, high, min(max(0.0, low), high)]))
        ratios = math.cos(math.radians(self.lat0)) / cosines
        self.kappa = float(max(ratios.max(), (1 / ratios).max())) * (1 + 1e-6)
        self.to_local_factor = np.maximum(1.0, self.metres_per_degree_lon / offers.metres_per_degree_lon) * (1 + 1e-9)

    def xy(self, points: np.ndarray) -> np.ndarray:
        xy = np.empty_like(points)
        xy[:, 0] = (points[:, 1] - self.lon0) * self.metres_per_degree_lon
        xy[:, 1] = (points[:, 0] - self.lat0) * METRES_PER_DEGREE_LAT
        return xy


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, the integers starts[i] .. starts[i] + counts[i] - 1, concatenated; and i for each."""
    owner = np.repeat(np.arange(len(counts)), counts)
    values = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    values += np.arange(len(values))
    return owner, values


def _point_box_distance(px, py, box_x, box_y, side):
    dx = np.maximum(np.maximum(box_x - px, px - (box_x + side)), 0.0)
    dy = np.maximum(np.maximum(box_y - py, py - (box_y + side)), 0.0)
    return np.hypot(dx, dy)


def _point_box_farthest(px, py, box_x, box_y, side):
    return np.hypot(
        np.maximum(np.abs(box_x - px), np.abs(box_x + side - px)),
        np.maximum(np.abs(box_y - py), np.abs(box_y + side - py)),
    )


def _point_segment_distance(px, py, sx, sy, dx, dy, length_squared):
    along = np.clip(((px - sx) * dx + (py - sy) * dy) / np.maximum(length_squared, 1e-12), 0.0, 1.0)
    return np.hypot(px - sx - along * dx, py - sy - along * dy)


def _box_segment_distance(box_x, box_y, side, sx, sy, ex, ey):
    """Distance between square boxes [box_x, box_x + side] x [box_y, box_y + side] and segments."""
    dx, dy = ex - sx, ey - sy
    # Liang-Barsky: the segment meets the box when the parameter ranges inside each slab overlap.
    enter, leave = np.zeros_like(sx), np.ones_like(sx)
    outside = np.zeros(len(sx), dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        for step, room in ((-dx, sx - box_x), (dx, box_x + side - sx), (-dy, sy - box_y), (dy, box_y + side - sy)):
            ratio = room / step
            outside |= (step == 0) & (room < 0)
            enter = np.where(step < 0, np.maximum(enter, ratio), enter)
            leave = np.where(step > 0, np.minimum(leave, ratio), leave)
    meets = ~outside & (enter <= leave)
    length_squared = dx * dx + dy * dy
    gap = np.minimum(_point_box_distance(sx, sy, box_x, box_y, side), _point_box_distance(ex, ey, box_x, box_y, side))
    for corner_x, corner_y in (
        (box_x, box_y),
        (box_x + side, box_y),
        (box_x, box_y + side),
        (box_x + side, box_y + side),
    ):
        gap = np.minimum(gap, _point_segment_distance(corner_x, corner_y, sx, sy, dx, dy, length_squared))
    return np.where(meets, 0.0, gap)


class _Grid:
    """Square cells of `side` metres over the book projection, numbered ix * ny + iy."""

    def __init__(self, points: np.ndarray, side: float):
        # (pickup cell, drop-off cell) keys are cells ** 2 and must fit in an int64.
        while True:
            self.side = side
            self.x0, self.y0 = points.min(axis=0) - side
            extent = points.max(axis=0) + side - np.array([self.x0, self.y0])
            self.nx, self.ny = (int(value) for value in np.ceil(extent / side) + 1)
            self.cells = self.nx * self.ny
            if self.cells * self.cells < 2**62:
                break
            side *= 2

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        ix = np.floor((xy[:, 0] - self.x0) / self.side).astype(np.int64)
        iy = np.floor((xy[:, 1] - self.y0) / self.side).astype(np.int64)
        return np.asarray(ix * self.ny + iy)

    def corridor_cells(self, starts, ends, radius, ellipse):
        """The cells within `radius` of each offer's segment whose box also meets its ellipse.

        Returns (offer, ix, iy, distance from the segment's start to the cell, farthest point of the
        cell from the start, distance from the cell to the segment's end), sorted by offer.
        """
        low = np.minimum(starts, ends) - radius[:, None]
        high = np.maximum(starts, ends) + radius[:, None]
        ix0 = np.clip(np.floor((low[:, 0] - self.x0) / self.side), 0, self.nx - 1).astype(np.int64)
        ix1 = np.clip(np.floor((high[:, 0] - self.x0) / self.side), 0, self.nx - 1).astype(np.int64)
        iy0 = np.clip(np.floor((low[:, 1] - self.y0) / self.side), 0, self.ny - 1).astype(np.int64)
        iy1 = np.clip(np.floor((high[:, 1] - self.y0) / self.side), 0, self.ny - 1).astype(np.int64)
        height = iy1 - iy0 + 1
        owner, rank = _expand(np.zeros(len(starts), dtype=np.int64), (ix1 - ix0 + 1) * height)
        ix = ix0[owner] + rank // height[owner]
        iy = iy0[owner] + rank % height[owner]
        box_x, box_y = self.x0 + ix * self.side, self.y0 + iy * self.side
        sx, sy, ex, ey = starts[owner, 0], starts[owner, 1], ends[owner, 0], ends[owner, 1]
        from_start = _point_box_distance(sx, sy, box_x, box_y, self.side)
        to_end = _point_box_distance(ex, ey, box_x, box_y, self.side)
        keep = from_start + to_end <= ellipse[owner]
        owner, ix, iy, box_x, box_y, from_start, to_end = (
            a[keep] for a in (owner, ix, iy, box_x, box_y, from_start, to_end)
        )
        sx, sy, ex, ey = starts[owner, 0], starts[owner, 1], ends[owner, 0], ends[owner, 1]
        keep = _box_segment_distance(box_x, box_y, self.side, sx, sy, ex, ey) <= radius[owner]
        farthest = _point_box_farthest(sx, sy, box_x, box_y, self.side)
        return owner[keep], ix[keep], iy[keep], from_start[keep], farthest[keep], to_end[keep]


# The request index's (bucket, time slot) table holds at most this many entries, and at most
# _SLOTS_PER_REQUEST per request (a small book gets coarse slots rather than a big table).
_MAX_SLOT_TABLE = 2**22
_SLOTS_PER_REQUEST = 256
# A dense table maps (pickup cell, drop-off cell) to its bucket when the grid has at most this many pairs.
_MAX_DENSE_BUCKETS = 2**24


class _RequestIndex:
    """Requests sorted by (pickup cell, drop-off cell) bucket, then by earliest time in slots.

    `start[bucket * slots + slot]` is where that bucket's requests of that time slot begin, so the
    requests of one bucket over a run of slots are one contiguous range.
    """

    def __init__(
        self, grid: _Grid, pickup_xy: np.ndarray, dropoff_xy: np.ndarray, earliest: np.ndarray, latest: np.ndarray
    ) -> None:
        pickup_cell, dropoff_cell = grid.cell_of(pickup_xy), grid.cell_of(dropoff_xy)
        # Cells holding some pickup (drop-off): a sparse book skips the others before pairing cells.
        self.has_pickup = np.zeros(grid.cells, dtype=bool)
        self.has_pickup[pickup_cell] = True
        self.has_dropoff = np.zeros(grid.cells, dtype=bool)
        self.has_dropoff[dropoff_cell] = True
        key = pickup_cell * grid.cells + dropoff_cell
        self.keys, bucket = np.unique(key, return_inverse=True)
        self.cells = grid.cells
        self.dense = None
        if grid.cells * grid.cells <= _MAX_DENSE_BUCKETS:
            self.dense = np.full(grid.cells * grid.cells, -1, dtype=np.int64)
            self.dense[self.keys] = np.arange(len(self.keys))
        self.earliest_min = int(earliest.min())
        span = int(earliest.max()) - self.earliest_min + 1
        table = min(_MAX_SLOT_TABLE, max(1024, _SLOTS_PER_REQUEST * len(earliest)))
        self.slot_seconds = max(1, -(-span * len(self.keys) // table))
        self.slots = -(-span // self.slot_seconds)
        self.widest_window = int((latest - earliest).max())
        entry = bucket * self.slots + (earliest - self.earliest_min) // self.slot_seconds
        self.order = np.argsort(entry, kind="stable")
        self.start = np.concatenate([[0], np.cumsum(np.bincount(entry, minlength=len(self.keys) * self.slots))])

    def bucket_of(self, pickup_cell: np.ndarray, dropoff_cell: np.ndarray) -> np.ndarray:
        """The bucket of each (pickup cell, drop-off cell) pair, or -1 where no request has it."""
        key = pickup_cell * self.cells + dropoff_cell
        if self.dense is not None:
            return np.asarray(self.dense[key])
        found = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return np.where(self.keys[found] == key, found, -1)

    def slot_of(self, time: np.ndarray) -> np.ndarray:
        """The slot holding each time, as an unclipped integer (floor)."""
        return (time - self.earliest_min) // self.slot_seconds


def _search(
    requests: RequestArrays, offers: OfferArrays, distance: DistanceModel, parameters: MatchingParameters
) -> tuple[np.ndarray, np.ndarray]:
    """A superset of the feasible (request, offer) pairs, each pair once.

    Offers are processed in blocks small enough for the intermediate arrays to stay in cache.
    """
    search = _GridSearch(requests, offers, distance, parameters)
    found = [
        search.block(first, min(first + _OFFERS_PER_BLOCK, len(offers)))
        for first in range(0, len(offers), _OFFERS_PER_BLOCK)
    ]
    return np.concatenate([r for r, _ in found]), np.concatenate([o for _, o in found])


# Offers per block of the grid search (measured: 512-2,048 are equally fast on the synthetic city).
_OFFERS_PER_BLOCK = 1024


class _GridSearch:
    def __init__(
        self, requests: RequestArrays, offers: OfferArrays, distance: DistanceModel, parameters: MatchingParameters
    ):
        projection = _BookProjection(requests, offers)
        self.kappa = kappa = projection.kappa
        self.lower, self.upper = circuity_bounds(distance)
        self.speed = parameters.speed_mps
        self.same_radii = parameters.pickup_radius_m == parameters.dropoff_radius_m
        pickup_xy, dropoff_xy = projection.xy(requests.pickup), projection.xy(requests.dropoff)
        self.start_xy, self.end_xy = projection.xy(offers.start), projection.xy(offers.end)
        # Bounds in book-projection metres: the corridors, and the detour's ellipse (a feasible
        # pair has |o p| + |p d| + |d e| <= kappa * (road(o, e) + max_detour) / lower).
        self.pickup_reach = parameters.pickup_radius_m * projection.to_local_factor
        self.dropoff_reach = parameters.dropoff_radius_m * projection.to_local_factor
        self.ellipse = kappa * (offers.direct + offers.max_detour) / self.lower * (1 + 1e-9) + 1e-6
        self.depart_earliest, self.depart_latest = offers.depart_earliest, offers.depart_latest

        self.grid = _Grid(
            np.concatenate([pickup_xy, dropoff_xy]),
            GRID_CELL_PER_RADIUS * max(parameters.pickup_radius_m, parameters.dropoff_radius_m),
        )
        self.side = self.grid.side
        self.index = index = _RequestIndex(self.grid, pickup_xy, dropoff_xy, requests.earliest, requests.latest)
        order = index.order
        self.sorted_earliest, self.sorted_latest = requests.earliest[order], requests.latest[order]
        self.px, self.py = pickup_xy[order, 0].copy(), pickup_xy[order, 1].copy()
        self.qx, self.qy = dropoff_xy[order, 0].copy(), dropoff_xy[order, 1].copy()
        self.sx, self.sy = self.start_xy[:, 0].copy(), self.start_xy[:, 1].copy()
        self.ex, self.ey = self.end_xy[:, 0].copy(), self.end_xy[:, 1].copy()
        self.route_length = np.hypot(self.ex - self.sx, self.ey - self.sy)
        has_length = self.route_length > 0
        safe_length = np.where(has_length, self.route_length, 1.0)
        self.ux = np.where(has_length, (self.ex - self.sx) / safe_length, 1.0)
        self.uy = np.where(has_length, (self.ey - self.sy) / safe_length, 0.0)

    def block(self, low: int, high: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate pairs for offers low .. high - 1."""
        grid, index, side = self.grid, self.index, self.side
        starts, ends, ellipse = self.start_xy[low:high], self.end_xy[low:high], self.ellipse[low:high]
        # Pickup cells, with the window of earliest times a request picked up there can have: a
        # feasible one has latest >= depart_earliest + travel and earliest <= depart_latest + travel,
        # where the travel time is bounded by the cell's nearest and farthest points from the origin.
        p_cells = grid.corridor_cells(starts, ends, self.pickup_reach[low:high], ellipse)
        p_offer, p_ix, p_iy, p_nearest, p_farthest, _ = p_cells
        p_offer += low
        need_latest = self.depart_earliest[p_offer] + (
            np.floor(self.lower * p_nearest / self.kappa / self.speed) - 1
        ).astype(np.int64)
        allow_earliest = self.depart_latest[p_offer] + (
            np.ceil(self.upper * self.kappa * p_farthest / self.speed) + 1
        ).astype(np.int64)
        first_slot = np.maximum(index.slot_of(need_latest - index.widest_window), 0)
        last_slot = np.minimum(index.slot_of(allow_earliest), index.slots - 1)
        if self.same_radii:
            d_offer, d_ix, d_iy, d_to_end = p_offer - low, p_ix, p_iy, p_cells[5]
        else:
            d_offer, d_ix, d_iy, _, _, d_to_end = grid.corridor_cells(
                starts, ends, self.dropoff_reach[low:high], ellipse
            )
        keep = (first_slot <= last_slot) & index.has_pickup[p_ix * grid.ny + p_iy]
        p_offer, p_ix, p_iy, p_nearest, need_latest, allow_earliest, first_slot, last_slot = (
            a[keep] for a in (p_offer, p_ix, p_iy, p_nearest, need_latest, allow_earliest, first_slot, last_slot)
        )
        keep = index.has_dropoff[d_ix * grid.ny + d_iy]
        d_offer, d_ix, d_iy, d_to_end = d_offer[keep], d_ix[keep], d_iy[keep], d_to_end[keep]
        d_count = np.bincount(d_offer, minlength=high - low)
        d_first = np.cumsum(d_count) - d_count

        # Probes: each pickup cell with each drop-off cell of its offer that the ellipse admits
        # (|o p| + |p d| + |d e| is at least the sum of the distances between the boxes).
        p_of_probe, d_of_probe = _expand(d_first[p_offer - low], d_count[p_offer - low])
        gap_x = np.abs(p_ix[p_of_probe] - d_ix[d_of_probe]) - 1
        gap_y = np.abs(p_iy[p_of_probe] - d_iy[d_of_probe]) - 1
        np.maximum(gap_x, 0, out=gap_x)
        np.maximum(gap_y, 0, out=gap_y)
        slack = (self.ellipse[p_offer] - p_nearest)[p_of_probe] - d_to_end[d_of_probe]
        keep = np.hypot(gap_x, gap_y) * side <= slack
        p_of_probe, d_of_probe = p_of_probe[keep], d_of_probe[keep]
        bucket = index.bucket_of(
            p_ix[p_of_probe] * grid.ny + p_iy[p_of_probe], d_ix[d_of_probe] * grid.ny + d_iy[d_of_probe]
        )
        keep = bucket >= 0
        p_of_probe, bucket = p_of_probe[keep], bucket[keep]
        bucket *= index.slots
        first = index.start[bucket + first_slot[p_of_probe]]
        counts = index.start[bucket + last_slot[p_of_probe] + 1] - first

        # The probes' pairs, kept when they pass the necessary conditions in book-projection
        # metres: time, the ellipse, then both corridors.
        owner, position = _expand(first, counts)
        pickup_cell = p_of_probe[owner]
        keep = self.sorted_latest[position] >= need_latest[pickup_cell]
        keep &= self.sorted_earliest[position] <= allow_earliest[pickup_cell]
        position, offer = position[keep], p_offer[pickup_cell[keep]]
        px, py, qx, qy = self.px[position], self.py[position], self.qx[position], self.qy[position]
        sx, sy = self.sx[offer], self.sy[offer]
        path = _length(px - sx, py - sy)
        path += _length(qx - px, qy - py)
        path += _length(self.ex[offer] - qx, self.ey[offer] - qy)
        keep = path <= self.ellipse[offer]
        position, offer = position[keep], offer[keep]
        px, py, qx, qy = self.px[position], self.py[position], self.qx[position], self.qy[position]
        sx, sy, ux, uy, length = (
            self.sx[offer],
            self.sy[offer],
            self.ux[offer],
            self.uy[offer],
            self.route_length[offer],
        )
        # The pair's own travel time bounds (from |o p| rather than from the pickup cell).
        to_pickup = np.hypot(px - sx, py - sy)
        position_latest, position_earliest = self.sorted_latest[position], self.sorted_earliest[position]
        keep = (
            position_latest
            >= self.depart_earliest[offer] + np.floor(self.lower * to_pickup / self.kappa / self.speed) - 1
        )
        keep &= (
            position_earliest
            <= self.depart_latest[offer] + np.ceil(self.upper * self.kappa * to_pickup / self.speed) + 1
        )
        for x, y, reach in ((px, py, self.pickup_reach), (qx, qy, self.dropoff_reach)):
            x, y = x - sx, y - sy
            along = x * ux + y * uy
            beyond = np.maximum(np.maximum(-along, along - length), 0.0)
            lateral = x * uy - y * ux
            keep &= beyond * beyond + lateral * lateral <= reach[offer] ** 2
        return index.order[position[keep]], offer[keep]


def _length(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    dx *= dx
    dy *= dy
    dx += dy
    return np.asarray(np.sqrt(dx, out=dx))


def find_candidates(
    requests: Sequence[Request],
    offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
    speed_mps: float = AVERAGE_CITY_SPEED_MPS,
) -> Candidates:
    """All feasible (request, offer) pairs: grid search, then the exact test (`feasible_pairs`)."""
    distance = distance or GreatCircleDistance()
    _unique_ids(requests, "request")
    _unique_ids(offers, "offer")
    parameters = MatchingParameters(pickup_radius_m, dropoff_radius_m, speed_mps)
    request_arrays = RequestArrays(requests, distance)
    offer_arrays = OfferArrays(offers, distance, radii=(pickup_radius_m, dropoff_radius_m))
    return candidates_of(request_arrays, offer_arrays, distance, parameters)


def candidates_of(
    requests: RequestArrays, offers: OfferArrays, distance: DistanceModel, parameters: MatchingParameters
) -> Candidates:
    if len(requests) == 0 or len(offers) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, np.zeros(0), empty, requests.shared, offers.seats)
    request_index, offer_index = _search(requests, offers, distance, parameters)
    request_index, offer_index, detour, pickup_time = feasible_pairs(
        requests, offers, request_index, offer_index, distance, parameters
    )
    order = _candidate_order(request_index, detour, pickup_time, offer_index)
    return Candidates(
        request_index=request_index[order],
        offer_index=offer_index[order],
        detour_metres=detour[order],
        pickup_time=pickup_time[order],
        shared_metres=requests.shared,
        seats=offers.seats,
    )


def _candidate_order(
    request_index: np.ndarray, detour: np.ndarray, pickup_time: np.ndarray, offer_index: np.ndarray
) -> np.ndarray:
    """The permutation sorting pairs by request, then detour, then pickup time, then offer."""
    if len(request_index) == 0:
        return np.zeros(0, dtype=np.int64)
    # One sort on request + detour as a single float (detours are < scale), then a check that the
    # order is exactly the lexicographic one; ties or rounding fall back to the 4-key sort.
    scale = 2.0 ** math.ceil(math.log2(float(detour.max()) + 2.0))
    order = np.argsort(request_index * scale + detour)
    r, d, t, o = request_index[order], detour[order], pickup_time[order], offer_index[order]
    same = r[1:] == r[:-1]
    ordered = (r[1:] > r[:-1]) | (
        same & ((d[1:] > d[:-1]) | ((d[1:] == d[:-1]) & ((t[1:] > t[:-1]) | ((t[1:] == t[:-1]) & (o[1:] > o[:-1])))))
    )
    if ordered.all():
        return order
    return np.lexsort((offer_index, pickup_time, detour, request_index))


# ---------------------------------------------------------------------------------------------
# Matching on the candidate graph


def _assignments(
    requests: Sequence[Request], offers: Sequence[Offer], candidates: Candidates, chosen_edges: Sequence[int]
) -> list[Assignment]:
    chosen = np.sort(np.asarray(chosen_edges, dtype=np.int64))  # edges are sorted by request already
    request_index = candidates.request_index[chosen].tolist()
    offer_index = candidates.offer_index[chosen].tolist()
    shared = candidates.shared_metres[candidates.request_index[chosen]].tolist()
    detour = candidates.detour_metres[chosen].tolist()
    pickup = candidates.pickup_time[chosen].tolist()
    return [
        Assignment(requests[r].id, offers[o].id, s, d, t)
        for r, o, s, d, t in zip(request_index, offer_index, shared, detour, pickup, strict=True)
    ]


def _edge_bounds(candidates: Candidates, request_count: int) -> list[int]:
    return [int(i) for i in np.searchsorted(candidates.request_index, np.arange(request_count + 1))]


def match_candidates(candidates: Candidates, request_count: int) -> list[int]:
    """Maximum-weight seat assignment over candidate edges; returns the chosen edge indices.

    Requests are taken by descending weight (ties: input order); each is placed by a breadth-first
    search for an augmenting path (request -> offer -> a rider of that offer -> another offer ... ->
    a free seat). An offer from which a search found no free seat can never reach one later (every
    rider it holds only has edges into that same closed, full set), so it is marked dead and never
    searched again.
    """
    bounds = _edge_bounds(candidates, request_count)
    edge_offer = candidates.offer_index.tolist()
    free_seats = candidates.seats.tolist()
    offer_count = len(free_seats)
    riders_of: list[list[int]] = [[] for _ in range(offer_count)]  # edges currently chosen, per offer
    chosen_edge = [-1] * request_count
    edge_request = candidates.request_index.tolist()
    dead = [False] * offer_count
    seen = [-1] * offer_count
    reached_by = [-1] * offer_count  # the edge through which the search reached each offer

    has_edges = np.flatnonzero(np.diff(np.asarray(bounds)) > 0)
    weight = candidates.shared_metres[has_edges]
    order = has_edges[np.argsort(-weight, kind="stable")].tolist()
    for request in order:
        first, stop = bounds[request], bounds[request + 1]
        # Fast path: a free seat on a direct candidate (in candidate order: least detour first).
        direct = -1
        for e in range(first, stop):
            if free_seats[edge_offer[e]] > 0:
                direct = e
                break
        if direct >= 0:
            offer = edge_offer[direct]
            free_seats[offer] -= 1
            riders_of[offer].append(direct)
            chosen_edge[request] = direct
            continue
        frontier = []
        for e in range(first, stop):
            offer = edge_offer[e]
            if not dead[offer] and seen[offer] != request:
                seen[offer] = request
                reached_by[offer] = e
                frontier.append(offer)
        free_offer = -1
        position = 0
        while position < len(frontier) and free_offer < 0:
            offer = frontier[position]
            position += 1
            for held in riders_of[offer]:
                rider = edge_request[held]
                for e in range(bounds[rider], bounds[rider + 1]):
                    target = edge_offer[e]
                    if dead[target] or seen[target] == request:
                        continue
                    seen[target] = request
                    reached_by[target] = e
                    if free_seats[target] > 0:
                        free_offer = target
                        break
                    frontier.append(target)
                if free_offer >= 0:
                    break
        if free_offer < 0:
            for offer in frontier:
                dead[offer] = True
            continue
        # Augment: walk back, moving each rider one offer along the path.
        free_seats[free_offer] -= 1
        offer = free_offer
        while True:
            edge = reached_by[offer]
            rider = edge_request[edge]
            previous_edge = chosen_edge[rider]
            riders_of[offer].append(edge)
            chosen_edge[rider] = edge
            if previous_edge < 0:
                break
            offer = edge_offer[previous_edge]
            riders_of[offer].remove(previous_edge)
    return [edge for edge in chosen_edge if edge >= 0]


def match(
    requests: Sequence[Request],
    offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
) -> list[Assignment]:
    """Assign requests to offers maximising total shared metres (optimal; see the module doc)."""
    candidates = find_candidates(
        requests, offers, distance, pickup_radius_m=pickup_radius_m, dropoff_radius_m=dropoff_radius_m
    )
    return _assignments(requests, offers, candidates, match_candidates(candidates, len(requests)))


def match_first_come(
    requests: Sequence[Request],
    offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
) -> list[Assignment]:
    """Baseline: requests in arrival (list) order each take the free feasible offer with the least detour."""
    candidates = find_candidates(
        requests, offers, distance, pickup_radius_m=pickup_radius_m, dropoff_radius_m=dropoff_radius_m
    )
    free_seats = candidates.seats.tolist()
    edge_offer = candidates.offer_index.tolist()
    bounds = _edge_bounds(candidates, len(requests))
    chosen = []
    for request in range(len(requests)):
        for edge in range(bounds[request], bounds[request + 1]):
            if free_seats[edge_offer[edge]] > 0:
                free_seats[edge_offer[edge]] -= 1
                chosen.append(edge)
                break
    return _assignments(requests, offers, candidates, chosen)


def match_optimal(
    requests: Sequence[Request],
    offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
    max_cells: int = MAX_OPTIMAL_CELLS,
) -> list[Assignment]:
    """Reference optimum: linear_sum_assignment on the requests x seats matrix (one column per seat).

    Among optimal solutions it prefers the smallest total detour. Above `max_cells` cells the dense
    matrix gives way to the same problem on a sparse graph (`_optimal_sparse`).
    """
    candidates = find_candidates(
        requests, offers, distance, pickup_radius_m=pickup_radius_m, dropoff_radius_m=dropoff_radius_m
    )
    return _assignments(requests, offers, candidates, optimal_edges(candidates, max_cells=max_cells))


def optimal_edges(candidates: Candidates, *, max_cells: int = MAX_OPTIMAL_CELLS) -> list[int]:
    """The optimum's chosen edges on a candidate graph (see `match_optimal`)."""
    if len(candidates) == 0:
        return []
    # Only requests and offers with at least one candidate edge take part.
    rows, row_of_edge = np.unique(candidates.request_index, return_inverse=True)
    offers_used, offer_of_edge = np.unique(candidates.offer_index, return_inverse=True)
    seat_counts = np.minimum(candidates.seats[offers_used], len(rows))
    first_column = np.concatenate([[0], np.cumsum(seat_counts)[:-1]])
    # Weight in metres dominates; the detour (scaled below one metre in total) breaks ties.
    tie_break = 1e-3 / max(1, len(rows)) / max(1.0, float(candidates.detour_metres.max()))
    score = candidates.shared_metres[candidates.request_index] - tie_break * candidates.detour_metres
    if len(rows) * int(seat_counts.sum()) > max_cells:
        return _optimal_sparse(row_of_edge, offer_of_edge, first_column, seat_counts, score, len(rows))
    profit = np.zeros((len(rows), int(seat_counts.sum())))
    edge_of_cell = np.full(profit.shape, -1, dtype=np.int32)
    for seat in range(int(seat_counts.max())):
        has_seat = seat < seat_counts[offer_of_edge]
        columns = first_column[offer_of_edge[has_seat]] + seat
        profit[row_of_edge[has_seat], columns] = score[has_seat]
        edge_of_cell[row_of_edge[has_seat], columns] = np.flatnonzero(has_seat)
    assigned_rows, assigned_columns = linear_sum_assignment(profit, maximize=True)
    chosen = edge_of_cell[assigned_rows, assigned_columns]
    return [int(i) for i in chosen[chosen >= 0]]


def _optimal_sparse(
    row_of_edge: np.ndarray,
    offer_of_edge: np.ndarray,
    first_column: np.ndarray,
    seat_counts: np.ndarray,
    score: np.ndarray,
    row_count: int,
) -> list[int]:
    """The same optimum on a sparse graph, for sizes whose dense matrix would not fit.

    scipy's `min_weight_full_bipartite_matching` needs every row matched, so each request also gets a
    private "stays unmatched" column. Costs are `ceiling - score` on real seats and `ceiling` on the
    private column: a minimum-cost full matching is then a maximum-score partial one.
    """
    seat_columns = int(seat_counts.sum())
    rows, columns, edges = [], [], []
    for seat in range(int(seat_counts.max())):
        has_seat = np.flatnonzero(seat < seat_counts[offer_of_edge])
        rows.append(row_of_edge[has_seat])
        columns.append(first_column[offer_of_edge[has_seat]] + seat)
        edges.append(has_seat)
    rows.append(np.arange(row_count))
    columns.append(seat_columns + np.arange(row_count))
    edges.append(np.full(row_count, -1))
    row, column, edge = (np.concatenate(parts) for parts in (rows, columns, edges))
    ceiling = float(score.max()) + 1.0
    cost = np.where(edge >= 0, ceiling - score[np.maximum(edge, 0)], ceiling)
    graph = csr_matrix((cost, (row, column)), shape=(row_count, seat_columns + row_count))
    matched_rows, matched_columns = min_weight_full_bipartite_matching(graph)
    # Map each (row, column) choice back to its edge; private columns mean "unmatched".
    cell_key = row.astype(np.int64) * (seat_columns + row_count) + column
    order = np.argsort(cell_key)
    chosen_key = matched_rows.astype(np.int64) * (seat_columns + row_count) + matched_columns
    chosen = edge[order[np.searchsorted(cell_key[order], chosen_key)]]
    return [int(i) for i in chosen[chosen >= 0]]


def total_shared_metres(assignments: Sequence[Assignment]) -> float:
    return float(sum(assignment.shared_metres for assignment in assignments))
