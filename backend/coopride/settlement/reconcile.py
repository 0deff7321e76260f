"""Recording settlement outcomes on trips, and reconciling the database with the chain's events.

The chain is the source of truth: a trip is settled exactly when `isSettled(tripId)` is true, and its
one `TripSettled` event says by which transaction and for how much.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from coopride.chain.client import ChainClient
from coopride.chain.types import TripSettlement
from coopride.models import Trip, stored_id, utcnow
from coopride.models.enums import TripStatus


def record_settled(trip: Trip, settlement: TripSettlement) -> None:
    trip.status = TripStatus.SETTLED
    trip.tx_hash = settlement.tx_hash
    trip.block_number = settlement.block_number
    trip.fare_paid = settlement.fare
    trip.fee_paid = settlement.fee
    trip.shares_minted = str(settlement.shares)
    trip.reject_reason = None
    trip.settled_at = utcnow()


def requeue(trip: Trip) -> None:
    trip.status = TripStatus.QUEUED
    trip.batch_id = None


def reconcile_trips(session: Session, chain: ChainClient, trips: list[Trip]) -> tuple[list[int], list[int]]:
    """Settles from the chain's logs every trip the chain says is settled; requeues the others.

    A trip whose log cannot be found is requeued even if the bitmap says settled (a node whose log index
    lags): sending it again costs a rejected receipt, never a second settlement, and the next pass looks
    for the log again.

    Returns (ids recorded as settled, ids put back in the queue). The caller commits.
    """
    settlements = chain.find_settlements(stored_id(t) for t in trips)
    settled: list[int] = []
    requeued: list[int] = []
    for trip in trips:
        found = settlements.get(stored_id(trip))
        if found is not None:
            record_settled(trip, found)
            settled.append(stored_id(trip))
        else:
            requeue(trip)
            requeued.append(stored_id(trip))
        session.add(trip)
    return settled, requeued


@dataclass(frozen=True)
class Discrepancy:
    trip_id: int
    database: str
    chain: str


def audit(session: Session, chain: ChainClient) -> list[Discrepancy]:
    """Compares every trip the database calls settled, or had sent, with the chain's `TripSettled` events."""
    trips = session.exec(
        select(Trip).where(col(Trip.status).in_([TripStatus.SETTLED, TripStatus.SUBMITTED, TripStatus.REJECTED]))
    ).all()
    on_chain = chain.find_settlements(stored_id(t) for t in trips)
    problems = []
    for trip in trips:
        trip_id = stored_id(trip)
        event = on_chain.get(trip_id)
        if trip.status == TripStatus.SETTLED:
            if event is None:
                problems.append(Discrepancy(trip_id, f"settled by {trip.tx_hash}", "no TripSettled event"))
            elif (event.tx_hash, event.fare, event.fee, str(event.shares)) != (
                trip.tx_hash,
                trip.fare_paid,
                trip.fee_paid,
                trip.shares_minted,
            ):
                problems.append(
                    Discrepancy(
                        trip_id,
                        f"tx {trip.tx_hash} fare {trip.fare_paid} fee {trip.fee_paid} shares {trip.shares_minted}",
                        f"tx {event.tx_hash} fare {event.fare} fee {event.fee} shares {event.shares}",
                    )
                )
        elif event is not None and trip.status == TripStatus.REJECTED:
            problems.append(Discrepancy(trip_id, f"rejected ({trip.reject_reason})", f"settled by {event.tx_hash}"))
    return problems
