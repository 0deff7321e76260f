"""The settlement worker's own tables (created by migration 0002_settlement; fee bumping added by 0003)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Text
from sqlmodel import Field, SQLModel

from coopride.models.base import HASH_LENGTH, EnumString, utcnow
from coopride.models.enums import BatchStatus


class SettlementBatch(SQLModel, table=True):
    """One `settle(batchId, receipts)` transaction, stored before it is broadcast so a restart can finish it."""

    id: str = Field(primary_key=True, max_length=HASH_LENGTH)  # the on-chain batchId, 0x hex
    status: BatchStatus = Field(default=BatchStatus.SUBMITTED, index=True, sa_type=EnumString(BatchStatus, 16))
    trip_ids: list[Any] = Field(default_factory=list, sa_type=JSON, nullable=False)
    nonce: int = Field(sa_type=BigInteger)
    tx_hash: str = Field(index=True, max_length=HASH_LENGTH)  # the version broadcast now
    raw_tx: str = Field(sa_type=Text, nullable=False)
    # Earlier versions with lower fees (same nonce and calldata): any one of them may be the one mined.
    replaced_tx_hashes: list[Any] = Field(default_factory=list, sa_type=JSON, nullable=False)
    signed_at: float = 0.0  # unix seconds (the worker's clock) when the current version was signed
    created_at: datetime = Field(default_factory=utcnow)
    broadcast_count: int = 0
    finished_at: datetime | None = None
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    gas_used: int | None = Field(default=None, sa_type=BigInteger)
    settled_count: int | None = None
    rejected_count: int | None = None
    note: str | None = None


class SettlementRetry(SQLModel, table=True):
    """A trip the chain rejected for a reason that may pass later (an underfunded rider)."""

    trip_id: int = Field(primary_key=True, sa_type=BigInteger)
    attempts: int = 0
    retry_after: float = 0.0  # unix seconds
    last_reason: str | None = None
