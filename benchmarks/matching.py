"""Matching benchmark: a synthetic day in a 20 x 20 km city centred on Lyon.

Run with `make bench-matching` (or `python benchmarks/matching.py [--sizes 500x250,2000x1000] [--repeats 3]`).
Prints a table and writes benchmarks/results/matching.json.

How it measures:
- one core: the process pins itself to one CPU (`os.sched_setaffinity`, Linux) and the numeric
  libraries' thread pools to one thread before numpy is imported; `seconds` is the best of
  `--repeats` wall-clock runs of `match` (perf_counter), `cpu_seconds` the process CPU time of that
  same run (process_time), which other processes on a shared machine disturb less;
- a baseline in the same run, on the same input: `legacy_match`, the previous candidate search
  (route samples in a cKDTree over x, y and time; kept verbatim below, commit 459bd7f) with the
  same greedy, best of `--repeats` too, up to 10,000 x 5,000 (at city scale it needs about 125 s
  and more than 20 GB, and was killed for memory on this machine); and first-come
  (`match_first_come`, on the new candidate search), at every size;
- `peak_memory_mb`: the peak of numpy's and Python's allocations during one more run of `match`,
  traced by tracemalloc (not timed);
- the reference optimum: `match_optimal`, scipy's `linear_sum_assignment` on the dense requests x
  seats matrix where it fits, else `min_weight_full_bipartite_matching` on the sparse candidate
  graph (from 10,000 x 5,000 on; at city scale it takes about 100 s and 2 GB).
  `gap_to_optimal` is (optimum - matched) / optimum. With `--lp-bound`, also the linear relaxation
  on the sparse candidate graph with HiGHS (`scipy.optimize.linprog`), an upper bound of the
  optimum that is independent of scipy's matching code (equal to the optimum: the constraint
  matrix of a bipartite b-matching is totally unimodular; about 4 minutes at city scale);
- incremental arrivals on the batch-matched city: the time of `match_arriving_request` and
  `match_arriving_offer` per arrival, given the candidates a box query on the offers' footprints
  returns (the query itself is simulated with numpy and not timed).
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Sequence  # noqa: E402

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from scipy.optimize import linprog  # noqa: E402
from scipy.sparse import csr_matrix, vstack  # noqa: E402
from scipy.spatial import cKDTree  # noqa: E402

from coopride.domain import matching as matching_module  # noqa: E402
from coopride.domain.geo import AVERAGE_CITY_SPEED_MPS, DistanceModel, GreatCircleDistance, LatLon, Projection  # noqa: E402
from coopride.domain.incremental import match_arriving_offer, match_arriving_request, offer_footprints  # noqa: E402
from coopride.domain.matching import (  # noqa: E402
    DEFAULT_DROPOFF_RADIUS_M,
    DEFAULT_PICKUP_RADIUS_M,
    Candidates,
    Offer,
    Request,
    find_candidates,
    match,
    match_candidates,
    match_first_come,
    match_optimal,
    total_shared_metres,
)

CITY_CENTRE = LatLon(45.7600, 4.8500)
CITY_HALF_SIZE_M = 10_000
DAY_START = 1_800_000_000  # 06:00 of the simulated day
SERVICE_SECONDS = 16 * 3600  # 06:00-22:00
RESULTS = Path(__file__).with_name("results") / "matching.json"
DEFAULT_SIZES = [(500, 250), (2000, 1000), (10_000, 5_000), (100_000, 50_000)]
# From this many requests on, incremental arrivals are timed.
CITY_SCALE = 50_000
# The legacy baseline runs up to this many requests (beyond, it needs tens of GB).
LEGACY_MAX_REQUESTS = 10_000
INCREMENTAL_ARRIVALS = 500


def _trip_endpoints(rng: np.random.Generator, count: int, projection: Projection) -> tuple[np.ndarray, np.ndarray]:
    """Origins denser towards the centre; trip lengths 2-15 km (log-normal, median ~5 km)."""
    origins = np.empty((count, 2))
    destinations = np.empty((count, 2))
    filled = 0
    while filled < count:
        batch = 2 * (count - filled)
        start = rng.normal(0, CITY_HALF_SIZE_M / 2, (batch, 2))
        length = rng.lognormal(np.log(5_000), 0.55, batch)
        heading = rng.uniform(0, 2 * np.pi, batch)
        end = start + length[:, None] * np.column_stack([np.cos(heading), np.sin(heading)])
        inside = (
            (np.abs(start) <= CITY_HALF_SIZE_M).all(axis=1)
            & (np.abs(end) <= CITY_HALF_SIZE_M).all(axis=1)
            & (length >= 2_000)
            & (length <= 15_000)
        )
        taken = min(count - filled, int(inside.sum()))
        origins[filled : filled + taken] = start[inside][:taken]
        destinations[filled : filled + taken] = end[inside][:taken]
        filled += taken
    return projection.to_latlon(origins), projection.to_latlon(destinations)


def _departure_times(rng: np.random.Generator, count: int) -> np.ndarray:
    """Two rush hours (08:00 and 18:00, sd 45 min) carry 60 % of trips; the rest spread over the day."""
    peak = rng.choice([2 * 3600, 12 * 3600], count) + rng.normal(0, 45 * 60, count)
    flat = rng.uniform(0, SERVICE_SECONDS, count)
    seconds = np.where(rng.random(count) < 0.6, peak, flat)
    return DAY_START + np.clip(seconds, 0, SERVICE_SECONDS).astype(np.int64)


def synthetic_city(request_count: int, offer_count: int, seed: int = 2026) -> tuple[list[Request], list[Offer]]:
    rng = np.random.default_rng(seed)
    projection = Projection(CITY_CENTRE)
    origins, destinations = _trip_endpoints(rng, request_count, projection)
    earliest = _departure_times(rng, request_count)
    window = rng.integers(10 * 60, 30 * 60, request_count, endpoint=True)
    requests = [
        Request(f"r{i}", LatLon(*origins[i]), LatLon(*destinations[i]), int(earliest[i]), int(earliest[i] + window[i]))
        for i in range(request_count)
    ]
    origins, destinations = _trip_endpoints(rng, offer_count, projection)
    depart = _departure_times(rng, offer_count)
    flexibility = rng.integers(5 * 60, 20 * 60, offer_count, endpoint=True)
    seats = rng.choice([1, 2, 3, 4], offer_count, p=[0.3, 0.35, 0.25, 0.1])
    max_detour = rng.uniform(1_000, 4_000, offer_count)
    offers = [
        Offer(
            f"o{j}",
            LatLon(*origins[j]),
            LatLon(*destinations[j]),
            int(depart[j]),
            int(depart[j] + flexibility[j]),
            int(seats[j]),
            float(max_detour[j]),
        )
        for j in range(offer_count)
    ]
    return requests, offers


# ---------------------------------------------------------------------------------------------
# The baseline: the previous candidate search, verbatim (commit 459bd7f)


def _legacy_points(items: Sequence, field: str) -> np.ndarray:
    return np.array([getattr(item, field) for item in items], dtype=float).reshape(-1, 2)


def _legacy_distance_to_segments(points: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    direction = ends - starts
    length = np.hypot(direction[:, 0], direction[:, 1])
    safe_length = np.where(length > 0, length, 1.0)
    along = np.clip(np.einsum("ij,ij->i", points - starts, direction) / safe_length, 0.0, length)
    closest = starts + direction * (along / safe_length)[:, None]
    return np.hypot(*(points - closest).T), along


def legacy_find_candidates(
    requests: Sequence[Request],
    offers: Sequence[Offer],
    distance: DistanceModel | None = None,
    *,
    pickup_radius_m: float = DEFAULT_PICKUP_RADIUS_M,
    dropoff_radius_m: float = DEFAULT_DROPOFF_RADIUS_M,
    speed_mps: float = AVERAGE_CITY_SPEED_MPS,
) -> Candidates:
    """The previous candidate search, verbatim: route samples in a cKDTree (x, y, time), then exact checks."""
    distance = distance or GreatCircleDistance()
    matching_module._unique_ids(requests, "request")
    matching_module._unique_ids(offers, "offer")
    if not (pickup_radius_m > 0 and dropoff_radius_m > 0):
        raise ValueError("pickup_radius_m and dropoff_radius_m must be > 0")
    pickups, dropoffs = _legacy_points(requests, "origin"), _legacy_points(requests, "destination")
    starts, ends = _legacy_points(offers, "origin"), _legacy_points(offers, "destination")
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
    circuity = float(getattr(distance, "circuity", matching_module.DEFAULT_CIRCUITY_BOUND))
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
        np.einsum("ij,ij->i", pickup_xy[request_index] - start_xy[offer_index], (end_xy - start_xy)[offer_index]) / safe_length,
        0.0,
        route_length[offer_index],
    )
    keep = sample_rank[sample_index] == np.rint(pickup_along / safe_length * intervals[offer_index])
    request_index, offer_index = request_index[keep], offer_index[keep]
    pickup_gap, _ = _legacy_distance_to_segments(pickup_xy[request_index], start_xy[offer_index], end_xy[offer_index])
    keep = pickup_gap <= pickup_radius_m
    request_index, offer_index = request_index[keep], offer_index[keep]
    dropoff_gap, _ = _legacy_distance_to_segments(dropoff_xy[request_index], start_xy[offer_index], end_xy[offer_index])
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



def legacy_match(requests, offers, distance):
    candidates = legacy_find_candidates(requests, offers, distance)
    return matching_module._assignments(requests, offers, candidates, match_candidates(candidates, len(requests)))


# ---------------------------------------------------------------------------------------------
# Measuring


def _pin_to_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core} (sched_setaffinity), thread pools at 1"
    return "thread pools at 1 (no CPU affinity on this platform)"


def _best_of(repeats: int, function, *arguments):
    """(result, best wall seconds, CPU seconds of that run)."""
    best = (None, math.inf, math.inf)
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = function(*arguments)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best[1]:
            best = (result, wall, cpu)
    return best


def lp_upper_bound(candidates: Candidates, request_count: int) -> float:
    """Maximum shared metres of the linear relaxation (HiGHS): an upper bound of the optimum."""
    edges = len(candidates)
    if edges == 0:
        return 0.0
    columns = np.arange(edges)
    per_request = csr_matrix((np.ones(edges), (candidates.request_index, columns)), shape=(request_count, edges))
    per_offer = csr_matrix((np.ones(edges), (candidates.offer_index, columns)), shape=(len(candidates.seats), edges))
    result = linprog(
        -candidates.shared_metres[candidates.request_index],
        A_ub=vstack([per_request, per_offer]).tocsr(),
        b_ub=np.concatenate([np.ones(request_count), candidates.seats.astype(float)]),
        bounds=(0, 1),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"linprog failed: {result.message}")
    return -float(result.fun)


def _percentile_us(samples: list[float], q: float) -> float:
    return round(float(np.percentile(samples, q)) * 1e6, 1)


def incremental_arrivals(requests, offers, assignments, distance, count: int, seed: int = 7) -> dict:
    """Time the incremental primitives on the batch-matched book (candidates from a box query)."""
    matched = {a.request_id for a in assignments}
    taken: dict = {}
    for a in assignments:
        taken[a.offer_id] = taken.get(a.offer_id, 0) + 1
    open_requests = [r for r in requests if r.id not in matched]
    free_offers = [
        Offer(o.id, o.origin, o.destination, o.depart_earliest, o.depart_latest, o.seats - taken.get(o.id, 0), o.max_detour_m)
        for o in offers
        if o.seats > taken.get(o.id, 0)
    ]
    footprint = np.array(
        [
            (f.pickup_box.min_lat, f.pickup_box.max_lat, f.pickup_box.min_lon, f.pickup_box.max_lon,
             f.dropoff_box.min_lat, f.dropoff_box.max_lat, f.dropoff_box.min_lon, f.dropoff_box.max_lon, f.pickup_from, f.pickup_until)
            for f in offer_footprints(free_offers, distance)
        ]
    )
    request_points = np.array([(*r.origin, *r.destination, r.earliest, r.latest) for r in open_requests])
    arriving_requests, arriving_offers = synthetic_city(count, count, seed=seed)
    request_seconds, request_candidates, request_matched = [], [], 0
    for arriving in arriving_requests:
        (lat, lon), (dlat, dlon) = arriving.origin, arriving.destination
        hits = np.flatnonzero(
            (footprint[:, 0] <= lat) & (lat <= footprint[:, 1]) & (footprint[:, 2] <= lon) & (lon <= footprint[:, 3])
            & (footprint[:, 4] <= dlat) & (dlat <= footprint[:, 5]) & (footprint[:, 6] <= dlon) & (dlon <= footprint[:, 7])
            & (footprint[:, 8] <= arriving.latest) & (arriving.earliest <= footprint[:, 9])
        )
        candidates = [free_offers[i] for i in hits]
        started = time.perf_counter()
        result = match_arriving_request(arriving, candidates, distance)
        request_seconds.append(time.perf_counter() - started)
        request_candidates.append(len(candidates))
        request_matched += result is not None
    offer_seconds, offer_candidates, riders_seated = [], [], 0
    for arriving, box in zip(arriving_offers, offer_footprints(arriving_offers, distance)):
        p, d = box.pickup_box, box.dropoff_box
        hits = np.flatnonzero(
            (p.min_lat <= request_points[:, 0]) & (request_points[:, 0] <= p.max_lat)
            & (p.min_lon <= request_points[:, 1]) & (request_points[:, 1] <= p.max_lon)
            & (d.min_lat <= request_points[:, 2]) & (request_points[:, 2] <= d.max_lat)
            & (d.min_lon <= request_points[:, 3]) & (request_points[:, 3] <= d.max_lon)
            & (request_points[:, 5] >= box.pickup_from) & (request_points[:, 4] <= box.pickup_until)
        )
        candidates = [open_requests[i] for i in hits]
        started = time.perf_counter()
        seated = match_arriving_offer(arriving, candidates, distance)
        offer_seconds.append(time.perf_counter() - started)
        offer_candidates.append(len(candidates))
        riders_seated += len(seated)
    return {
        "open_requests": len(open_requests),
        "offers_with_free_seats": len(free_offers),
        "arrivals": count,
        "request_arrival_us_p50": _percentile_us(request_seconds, 50),
        "request_arrival_us_p99": _percentile_us(request_seconds, 99),
        "request_candidates_mean": round(float(np.mean(request_candidates)), 1),
        "requests_matched": request_matched,
        "offer_arrival_us_p50": _percentile_us(offer_seconds, 50),
        "offer_arrival_us_p99": _percentile_us(offer_seconds, 99),
        "offer_candidates_mean": round(float(np.mean(offer_candidates)), 1),
        "riders_seated": riders_seated,
    }


def run(request_count: int, offer_count: int, *, repeats: int = 3, lp_bound: bool = False) -> dict:
    requests, offers = synthetic_city(request_count, offer_count)
    distance = GreatCircleDistance()
    assignments, seconds, cpu_seconds = _best_of(repeats, match, requests, offers, distance)
    city_scale = request_count >= CITY_SCALE
    tracemalloc.start()
    match(requests, offers, distance)
    peak_memory_mb = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    legacy = None
    if request_count <= LEGACY_MAX_REQUESTS:
        legacy, legacy_seconds, legacy_cpu_seconds = _best_of(repeats, legacy_match, requests, offers, distance)
    greedy, greedy_seconds, greedy_cpu_seconds = _best_of(repeats, match_first_come, requests, offers, distance)
    candidates = find_candidates(requests, offers, distance)
    shared_km = total_shared_metres(assignments) / 1000
    optimal, optimal_seconds, _ = _best_of(1, match_optimal, requests, offers, distance)
    optimal_km = total_shared_metres(optimal) / 1000
    row = {
        "requests": request_count,
        "offers": offer_count,
        "seconds": round(seconds, 4),
        "cpu_seconds": round(cpu_seconds, 4),
        "peak_memory_mb": round(peak_memory_mb, 1),
        "legacy_seconds": None if legacy is None else round(legacy_seconds, 4),
        "legacy_cpu_seconds": None if legacy is None else round(legacy_cpu_seconds, 4),
        "speedup_vs_legacy": None if legacy is None else round(legacy_seconds / seconds, 1),
        "matched": len(assignments),
        "shared_km": round(shared_km, 3),
        "legacy_shared_km": None if legacy is None else round(total_shared_metres(legacy) / 1000, 3),
        "optimal_shared_km": round(optimal_km, 3),
        "optimal_seconds": round(optimal_seconds, 3),
        "gap_to_optimal": round((optimal_km - shared_km) / optimal_km, 6) if optimal_km else 0.0,
        "greedy_shared_km": round(total_shared_metres(greedy) / 1000, 3),
        "greedy_matched": len(greedy),
        "greedy_seconds": round(greedy_seconds, 4),
        "greedy_cpu_seconds": round(greedy_cpu_seconds, 4),
        "matched_share": round(len(assignments) / request_count, 4),
        "mean_detour_m": round(float(np.mean([a.detour_metres for a in assignments])) if assignments else 0.0, 1),
        "candidate_pairs": len(candidates),
        "seats": int(sum(offer.seats for offer in offers)),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
    }
    if lp_bound:
        started = time.perf_counter()
        lp_km = lp_upper_bound(candidates, request_count) / 1000
        row["lp_bound_km"] = round(lp_km, 3)
        row["lp_bound_seconds"] = round(time.perf_counter() - started, 1)
        # The solver's tolerance can put the bound a hair under the integer optimum.
        row["gap_to_lp_bound"] = round(max(0.0, (lp_km - shared_km) / lp_km), 6) if lp_km else 0.0
    if city_scale:
        row["incremental"] = incremental_arrivals(requests, offers, assignments, distance, INCREMENTAL_ARRIVALS)
    return row


def _table(runs: list[dict], repeats: int) -> Table:
    table = Table(title=f"Matching: synthetic Lyon day (one core; match best of {repeats})")
    headers = ("requests x offers", "seconds", "cpu s", "first-come s", "legacy s", "speedup", "peak MB", "matched", "shared km", "first-come km", "optimal km", "gap")
    for header in headers:
        table.add_column(header, justify="right")
    for r in runs:
        table.add_row(
            f"{r['requests']:,} x {r['offers']:,}",
            f"{r['seconds']:.3f}",
            f"{r['cpu_seconds']:.3f}",
            f"{r['greedy_seconds']:.3f}",
            "n/a" if r["legacy_seconds"] is None else f"{r['legacy_seconds']:.3f}",
            "n/a" if r["speedup_vs_legacy"] is None else f"{r['speedup_vs_legacy']:.1f}x",
            f"{r['peak_memory_mb']:,.0f}",
            f"{r['matched_share']:.1%}",
            f"{r['shared_km']:,.1f}",
            f"{r['greedy_shared_km']:,.1f}",
            f"{r['optimal_shared_km']:,.1f}",
            f"{r['gap_to_optimal']:.4%}",
        )
    return table


def _commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(f"{n}x{m}" for n, m in DEFAULT_SIZES), help="e.g. 500x250,2000x1000")
    parser.add_argument("--repeats", type=int, default=3, help="runs of match per size; the best counts")
    parser.add_argument("--lp-bound", action="store_true", help="also solve the LP relaxation with HiGHS (minutes at city scale)")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    sizes = [tuple(int(part) for part in size.split("x")) for size in arguments.sizes.split(",")]
    pinning = _pin_to_one_core()
    load_before = round(os.getloadavg()[0], 2)
    runs = []
    for n, m in sizes:
        runs.append(run(n, m, repeats=arguments.repeats, lp_bound=arguments.lp_bound))
        print(f"{n} x {m}: {runs[-1]['seconds']:.3f} s (first-come {runs[-1]['greedy_seconds']:.3f} s, legacy {runs[-1]['legacy_seconds']} s)", flush=True)
    Console(width=160).print(_table(runs, arguments.repeats))
    for r in runs:
        if "incremental" in r:
            i = r["incremental"]
            print(
                f"incremental on the matched {r['requests']:,} x {r['offers']:,} book: request arrival p50 {i['request_arrival_us_p50']:.0f} us,"
                f" p99 {i['request_arrival_us_p99']:.0f} us ({i['request_candidates_mean']:.0f} candidates);"
                f" offer arrival p50 {i['offer_arrival_us_p50']:.0f} us, p99 {i['offer_arrival_us_p99']:.0f} us ({i['offer_candidates_mean']:.0f} candidates)"
            )
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "numpy": np.__version__,
                "commit": _commit(),
                "measured": time.strftime("%Y-%m-%d"),
                "single_core": pinning,
                "repeats": arguments.repeats,
                # Other processes on the machine inflate the wall-clock timings; this records how busy it was.
                "load_average_1min": load_before,
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {arguments.output}")


if __name__ == "__main__":
    main()
