"""GPS trace checks: the verified distance of a trip and why a trace is rejected.

Rules (protocol.md, "Trip checks"; La'Zooz's proof of movement):
- a trace needs at least `min_fixes` fixes with valid coordinates and strictly increasing
  timestamps, otherwise it is rejected;
- a segment faster than `max_speed_kmh` is a jump (spoofing or a GPS glitch): its distance is
  zeroed and recorded, the rest of the trace still counts;
- a segment slower than `min_moving_speed_kmh` is receiver drift while standing still: its distance
  is zeroed too (not a fraud signal, so the trace is not rejected for it);
- movement is credited only once it gets somewhere: from the last credited fix (the anchor), the trace
  earns the straight distance to the first fix at least `min_displacement_m` away, and nothing for the
  fixes in between. A parked car whose GPS wanders within that radius earns nothing, whatever its fixes'
  speeds; a wander of more than `min_displacement_m` that never got that far is `stationary_drift`;
- a step (anchor to the next credited fix) that holds a jump, or a fix out of order, earns nothing; a
  single fix whose two segments are both jumps (a spike) is left out of the steps, so that such a
  glitch never moves the anchor: adding one never adds distance;
- the first and last fixes must lie within `max_endpoint_gap_m` of the booked pickup and drop-off;
- a trace with no verified distance is rejected.

Distance is the sum of the haversine lengths of the credited steps, with no circuity factor: fixes
are sampled along the roads actually driven (a step cuts a corner by at most `min_displacement_m`).

Beside `check_trace`: `check_booking_on_trace` (a booked pickup and drop-off lie on a trace in space and
time) and `time_spans_overlap` (two trips' time spans overlap).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from eth_utils import keccak

from .geo import LatLon, Projection, haversine_m, validate_latlon

DEFAULT_MAX_SPEED_KMH = 200.0
DEFAULT_MIN_MOVING_SPEED_KMH = 2.0
DEFAULT_MIN_FIXES = 3
DEFAULT_MAX_ENDPOINT_GAP_M = 300.0
# Phone GPS wanders by 5-20 m around a parked car, rarely 30 m: a step shorter than this earns nothing.
DEFAULT_MIN_DISPLACEMENT_M = 50.0
# How far a booked time (the recorded pickup, the ride's end) may lie from the trace's clocks.
DEFAULT_TIME_TOLERANCE_S = 60

EXPLANATIONS = {
    "invalid_coordinate": "A fix has a timestamp or coordinate that is not a valid unix time or latitude/longitude.",
    "too_few_fixes": "The trace has fewer fixes than a trip needs to be checked.",
    "out_of_order": "Fix timestamps are not strictly increasing (out of order or duplicated).",
    "speed_jump": "At least one segment is faster than the speed limit; its distance was not counted.",
    "stationary_drift": "Some fixes were GPS drift while stopped (slower than walking pace, or wandering without "
    "getting anywhere); not counted.",
    "pickup_far_from_booking": "The first fix is too far from the booked pickup point.",
    "dropoff_far_from_booking": "The last fix is too far from the booked drop-off point.",
    "zero_distance": "No distance could be verified from the trace.",
    # check_booking_on_trace
    "pickup_not_on_trace": "The trace never passes within the tolerance of the booked pickup point.",
    "dropoff_not_on_trace": "The trace never passes within the tolerance of the booked drop-off point.",
    "pickup_outside_trace_time": "The recorded pickup time lies outside the trace's time span.",
    "dropoff_outside_trace_time": "The recorded drop-off time lies outside the trace's time span.",
    "pickup_not_on_trace_at_pickup_time": "The trace is not at the pickup point around the recorded pickup time.",
    "dropoff_not_on_trace_at_dropoff_time": "The trace is not at the drop-off point around the recorded drop-off time.",
    "dropoff_before_pickup": "On the trace, the drop-off comes before the pickup.",
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


def _steps_out(fixes: Sequence[Fix], max_speed_mps: float) -> list[bool]:
    """Which fixes are spikes: an inner fix whose segments in and out are both jumps (a one-fix GPS glitch)."""

    def jump(earlier: Fix, later: Fix) -> bool:
        seconds = later.t - earlier.t
        return seconds > 0 and haversine_m((earlier.lat, earlier.lon), (later.lat, later.lon)) > max_speed_mps * seconds

    spikes = [False] * len(fixes)
    for index in range(1, len(fixes) - 1):
        spikes[index] = jump(fixes[index - 1], fixes[index]) and jump(fixes[index], fixes[index + 1])
    return spikes


def check_trace(
    fixes: Sequence[Fix],
    *,
    pickup: LatLon | None = None,
    dropoff: LatLon | None = None,
    max_speed_kmh: float = DEFAULT_MAX_SPEED_KMH,
    min_fixes: int = DEFAULT_MIN_FIXES,
    min_moving_speed_kmh: float = DEFAULT_MIN_MOVING_SPEED_KMH,
    max_endpoint_gap_m: float = DEFAULT_MAX_ENDPOINT_GAP_M,
    min_displacement_m: float = DEFAULT_MIN_DISPLACEMENT_M,
) -> TraceCheck:
    """Check a GPS trace against the booking and measure its verified distance (module docstring: the rules)."""
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

    def where(fix: Fix) -> tuple[float, float]:
        return (fix.lat, fix.lon)

    raw = 0.0
    jumped = drifted = False
    for earlier, later in pairwise(fixes):
        length = haversine_m(where(earlier), where(later))
        raw += length
        seconds = later.t - earlier.t
        if seconds > 0 and length > max_speed_mps * seconds:
            jumped = True
        elif seconds > 0 and length < min_speed_mps * seconds and length > 0:
            drifted = True

    # Steps over the fixes, spikes left out: a spike's place is taken by the segment that bridges it, judged as
    # any segment but never credited, so that the anchor moves exactly as it would without the spike.
    spikes = _steps_out(fixes, max_speed_mps)
    path = [index for index, spike in enumerate(spikes) if not spike]
    credited = 0.0
    anchor = path[0]
    spoiled = False  # the current step holds a jump, a bridged spike or a fix out of order
    pending = 0.0  # moving metres since the anchor
    wandered = 0.0  # moving metres dropped without getting `min_displacement_m` anywhere
    for before, index in pairwise(path):
        earlier, later = fixes[before], fixes[index]
        length = haversine_m(where(earlier), where(later))
        seconds = later.t - earlier.t
        if seconds > 0 and length <= max_speed_mps * seconds and length < min_speed_mps * seconds:
            # Standing still: what moved since the anchor got nowhere; start again from here.
            wandered += pending
            anchor, spoiled, pending = index, False, 0.0
            continue
        if seconds <= 0 or length > max_speed_mps * seconds or index != before + 1:
            spoiled = True
        else:
            pending += length
        reach = haversine_m(where(fixes[anchor]), where(later))
        if reach >= min_displacement_m:
            if not spoiled:
                credited += reach
            anchor, spoiled, pending = index, False, 0.0
    wandered += pending
    if wandered > min_displacement_m:
        drifted = True

    if jumped:
        reasons.append("speed_jump")
    if drifted:
        reasons.append("stationary_drift")

    first, last = fixes[0], fixes[-1]
    if pickup is not None and haversine_m(pickup, where(first)) > max_endpoint_gap_m:
        reasons.append("pickup_far_from_booking")
    if dropoff is not None and haversine_m(dropoff, where(last)) > max_endpoint_gap_m:
        reasons.append("dropoff_far_from_booking")

    verified_metres = math.floor(credited)
    if verified_metres == 0:
        reasons.append("zero_distance")
    return TraceCheck(
        verified_metres=verified_metres,
        zeroed_metres=math.floor(max(0.0, raw - credited)),
        start_time=first.t,
        end_time=last.t,
        accepted=not REJECTING_REASONS.intersection(reasons),
        reasons=tuple(reasons),
    )


# ------------------------------------------------------------------------------ a booking on a trace
@dataclass(frozen=True)
class BookingCheck:
    """Outcome of `check_booking_on_trace`. `pickup_at`/`dropoff_at`: the moments (unix seconds, interpolated) the
    trace is at the pickup and at the drop-off (None when it never is); `reason` is the first of `reasons`."""

    accepted: bool
    reasons: tuple[str, ...]
    pickup_at: float | None
    dropoff_at: float | None

    @property
    def reason(self) -> str | None:
        return self.reasons[0] if self.reasons else None

    @property
    def explanations(self) -> tuple[str, ...]:
        return tuple(EXPLANATIONS[reason] for reason in self.reasons)


def passages(fixes: Sequence[Fix], point: LatLon, tolerance_m: float) -> list[tuple[float, float]]:
    """The time intervals (unix seconds, in order) during which the trace, moving in a straight line at constant
    speed between fixes, lies within `tolerance_m` of `point`. Fixes must have increasing times."""
    projection = Projection(point)
    xy = projection.to_xy(np.array([(fix.lat, fix.lon) for fix in fixes], dtype=float))
    found: list[tuple[float, float]] = []
    for index, (earlier, later) in enumerate(pairwise(fixes)):
        (ax, ay), (bx, by) = xy[index], xy[index + 1]
        dx, dy = bx - ax, by - ay
        # |A + u (B - A)|^2 <= r^2 for u in [0, 1]: a u^2 + b u + c <= 0.
        a, b, c = dx * dx + dy * dy, 2 * (ax * dx + ay * dy), ax * ax + ay * ay - tolerance_m**2
        if a == 0:
            if c > 0:
                continue
            low, high = 0.0, 1.0
        else:
            discriminant = b * b - 4 * a * c
            if discriminant < 0:
                continue
            root = math.sqrt(discriminant)
            low, high = max(0.0, (-b - root) / (2 * a)), min(1.0, (-b + root) / (2 * a))
            if low > high:
                continue
        seconds = later.t - earlier.t
        start, end = earlier.t + low * seconds, earlier.t + high * seconds
        if found and start <= found[-1][1]:
            found[-1] = (found[-1][0], max(found[-1][1], end))
        else:
            found.append((start, end))
    return found


def _near_in_time(intervals: Sequence[tuple[float, float]], moment: int, tolerance_s: float) -> float | None:
    """The moment of `intervals` nearest `moment`, if within `tolerance_s` of it."""
    best: float | None = None
    for start, end in intervals:
        nearest = min(max(float(moment), start), end)
        if abs(nearest - moment) <= tolerance_s and (best is None or abs(nearest - moment) < abs(best - moment)):
            best = nearest
    return best


def check_booking_on_trace(
    fixes: Sequence[Fix],
    pickup: LatLon,
    dropoff: LatLon | None,
    *,
    pickup_time: int | None = None,
    dropoff_time: int | None = None,
    tolerance_m: float = DEFAULT_MAX_ENDPOINT_GAP_M,
    time_tolerance_s: float = DEFAULT_TIME_TOLERANCE_S,
    min_fixes: int = DEFAULT_MIN_FIXES,
) -> BookingCheck:
    """Do a booked pickup and drop-off lie on the trace, anywhere along it (a driver may pick up on the way)?

    In space: the trace (straight between fixes) passes within `tolerance_m` of each point. In time: the pickup
    comes before the drop-off (the first passage at the pickup starts before the last passage at the drop-off
    ends), and a recorded `pickup_time`/`dropoff_time` lies within the trace's time span (give or take
    `time_tolerance_s`) at a moment the trace is at that point (within `time_tolerance_s`). `dropoff` None: the
    ride ended away from the booked drop-off (cut short), only the pickup is placed, and `dropoff_time` (the ride's
    end, if given) must still lie in the trace's span, after the pickup. An invalid trace gives the reason
    `check_trace` gives. Pure: never raises for a bad trace."""
    fixes = list(fixes)
    if any(_fix_problem(fix) for fix in fixes):
        return BookingCheck(False, ("invalid_coordinate",), None, None)
    if len(fixes) < max(2, min_fixes):
        return BookingCheck(False, ("too_few_fixes",), None, None)
    if any(later.t <= earlier.t for earlier, later in pairwise(fixes)):
        return BookingCheck(False, ("out_of_order",), None, None)
    start, end = fixes[0].t, fixes[-1].t
    reasons: list[str] = []

    def within_span(moment: int) -> bool:
        return start - time_tolerance_s <= moment <= end + time_tolerance_s

    pickup_at = dropoff_at = None
    at_pickup = passages(fixes, pickup, tolerance_m)
    if not at_pickup:
        reasons.append("pickup_not_on_trace")
    elif pickup_time is None:
        pickup_at = at_pickup[0][0]
    elif not within_span(pickup_time):
        reasons.append("pickup_outside_trace_time")
    else:
        pickup_at = _near_in_time(at_pickup, pickup_time, time_tolerance_s)
        if pickup_at is None:
            reasons.append("pickup_not_on_trace_at_pickup_time")

    if dropoff is not None:
        at_dropoff = passages(fixes, dropoff, tolerance_m)
        if not at_dropoff:
            reasons.append("dropoff_not_on_trace")
        elif dropoff_time is None:
            dropoff_at = at_dropoff[-1][1]
        elif not within_span(dropoff_time):
            reasons.append("dropoff_outside_trace_time")
        else:
            dropoff_at = _near_in_time(at_dropoff, dropoff_time, time_tolerance_s)
            if dropoff_at is None:
                reasons.append("dropoff_not_on_trace_at_dropoff_time")
    elif dropoff_time is not None:
        if within_span(dropoff_time):
            dropoff_at = float(min(max(dropoff_time, start), end))
        else:
            reasons.append("dropoff_outside_trace_time")

    recorded_backwards = pickup_time is not None and dropoff_time is not None and pickup_time >= dropoff_time
    driven_backwards = pickup_at is not None and dropoff_at is not None and pickup_at >= dropoff_at
    if recorded_backwards or driven_backwards:
        reasons.append("dropoff_before_pickup")
    return BookingCheck(not reasons, tuple(reasons), pickup_at, dropoff_at)


# ------------------------------------------------------------------------------ time spans
def time_spans_overlap(first: tuple[int, int], second: tuple[int, int]) -> bool:
    """Whether two trips' time spans `(start_time, end_time)` (unix seconds) overlap: some moment lies strictly
    inside both as half-open spans `[start, end)`. Spans that only touch (one ends when the next starts: a driver
    may end a trip and start the next on the same fix) do not overlap; an empty span overlaps nothing.
    Raises `ValueError` for a span that ends before it starts."""
    for start, end in (first, second):
        if end < start:
            raise ValueError(f"a time span ends at or after its start, got ({start}, {end})")
    return max(first[0], second[0]) < min(first[1], second[1])
