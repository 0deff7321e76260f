"""Trip offers (seats a driver offers) and ride requests; each table's fields come from bases the API
shapes share (`coopride.schemas.rides`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from coopride.models.base import ADDRESS_LENGTH, HASH_LENGTH, EnumString, utcnow
from coopride.models.enums import OfferStatus, RequestStatus


class Endpoints(SQLModel):
    """Where a trip starts and ends, in degrees."""

    origin_lat: float
    origin_lon: float
    destination_lat: float
    destination_lon: float


class OfferTerms(SQLModel):
    """What a driver offers, as the driver states it."""

    depart_earliest: int = Field(ge=0, description="unix seconds")
    depart_latest: int = Field(ge=0, description="unix seconds")
    seats: int = Field(ge=1, le=8)
    max_detour_m: int = Field(ge=0, le=50_000, description="the longest detour the driver accepts, metres")


class OfferBase(Endpoints, OfferTerms):
    driver: str = Field(index=True, max_length=ADDRESS_LENGTH)
    region_id: int = Field(index=True)
    status: OfferStatus = Field(default=OfferStatus.OPEN, index=True, sa_type=EnumString(OfferStatus, 16))


class TripOffer(OfferBase, table=True):
    """The footprint (`coopride.domain.incremental.offer_footprint`, issue 13): the boxes every feasible
    request's pickup and drop-off lie in and the span of its pickup times, queried when a request arrives.
    NULL for offers stored before it existed (or where the boxes do not hold): such offers are always candidates."""

    __table_args__ = (Index("ix_tripoffer_footprint", "region_id", "pickup_min_lat", "pickup_max_lat"),)

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    pickup_min_lat: float | None = None
    pickup_max_lat: float | None = None
    pickup_min_lon: float | None = None
    pickup_max_lon: float | None = None
    dropoff_min_lat: float | None = None
    dropoff_max_lat: float | None = None
    dropoff_min_lon: float | None = None
    dropoff_max_lon: float | None = None
    pickup_from: int | None = Field(default=None, sa_type=BigInteger)
    pickup_until: int | None = Field(default=None, sa_type=BigInteger)


class PickupWindow(SQLModel):
    earliest: int = Field(ge=0, description="earliest pickup, unix seconds")
    latest: int = Field(ge=0, description="latest pickup, unix seconds")


class RideRequestBase(Endpoints, PickupWindow):
    rider: str = Field(index=True, max_length=ADDRESS_LENGTH)
    region_id: int = Field(index=True)
    estimated_metres: int
    fare_per_km: int  # the region's fare when quoted
    quoted_fare: int  # fare-token units; 0 in a bootstrap region
    status: RequestStatus = Field(default=RequestStatus.OPEN, index=True, sa_type=EnumString(RequestStatus, 16))
    offer_id: int | None = Field(default=None, foreign_key="tripoffer.id", index=True)
    shared_metres: int | None = None
    detour_metres: int | None = None
    pickup_time: int | None = None  # planned, from the matcher
    picked_up_at: int | None = None
    ended_at: int | None = None  # when a ride cancelled after pickup ended
    # The booking on chain (v2): an unpredictable trip id given at match, the rider's fare authorisation
    # (FareAuthorisation: maxFare, cancelBy, expiry) relayed at accept, and the hold's release on a cancellation.
    trip_id: int | None = Field(default=None, unique=True, sa_type=BigInteger)
    max_fare: int | None = Field(default=None, sa_type=BigInteger)
    cancel_by: int | None = Field(default=None, sa_type=BigInteger)
    authorisation_expiry: int | None = Field(default=None, sa_type=BigInteger)
    authorisation_tx_hash: str | None = Field(default=None, max_length=HASH_LENGTH)
    release_tx_hash: str | None = Field(default=None, max_length=HASH_LENGTH)


class RideRequest(RideRequestBase, table=True):
    """`seat` is the offer's seat this request holds (1..offer.seats), from its match until it is cancelled (a
    completed ride keeps it: the seat was used). The database refuses two requests on one seat of one offer."""

    __table_args__ = (
        UniqueConstraint("offer_id", "seat", name="uq_riderequest_offer_seat"),
        CheckConstraint("seat IS NULL OR (seat >= 1 AND offer_id IS NOT NULL)", name="ck_riderequest_seat"),
        Index("ix_riderequest_open_origin", "region_id", "status", "origin_lat"),
    )

    id: int | None = Field(default=None, primary_key=True)
    seat: int | None = None
    created_at: datetime = Field(default_factory=utcnow)


class IdempotencyRecord(SQLModel, table=True):
    """The first answer to a POST sent with an `Idempotency-Key`: a repeat by the same caller with the same key
    and the same request gets it again; the same key with another request is refused."""

    __table_args__ = (UniqueConstraint("caller", "key", name="uq_idempotencyrecord_caller_key"),)

    id: int | None = Field(default=None, primary_key=True)
    caller: str = Field(max_length=ADDRESS_LENGTH)
    key: str = Field(max_length=200)
    fingerprint: str = Field(max_length=HASH_LENGTH)
    status_code: int
    body: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    created_at: datetime = Field(default_factory=utcnow)
