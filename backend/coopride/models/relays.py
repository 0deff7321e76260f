"""Transactions the backend sent for members (the settler key pays), and the proposals it relayed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger
from sqlmodel import Field, SQLModel

from coopride.models.base import ADDRESS_LENGTH, HASH_LENGTH, EnumString, utcnow
from coopride.models.enums import ProposalKind, RelayKind


class RelayedTransactionBase(SQLModel):
    member: str = Field(index=True, max_length=ADDRESS_LENGTH)
    kind: RelayKind = Field(index=True, sa_type=EnumString(RelayKind, 24))
    region_id: int | None = None
    amount: str | None = None  # decimal string
    proposal_id: str | None = Field(default=None, index=True)  # decimal string (uint256)
    support: int | None = None
    tx_hash: str = Field(max_length=HASH_LENGTH)
    block_number: int = Field(sa_type=BigInteger)
    gas_used: int = Field(sa_type=BigInteger)


class RelayedTransaction(RelayedTransactionBase, table=True):
    """A transaction the backend sent for a member (paid by the settler key)."""

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class ProposalActions(SQLModel):
    """The Governor's arguments for a proposal: one call per target (uint256 values as decimal strings)."""

    targets: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    values: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    calldatas: list[str] = Field(default_factory=list, sa_type=JSON, nullable=False)
    description: str = Field(description="the description sent on chain")


class Proposal(ProposalActions, table=True):
    """A parameter-change proposal the backend relayed; the chain holds its state and tallies."""

    proposal_id: str = Field(primary_key=True)  # decimal string (uint256)
    proposer: str = Field(index=True, max_length=ADDRESS_LENGTH)  # the member who signed it (the Governor's too)
    kind: ProposalKind = Field(sa_type=EnumString(ProposalKind, 32))
    parameters: dict[str, Any] = Field(default_factory=dict, sa_type=JSON, nullable=False)
    tx_hash: str = Field(max_length=HASH_LENGTH)
    block_number: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)
