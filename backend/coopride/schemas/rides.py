"""Offers and ride requests: what a driver or rider posts, and what they read back."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coopride.models.base import stored_id
from coopride.models.rides import OfferBase, OfferTerms, PickupWindow, RideRequestBase, TripOffer
from coopride.schemas.types import PUBLIC, Deadline, FareAmount, HexSignature, LatLonIn


class OfferCreate(OfferTerms):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "origin": {"lat": 45.7640, "lon": 4.8357},
                    "destination": {"lat": 45.7485, "lon": 4.8467},
                    "depart_earliest": 1795000000,
                    "depart_latest": 1795000900,
                    "seats": 3,
                    "max_detour_m": 1500,
                }
            ]
        }
    )
    origin: LatLonIn
    destination: LatLonIn

    @model_validator(mode="after")
    def _window_in_order(self) -> OfferCreate:
        if self.depart_latest < self.depart_earliest:
            raise ValueError("depart_latest is before depart_earliest")
        return self


class OfferPublic(OfferBase):
    model_config = PUBLIC  # type: ignore[assignment]
    id: int
    seats_left: int

    @classmethod
    def of(cls, offer: TripOffer, seats_left: int) -> OfferPublic:
        fields = {name: getattr(offer, name) for name in OfferBase.model_fields}
        return cls(**fields, id=stored_id(offer), seats_left=seats_left)


class RideRequestCreate(PickupWindow):
    model_config = ConfigDict(  # type: ignore[assignment]
        json_schema_extra={
            "examples": [
                {
                    "origin": {"lat": 45.7620, "lon": 4.8390},
                    "destination": {"lat": 45.7500, "lon": 4.8450},
                    "earliest": 1795000000,
                    "latest": 1795001800,
                }
            ]
        }
    )
    origin: LatLonIn
    destination: LatLonIn

    @model_validator(mode="after")
    def _window_in_order(self) -> RideRequestCreate:
        if self.latest < self.earliest:
            raise ValueError("latest is before earliest")
        return self


class RideRequestPublic(RideRequestBase):
    model_config = PUBLIC  # type: ignore[assignment]
    id: int
    fare_per_km: FareAmount = Field(description="fare-token base units per km: the region's fare when quoted")
    quoted_fare: FareAmount = Field(description="fare-token base units; 0 in a bootstrap region")
    max_fare: FareAmount | None = Field(
        default=None, description="fare-token base units held for the booking (its maxFare)"
    )
    seat: int | None = Field(
        default=None, description="the offer's seat this request holds, from its match until it is cancelled"
    )


class CancelIn(BaseModel):
    """Cancelling a booked ride: the rider's signed `HoldRelease` (`GET /rides/requests/{id}/cancel/typed-data`)."""

    deadline: Deadline
    signature: HexSignature
