"""A member's statement: every figure with what proves it on chain."""

from __future__ import annotations

from pydantic import BaseModel, Field

from coopride.models.enums import TripRole, TripStatus
from coopride.schemas.common import RelayedTransactionPublic
from coopride.schemas.trips import DisputePublic
from coopride.schemas.types import FareAmount, ShareAmount


class StatementTrip(BaseModel):
    trip_id: int
    role: TripRole = Field(description='"driver" or "rider"')
    region_id: int
    distance_metres: int
    shared: bool
    fare_signed: FareAmount = Field(description="fare-token base units: the most the rider agreed to pay")
    status: TripStatus
    fare_paid: FareAmount | None = Field(description="fare-token base units the settlement took from the rider")
    fee_paid: FareAmount | None = Field(description="fare-token base units of the fare that went to the treasury")
    shares_minted: ShareAmount | None = Field(description="share-token base units the trip minted to its driver")
    batch_id: str | None
    tx_hash: str | None
    block_number: int | None
    reject_reason: str | None
    dispute: DisputePublic | None = Field(description="a dispute and the mediator's decision, if any")


class Vote(BaseModel):
    proposal_id: str
    support: int
    tx_hash: str
    block_number: int


class DrivingTotals(BaseModel):
    metres_driven: int = Field(description="verified metres of non-void trips as driver")
    metres_shared: int = Field(description="of which with a rider on board")
    metres_settled: int = Field(description="of which settled on chain")
    shares_earned: ShareAmount = Field(description="share-token base units minted to you by settled trips")
    fares_received: FareAmount = Field(
        description="fare-token base units: settled fares and mediators' awards minus the cooperative fee"
    )
    fees_paid_to_treasury: FareAmount = Field(
        description="fare-token base units: the cooperative fee on your settled trips and awards"
    )


class RidingTotals(BaseModel):
    metres_ridden: int
    fares_paid: FareAmount = Field(
        description="fare-token base units settled trips and mediators' awards took from your escrow"
    )


class ChainBalances(BaseModel):
    """Read live from the chain when the statement was built."""

    is_member: bool
    shares: ShareAmount = Field(description="share-token base units you hold")
    escrow: FareAmount = Field(description="fare-token base units in your escrow (free and held)")
    earnings: FareAmount = Field(description="fare-token base units you earned driving, to withdraw")
    claimable_surplus: FareAmount = Field(description="fare-token base units of distributed surplus to claim")


class Statement(BaseModel):
    address: str
    full: bool = Field(description="false when you read another member's statement: public parts only")
    driving: DrivingTotals
    riding: RidingTotals | None
    chain: ChainBalances | None
    pending_trip_ids: list[int] | None
    settled_trip_ids: list[int] | None
    trips: list[StatementTrip] | None
    votes: list[Vote]
    transactions: list[RelayedTransactionPublic] | None
    how_to_check: str
