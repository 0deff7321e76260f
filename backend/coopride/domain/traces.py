"""GPS trace checks: the verified distance of a trip and why a trace is rejected.

Rules (protocol.md, "Trip checks"; La'Zooz's proof of movement):
- a trace needs at least `min_fixes` fixes with valid coordinates and strictly increasing
  timestamps, otherwise it is rejected;
- a segment faster than `max_speed_kmh` is a jump (spoofing or a GPS glitch): its distance is
  zeroed and recorded, the rest of the trace still counts;
- a segment slower than `min_moving_speed_kmh` is receiver drift while standing still: its distance
  is zeroed too (not a fraud signal, so the trace is not rejected for it);
- the first and last fixes must lie within `max_endpoint_gap_m` of the booked pickup and drop-off;
- a trace with no verified distance is rejected.

Distance is the sum of the haversine lengths of the kept segments, with no circuity factor: fixes
are sampled along the roads actually driven.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from eth_utils import keccak

from .geo import LatLon, haversine_m, validate_latlon

DEFAULT_MAX_SPEED_KMH = 200.0
DEFAULT_MIN_MOVING_SPEED_KMH = 2.0
DEFAULT_MIN_FIXES = 3
DEFAULT_MAX_ENDPOINT_GAP_M = 300.0

EXPLANATIONS = {
    "invalid_coordinate": "A fix has a timestamp or coordinate that is not a valid unix time or latitude/longitude.",
    "too_few_fixes": "The trace has fewer fixes than a trip needs to be checked.",
    "out_of_order": "Fix timestamps are not strictly increasing (out of order or duplicated).",
    "speed_jump": "At least one segment is faster than the speed limit; its distance was not counted.",
    "stationary_drift": "Some segments were slower than walking pace (GPS drift while stopped); not counted.",
    "pickup_far_from_booking": "The first fix is too far from the booked pickup point.",
    "dropoff_far_from_booking": "The last fix is too far from the booked drop-off point.",
    "zero_distance": "No distance could be verified from the trace.",
}
REJECTING_REASONS = frozenset(
    {
        "invalid_coordinate",
        "too_few_fixes",
        "out_of_order",
        "pickup_far_from_booking",
        "dropoff_far_from_booking",
        "zero_distance",
    }
)


@dataclass(frozen=True)
class Fix:
    t: int
    lat: float
    lon: float


@dataclass(frozen=True)
class TraceCheck:
    """Outcome of `check_trace`.

    `verified_metres` is what the kept segments measure, even when the trace is rejected (so a
    driver can see why); only an accepted trace may back a receipt.
    `verified_metres + zeroed_metres` is the raw length of the trace (rounded down each).
    """

    verified_metres: int
    zeroed_metres: int
    start_time: int | None
    end_time: int | None
    accepted: bool
    reasons: tuple[str, ...]

    @property
    def explanations(self) -> tuple[str, ...]:
        return tuple(EXPLANATIONS[reason] for reason in self.reasons)


def _fix_problem(fix: Fix) -> str | None:
    if isinstance(fix.t, bool) or not isinstance(fix.t, int) or not 0 <= fix.t < 2**40:
        return f"t must be an int unix time in [0, 2**40), got {fix.t!r}"
    try:
        validate_latlon(fix.lat, fix.lon)
    except ValueError as error:
        return str(error)
    return None


def canonical_trace_bytes(fixes: Iterable[Fix]) -> bytes:
    """The canonical encoding of docs/design.md: `"{t},{lat:.6f},{lon:.6f}"` joined by `";"`, UTF-8."""
    parts = []
    for index, fix in enumerate(fixes):
        problem = _fix_problem(fix)
        if problem:
            raise ValueError(f"fix {index}: {problem}")
        parts.append(f"{fix.t},{fix.lat:.6f},{fix.lon:.6f}")
    return ";".join(parts).encode("utf-8")


def trace_hash(fixes: Iterable[Fix]) -> bytes:
    """keccak-256 of the canonical trace: the `traceHash` of a trip receipt (32 bytes)."""
    return keccak(canonical_trace_bytes(fixes))


def _rejected(reason: str) -> TraceCheck:
    return TraceCheck(0, 0, None, None, False, (reason,))


def check_trace(
    fixes: Sequence[Fix],
    *,
    pickup: LatLon | None = None,
    dropoff: LatLon | None = None,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    min_fixes: int = DEFAULT_MIN_FIXES,
    min_moving_speed_kmh: float = DEFAULT_MIN_MOVING_SPEED_KMH,
    max_endpoint_gap_m: float = DEFAULT_MAX_ENDPOINT_GAP_M,
) -> TraceCheck:
    """Check a GPS trace against the booking and measure its verified distance."""
    fixes = list(fixes)
    if any(_fix_problem(fix) for fix in fixes):
        return _rejected("invalid_coordinate")
    if len(fixes) < max(2, min_fixes):
        return _rejected("too_few_fixes")

    reasons: list[str] = []
    if any(later.t <= earlier.t for earlier, later in pairwise(fixes)):
        reasons.append("out_of_order")

    max_speed_mps = max_speed_kmh / 3.6
    min_speed_mps = min_moving_speed_kmh / 3.6
    kept = zeroed = 0.0
    jumped = drifted = False
    for earlier, later in pairwise(fixes):
        length = haversine_m((earlier.lat, earlier.lon), (later.lat, later.lon))
        seconds = later.t - earlier.t
        if seconds <= 0:  # already reported as out_of_order
            zeroed += length
        elif length > max_speed_mps * seconds:
            zeroed += length
            jumped = True
        elif length < min_speed_mps * seconds:
            zeroed += length
            drifted = drifted or length > 0
        else:
            kept += length
    if jumped:
        reasons.append("speed_jump")
    if drifted:
        reasons.append("stationary_drift")

    first, last = fixes[0], fixes[-1]
    if pickup is not None and haversine_m(pickup, (first.lat, first.lon)) > max_endpoint_gap_m:
        reasons.append("pickup_far_from_booking")
    if dropoff is not None and haversine_m(dropoff, (last.lat, last.lon)) > max_endpoint_gap_m:
        reasons.append("dropoff_far_from_booking")

    verified_metres = math.floor(kept)
    if verified_metres == 0:
        reasons.append("zero_distance")
    return TraceCheck(
        verified_metres=verified_metres,
        zeroed_metres=math.floor(zeroed),
        start_time=first.t,
        end_time=last.t,
        accepted=not REJECTING_REASONS.intersection(reasons),
        reasons=tuple(reasons),
    )
