"""Membership shapes: applications (the typed data to sign, the signed application, its public view),
deposits and withdrawals with a signature the backend relays."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from coopride.models.applications import REASON_LENGTH, ApplicationBase
from coopride.schemas.common import TYPED_DATA
from coopride.schemas.types import (
    PUBLIC,
    Deadline,
    FareAmount,
    FareAmountIn,
    HexSignature,
    PositiveFareAmountIn,
    RegionIdField,
)


class ApplicationTypedData(BaseModel):
    """Sign both with `eth_signTypedData_v4` and post them to `POST /members/applications`."""

    typed_data: dict[str, Any] = Field(description="the EIP-712 Application (Membership domain); " + TYPED_DATA)
    permit_typed_data: dict[str, Any] = Field(
        description="the ERC-2612 Permit for the capital share: spender the RideLedger, value maxCapitalShare, "
        "same deadline; " + TYPED_DATA
    )
    capital_share: FareAmount = Field(description="fare-token base units collected at admission")


class ApplicationCreate(BaseModel):
    region_id: RegionIdField
    max_capital_share: FareAmountIn = Field(description="fare-token base units: the Application's maxCapitalShare")
    deadline: int = Field(ge=0, lt=2**63, description="the deadline in both signed messages (unix seconds)")
    signature: HexSignature
    permit_signature: HexSignature


class ApplicationPublic(ApplicationBase):
    model_config = PUBLIC  # type: ignore[assignment]

    id: int
    max_capital_share: FareAmount = Field(description="fare-token base units: the most the applicant pays at admission")  # type: ignore[assignment]


class RefusalRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=REASON_LENGTH, description="told to the applicant")


class DepositRequest(BaseModel):
    amount: PositiveFareAmountIn
    deadline: int = Field(ge=0, lt=2**256, description="the deadline in the signed permit")
    signature: HexSignature


class WithdrawalRequest(BaseModel):
    amount: PositiveFareAmountIn
    from_earnings: bool = Field(description="true: from driving earnings; false: from escrow")
    deadline: int = Field(ge=0, lt=2**256, description="the deadline in the signed Withdrawal")
    signature: HexSignature


class LeaveRequest(BaseModel):
    """Leaving the cooperative: your signed `Leave` (`GET /members/me/leave/typed-data`)."""

    deadline: Deadline
    signature: HexSignature
