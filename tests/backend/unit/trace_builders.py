"""Trace builders shared by the domain unit tests (plain Python, no chain)."""

from __future__ import annotations

import math

from coopride.domain.geo import EARTH_RADIUS_M, LatLon
from coopride.domain.traces import Fix

BELLECOUR = LatLon(45.7578, 4.8320)


def straight_trace(start: LatLon = BELLECOUR, *, fixes: int = 10, step_m: float = 100.0, step_s: int = 10, t0: int = 1_800_000_000):
    """Fixes heading due north at `step_m` metres every `step_s` seconds."""
    metres_per_degree_lat = math.radians(1) * EARTH_RADIUS_M
    return [Fix(t0 + i * step_s, start.lat + i * step_m / metres_per_degree_lat, start.lon) for i in range(fixes)]
