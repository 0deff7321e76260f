"""Map coordinates to the region ids the RideLedger knows.

The chain only knows region ids (uint32); the backend decides which region a point belongs to.
Regions here are discs (centre + radius), enough for the genesis regions; a point inside several
discs belongs to the one with the nearest centre (`RegionMap.boundary` draws the outline that follows).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from .geo import EARTH_RADIUS_M, LatLon, Projection, haversine_m, validate_latlon

MAX_REGION_ID = 2**32 - 1
# Vertices of the polygon that stands for a region's disc: 72 (one every 5 degrees) keeps the polygon within
# radius * (1 - cos(2.5 deg)), under 0.1 %, of the circle (2.4 m for a 2.5 km region).
BOUNDARY_VERTICES = 72


@dataclass(frozen=True)
class RegionArea:
    region_id: int
    name: str
    center: LatLon
    radius_m: float

    def __post_init__(self):
        if (
            isinstance(self.region_id, bool)
            or not isinstance(self.region_id, int)
            or not 0 < self.region_id <= MAX_REGION_ID
        ):
            raise ValueError(f"region_id must be an int in [1, {MAX_REGION_ID}], got {self.region_id!r}")
        if not self.name:
            raise ValueError("region name must not be empty")
        object.__setattr__(self, "center", validate_latlon(*self.center))
        if not self.radius_m > 0:
            raise ValueError(f"radius_m must be > 0, got {self.radius_m!r}")


class RegionMap:
    def __init__(self, areas: Iterable[RegionArea]):
        self.areas = tuple(areas)
        ids = [area.region_id for area in self.areas]
        duplicates = sorted({region_id for region_id in ids if ids.count(region_id) > 1})
        if duplicates:
            raise ValueError(f"duplicate region ids: {duplicates}")
        self._by_id = {area.region_id: area for area in self.areas}

    def region_of(self, point: LatLon) -> int | None:
        """The id of the region containing `point`, or None when it lies in no region."""
        point = validate_latlon(*point)
        best_id, best_distance = None, float("inf")
        for area in self.areas:
            distance = haversine_m(area.center, point)
            if distance <= area.radius_m and distance < best_distance:
                best_id, best_distance = area.region_id, distance
        return best_id

    def area(self, region_id: int) -> RegionArea:
        try:
            return self._by_id[region_id]
        except KeyError:
            raise KeyError(f"unknown region id {region_id}") from None

    def __contains__(self, region_id: object) -> bool:
        return region_id in self._by_id

    def boundary(self, region_id: int, vertices: int = BOUNDARY_VERTICES) -> list[list[list[LatLon]]]:
        """The outline of the points `region_of` gives to `region_id`, as GeoJSON-style polygons: each a list of
        closed rings (first point = last point), the exterior counterclockwise, then any holes clockwise.

        The region is its disc minus, for each overlapping region, the points of that region's disc nearer its
        centre. Between equal discs that is a cut along the bisector; a larger disc keeps the rim beyond a smaller
        neighbour's circle, and a disc inside another leaves a hole. Discs are polygons of `vertices` points on
        their circles, so a ring lies within radius * (1 - cos(180 deg / vertices)) of the true outline. An empty
        list when every point of the disc goes to neighbours. Raises `KeyError` for an unknown region."""
        area = self.area(region_id)
        projection = Projection(area.center)

        def disc(other: RegionArea) -> Polygon:
            return Polygon(projection.to_xy(np.array(circle(other.center, other.radius_m, vertices))))

        outline: BaseGeometry = disc(area)
        reach = 4 * max(other.radius_m for other in self.areas)  # beyond any disc that can overlap this one
        for other in self.areas:
            if other.region_id == region_id or haversine_m(area.center, other.center) >= area.radius_m + other.radius_m:
                continue
            x, y = projection.to_xy(np.array([other.center]))[0]
            length = math.hypot(x, y)
            if length == 0:  # same centre: region_of keeps the first listed, so the later one loses all of it
                if self.areas.index(other) < self.areas.index(area):
                    outline = outline.difference(disc(other))
                continue
            ux, uy = x / length, y / length
            # The half-plane of points nearer the other centre: beyond the bisector at length / 2 along (ux, uy).
            near_other = Polygon(
                [
                    (ux * length / 2 - uy * reach, uy * length / 2 + ux * reach),
                    (ux * length / 2 + uy * reach, uy * length / 2 - ux * reach),
                    (ux * (length / 2 + reach) + uy * reach, uy * (length / 2 + reach) - ux * reach),
                    (ux * (length / 2 + reach) - uy * reach, uy * (length / 2 + reach) + ux * reach),
                ]
            )
            outline = outline.difference(disc(other).intersection(near_other))
        pieces = [orient(piece, sign=1.0) for piece in getattr(outline, "geoms", [outline]) if piece.area > 0]
        return [
            [self._ring(projection, ring.coords) for ring in (piece.exterior, *piece.interiors)] for piece in pieces
        ]

    @staticmethod
    def _ring(projection: Projection, coords: Sequence[Sequence[float]]) -> list[LatLon]:
        return [LatLon(float(lat), float(lon)) for lat, lon in projection.to_latlon(np.array(coords))]


def circle(center: LatLon, radius_m: float, vertices: int = BOUNDARY_VERTICES) -> list[LatLon]:
    """`vertices` points at `radius_m` (great-circle distance) from `center`, counterclockwise from due east."""
    if vertices < 3:
        raise ValueError(f"a polygon needs at least 3 vertices, got {vertices}")
    lat1, lon1 = math.radians(center.lat), math.radians(center.lon)
    angular = radius_m / EARTH_RADIUS_M
    points = []
    for index in range(vertices):
        bearing = math.radians(90.0 - 360.0 * index / vertices)  # east, then north: counterclockwise on a map
        lat2 = math.asin(math.sin(lat1) * math.cos(angular) + math.cos(lat1) * math.sin(angular) * math.cos(bearing))
        lon2 = lon1 + math.atan2(
            math.sin(bearing) * math.sin(angular) * math.cos(lat1), math.cos(angular) - math.sin(lat1) * math.sin(lat2)
        )
        points.append(LatLon(math.degrees(lat2), math.degrees(lon2)))
    return points


# The genesis regions registered by scripts/deploy.py.
LYON_3E = RegionArea(1, "Lyon 3e arrondissement", LatLon(45.7597, 4.8422), 2_500.0)
VILLEURBANNE = RegionArea(2, "Villeurbanne", LatLon(45.7719, 4.8902), 3_000.0)
DEFAULT_REGION_MAP = RegionMap([LYON_3E, VILLEURBANNE])
