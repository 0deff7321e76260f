from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status

from coopride import statements
from coopride.api.deps import ChainDep, RegionMapDep, SessionDep
from coopride.schemas.regions import RegionStats

router = APIRouter(prefix="/regions", tags=["regions"])


@router.get("", summary="Every region: phase, members vs critical mass, km, shares, treasury",
            response_model=list[RegionStats])
def list_regions(session: SessionDep, chain: ChainDep, region_map: RegionMapDep) -> list[RegionStats]:
    treasury = chain.treasury_balance()
    found = (statements.region_stats(session, chain, region_map, rid, treasury)
             for rid in statements.region_ids(chain, region_map))
    return [stats for stats in found if stats is not None]


@router.get("/{region_id}", summary="One region's figures", response_model=RegionStats)
def read_region(region_id: Annotated[int, Path(ge=1, lt=2**32)], session: SessionDep, chain: ChainDep,
                region_map: RegionMapDep) -> RegionStats:
    stats = statements.region_stats(session, chain, region_map, region_id)
    if stats is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"unknown region {region_id}")
    return stats
