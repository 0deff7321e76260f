"""Member statements and region figures, from the database and the chain, each checkable against the chain alone.

Every settled trip carries its trip id, the settlement transaction hash and block number: the
RideLedger's `TripSettled(tripId, fare, fee, shares)` log in that transaction is the proof. Every
relayed join, deposit, claim and ballot carries its transaction hash and block. Share amounts are
decimal strings (18 decimals overflow JSON-safe integers).
"""

from __future__ import annotations

from sqlmodel import Session, col, or_, select

from coopride.chain.client import ChainClient
from coopride.domain.regions import RegionMap
from coopride.models import RelayedTransaction, Trip, stored_id
from coopride.models.enums import PENDING, RegionPhase, RelayKind, TripRole, TripStatus
from coopride.schemas.common import RelayedTransactionPublic
from coopride.schemas.regions import RegionStats
from coopride.schemas.statements import ChainBalances, DrivingTotals, RidingTotals, Statement, StatementTrip, Vote
from coopride.schemas.trips import DisputePublic
from coopride.services.errors import NotFound


def _trip_row(trip: Trip, role: TripRole) -> StatementTrip:
    return StatementTrip(
        trip_id=stored_id(trip),
        role=role,
        region_id=trip.region_id,
        distance_metres=trip.distance_metres,
        shared=trip.rider is not None,
        fare_signed=trip.fare,
        status=trip.status,
        fare_paid=trip.fare_paid,
        fee_paid=trip.fee_paid,
        shares_minted=trip.shares_minted,
        batch_id=trip.batch_id,
        tx_hash=trip.tx_hash,
        block_number=trip.block_number,
        reject_reason=trip.reject_reason,
        dispute=DisputePublic.of(trip),
    )


def _award(trip: Trip) -> int:
    """What a mediator's decision paid for the trip (paid at the decision, not by the settlement)."""
    return trip.dispute_award or 0 if trip.resolution_tx_hash is not None else 0


def _award_fee(trip: Trip) -> int:
    return trip.dispute_fee or 0 if trip.resolution_tx_hash is not None else 0


def member_statement(session: Session, chain: ChainClient, address: str, *, full: bool) -> Statement:
    trips = session.exec(
        select(Trip).where(or_(Trip.driver == address, Trip.rider == address)).order_by(col(Trip.id))
    ).all()
    driven = [t for t in trips if t.driver == address and t.status != TripStatus.VOID]
    ridden = [t for t in trips if t.rider == address and t.status != TripStatus.VOID]
    settled_driven = [t for t in driven if t.status == TripStatus.SETTLED]
    driving = DrivingTotals(
        metres_driven=sum(t.distance_metres for t in driven),
        metres_shared=sum(t.distance_metres for t in driven if t.rider is not None),
        metres_settled=sum(t.distance_metres for t in settled_driven),
        shares_earned=str(sum(int(t.shares_minted or 0) for t in settled_driven)),
        fares_received=sum((t.fare_paid or 0) - (t.fee_paid or 0) for t in settled_driven)
        + sum(_award(t) - _award_fee(t) for t in driven),
        fees_paid_to_treasury=sum(t.fee_paid or 0 for t in settled_driven) + sum(_award_fee(t) for t in driven),
    )
    ballots = session.exec(
        select(RelayedTransaction)
        .where(RelayedTransaction.member == address, RelayedTransaction.kind == RelayKind.BALLOT)
        .order_by(col(RelayedTransaction.id))
    ).all()
    votes = [
        Vote(proposal_id=b.proposal_id, support=b.support, tx_hash=b.tx_hash, block_number=b.block_number)
        for b in ballots
        if b.proposal_id is not None and b.support is not None  # a ballot always names both
    ]
    ledger = chain.ledger.address
    how_to_check = (
        f"Each settled trip: the TripSettled(tripId, fare, fee, shares) log of RideLedger {ledger} in tx_hash at "
        f"block_number; RideLedger.isSettled(tripId) is true. Each dispute: TripDisputed(tripId, by, reason) in "
        f"dispute.tx_hash, and its decision DisputeResolved(tripId, mediator, award, fee, refund, reason) in "
        f"dispute.resolution_tx_hash. Each vote: VoteCast on CoopGovernor "
        f"{chain.governor.address} in tx_hash. Balances: RideLedger.escrowOf/earningsOf, CoopShare.balanceOf/claimable."
    )
    if not full:
        return Statement(
            address=address,
            full=False,
            driving=driving,
            riding=None,
            chain=None,
            pending_trip_ids=None,
            settled_trip_ids=None,
            trips=None,
            votes=votes,
            transactions=None,
            how_to_check=how_to_check,
        )

    relayed = session.exec(
        select(RelayedTransaction).where(RelayedTransaction.member == address).order_by(col(RelayedTransaction.id))
    ).all()
    settled_ridden = [t for t in ridden if t.status == TripStatus.SETTLED]
    return Statement(
        address=address,
        full=True,
        driving=driving,
        riding=RidingTotals(
            metres_ridden=sum(t.distance_metres for t in ridden),
            fares_paid=sum(t.fare_paid or 0 for t in settled_ridden) + sum(_award(t) for t in ridden),
        ),
        chain=ChainBalances(
            is_member=chain.is_member(address),
            shares=str(chain.shares_of(address)),
            escrow=chain.escrow_of(address),
            earnings=chain.earnings_of(address),
            claimable_surplus=chain.claimable(address),
        ),
        pending_trip_ids=[stored_id(t) for t in trips if t.status in PENDING],
        settled_trip_ids=[stored_id(t) for t in trips if t.status == TripStatus.SETTLED],
        trips=[_trip_row(t, TripRole.DRIVER if t.driver == address else TripRole.RIDER) for t in trips],
        votes=votes,
        transactions=[RelayedTransactionPublic.model_validate(r) for r in relayed],
        how_to_check=how_to_check,
    )


