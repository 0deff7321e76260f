from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from coopride.api.deps import ChainDep, RegionMapDep, SessionDep
from coopride.schemas.regions import RegionStats
from coopride.services import statements

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get(
    "", summary="Every region: phase, members vs critical mass, km, shares, treasury", response_model=list[RegionStats]
)
def list_regions(session: SessionDep, chain: ChainDep, region_map: RegionMapDep) -> list[RegionStats]:
    return statements.regions(session, chain, region_map)


@router.get("/{region_id}", summary="One region's figures", response_model=RegionStats)
def read_region(
    region_id: Annotated[int, Path(ge=1, lt=2**32)], session: SessionDep, chain: ChainDep, region_map: RegionMapDep
) -> RegionStats:
    return statements.region(session, chain, region_map, region_id)
