from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from coopride.api.deps import ChainDep, RegionMapDep, SessionDep
from coopride.domain.regions import RegionMap
from coopride.schemas.regions import BoundaryCollection, BoundaryFeature, RegionStats
from coopride.schemas.types import ChainRegionId
from coopride.services import statements
from coopride.services.errors import NotFound

router = APIRouter(prefix="/regions", tags=["regions"])

RegionId = Annotated[ChainRegionId, Path(description="the region id (uint32, from 1)")]


def _boundary(region_map: RegionMap, region_id: int) -> BoundaryFeature:
    if region_id not in region_map:
        raise NotFound(f"unknown region {region_id}")
    return BoundaryFeature.of(region_map.area(region_id), region_map.boundary(region_id))


@router.get(
    "", summary="Every region: phase, members vs critical mass, km, shares, treasury", response_model=list[RegionStats]
)
def list_regions(session: SessionDep, chain: ChainDep, region_map: RegionMapDep) -> list[RegionStats]:
    return statements.regions(session, chain, region_map)


@router.get(
    "/boundaries",
    summary="Every region's boundary, as a GeoJSON FeatureCollection of MultiPolygons ([lon, lat])",
    response_model=BoundaryCollection,
)
def list_boundaries(region_map: RegionMapDep) -> BoundaryCollection:
    """One Feature per region of the backend's map, by region id: the same as `GET /regions/{id}/boundary`."""
    areas = sorted(region_map.areas, key=lambda area: area.region_id)
    return BoundaryCollection(features=[_boundary(region_map, area.region_id) for area in areas])


@router.get("/{region_id}", summary="One region's figures", response_model=RegionStats)
def read_region(region_id: RegionId, session: SessionDep, chain: ChainDep, region_map: RegionMapDep) -> RegionStats:
    return statements.region(session, chain, region_map, region_id)


@router.get(
    "/{region_id}/boundary",
    summary="A region's boundary, as a GeoJSON Feature (MultiPolygon, [lon, lat]; properties id and name)",
    response_model=BoundaryFeature,
)
def read_boundary(region_id: RegionId, region_map: RegionMapDep) -> BoundaryFeature:
    """The points the backend places in the region: its disc minus what overlapping regions take (a point in
    several discs belongs to the nearest centre). 404 for a region the backend's map does not have."""
    return _boundary(region_map, region_id)
