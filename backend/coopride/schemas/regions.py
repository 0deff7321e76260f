"""A region's figures: its phase and members from the chain, its trips from the database."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coopride.models.enums import RegionPhase


class RegionStats(BaseModel):
    region_id: int
    name: str | None
    phase: RegionPhase = Field(description='"bootstrap" or "operating" (chain)')
    members: int = Field(description="members registered in the region (chain)")
    critical_mass: int = Field(description="members needed to switch to operating (chain)")
    fare_per_km: int = Field(description="fare-token units per km (chain)")
    trips_logged: int = Field(description="non-void trips in the database")
    trips_settled: int
    metres_verified: int
    metres_shared: int
    metres_settled: int
    shares_minted: str = Field(description="by this region's settled trips (18 decimals)")
    fees_to_treasury: int
    treasury_balance: int = Field(description="the cooperative's whole treasury, all regions (chain)")
