"""Member statements and region figures, from the database and the chain, each checkable against the chain alone.

Every settled trip carries its trip id, the settlement transaction hash and block number: the
RideLedger's `TripSettled(tripId, fare, fee, shares)` log in that transaction is the proof. Every
relayed join, deposit, claim and ballot carries its transaction hash and block. Amounts are ints here; the API
writes them as decimal strings (`coopride.schemas.types`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Numeric, case, cast, func, literal
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, or_, select

from coopride.chain.client import ChainClient
from coopride.domain.regions import RegionMap
from coopride.models import RelayedTransaction, Trip
from coopride.models.enums import PENDING, RegionPhase, RelayKind, TripRole, TripStatus
from coopride.schemas.common import RelayedTransactionPublic
from coopride.schemas.regions import RegionStats
from coopride.schemas.statements import ChainBalances, DrivingTotals, RidingTotals, Statement, StatementTrip, Vote
from coopride.schemas.trips import DisputePublic
from coopride.services.errors import NotFound

# ------------------------------------------------------------------ SQL aggregates
# Every total below is one SUM/COUNT in the database: no trip row (nor its trace) is loaded to add it up.
_SETTLED = col(Trip.status) == TripStatus.SETTLED
_RESOLVED = col(Trip.resolution_tx_hash).is_not(None)
_SHARED = col(Trip.rider).is_not(None)
_LIVE = col(Trip.status) != TripStatus.VOID
# `shares_minted` is a decimal string of an 18-decimal amount (above SQLite's 64-bit integers): SQLite adds its
# last 12 digits and the rest apart, PostgreSQL adds NUMERIC.
_SPLIT_DIGITS = 12


def _total(value: Any, where: ColumnElement[bool] | None = None) -> ColumnElement[Any]:
    """SUM(value) over the rows where `where` holds (every row when None), 0 over none."""
    term = value if where is None else case((where, value), else_=literal(0))
    return func.coalesce(func.sum(term), 0)


def _count(where: ColumnElement[bool]) -> ColumnElement[Any]:
    return _total(literal(1), where)


def _shares_total(session: Session, where: ColumnElement[bool]) -> list[ColumnElement[Any]]:
    """Columns whose values `_shares_value` turns into SUM(int(shares_minted)) over `where`."""
    shares = func.coalesce(col(Trip.shares_minted), "0")
    if session.get_bind().dialect.name == "postgresql":
        return [_total(cast(shares, Numeric(78, 0)), where)]
    high = cast(func.substr(shares, 1, func.length(shares) - _SPLIT_DIGITS), BigInteger)
    low = cast(func.substr(shares, -_SPLIT_DIGITS), BigInteger)
    return [_total(high, where), _total(low, where)]


def _shares_value(parts: Sequence[Any]) -> int:
    if len(parts) == 1:
        return int(parts[0])
    high, low = parts
    total: int = int(high) * 10**_SPLIT_DIGITS + int(low)
    return total


def _dispute(row: Any) -> DisputePublic | None:
    if row.dispute_status is None:
        return None
    return DisputePublic(
        status=row.dispute_status,
        reason=row.dispute_reason,
        by=row.dispute_by,
        award=row.dispute_award,
        resolution_reason=row.resolution_reason,
        tx_hash=row.dispute_tx_hash,
        mediator=row.dispute_mediator,
        resolution_tx_hash=row.resolution_tx_hash,
    )


# The columns a statement's trip list shows (not the trace, nor the signatures).
_STATEMENT_COLUMNS = (
    col(Trip.id),
    col(Trip.driver),
    col(Trip.rider),
    col(Trip.region_id),
    col(Trip.distance_metres),
    col(Trip.fare),
    col(Trip.status),
    col(Trip.fare_paid),
    col(Trip.fee_paid),
    col(Trip.shares_minted),
    col(Trip.batch_id),
    col(Trip.tx_hash),
    col(Trip.block_number),
    col(Trip.reject_reason),
    col(Trip.dispute_status),
    col(Trip.dispute_reason),
    col(Trip.dispute_by),
    col(Trip.dispute_tx_hash),
    col(Trip.dispute_award),
    col(Trip.dispute_fee),
    col(Trip.dispute_mediator),
    col(Trip.resolution_reason),
    col(Trip.resolution_tx_hash),
)


def _trip_row(row: Any, role: TripRole) -> StatementTrip:
    return StatementTrip(
        trip_id=int(row.id),
        role=role,
        region_id=row.region_id,
        distance_metres=row.distance_metres,
        shared=row.rider is not None,
        fare_signed=row.fare,
        status=row.status,
        fare_paid=row.fare_paid,
        fee_paid=row.fee_paid,
        shares_minted=row.shares_minted,
        batch_id=row.batch_id,
        tx_hash=row.tx_hash,
        block_number=row.block_number,
        reject_reason=row.reject_reason,
        dispute=_dispute(row),
    )


def _driving(session: Session, address: str) -> DrivingTotals:
    """A driver's totals over the non-void trips they drove; a mediator's award (and its fee) counts when decided."""
    award = func.coalesce(col(Trip.dispute_award), 0)
    award_fee = func.coalesce(col(Trip.dispute_fee), 0)
    fee = func.coalesce(col(Trip.fee_paid), 0)
    shares = _shares_total(session, _SETTLED)
    row = session.execute(
        sql_select(
            _total(col(Trip.distance_metres)),
            _total(col(Trip.distance_metres), _SHARED),
            _total(col(Trip.distance_metres), _SETTLED),
            _total(func.coalesce(col(Trip.fare_paid), 0) - fee, _SETTLED),
            _total(award - award_fee, _RESOLVED),
            _total(fee, _SETTLED),
            _total(award_fee, _RESOLVED),
            *shares,
        ).where(col(Trip.driver) == address, _LIVE)
    ).one()
    driven, shared, settled, fares, awards, fees, award_fees = (int(v) for v in row[:7])
    return DrivingTotals(
        metres_driven=driven,
        metres_shared=shared,
        metres_settled=settled,
        shares_earned=_shares_value(row[7:]),
        fares_received=fares + awards,
        fees_paid_to_treasury=fees + award_fees,
    )


def _riding(session: Session, address: str) -> RidingTotals:
    row = session.execute(
        sql_select(
            _total(col(Trip.distance_metres)),
            _total(func.coalesce(col(Trip.fare_paid), 0), _SETTLED),
            _total(func.coalesce(col(Trip.dispute_award), 0), _RESOLVED),
        ).where(col(Trip.rider) == address, _LIVE)
    ).one()
    ridden, fares, awards = (int(v) for v in row)
    return RidingTotals(metres_ridden=ridden, fares_paid=fares + awards)


def member_statement(session: Session, chain: ChainClient, address: str, *, full: bool) -> Statement:
    driving = _driving(session, address)
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
    trips: Sequence[Any] = session.execute(
        sql_select(*_STATEMENT_COLUMNS).where(or_(Trip.driver == address, Trip.rider == address)).order_by(col(Trip.id))
    ).all()
    with chain.reads.pinned():
        balances = ChainBalances(
            is_member=chain.is_member(address),
            shares=chain.shares_of(address),
            escrow=chain.escrow_of(address),
            earnings=chain.earnings_of(address),
            claimable_surplus=chain.claimable(address),
        )
    return Statement(
        address=address,
        full=True,
        driving=driving,
        riding=_riding(session, address),
        chain=balances,
        pending_trip_ids=[int(t.id) for t in trips if t.status in PENDING],
        settled_trip_ids=[int(t.id) for t in trips if t.status == TripStatus.SETTLED],
        trips=[_trip_row(t, TripRole.DRIVER if t.driver == address else TripRole.RIDER) for t in trips],
        votes=votes,
        transactions=[RelayedTransactionPublic.model_validate(r) for r in relayed],
        how_to_check=how_to_check,
    )


def region_ids(chain: ChainClient, region_map: RegionMap) -> list[int]:
    return sorted({r.id for r in chain.manifest.regions} | {a.region_id for a in region_map.areas})


def _region_totals(session: Session, region_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The database's figures of each region (non-void trips), one grouped query."""
    shares = _shares_total(session, _SETTLED)
    rows = session.execute(
        sql_select(
            col(Trip.region_id),
            func.count(),
            _count(_SETTLED),
            _total(col(Trip.distance_metres)),
            _total(col(Trip.distance_metres), _SHARED),
            _total(col(Trip.distance_metres), _SETTLED),
            _total(func.coalesce(col(Trip.fee_paid), 0), _SETTLED),
            _total(func.coalesce(col(Trip.dispute_fee), 0), _RESOLVED),
            *shares,
        )
        .where(col(Trip.region_id).in_(list(region_ids)), _LIVE)
        .group_by(col(Trip.region_id))
    ).all()
    totals: dict[int, dict[str, Any]] = {}
    for row in rows:
        logged, settled, verified, shared, metres_settled, fees, award_fees = (int(v) for v in row[1:8])
        totals[int(row[0])] = {
            "trips_logged": logged,
            "trips_settled": settled,
            "metres_verified": verified,
            "metres_shared": shared,
            "metres_settled": metres_settled,
            "shares_minted": _shares_value(row[8:]),
            "fees_to_treasury": fees + award_fees,
        }
    return totals


