"""Plausible drives inside a region, sampled as GPS traces.

Lyon 3e's streets run roughly on an east-west / north-south grid, so a drive goes along one street,
turns once or twice, and arrives: an L- or Z-shaped path between two points inside the region.
The car moves at city speeds (22-45 km/h, varying per segment) and reports a fix every
`FIX_INTERVAL_SECONDS` with a few metres of GPS noise, as a phone in the car would.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from itertools import pairwise

from coopride.domain.geo import LatLon, haversine_m
from coopride.domain.regions import RegionArea

FIX_INTERVAL_SECONDS = 10
GPS_NOISE_METRES = 3.0
MIN_SPEED_KMH, MAX_SPEED_KMH = 22.0, 45.0
METRES_PER_DEGREE_LAT = 111_320.0
# Keep every point this far inside the region's edge, so that noise never takes a fix outside it.
EDGE_MARGIN = 0.8


@dataclass(frozen=True)
class Route:
    """A path of waypoints (corners included) and its length along the streets."""

    waypoints: tuple[LatLon, ...]

    @property
    def metres(self) -> float:
        return sum(haversine_m(a, b) for a, b in pairwise(self.waypoints))

    def point_at(self, fraction: float) -> LatLon:
        """The point `fraction` (0..1) of the way along the route."""
        target = max(0.0, min(1.0, fraction)) * self.metres
        for a, b in pairwise(self.waypoints):
            leg = haversine_m(a, b)
            if target <= leg and leg > 0:
                share = target / leg
                return LatLon(a.lat + (b.lat - a.lat) * share, a.lon + (b.lon - a.lon) * share)
            target -= leg
        return self.waypoints[-1]

    def between(self, start: float, end: float) -> Route:
        """The part of the route from fraction `start` to fraction `end`."""
        total, walked = self.metres, 0.0
        points = [self.point_at(start)]
        for a, b in pairwise(self.waypoints):
            walked += haversine_m(a, b)
            if start * total < walked < end * total:
                points.append(b)
        points.append(self.point_at(end))
        return Route(tuple(points))


def random_point(rng: random.Random, area: RegionArea) -> LatLon:
    """A point uniformly inside the inner part of the region's disc."""
    radius = area.radius_m * EDGE_MARGIN * math.sqrt(rng.random())
    angle = rng.uniform(0, 2 * math.pi)
    return _offset(area.center, radius * math.cos(angle), radius * math.sin(angle))


def street_route(
    rng: random.Random, area: RegionArea, min_metres: float = 1_200.0, max_metres: float = 4_500.0
) -> Route:
    """A grid-like drive between two random points of the region, `min_metres`..`max_metres` long."""
    for _ in range(200):
        start, end = random_point(rng, area), random_point(rng, area)
        if rng.random() < 0.5:
            corners = [LatLon(start.lat, end.lon)]  # along the east-west street first
        else:
            middle = rng.uniform(0.3, 0.7)
            lat = start.lat + (end.lat - start.lat) * middle
            corners = [LatLon(lat, start.lon), LatLon(lat, end.lon)]  # north, across, north again
        route = Route((start, *corners, end))
        inside = all(haversine_m(area.center, p) <= area.radius_m * EDGE_MARGIN for p in route.waypoints)
        if inside and min_metres <= route.metres <= max_metres:
            return route
    raise ValueError(f"no drive of {min_metres:.0f}-{max_metres:.0f} m fits inside {area.name}")


def gps_trace(rng: random.Random, route: Route, start_time: int) -> list[dict]:
    """Fixes `{t, lat, lon}` every FIX_INTERVAL_SECONDS along `route`, from `start_time`, ending on its last point."""
    fixes, t, travelled = [], start_time, 0.0
    total = route.metres
    speed_kmh = rng.uniform(MIN_SPEED_KMH, MAX_SPEED_KMH)
    while travelled < total:
        point = route.point_at(travelled / total)
        fixes.append(_noisy_fix(rng, t, point))
        speed_kmh = min(MAX_SPEED_KMH, max(MIN_SPEED_KMH, speed_kmh + rng.gauss(0, 4)))
        travelled += speed_kmh / 3.6 * FIX_INTERVAL_SECONDS
        t += FIX_INTERVAL_SECONDS
    fixes.append(_noisy_fix(rng, t, route.waypoints[-1]))
    return fixes


def _noisy_fix(rng: random.Random, t: int, point: LatLon) -> dict:
    noisy = _offset(point, rng.gauss(0, GPS_NOISE_METRES), rng.gauss(0, GPS_NOISE_METRES))
    return {"t": t, "lat": round(noisy.lat, 6), "lon": round(noisy.lon, 6)}


def _offset(point: LatLon, east_m: float, north_m: float) -> LatLon:
    lat = point.lat + north_m / METRES_PER_DEGREE_LAT
    lon = point.lon + east_m / (METRES_PER_DEGREE_LAT * math.cos(math.radians(point.lat)))
    return LatLon(lat, lon)
