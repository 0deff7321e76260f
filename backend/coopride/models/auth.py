"""Sign-in challenges and bearer sessions."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from coopride.models.base import ADDRESS_LENGTH, utcnow


class SignInNonce(SQLModel, table=True):
    """A sign-in challenge: single use, expiring."""

    nonce: str = Field(primary_key=True, max_length=64)
    address: str = Field(index=True, max_length=ADDRESS_LENGTH)
    message: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class MemberSession(SQLModel, table=True):
    """A bearer session; only the SHA-256 of its token is stored."""

    token_hash: str = Field(primary_key=True, max_length=64)
    address: str = Field(index=True, max_length=ADDRESS_LENGTH)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