_NO_TRIPS: dict[str, Any] = {
    "trips_logged": 0,
    "trips_settled": 0,
    "metres_verified": 0,
    "metres_shared": 0,
    "metres_settled": 0,
    "shares_minted": 0,
    "fees_to_treasury": 0,
}


def _names(chain: ChainClient, region_map: RegionMap) -> dict[int, str]:
    return {r.id: r.name for r in chain.manifest.regions} | {a.region_id: a.name for a in region_map.areas}


def _stats(session: Session, chain: ChainClient, region_map: RegionMap, region_ids: Sequence[int]) -> list[RegionStats]:
    """The regions among `region_ids` the chain knows: chain figures read at one block (cached per block), trip
    figures from one SQL aggregate."""
    with chain.reads.pinned():
        states = {rid: chain.region(rid) for rid in region_ids}
        known = [rid for rid in region_ids if states[rid].exists]
        if not known:
            return []
        treasury = chain.treasury_balance()
    totals = _region_totals(session, known)
    names = _names(chain, region_map)
    return [
        RegionStats(
            region_id=rid,
            name=names.get(rid),
            phase=RegionPhase.OPERATING if states[rid].operating else RegionPhase.BOOTSTRAP,
            members=states[rid].members,
            critical_mass=states[rid].critical_mass,
            fare_per_km=states[rid].fare_per_km,
            treasury_balance=treasury,
            **totals.get(rid, _NO_TRIPS),
        )
        for rid in known
    ]


def region_stats(session: Session, chain: ChainClient, region_map: RegionMap, region_id: int) -> RegionStats | None:
    """None when the chain does not know the region."""
    found = _stats(session, chain, region_map, [region_id])
    return found[0] if found else None


def region(session: Session, chain: ChainClient, region_map: RegionMap, region_id: int) -> RegionStats:
    stats = region_stats(session, chain, region_map, region_id)
    if stats is None:
        raise NotFound(f"unknown region {region_id}")
    return stats


def regions(session: Session, chain: ChainClient, region_map: RegionMap) -> list[RegionStats]:
    """Every region the chain knows, by id."""
    return _stats(session, chain, region_map, region_ids(chain, region_map))
