"""A region's figures: its phase and members from the chain, its trips from the database."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from coopride.domain.geo import LatLon
from coopride.domain.regions import RegionArea
from coopride.models.enums import RegionPhase
from coopride.schemas.types import FareAmount, ShareAmount


class RegionStats(BaseModel):
    region_id: int
    name: str | None
    phase: RegionPhase = Field(description='"bootstrap" or "operating" (chain)')
    members: int = Field(description="members registered in the region (chain)")
    critical_mass: int = Field(description="members needed to switch to operating (chain)")
    fare_per_km: FareAmount = Field(description="fare-token base units per km (chain)")
    trips_logged: int = Field(description="non-void trips in the database")
    trips_settled: int = Field(description="trips settled on chain (a count)")
    metres_verified: int = Field(description="metres the logged trips' traces verified")
    metres_shared: int = Field(description="metres driven with a rider (verified)")
    metres_settled: int = Field(description="metres of the settled trips")
    shares_minted: ShareAmount = Field(description="share-token base units minted by this region's settled trips")
    fees_to_treasury: FareAmount = Field(
        description="fare-token base units the region's settled fares paid to the treasury"
    )
    treasury_balance: FareAmount = Field(
        description="fare-token base units in the cooperative's whole treasury, all regions (chain)"
    )


# ------------------------------------------------------------------ boundaries (GeoJSON, RFC 7946)
Position = tuple[float, float]


class BoundaryGeometry(BaseModel):
    """A GeoJSON MultiPolygon, positions `[lon, lat]` in degrees (WGS 84): usually one polygon, more when
    neighbours cut the disc apart, none when they take all of it."""

    type: Literal["MultiPolygon"] = "MultiPolygon"
    coordinates: list[list[list[Position]]] = Field(
        description="polygons, each a list of closed rings of [longitude, latitude] positions in degrees (the first "
        "repeated last): the exterior counterclockwise, then any holes clockwise"
    )


class BoundaryProperties(BaseModel):
    id: int = Field(description="the region id (the RideLedger's regionId)")
    name: str
    center: Position = Field(description="[longitude, latitude] in degrees of the disc's centre")
    radius_m: float = Field(description="the disc's radius in metres")


class BoundaryFeature(BaseModel):
    """A region's outline: the points the backend places in it. A region is a disc (`center`, `radius_m`) minus
    what overlapping regions take: a point in several discs belongs to the nearest centre, so equal discs split
    along the bisector and a larger disc keeps its rim beyond a smaller one. The rings follow the circles within
    0.1 % of the radius."""

    type: Literal["Feature"] = "Feature"
    id: int = Field(description="the region id")
    geometry: BoundaryGeometry
    properties: BoundaryProperties

    @classmethod
    def of(cls, area: RegionArea, polygons: list[list[list[LatLon]]]) -> BoundaryFeature:
        return cls(
            id=area.region_id,
            geometry=BoundaryGeometry(
                coordinates=[[[_position(point) for point in ring] for ring in polygon] for polygon in polygons]
            ),
            properties=BoundaryProperties(
                id=area.region_id, name=area.name, center=_position(area.center), radius_m=area.radius_m
            ),
        )


class BoundaryCollection(BaseModel):
    """Every region's outline (GeoJSON FeatureCollection), by region id."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[BoundaryFeature]


def _position(point: LatLon) -> Position:
    return (round(point.lon, 7), round(point.lat, 7))  # GeoJSON order; 1e-7 degree is about 1 cm
