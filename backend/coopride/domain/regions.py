"""Map coordinates to the region ids the RideLedger knows.

The chain only knows region ids (uint32); the backend decides which region a point belongs to.
Regions here are discs (centre + radius), enough for the genesis regions; a point inside several
discs belongs to the one with the nearest centre, so overlapping discs split along the bisector.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .geo import LatLon, haversine_m, validate_latlon

MAX_REGION_ID = 2**32 - 1


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


# The genesis regions registered by scripts/deploy.py.
LYON_3E = RegionArea(1, "Lyon 3e arrondissement", LatLon(45.7597, 4.8422), 2_500.0)
VILLEURBANNE = RegionArea(2, "Villeurbanne", LatLon(45.7719, 4.8902), 3_000.0)
DEFAULT_REGION_MAP = RegionMap([LYON_3E, VILLEURBANNE])
