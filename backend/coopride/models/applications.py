"""Membership applications: what an applicant signed (the EIP-712 `Application` and the ERC-2612 permit for the
capital share), kept until the admissions role admits it on chain or refuses it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, text
from sqlmodel import Field, SQLModel

from coopride.models.base import ADDRESS_LENGTH, HASH_LENGTH, EnumString, utcnow
from coopride.models.enums import ApplicationStatus

SIGNATURE_LENGTH = 132  # 0x + 65 bytes in hex
REASON_LENGTH = 500


class ApplicationBase(SQLModel):
    """What anyone shown an application sees (`coopride.schemas.members.ApplicationPublic`)."""

    applicant: str = Field(index=True, max_length=ADDRESS_LENGTH)
    region_id: int
    max_capital_share: str = Field(max_length=80)  # decimal string (uint256)
    deadline: int = Field(sa_type=BigInteger)
    status: ApplicationStatus = Field(
        default=ApplicationStatus.PENDING, index=True, sa_type=EnumString(ApplicationStatus, 16)
    )
    reason: str | None = Field(default=None, max_length=REASON_LENGTH)
    tx_hash: str | None = Field(default=None, max_length=HASH_LENGTH)
    created_at: datetime = Field(default_factory=utcnow)
    decided_at: datetime | None = None


class Application(ApplicationBase, table=True):
    """One application and the signatures `Membership.admit` needs (the applicant's nonce is the chain's at
    admission: a stored signature over another nonce fails the check, and the application is refused)."""

    # At most one pending application per applicant, even when two arrive at once.
    __table_args__ = (
        Index(
            "uq_application_pending_applicant",
            "applicant",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    nonce: str = Field(max_length=80)  # Membership.nonces(applicant) the application was signed with
    signature: str = Field(max_length=SIGNATURE_LENGTH)
    permit_value: str = Field(max_length=80)  # decimal string: what the permit lets the RideLedger pull
    permit_nonce: str = Field(max_length=80)
    permit_signature: str = Field(max_length=SIGNATURE_LENGTH)
