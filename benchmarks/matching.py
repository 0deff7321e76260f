"""Matching benchmark: a synthetic day in a 20 x 20 km city centred on Lyon.

Run with `make bench-matching` (or `python benchmarks/matching.py [--sizes 500x250,2000x1000]`).
Prints a table and writes benchmarks/results/matching.json. One core: the thread pools of the
numeric libraries are pinned to one thread before numpy is imported.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"):
    os.environ[_variable] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from coopride.domain.geo import GreatCircleDistance, LatLon, Projection  # noqa: E402
from coopride.domain.matching import (  # noqa: E402
    Offer,
    Request,
    find_candidates,
    match,
    match_first_come,
    match_optimal,
    total_shared_metres,
)

CITY_CENTRE = LatLon(45.7600, 4.8500)
CITY_HALF_SIZE_M = 10_000
DAY_START = 1_800_000_000  # 06:00 of the simulated day
SERVICE_SECONDS = 16 * 3600  # 06:00-22:00
RESULTS = Path(__file__).with_name("results") / "matching.json"
DEFAULT_SIZES = [(500, 250), (2000, 1000), (10_000, 5_000)]


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


def _timed(function, *arguments):
    started = time.perf_counter()
    result = function(*arguments)
    return result, time.perf_counter() - started


def run(request_count: int, offer_count: int, *, repeats: int = 3) -> dict:
    requests, offers = synthetic_city(request_count, offer_count)
    distance = GreatCircleDistance()
    best_seconds = float("inf")
    for _ in range(repeats):
        assignments, seconds = _timed(match, requests, offers, distance)
        best_seconds = min(best_seconds, seconds)
    candidates = find_candidates(requests, offers, distance)
    greedy, greedy_seconds = _timed(match_first_come, requests, offers, distance)
    optimal, optimal_seconds = _timed(match_optimal, requests, offers, distance)
    optimal_km = total_shared_metres(optimal) / 1000
    shared_km = total_shared_metres(assignments) / 1000
    return {
        "requests": request_count,
        "offers": offer_count,
        "seconds": round(best_seconds, 4),
        "matched": len(assignments),
        "shared_km": round(shared_km, 3),
        "optimal_shared_km": None if optimal_km is None else round(optimal_km, 3),
        "greedy_shared_km": round(total_shared_metres(greedy) / 1000, 3),
        "matched_share": round(len(assignments) / request_count, 4),
        "greedy_matched": len(greedy),
        "mean_detour_m": round(float(np.mean([a.detour_metres for a in assignments])) if assignments else 0.0, 1),
        "gap_to_optimal": None if not optimal_km else round((optimal_km - shared_km) / optimal_km, 6),
        "candidate_pairs": len(candidates),
        "seats": int(sum(offer.seats for offer in offers)),
        "greedy_seconds": round(greedy_seconds, 4),
        "optimal_seconds": None if optimal_seconds is None else round(optimal_seconds, 3),
    }


def _table(runs: list[dict]) -> Table:
    table = Table(title="Matching: synthetic Lyon day (one core, best of 3 for match)")
    for header in ("requests", "offers", "seconds", "matched share", "shared km", "mean detour m", "greedy km", "optimal km", "gap to optimal"):
        table.add_column(header, justify="right")
    for r in runs:
        table.add_row(
            str(r["requests"]),
            str(r["offers"]),
            f"{r['seconds']:.3f}",
            f"{r['matched_share']:.1%}",
            f"{r['shared_km']:,.1f}",
            f"{r['mean_detour_m']:,.0f}",
            f"{r['greedy_shared_km']:,.1f}",
            "n/a" if r["optimal_shared_km"] is None else f"{r['optimal_shared_km']:,.1f}",
            "n/a" if r["gap_to_optimal"] is None else f"{r['gap_to_optimal']:.4%}",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(f"{n}x{m}" for n, m in DEFAULT_SIZES), help="e.g. 500x250,2000x1000")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    sizes = [tuple(int(part) for part in size.split("x")) for size in arguments.sizes.split(",")]
    runs = [run(n, m) for n, m in sizes]
    Console(width=140).print(_table(runs))
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "python": platform.python_version(),
                # Other processes on the machine inflate the timings; this records how busy it was.
                "load_average_1min": round(os.getloadavg()[0], 2),
                "runs": runs,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {arguments.output}")


if __name__ == "__main__":
    main()
