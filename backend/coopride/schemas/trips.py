"""Driven trips: the trace a driver posts, and the trip both parties read."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coopride.domain.geo import validate_latlon
from coopride.domain.traces import Fix
from coopride.models.base import stored_id
from coopride.models.trips import Trip, TripBase
from coopride.schemas.types import PUBLIC


class FixIn(BaseModel):
    t: int = Field(ge=0, lt=2**40, description="unix seconds (uint40, as in the receipt)")
    lat: float
    lon: float

    @model_validator(mode="after")
    def _on_the_globe(self) -> FixIn:
        validate_latlon(self.lat, self.lon)
        return self

    @property
    def fix(self) -> Fix:
        return Fix(self.t, self.lat, self.lon)


class TripCreate(BaseModel):
    """A driven trip's GPS trace. `request_id` names the booked ride it carried; omit it for solo movement."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": 1,
                    "fixes": [
                        {"t": 1795000000, "lat": 45.7620, "lon": 4.8390},
                        {"t": 1795000060, "lat": 45.7580, "lon": 4.8410},
                        {"t": 1795000120, "lat": 45.7540, "lon": 4.8430},
                    ],
                }
            ]
        }
    )
    request_id: int | None = None
    fixes: list[FixIn] = Field(min_length=2, max_length=20_000)


class TripPublic(TripBase):
    model_config = PUBLIC  # type: ignore[assignment]

    id: int
    driver_signed: bool
    rider_signed: bool

    @classmethod
    def of(cls, trip: Trip) -> TripPublic:
        fields = {name: getattr(trip, name) for name in TripBase.model_fields}
        return cls(
            **fields,
            id=stored_id(trip),
            driver_signed=trip.driver_signature is not None,
            rider_signed=trip.rider_signature is not None,
        )
