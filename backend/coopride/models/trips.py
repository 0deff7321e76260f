"""Driven trips: the on-chain receipts, their signatures and their settlement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger
from sqlmodel import Field, SQLModel

from coopride.models.base import ADDRESS_LENGTH, HASH_LENGTH, EnumString, trip_id_column, utcnow
from coopride.models.enums import DisputeStatus, TripStatus


class TripBase(SQLModel):
    """What a trip's driver and rider see of it (`coopride.schemas.trips.TripPublic`)."""

    driver: str = Field(index=True, max_length=ADDRESS_LENGTH)
    rider: str | None = Field(default=None, index=True, max_length=ADDRESS_LENGTH)
    request_id: int | None = Field(default=None, foreign_key="riderequest.id")
    region_id: int = Field(index=True)
    distance_metres: int
    fare: int = Field(default=0, sa_type=BigInteger)
    start_time: int = Field(sa_type=BigInteger)
    end_time: int = Field(sa_type=BigInteger)
    trace_hash: str = Field(max_length=HASH_LENGTH)
    check_reasons: list[Any] = Field(default_factory=list, sa_type=JSON, nullable=False)
    status: TripStatus = Field(default=TripStatus.AWAITING_SIGNATURES, index=True, sa_type=EnumString(TripStatus, 24))
    batch_id: str | None = Field(default=None, index=True, max_length=HASH_LENGTH)
    tx_hash: str | None = Field(default=None, max_length=HASH_LENGTH)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    reject_reason: str | None = None
    fare_paid: int | None = Field(default=None, sa_type=BigInteger)
    fee_paid: int | None = Field(default=None, sa_type=BigInteger)
    shares_minted: str | None = None


class TripDispute(SQLModel):
    """A dispute on a shared trip and a mediator's decision (relayed `disputeBySig` / `resolveDisputeBySig`)."""

    dispute_status: DisputeStatus | None = Field(default=None, index=True, sa_type=EnumString(DisputeStatus, 16))
    dispute_reason: str | None = None
    dispute_by: str | None = Field(default=None, max_length=ADDRESS_LENGTH)
    dispute_tx_hash: str | None = Field(default=None, max_length=HASH_LENGTH)
    dispute_award: int | None = Field(default=None, sa_type=BigInteger)
    dispute_fee: int | None = Field(default=None, sa_type=BigInteger)  # the treasury's part of the award
    dispute_mediator: str | None = Field(default=None, max_length=ADDRESS_LENGTH)
    resolution_reason: str | None = None
    resolution_tx_hash: str | None = Field(default=None, max_length=HASH_LENGTH)


class Trip(TripBase, TripDispute, table=True):
    """One driven trip. `id` IS the on-chain tripId: a shared trip's is its booking's (`RideRequest.trip_id`,
    unpredictable, given at match), a solo trip's is drawn the same way when it is logged. The settlement worker
    reads "queued" trips and writes batch_id, tx_hash, block_number, fare_paid, fee_paid,
    shares_minted, reject_reason and settled_at."""

    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, sa_column=trip_id_column())
    trace: list[Any] = Field(default_factory=list, sa_type=JSON, nullable=False)
    driver_signature: str | None = Field(default=None, max_length=132)
    rider_signature: str | None = Field(default=None, max_length=132)
    created_at: datetime = Field(default_factory=utcnow)
    settled_at: datetime | None = None
