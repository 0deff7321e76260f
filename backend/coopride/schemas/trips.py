"""Driven trips: the trace a driver posts, and the trip both parties read."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Lt
from pydantic import BaseModel, ConfigDict, Field, model_validator

from coopride.domain.geo import validate_latlon
from coopride.domain.traces import Fix
from coopride.models.base import stored_id
from coopride.models.enums import DisputeStatus
from coopride.models.trips import Trip, TripBase
from coopride.schemas.types import PUBLIC, Deadline, FareAmount, FareAmount96In, HexSignature, ShareAmount

DisputeReason = Field(min_length=1, max_length=500, description="why, in a sentence (stored on chain in the event)")


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
    request_id: Annotated[int, Ge(1), Lt(2**31)] | None = Field(default=None, description="the booked request's id")
    fixes: list[FixIn] = Field(min_length=2, max_length=20_000)


class DisputePublic(BaseModel):
    """A dispute on the trip and, once a mediator decided, the decision. `tx_hash` is the dispute's transaction
    (`TripDisputed`), `resolution_tx_hash` the decision's (`DisputeResolved`)."""

    status: DisputeStatus
    reason: str | None
    by: str | None
    award: FareAmount | None = Field(description="fare-token base units the mediator awarded the driver, fee included")
    resolution_reason: str | None
    tx_hash: str | None
    mediator: str | None
    resolution_tx_hash: str | None

    @classmethod
    def of(cls, trip: Trip) -> DisputePublic | None:
        if trip.dispute_status is None:
            return None
        return cls(
            status=trip.dispute_status,
            reason=trip.dispute_reason,
            by=trip.dispute_by,
            award=trip.dispute_award,
            resolution_reason=trip.resolution_reason,
            tx_hash=trip.dispute_tx_hash,
            mediator=trip.dispute_mediator,
            resolution_tx_hash=trip.resolution_tx_hash,
        )


class TripPublic(TripBase):
    model_config = PUBLIC  # type: ignore[assignment]

    id: int
    fare: FareAmount = Field(description="fare-token base units: the fare of the receipt (0 for a solo trip)")
    fare_paid: FareAmount | None = Field(default=None, description="fare-token base units the settlement took")
    fee_paid: FareAmount | None = Field(
        default=None, description="fare-token base units of it that went to the treasury"
    )
    shares_minted: ShareAmount | None = Field(  # type: ignore[assignment]  # a decimal string column
        default=None, description="share-token base units minted to the driver"
    )
    driver_signed: bool
    rider_signed: bool = Field(description="the rider confirmed the receipt (the fare goes before the window ends)")
    dispute: DisputePublic | None

    @classmethod
    def of(cls, trip: Trip) -> TripPublic:
        fields = {name: getattr(trip, name) for name in TripBase.model_fields}
        return cls(
            **fields,
            id=stored_id(trip),
            driver_signed=trip.driver_signature is not None,
            rider_signed=trip.rider_signature is not None,
            dispute=DisputePublic.of(trip),
        )


class DisputeIn(BaseModel):
    """A party's signed `Dispute` (`GET /trips/{id}/dispute/typed-data?reason=...`)."""

    reason: str = DisputeReason
    deadline: Deadline
    signature: HexSignature


class ResolutionIn(BaseModel):
    """A mediator's signed `Resolution` (`GET /trips/{id}/resolution/typed-data?award=&reason=`)."""

    award: FareAmount96In = Field(description="fare-token base units paid to the driver (fee included), 0..maxFare")
    reason: str = DisputeReason
    deadline: Deadline
    signature: HexSignature


class OpenDisputePublic(BaseModel):
    """A dispute waiting for a mediator (`GET /trips/disputes`)."""

    trip_id: int
    driver: str
    rider: str
    by: str = Field(description="who disputed: the driver or the rider")
    reason: str
    fare: FareAmount = Field(description="the receipt's fare, in fare-token base units")
    max_fare: FareAmount = Field(
        description="what the rider authorised, the most a mediator may award, in fare-token base units"
    )
    since: int = Field(description="the dispute's block time, unix seconds")
    tx_hash: str = Field(description="the dispute's transaction (`TripDisputed`)")
