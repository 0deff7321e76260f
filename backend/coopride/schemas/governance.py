"""Governance shapes: the parameter changes a member may propose, drafts to sign, proposals, ballots."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from coopride.models.enums import ProposalKind
from coopride.models.relays import ProposalActions
from coopride.schemas.common import TYPED_DATA
from coopride.schemas.types import (
    PUBLIC,
    Address,
    Deadline,
    FareAmount,
    FareAmount96In,
    HexSignature,
    PositiveFareAmountIn,
    RegionIdField,
    ShareAmount,
    ShareAmount96In,
    StoredText,
    Uint256Text,
)

CallValues = Field(description="wei (ether base units) sent with each call, decimal strings; always 0 here")
Description = Annotated[StoredText, Field(min_length=1, max_length=4000, description="why the change; goes on chain")]


class RegionFareChange(BaseModel):
    kind: Literal[ProposalKind.REGION_FARE]
    region_id: RegionIdField
    fare_per_km: FareAmount96In = Field(description="fare-token base units per km")
    description: Description


class FeeChange(BaseModel):
    kind: Literal[ProposalKind.FEE]
    fee_bps: int = Field(ge=0, le=10_000, description="basis points: 1500 = 15 %")
    description: Description


class RewardsChange(BaseModel):
    kind: Literal[ProposalKind.REWARDS]
    bootstrap_reward_per_km: ShareAmount96In = Field(description="share-token base units per km while bootstrapping")
    operating_reward_per_km: ShareAmount96In = Field(description="share-token base units per km once operating")
    description: Description


class CriticalMassChange(BaseModel):
    kind: Literal[ProposalKind.CRITICAL_MASS]
    region_id: RegionIdField
    critical_mass: int = Field(ge=1, lt=2**32, description="active drivers needed to switch the region to operating")
    description: Description


class SurplusDistribution(BaseModel):
    kind: Literal[ProposalKind.DISTRIBUTE_SURPLUS]
    amount: PositiveFareAmountIn = Field(
        description="fare-token base units moved from the treasury to shareholders, pro rata"
    )
    description: Description


class TreasurySpend(BaseModel):
    kind: Literal[ProposalKind.SPEND_TREASURY]
    to: Address
    amount: PositiveFareAmountIn = Field(description="fare-token base units paid from the treasury")
    description: Description


ProposalCreate = Annotated[
    RegionFareChange | FeeChange | RewardsChange | CriticalMassChange | SurplusDistribution | TreasurySpend,
    Field(discriminator="kind", examples=[{"kind": "fee", "fee_bps": 1200, "description": "Lower the fee to 12 %"}]),
]


# A recorded proposal's parameters (`ProposalPublic.parameters`): the change's fields but its kind and description.
_EXACT = ConfigDict(extra="forbid")


class RegionFareParameters(BaseModel):
    model_config = _EXACT
    region_id: int
    fare_per_km: FareAmount = Field(description="fare-token base units per km")


class FeeParameters(BaseModel):
    model_config = _EXACT
    fee_bps: int = Field(description="basis points: 1500 = 15 %")


class RewardsParameters(BaseModel):
    model_config = _EXACT
    bootstrap_reward_per_km: ShareAmount = Field(description="share-token base units per km while bootstrapping")
    operating_reward_per_km: ShareAmount = Field(description="share-token base units per km once operating")


class CriticalMassParameters(BaseModel):
    model_config = _EXACT
    region_id: int
    critical_mass: int = Field(description="active drivers needed to switch the region to operating")


class SurplusParameters(BaseModel):
    model_config = _EXACT
    amount: FareAmount = Field(description="fare-token base units distributed to shareholders")


class TreasurySpendParameters(BaseModel):
    model_config = _EXACT
    to: str
    amount: FareAmount = Field(description="fare-token base units paid from the treasury")


ProposalParameters = (
    RegionFareParameters
    | FeeParameters
    | RewardsParameters
    | CriticalMassParameters
    | SurplusParameters
    | TreasurySpendParameters
)

_PARAMETERS: TypeAdapter[ProposalParameters] = TypeAdapter(ProposalParameters)


def proposal_parameters(stored: dict[str, Any]) -> ProposalParameters:
    """A recorded proposal's parameters (a JSON column), shaped as its kind's."""
    return _PARAMETERS.validate_python(stored)


class ProposalDraft(ProposalActions):
    """What the Governor will receive for a requested change, and the EIP-712 `Proposal` to sign for it."""

    model_config = PUBLIC  # type: ignore[assignment]

    values: list[str] = CallValues
    proposal_id: str = Field(description="decimal uint256: the Governor's hashProposal, signed as proposalHash")
    deadline: int = Field(description="unix seconds; post the signature before it")
    typed_data: dict[str, Any] = Field(description=TYPED_DATA)


class ProposalSubmit(BaseModel):
    """A change, with the member's signature over the draft `POST /governance/proposals/typed-data` returned."""

    change: ProposalCreate
    deadline: Deadline = Field(description="unix seconds: the deadline in the signed typed data")
    signature: HexSignature


class ProposalPublic(ProposalActions):
    model_config = PUBLIC  # type: ignore[assignment]

    values: list[str] = CallValues
    proposal_id: str = Field(description="decimal uint256")
    state: str = Field(description="Pending, Active, Canceled, Defeated, Succeeded, Queued, Expired, Executed")
    proposer: str = Field(description="the proposer the Governor recorded")
    votes_for: int = Field(description="votes for (one per member whose vote counts at the snapshot)")
    votes_against: int = Field(description="votes against (one per member)")
    votes_abstain: int = Field(description="abstaining votes (one per member); count toward the quorum")
    snapshot: int = Field(description="unix seconds: members admitted votingMaturity before it vote on it")
    quorum: int | None = Field(
        description="for + abstain votes needed (a share of the members at the snapshot, never below the quorum "
        "floor); null until the snapshot has passed"
    )
    vote_start: int = Field(description="unix seconds")
    vote_end: int = Field(description="unix seconds")
    eta: int | None = Field(description="unix seconds from which a queued proposal may be executed")
    requested_by: str | None = Field(description="the member who proposed it through this backend, if any")
    kind: ProposalKind | None
    parameters: ProposalParameters | None = Field(description="the change's fields, if proposed through this backend")
    tx_hash: str | None
    block_number: int | None = Field(description="the block number of the proposing transaction, if relayed here")


class BallotRequest(BaseModel):
    proposal_id: Uint256Text = Field(description="the Governor's proposal id (a uint256), in decimal digits")
    support: int = Field(ge=0, le=2, description="0 against, 1 for, 2 abstain")
    signature: HexSignature
