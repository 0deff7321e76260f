"""Membership shapes: joining and depositing with a signature the backend relays."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coopride.schemas.types import Deadline, HexSignature, TokenAmount


class JoinRequest(BaseModel):
    region_id: int = Field(ge=1, lt=2**32)
    deadline: Deadline
    signature: HexSignature


class DepositRequest(BaseModel):
    amount: TokenAmount
    deadline: int = Field(ge=0, lt=2**256, description="the deadline in the signed permit")
    signature: HexSignature
