"""Assign ride requests to drivers' offers, maximising the shared kilometres.

A request can ride with an offer when
- its pickup lies within `pickup_radius_m` and its drop-off within `dropoff_radius_m` of the offer's
  route (the straight line origin -> destination, great-circle metres);
- the detour d(o, pickup) + d(pickup, dropoff) + d(dropoff, destination) - d(o, destination), in
  road metres from the `DistanceModel`, is at most the offer's `max_detour_m`;
- some departure in the offer's window reaches the pickup (at AVERAGE_CITY_SPEED_MPS) inside the
  request's window; the earliest such pickup time is reported.

Simplification: each rider is checked against the offer alone; riders sharing an offer are not
routed together (their detours are not summed). The offer's seats bound how many ride with it.

The objective is the total trip distance of the riders served. Its weight depends only on the
request, so the sets of requests that can be served together form a transversal matroid and
the matroid greedy is optimal: take requests by descending distance and keep each one for which an
augmenting path (moving already-placed riders to other feasible offers) frees a seat.
`match_optimal` solves the same problem with scipy's linear_sum_assignment as a cross-check;
`match_first_come` is the baseline that seats requests in arrival order and never reshuffles.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching
from scipy.spatial import cKDTree

from .geo import AVERAGE_CITY_SPEED_MPS, DistanceModel, GreatCircleDistance, LatLon, Projection, validate_latlon

DEFAULT_PICKUP_RADIUS_M = 2_000.0
DEFAULT_DROPOFF_RADIUS_M = 2_000.0
# Time pruning needs an upper bound of road / great-circle distance; models that do not expose
# `circuity` are assumed to stay under this.
DEFAULT_CIRCUITY_BOUND = 2.0
# linear_sum_assignment works on a dense requests x seats matrix; refuse sizes beyond this.
MAX_OPTIMAL_CELLS = 16_000_000


@dataclass(frozen=True)
class Offer:
    id: object
    origin: LatLon
    destination: LatLon
    depart_earliest: int
    depart_latest: int
    seats: int
    max_detour_m: float

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
    """Every feasible (request, offer) pair, as parallel arrays sorted by request then detour."""

    request_index: np.ndarray
    offer_index: np.ndarray
    detour_metres: np.ndarray
    pickup_time: np.ndarray
    shared_metres: np.ndarray  # per request: its trip distance, the weight of serving it
    seats: np.ndarray  # per offer

    def __len__(self) -> int:
        return len(self.request_index)


def _unique_ids(items: Sequence, kind: str) -> None:
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{kind} ids must be unique")


def _points(items: Sequence, field: str) -> np.ndarray:
    return np.array([getattr(item, field) for item in items], dtype=float).reshape(-1, 2)


def _distance_to_segments(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each point to its segment and the position along it (metres from the start)."""
    direction = ends - starts
    length = np.hypot(direction[:, 0], direction[:, 1])
    safe_length = np.where(length > 0, length, 1.0)
    along = np.clip(np.einsum("ij,ij->i", points - starts, direction) / safe_length, 0.0, length)
    closest = starts + direction * (along / safe_length)[:, None]
    return np.hypot(*(points - closest).T), along


