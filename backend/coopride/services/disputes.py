"""The operator's side of disputes and holds: open disputes to decide, a mediator's decision signed with the
mediator's own key, and the release of holds nobody can use any more.

A decision goes the same way as one posted to the API (`services.trips.resolution_data` / `resolve`): the
`Resolution` typed data is built for the mediator, signed here with the mediator's key, checked and relayed
(`resolveDisputeBySig`) by the settler key; the trip row records it as the API would.

A booking that is never driven (or whose trip never settles) keeps its hold: the rider may release it only before
`cancelBy`, the driver at any time. Once `expiry + maxReceiptAge` has passed no receipt can use it (`Expired`),
and the ledger lets anyone release it (`releaseHold`): `release_stale_holds` does that for every such booking,
from the settler key, with no worker running.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from hexbytes import HexBytes
from sqlmodel import Session, col, select

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import sign_typed_data
from coopride.chain.errors import ChainRevert
from coopride.chain.types import HoldState, TxOutcome
from coopride.config import Settings
from coopride.models import RideRequest, Trip
from coopride.models.enums import DisputeStatus, RelayKind, TripStatus
from coopride.services import rides, trips
from coopride.services.relays import record_relayed


@dataclass(frozen=True)
class OpenDispute:
    """An open dispute as the operator lists it."""

    trip_id: int
    driver: str
    rider: str
    by: str
    reason: str
    fare: int  # the receipt's fare
    max_fare: int  # what the rider authorised (the most a mediator may award)
    since: int  # the dispute's block time, unix seconds
    tx_hash: str


def open_disputes(session: Session, chain: ChainClient) -> list[OpenDispute]:
    """Every trip whose dispute waits for a mediator, oldest first, with the hold's maximum read on chain."""
    rows = session.exec(select(Trip).where(Trip.dispute_status == DisputeStatus.OPEN).order_by(col(Trip.id))).all()
    found = []
    for trip in rows:
        assert trip.id is not None and trip.rider is not None  # only shared trips are disputed
        hold = chain.hold_of(trip.id, trip.driver, trip.rider)
        found.append(
            OpenDispute(
                trip_id=trip.id,
                driver=trip.driver,
                rider=trip.rider,
                by=trip.dispute_by or "",
                reason=trip.dispute_reason or "",
                fare=trip.fare,
                max_fare=hold.max_fare,
                since=_block_time(chain, trip.dispute_tx_hash),
                tx_hash=trip.dispute_tx_hash or "",
            )
        )
    return sorted(found, key=lambda d: (d.since, d.trip_id))


def _block_time(chain: ChainClient, tx_hash: str | None) -> int:
    if not tx_hash:
        return 0
    receipt = chain.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
    return int(chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


def decide(
    session: Session,
    chain: ChainClient,
    settings: Settings,
    trip_id: int,
    mediator_key: str,
    award: int,
    reason: str,
) -> Trip:
    """A mediator's decision on `trip_id`: `award` (0 .. the authorised maximum) paid to the driver, the rest back
    to the rider. Signed with `mediator_key` (a member holding MEDIATOR_ROLE, no party), relayed like the API's
    `POST /trips/{id}/resolution`. Raises the same `DomainError`s; the caller commits."""
    mediator = Account.from_key(mediator_key).address
    typed = trips.resolution_data(session, chain, settings, trip_id, mediator, award, reason)
    signature = sign_typed_data(mediator_key, typed)
    return trips.resolve(session, chain, trip_id, mediator, award, reason, int(typed["message"]["deadline"]), signature)


# ------------------------------------------------------------------------------------------- stale holds
@dataclass(frozen=True)
class StaleHold:
    """A booking's hold that anyone may release: `expiry + maxReceiptAge` has passed."""

    request_id: int
    trip_id: int
    driver: str
    rider: str
    amount: int
    releasable_since: int  # expiry + maxReceiptAge, unix seconds


@dataclass(frozen=True)
class ReleasedHold:
    hold: StaleHold
    tx_hash: str


def stale_holds(session: Session, chain: ChainClient) -> list[StaleHold]:
    """Bookings whose hold is still active on chain although no receipt can use it any more (its expiry plus the
    ledger's `maxReceiptAge` is past the next block's time). Bookings whose trip settled are skipped."""
    now = chain.next_block_timestamp()
    max_age = chain.max_receipt_age()
    settled = select(Trip.id).where(Trip.status == TripStatus.SETTLED)
    candidates = session.exec(
        select(RideRequest)
        .where(col(RideRequest.authorisation_tx_hash).is_not(None))
        .where(col(RideRequest.release_tx_hash).is_(None))
        .where(col(RideRequest.trip_id).is_not(None))
        .where(col(RideRequest.authorisation_expiry) + max_age < now)
        .where(col(RideRequest.trip_id).not_in(settled))
        .order_by(col(RideRequest.id))
    ).all()
    found = []
    for request in candidates:
        assert request.id is not None and request.trip_id is not None
        driver = rides.driver_of(session, request)
        if driver is None:
            continue
        hold = chain.hold_of(request.trip_id, driver, request.rider)
        if hold.state != HoldState.ACTIVE or hold.expiry + max_age >= now:
            continue
        found.append(
            StaleHold(request.id, request.trip_id, driver, request.rider, hold.max_fare, hold.expiry + max_age)
        )
    return found


def release_stale_holds(session: Session, chain: ChainClient) -> list[ReleasedHold]:
    """Releases every stale hold (`RideLedger.releaseHold`, which anyone may call then) from the settler key: the
    held fare returns to the rider's free escrow. Records each release on its booking; the caller commits after
    each call returns (a release already sent is found released on chain next time, never sent twice)."""
    released = []
    for hold in stale_holds(session, chain):
        try:
            outcome: TxOutcome = chain.transactions.transact(
                chain.ledger.functions.releaseHold(hold.trip_id, hold.driver, hold.rider)
            )
        except ChainRevert as exc:
            if exc.error_name == "HoldNotActive":  # released or settled by someone else meanwhile
                continue
            raise
        request = session.get(RideRequest, hold.request_id)
        assert request is not None
        request.release_tx_hash = outcome.tx_hash
        session.add(request)
        record_relayed(session, hold.rider, RelayKind.RELEASE_HOLD, outcome, amount=str(hold.amount))
        session.commit()
        released.append(ReleasedHold(hold, outcome.tx_hash))
    return released
