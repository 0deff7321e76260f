"""Sign-in shapes (EIP-4361)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from coopride.schemas.types import Address, HexSignature


class NonceRequest(BaseModel):
    address: Address


class NonceResponse(BaseModel):
    nonce: str
    message: str = Field(description="the EIP-4361 message to sign with `personal_sign`")
    expires_at: datetime = Field(description="ISO 8601 date-time, UTC: post the signed message before it")


class LoginRequest(BaseModel):
    message: str = Field(max_length=2000, description="exactly the message `POST /auth/nonce` returned")
    signature: HexSignature


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    address: str
    expires_at: datetime = Field(description="ISO 8601 date-time, UTC: the session ends then")