def find_candidates(
    requests: Sequence[Request],
    offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
    speed_mps: float = AVERAGE_CITY_SPEED_MPS,
) -> Candidates:
    """All feasible (request, offer) pairs: spatial and temporal search, then exact checks."""
    distance = distance or GreatCircleDistance()
    _unique_ids(requests, "request")
    _unique_ids(offers, "offer")
    if not (pickup_radius_m > 0 and dropoff_radius_m > 0):
        raise ValueError("pickup_radius_m and dropoff_radius_m must be > 0")
    pickups, dropoffs = _points(requests, "origin"), _points(requests, "destination")
    starts, ends = _points(offers, "origin"), _points(offers, "destination")
    shared = distance.road_metres_array(pickups, dropoffs) if requests else np.zeros(0)
    seats = np.array([offer.seats for offer in offers], dtype=np.int64)
    if not requests or not offers:
        empty = np.zeros(0, dtype=np.int64)
        return Candidates(empty, empty, np.zeros(0), empty, shared, seats)

    projection = Projection(LatLon(*np.concatenate([pickups, starts]).mean(axis=0)))
    pickup_xy, dropoff_xy = projection.to_xy(pickups), projection.to_xy(dropoffs)
    start_xy, end_xy = projection.to_xy(starts), projection.to_xy(ends)

    # Sample each route every `step` metres; a pickup within the radius of the route lies within
    # `reach` of the sample nearest to its projection on the route.
    step = pickup_radius_m
    route_length = np.hypot(*(end_xy - start_xy).T)
    intervals = np.maximum(1, np.ceil(route_length / step)).astype(np.int64)
    sample_offer = np.repeat(np.arange(len(offers)), intervals + 1)
    first_sample = np.concatenate([[0], np.cumsum(intervals + 1)[:-1]])
    sample_rank = np.arange(len(sample_offer)) - first_sample[sample_offer]
    fraction = sample_rank / intervals[sample_offer]
    sample_xy = start_xy[sample_offer] + (end_xy - start_xy)[sample_offer] * fraction[:, None]
    sample_along = route_length[sample_offer] * fraction
    reach = math.hypot(pickup_radius_m, step / 2) * 1.01

    # Time as a third axis: the rider's window midpoint against the moment the offer's window
    # midpoint passes the sample. For a feasible pair, the windows [e_o + T, l_o + T] and
    # [e_r, l_r] overlap, where T = road(o, pickup) / speed; with s the sample's distance from the
    # origin and road metres between 1x and c x the straight line (c = circuity bound),
    # (s - reach) / v <= T <= c (s + reach) / v, hence
    # |mid_r - (mid_o + (1 + c) s / 2v)| <= half_o + half_r + ((c - 1) s + 2 c reach) / 2v.
    # The 2 % and 60 s margins absorb the projection's error and the rounding of T to seconds.
    circuity = float(getattr(distance, "circuity", DEFAULT_CIRCUITY_BOUND))
    offer_mid = np.array([(o.depart_earliest + o.depart_latest) / 2 for o in offers])
    offer_half = np.array([(o.depart_latest - o.depart_earliest) / 2 for o in offers])
    request_mid = np.array([(r.earliest + r.latest) / 2 for r in requests])
    request_half = np.array([(r.latest - r.earliest) / 2 for r in requests])
    sample_time = offer_mid[sample_offer] + (1 + circuity) / 2 * sample_along / speed_mps
    time_tolerance = (
        offer_half.max()
        + request_half.max()
        + ((circuity - 1) * sample_along.max() + 2 * circuity * reach) / (2 * speed_mps)
    ) * 1.02 + 60
    time_scale = reach / time_tolerance
    sample_tree = cKDTree(np.column_stack([sample_xy, sample_time * time_scale]))
    request_tree = cKDTree(np.column_stack([pickup_xy, request_mid * time_scale]))
    pairs = request_tree.sparse_distance_matrix(sample_tree, reach, p=np.inf, output_type="ndarray")
    request_index, sample_index = pairs["i"].astype(np.int64), pairs["j"].astype(np.int64)
    offer_index = sample_offer[sample_index]

    # The tree searched a box with the loosest tolerances; apply each pair's own.
    pair_tolerance = (
        offer_half[offer_index]
        + request_half[request_index]
        + ((circuity - 1) * sample_along[sample_index] + 2 * circuity * reach) / (2 * speed_mps)
    ) * 1.02 + 60
    offset = pickup_xy[request_index] - sample_xy[sample_index]
    keep = (np.abs(request_mid[request_index] - sample_time[sample_index]) <= pair_tolerance) & (
        np.einsum("ij,ij->i", offset, offset) <= reach * reach
    )
    request_index, sample_index, offer_index = request_index[keep], sample_index[keep], offer_index[keep]

    # Exact corridor checks; keep one sample per (request, offer): the one nearest the pickup's
    # projection on the route.
    safe_length = np.maximum(route_length[offer_index], 1e-9)
    pickup_along = np.clip(
        np.einsum("ij,ij->i", pickup_xy[request_index] - start_xy[offer_index], (end_xy - start_xy)[offer_index])
        / safe_length,
        0.0,
        route_length[offer_index],
    )
    keep = sample_rank[sample_index] == np.rint(pickup_along / safe_length * intervals[offer_index])
    request_index, offer_index = request_index[keep], offer_index[keep]
    pickup_gap, _ = _distance_to_segments(pickup_xy[request_index], start_xy[offer_index], end_xy[offer_index])
    keep = pickup_gap <= pickup_radius_m
    request_index, offer_index = request_index[keep], offer_index[keep]
    dropoff_gap, _ = _distance_to_segments(dropoff_xy[request_index], start_xy[offer_index], end_xy[offer_index])
    keep = dropoff_gap <= dropoff_radius_m
    request_index, offer_index = request_index[keep], offer_index[keep]

    # Exact detour and time windows in road metres.
    to_pickup = distance.road_metres_array(starts[offer_index], pickups[request_index])
    from_dropoff = distance.road_metres_array(dropoffs[request_index], ends[offer_index])
    direct = distance.road_metres_array(starts, ends)
    detour = np.maximum(0.0, to_pickup + shared[request_index] + from_dropoff - direct[offer_index])
    max_detour = np.array([offer.max_detour_m for offer in offers])
    travel_seconds = np.ceil(to_pickup / speed_mps).astype(np.int64)
    depart_earliest = np.array([o.depart_earliest for o in offers], dtype=np.int64)
    depart_latest = np.array([o.depart_latest for o in offers], dtype=np.int64)
    earliest = np.array([r.earliest for r in requests], dtype=np.int64)
    latest = np.array([r.latest for r in requests], dtype=np.int64)
    pickup_time = np.maximum(depart_earliest[offer_index] + travel_seconds, earliest[request_index])
    last_pickup = np.minimum(depart_latest[offer_index] + travel_seconds, latest[request_index])
    keep = (detour <= max_detour[offer_index]) & (pickup_time <= last_pickup)

    order = np.lexsort((detour[keep], request_index[keep]))
    return Candidates(
        request_index=request_index[keep][order],
        offer_index=offer_index[keep][order],
        detour_metres=detour[keep][order],
        pickup_time=pickup_time[keep][order],
        shared_metres=shared,
        seats=seats,
    )


