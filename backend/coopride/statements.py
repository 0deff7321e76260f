"""Member statements and region figures, from the database, each checkable against the chain alone.

Every settled trip carries its trip id, the settlement transaction hash and block number: the
RideLedger's `TripSettled(tripId, fare, fee, shares)` log in that transaction is the proof. Every
relayed join, deposit, claim and ballot carries its transaction hash and block. Share amounts are
decimal strings (18 decimals overflow JSON-safe integers).
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from sqlmodel import Session, or_, select

from coopride.chain.client import ChainClient
from coopride.domain.regions import RegionMap
from coopride.models import (
    RELAY_BALLOT,
    TRIP_AWAITING_SIGNATURES,
    TRIP_QUEUED,
    TRIP_SETTLED,
    TRIP_SUBMITTED,
    TRIP_VOID,
    RelayedTransaction,
    RelayedTransactionPublic,
    Trip,
)

PENDING_STATUSES = (TRIP_AWAITING_SIGNATURES, TRIP_QUEUED, TRIP_SUBMITTED)


class StatementTrip(BaseModel):
    trip_id: int
    role: str = Field(description='"driver" or "rider"')
    region_id: int
    distance_metres: int
    shared: bool
    fare_signed: int = Field(description="the most the rider agreed to pay")
    status: str
    fare_paid: int | None
    fee_paid: int | None
    shares_minted: str | None
    batch_id: str | None
    tx_hash: str | None
    block_number: int | None
    reject_reason: str | None


class Vote(BaseModel):
    proposal_id: str
    support: int
    tx_hash: str
    block_number: int


class DrivingTotals(BaseModel):
    metres_driven: int = Field(description="verified metres of non-void trips as driver")
    metres_shared: int = Field(description="of which with a rider on board")
    metres_settled: int = Field(description="of which settled on chain")
    shares_earned: str = Field(description="shares minted to you by settled trips (18 decimals)")
    fares_received: int = Field(description="settled fares minus the cooperative fee, fare-token units")
    fees_paid_to_treasury: int = Field(description="the cooperative fee on your settled trips")


class RidingTotals(BaseModel):
    metres_ridden: int
    fares_paid: int = Field(description="what settled trips debited from your escrow")


class ChainBalances(BaseModel):
    """Read live from the chain when the statement was built."""

    is_member: bool
    shares: str
    escrow: int
    earnings: int
    claimable_surplus: int


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


def _trip_row(trip: Trip, role: str) -> StatementTrip:
    return StatementTrip(
        trip_id=trip.id, role=role, region_id=trip.region_id, distance_metres=trip.distance_metres,
        shared=trip.rider is not None, fare_signed=trip.fare, status=trip.status, fare_paid=trip.fare_paid,
        fee_paid=trip.fee_paid, shares_minted=trip.shares_minted, batch_id=trip.batch_id, tx_hash=trip.tx_hash,
        block_number=trip.block_number, reject_reason=trip.reject_reason,
    )


def member_statement(session: Session, chain: ChainClient, address: str, *, full: bool) -> Statement:
    trips = session.exec(select(Trip).where(or_(Trip.driver == address, Trip.rider == address)).order_by(Trip.id)).all()
    driven = [t for t in trips if t.driver == address and t.status != TRIP_VOID]
    ridden = [t for t in trips if t.rider == address and t.status != TRIP_VOID]
    settled_driven = [t for t in driven if t.status == TRIP_SETTLED]
    driving = DrivingTotals(
        metres_driven=sum(t.distance_metres for t in driven),
        metres_shared=sum(t.distance_metres for t in driven if t.rider is not None),
        metres_settled=sum(t.distance_metres for t in settled_driven),
        shares_earned=str(sum(int(t.shares_minted or 0) for t in settled_driven)),
        fares_received=sum((t.fare_paid or 0) - (t.fee_paid or 0) for t in settled_driven),
        fees_paid_to_treasury=sum(t.fee_paid or 0 for t in settled_driven),
    )
    ballots = session.exec(select(RelayedTransaction).where(RelayedTransaction.member == address,
                                                            RelayedTransaction.kind == RELAY_BALLOT)
                           .order_by(RelayedTransaction.id)).all()
    votes = [Vote(proposal_id=b.proposal_id, support=b.support, tx_hash=b.tx_hash, block_number=b.block_number)
             for b in ballots]
    ledger = chain.ledger.address
    how_to_check = (
        f"Each settled trip: the TripSettled(tripId, fare, fee, shares) log of RideLedger {ledger} in tx_hash at "
        f"block_number; RideLedger.isSettled(tripId) is true. Each vote: VoteCast on CoopGovernor "
        f"{chain.governor.address} in tx_hash. Balances: RideLedger.escrowOf/earningsOf, CoopShare.balanceOf/claimable."
    )
    if not full:
        return Statement(address=address, full=False, driving=driving, riding=None, chain=None, pending_trip_ids=None,
                         settled_trip_ids=None, trips=None, votes=votes, transactions=None, how_to_check=how_to_check)

    relayed = session.exec(select(RelayedTransaction).where(RelayedTransaction.member == address)
                           .order_by(RelayedTransaction.id)).all()
    settled_ridden = [t for t in ridden if t.status == TRIP_SETTLED]
    return Statement(
        address=address,
        full=True,
        driving=driving,
        riding=RidingTotals(metres_ridden=sum(t.distance_metres for t in ridden),
                            fares_paid=sum(t.fare_paid or 0 for t in settled_ridden)),
        chain=ChainBalances(is_member=chain.is_member(address), shares=str(chain.shares_of(address)),
                            escrow=chain.escrow_of(address), earnings=chain.earnings_of(address),
                            claimable_surplus=chain.claimable(address)),
        pending_trip_ids=[t.id for t in trips if t.status in PENDING_STATUSES],
        settled_trip_ids=[t.id for t in trips if t.status == TRIP_SETTLED],
        trips=[_trip_row(t, "driver" if t.driver == address else "rider") for t in trips],
        votes=votes,
        transactions=[RelayedTransactionPublic.model_validate(r) for r in relayed],
        how_to_check=how_to_check,
    )


class RegionStats(BaseModel):
    region_id: int
    name: str | None
    phase: str = Field(description='"bootstrap" or "operating" (chain)')
    members: int = Field(description="members registered in the region (chain)")
    critical_mass: int = Field(description="members needed to switch to operating (chain)")
    fare_per_km: int = Field(description="fare-token units per km (chain)")
    trips_logged: int = Field(description="non-void trips in the database")
    trips_settled: int
    metres_verified: int
    metres_shared: int
    metres_settled: int
    shares_minted: str = Field(description="by this region's settled trips (18 decimals)")
    fees_to_treasury: int
    treasury_balance: int = Field(description="the cooperative's whole treasury, all regions (chain)")


def region_ids(chain: ChainClient, region_map: RegionMap) -> list[int]:
    return sorted({r.id for r in chain.manifest.regions} | {a.region_id for a in region_map.areas})


def region_stats(session: Session, chain: ChainClient, region_map: RegionMap, region_id: int,
                 treasury_balance: int | None = None) -> RegionStats | None:
    """None when the chain does not know the region. `treasury_balance` (read from the chain when not given)
    is the same for every region: a listing reads it once."""
    state = chain.region(region_id)
    if not state.exists:
        return None
    trips = session.exec(select(Trip).where(Trip.region_id == region_id, Trip.status != TRIP_VOID)).all()
    settled = [t for t in trips if t.status == TRIP_SETTLED]
    names = {r.id: r.name for r in chain.manifest.regions} | {a.region_id: a.name for a in region_map.areas}
    return RegionStats(
        region_id=region_id,
        name=names.get(region_id),
        phase="operating" if state.operating else "bootstrap",
        members=state.members,
        critical_mass=state.critical_mass,
        fare_per_km=state.fare_per_km,
        trips_logged=len(trips),
        trips_settled=len(settled),
        metres_verified=sum(t.distance_metres for t in trips),
        metres_shared=sum(t.distance_metres for t in trips if t.rider is not None),
        metres_settled=sum(t.distance_metres for t in settled),
        shares_minted=str(sum(int(t.shares_minted or 0) for t in settled)),
        fees_to_treasury=sum(t.fee_paid or 0 for t in settled),
        treasury_balance=chain.treasury_balance() if treasury_balance is None else treasury_balance,
    )
