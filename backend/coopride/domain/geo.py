"""Coordinates, great-circle distances and a local metric projection.

Distances are in metres throughout. The road network is not modelled here: `DistanceModel` is the
seam where a real router (OSRM, Valhalla) can be plugged in later; until then
`GreatCircleDistance` scales the haversine distance by a circuity factor.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean Earth radius

# Door-to-door average of urban car trips including stops at lights (European city centres
# measure 20-30 km/h); used to estimate when a driver can reach a pickup.
AVERAGE_CITY_SPEED_MPS = 25_000 / 3600


class LatLon(NamedTuple):
    lat: float
    lon: float


def validate_latlon(lat: float, lon: float) -> LatLon:
    """Return the point as a `LatLon`, or raise `ValueError` saying what is wrong with it."""
    for name, value in (("lat", lat), ("lon", lon)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"lat must be within [-90, 90] degrees, got {lat}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"lon must be within [-180, 180] degrees, got {lon}")
    return LatLon(float(lat), float(lon))


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two points, in metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def haversine_m_array(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise great-circle distances (metres) between two `(n, 2)` arrays of (lat, lon) degrees."""
    a = np.radians(np.asarray(a, dtype=float))
    b = np.radians(np.asarray(b, dtype=float))
    dlat = b[..., 0] - a[..., 0]
    dlon = b[..., 1] - a[..., 1]
    h = np.sin(dlat / 2) ** 2 + np.cos(a[..., 0]) * np.cos(b[..., 0]) * np.sin(dlon / 2) ** 2
    distances: np.ndarray = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(h)))
    return distances


class Projection:
    """Local equirectangular projection: (lat, lon) degrees to (x east, y north) metres.

    Accurate to well under 1 % within a few tens of kilometres of the origin, which is all a
    city-scale spatial index needs.
    """

    def __init__(self, origin: LatLon):
        self.origin = LatLon(float(origin[0]), float(origin[1]))
        self._metres_per_degree_lat = math.radians(1) * EARTH_RADIUS_M
        self._metres_per_degree_lon = self._metres_per_degree_lat * math.cos(math.radians(self.origin.lat))

    def to_xy(self, points: np.ndarray) -> np.ndarray:
        """Project an `(n, 2)` array of (lat, lon) to an `(n, 2)` array of (x, y) metres."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        xy = np.empty_like(points)
        xy[:, 0] = (points[:, 1] - self.origin.lon) * self._metres_per_degree_lon
        xy[:, 1] = (points[:, 0] - self.origin.lat) * self._metres_per_degree_lat
        return xy

    def to_latlon(self, xy: np.ndarray) -> np.ndarray:
        """Inverse of `to_xy`."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        points = np.empty_like(xy)
        points[:, 0] = self.origin.lat + xy[:, 1] / self._metres_per_degree_lat
        points[:, 1] = self.origin.lon + xy[:, 0] / self._metres_per_degree_lon
        return points


@runtime_checkable
class DistanceModel(Protocol):
    """Road distance between points, in metres."""

    def road_metres(self, a: LatLon, b: LatLon) -> float: ...

    def road_metres_array(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Element-wise road distances between two `(n, 2)` arrays of (lat, lon)."""
        ...


class GreatCircleDistance:
    """Road distance estimated as the great-circle distance times a circuity factor.

    Circuity (road distance / great-circle distance) measured on urban networks is typically
    1.2-1.4 (Boscoe et al. 2012 report ~1.2-1.3 for US cities; dense European centres run higher);
    1.3 is the middle of that range. With `circuity=1` this is plain haversine.
    """

    def __init__(self, circuity: float = 1.3):
        if not math.isfinite(circuity) or circuity < 1.0:
            raise ValueError(f"circuity must be a finite number >= 1, got {circuity}")
        self.circuity = float(circuity)

    def road_metres(self, a: LatLon, b: LatLon) -> float:
        return self.circuity * haversine_m(a, b)

    def road_metres_array(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return self.circuity * haversine_m_array(a, b)

    def __repr__(self) -> str:
        return f"GreatCircleDistance(circuity={self.circuity})"