def _assignments(
    requests: Sequence[Request], offers: Sequence[Offer], candidates: Candidates, chosen_edges: Sequence[int]
) -> list[Assignment]:
    chosen = sorted(chosen_edges, key=lambda edge: candidates.request_index[edge])
    return [
        Assignment(
            request_id=requests[candidates.request_index[edge]].id,
            offer_id=offers[candidates.offer_index[edge]].id,
            shared_metres=float(candidates.shared_metres[candidates.request_index[edge]]),
            detour_metres=float(candidates.detour_metres[edge]),
            pickup_time=int(candidates.pickup_time[edge]),
        )
        for edge in chosen
    ]


def _edges_by_request(candidates: Candidates, request_count: int) -> list[range]:
    bounds = np.searchsorted(candidates.request_index, np.arange(request_count + 1))
    return [range(start, end) for start, end in pairwise(bounds.tolist())]


def match_candidates(candidates: Candidates, request_count: int) -> list[int]:
    """Maximum-weight seat assignment over candidate edges; returns the chosen edge indices.

    Requests are taken by descending weight; each is placed by a breadth-first search for an
    augmenting path (request -> offer -> a rider of that offer -> another offer ... -> a free seat).
    An offer from which a search found no free seat can never reach one later (every rider it holds
    only has edges into that same closed, full set), so it is marked dead and never searched again.
    """
    edges_of = _edges_by_request(candidates, request_count)
    edge_offer = candidates.offer_index.tolist()
    free_seats = candidates.seats.tolist()
    offer_count = len(free_seats)
    riders_of: list[list[int]] = [[] for _ in range(offer_count)]  # edges currently chosen, per offer
    chosen_edge = [-1] * request_count
    edge_request = candidates.request_index.tolist()
    dead = [False] * offer_count
    seen = [-1] * offer_count
    reached_by = [-1] * offer_count  # the edge through which the search reached each offer

    weight = candidates.shared_metres.tolist()
    order = sorted((r for r in range(request_count) if edges_of[r]), key=lambda r: -weight[r])
    for request in order:
        # Fast path: a free seat on a direct candidate (lowest detour first).
        direct = next((e for e in edges_of[request] if free_seats[edge_offer[e]] > 0), -1)
        if direct >= 0:
            offer = edge_offer[direct]
            free_seats[offer] -= 1
            riders_of[offer].append(direct)
            chosen_edge[request] = direct
            continue
        frontier = []
        for e in edges_of[request]:
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
                for e in edges_of[edge_request[held]]:
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
    chosen = []
    for edges in _edges_by_request(candidates, len(requests)):
        edge = next((e for e in edges if free_seats[edge_offer[e]] > 0), -1)
        if edge >= 0:
            free_seats[edge_offer[edge]] -= 1
            chosen.append(edge)
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
        chosen = _optimal_sparse(row_of_edge, offer_of_edge, first_column, seat_counts, score, len(rows))
        return _assignments(requests, offers, candidates, chosen)
    profit = np.zeros((len(rows), int(seat_counts.sum())))
    edge_of_cell = np.full(profit.shape, -1, dtype=np.int32)
    for seat in range(int(seat_counts.max())):
        has_seat = seat < seat_counts[offer_of_edge]
        columns = first_column[offer_of_edge[has_seat]] + seat
        profit[row_of_edge[has_seat], columns] = score[has_seat]
        edge_of_cell[row_of_edge[has_seat], columns] = np.flatnonzero(has_seat)
    assigned_rows, assigned_columns = linear_sum_assignment(profit, maximize=True)
    chosen = edge_of_cell[assigned_rows, assigned_columns]
    return _assignments(requests, offers, candidates, chosen[chosen >= 0].tolist())


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
    edge_at = {(int(r), int(c)): int(e) for r, c, e in zip(row, column, edge, strict=True) if e >= 0}
    return [edge_at[(int(r), int(c))] for r, c in zip(matched_rows, matched_columns, strict=True) if c < seat_columns]


def total_shared_metres(assignments: Sequence[Assignment]) -> float:
    return float(sum(assignment.shared_metres for assignment in assignments))