def region_ids(chain: ChainClient, region_map: RegionMap) -> list[int]:
    return sorted({r.id for r in chain.manifest.regions} | {a.region_id for a in region_map.areas})


def region_stats(
    session: Session, chain: ChainClient, region_map: RegionMap, region_id: int, treasury_balance: int | None = None
) -> RegionStats | None:
    """None when the chain does not know the region. `treasury_balance` (read from the chain when not given)
    is the same for every region: a listing reads it once."""
    state = chain.region(region_id)
    if not state.exists:
        return None
    trips = session.exec(select(Trip).where(Trip.region_id == region_id, Trip.status != TripStatus.VOID)).all()
    settled = [t for t in trips if t.status == TripStatus.SETTLED]
    names = {r.id: r.name for r in chain.manifest.regions} | {a.region_id: a.name for a in region_map.areas}
    return RegionStats(
        region_id=region_id,
        name=names.get(region_id),
        phase=RegionPhase.OPERATING if state.operating else RegionPhase.BOOTSTRAP,
        members=state.members,
        critical_mass=state.critical_mass,
        fare_per_km=state.fare_per_km,
        trips_logged=len(trips),
        trips_settled=len(settled),
        metres_verified=sum(t.distance_metres for t in trips),
        metres_shared=sum(t.distance_metres for t in trips if t.rider is not None),
        metres_settled=sum(t.distance_metres for t in settled),
        shares_minted=str(sum(int(t.shares_minted or 0) for t in settled)),
        fees_to_treasury=sum(t.fee_paid or 0 for t in settled) + sum(_award_fee(t) for t in trips),
        treasury_balance=chain.treasury_balance() if treasury_balance is None else treasury_balance,
    )


def region(session: Session, chain: ChainClient, region_map: RegionMap, region_id: int) -> RegionStats:
    stats = region_stats(session, chain, region_map, region_id)
    if stats is None:
        raise NotFound(f"unknown region {region_id}")
    return stats


def regions(session: Session, chain: ChainClient, region_map: RegionMap) -> list[RegionStats]:
    """Every region the chain knows, with the treasury balance read once."""
    treasury = chain.treasury_balance()
    found = (region_stats(session, chain, region_map, rid, treasury) for rid in region_ids(chain, region_map))
    return [stats for stats in found if stats is not None]
