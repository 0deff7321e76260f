"""The settlement worker: posts queued trips to `RideLedger.settle` in batches, exactly once.

What goes out (v2): a trip is "queued" once its driver signed the receipt. It is due when the chain's next block
will be past its end and either the rider confirmed (signed the same receipt) or the dispute window has passed
since its end, and no dispute recorded here is waiting for a mediator. The chain's clock is read from the node's
pending block (`ChainClient.next_block_timestamp`), so an idle anvil whose latest block is old holds nothing back.
Before a batch is signed the attester checks every trip's trace again (`coopride.services.attestation`): a trip
it refuses is rejected here, for good, and never sent; the others go out with the attester's signature over
`Attestation(batchId, receiptsHash)`. A receipt the chain rejects `Disputed` or `DisputeWindowOpen` goes back to
the queue after a delay (doubling per attempt up to `max_retry_delay_seconds`) until it settles; every other
rejection is final.

Exactly once, whatever dies when:
1. A batch (trip ids, deterministic batchId, the signed raw transaction, its hash and nonce) is stored
   and its trips marked "submitted" in ONE database transaction, BEFORE the transaction is broadcast.
2. On every pass, unfinished batches are finished first:
   - mined: each trip's outcome is recorded from the receipt's TripSettled / TripRejected events;
   - not mined and its nonce still free: the same raw bytes are broadcast again (same hash: harmless),
     or, once it has waited `bump_after_seconds`, the same transaction re-signed with higher fees (never past
     `max_fee_per_gas`), stored before it is broadcast; every version shares the nonce, so at most one of them
     is ever mined, and the receipt of whichever was is looked up by all their hashes;
   - its nonce used by another transaction: each trip is reconciled from the chain (TripSettled logs,
     `isSettled`); whatever did not settle goes back to the queue.
3. The chain's trip-id bitmap is the last line of defence: a trip sent twice is rejected
   AlreadySettled, which is recorded as settled by the earlier transaction, not as a failure.

Several workers on one PostgreSQL database (issue 13), all sending from the ONE settler key:
4. Claiming: a worker picks its due trips with `SELECT ... FOR UPDATE SKIP LOCKED` and keeps them locked in that
   transaction until it writes the batch row and marks them "submitted" (step 1); another worker skips them and
   takes the next ones. On SQLite (one process) trips are chosen and claimed as before (a guarded UPDATE).
5. Nonces: from choosing the nonce to the broadcast, a worker holds a PostgreSQL advisory lock named after the
   settler address (session level, on a connection of its own: a dead process's lock goes with its connection)
   besides the process's own nonce lock, so two workers never sign with the same nonce.
6. Recovery: every batch row has an owner (the worker's id) and a lease (`lease_seconds`). A worker finishes its
   own unfinished batches (a restarted worker with the same id at once) and takes over another's only once that
   lease ran out, by a compare-and-set UPDATE that one worker wins. A lease that runs out under a worker that is
   merely slow lets two workers look after one batch: harmless, since every step of step 2 is idempotent on chain
   (same bytes, one nonce) and each outcome is recorded under the batch row's lock (`FOR UPDATE`) by whoever
   takes it first; the others find it finished.

Run it embedded (`start_in_thread`, used by the API's lifespan) or as its own process (`run_forever`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from fastapi import FastAPI
from hexbytes import HexBytes
from sqlalchemy import Engine, or_, update
from sqlmodel import Session, col, select
from web3.exceptions import TimeExhausted
from web3.types import TxReceipt

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import signed_receipt_tuple
from coopride.chain.errors import TRANSIENT_ERRORS, ChainRevert, NonceConsumed, NonceInUse
from coopride.chain.manifest import load_manifest
from coopride.chain.types import RejectReason, SignedTx, TripRejection
from coopride.config import Settings, get_settings
from coopride.db import init_db, make_engine, nonce_lock, nonce_lock_key
from coopride.models import SettlementBatch, SettlementRetry, Trip, as_utc, stored_id, utcnow
from coopride.models.enums import BatchStatus, DisputeStatus, TripStatus
from coopride.services.attestation import Attester, attester_key_of, trace_problems
from coopride.services.trips import receipt_of
from coopride.settlement.reconcile import reconcile_trips, record_settled, requeue

log = logging.getLogger(__name__)

# Rejections that pass later ("retry later": a mediator decides, the window closes); every other reason is final.
RETRYABLE_REASONS = frozenset({RejectReason.DISPUTED, RejectReason.DISPUTE_WINDOW_OPEN})
# How a trip the attester refused is recorded (it never reaches the chain).
ATTESTATION_REFUSED = "AttestationRefused"
# The embedded worker's id, and the first of `coopride run`'s worker processes (`settlement-1`, `settlement-2`, ...).
DEFAULT_WORKER_ID = "settlement-1"


@dataclass
class SettlementReport:
    batches_sent: list[str] = field(default_factory=list)
    batches_finished: list[str] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)
    already_settled: list[int] = field(default_factory=list)  # re-sent trips found settled by an earlier tx
    rejected: dict[int, str] = field(default_factory=dict)  # final rejections: trip id -> reason
    retry_later: dict[int, str] = field(default_factory=dict)  # back in the queue after a delay
    requeued: list[int] = field(default_factory=list)  # back in the queue now (batch reverted or superseded)
    unfinished_batches: list[str] = field(default_factory=list)  # outcome still unknown (chain slow or down)
    gas_used: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def chain_unavailable(self) -> bool:
        return bool(self.unfinished_batches) or any(e.startswith("chain unavailable") for e in self.errors)


@dataclass
class SettlementHooks:
    """Fault-injection points for tests: each is called with the batch at that moment of its life."""

    after_persist: Callable[[SettlementBatch], None] | None = None  # a new batch or a re-signed version, stored
    after_broadcast: Callable[[SettlementBatch], None] | None = None


def settler_lock_key(settler: str) -> int:
    """The advisory lock key (a signed 64-bit integer) that serialises nonces of one settler address."""
    return nonce_lock_key(settler)


def batch_id_for(chain_id: int, ledger: str, nonce: int, trip_ids: list[int]) -> bytes:
    """Deterministic: the same trips, sent with the same nonce to the same ledger, give the same id."""
    return keccak(abi_encode(["uint256", "address", "uint256", "uint256[]"], [chain_id, ledger, nonce, trip_ids]))


class SettlementWorker:
    def __init__(
        self,
        engine: Engine,
        chain: ChainClient,
        *,
        batch_size: int = 100,
        max_age_seconds: float = 2.0,
        retry_delay_seconds: float = 60.0,
        max_retry_delay_seconds: float = 3600.0,
        attester: Attester | None = None,
        receipt_timeout: float | None = None,
        bump_after_seconds: float = 180.0,
        max_fee_per_gas: int | None = None,
        max_batches_per_run: int = 20,
        clock: Callable[[], float] = time.time,
        hooks: SettlementHooks | None = None,
        worker_id: str = DEFAULT_WORKER_ID,
        lease_seconds: float = 300.0,
        poll_seconds: float = 0.25,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.engine = engine
        self.chain = chain
        self.batch_size = batch_size
        self.max_age_seconds = max_age_seconds
        self.retry_delay_seconds = retry_delay_seconds
        self.max_retry_delay_seconds = max_retry_delay_seconds
        self.attester = attester or Attester(
            attester_key_of(Settings(), chain.chain_id), chain.manifest.domains["receipt"]
        )
        self.receipt_timeout = receipt_timeout
        self.bump_after_seconds = bump_after_seconds
        self.max_fee_per_gas = max_fee_per_gas
        self.max_batches_per_run = max_batches_per_run
        self.clock = clock
        self.hooks = hooks or SettlementHooks()
        self.worker_id = worker_id
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self._postgres = engine.dialect.name == "postgresql"
        self._run_lock = threading.Lock()

    def _session(self) -> Session:
        # Objects stay readable after commit: a batch is passed on after it is stored.
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def _claim(self) -> Iterator[Session | None]:
        """The transaction that chooses, locks and claims one batch's trips (PostgreSQL); None on SQLite, where
        each step uses a short session of its own as before (one process: nothing to lock against)."""
        if not self._postgres:
            yield None
            return
        with self._session() as session:
            yield session

    @contextmanager
    def _in(self, claim: Session | None) -> Iterator[Session]:
        """The claim transaction if there is one, else a fresh session."""
        if claim is not None:
            yield claim
            return
        with self._session() as session:
            yield session

    @contextmanager
    def _nonce(self) -> Iterator[int]:
        """The next nonce, held until the block ends: across processes (PostgreSQL advisory lock) and threads."""
        if not self._postgres or self.chain.transactions.shared_lock is not None:  # the latter takes it itself
            with self.chain.transactions.exclusive_nonce() as nonce:
                yield nonce
            return
        with (
            nonce_lock(self.engine, self.chain.transactions.settler),
            self.chain.transactions.exclusive_nonce() as nonce,
        ):
            yield nonce

    @contextmanager
    def _database_then_nonce(self, session: Session) -> Iterator[int]:
        """The nonce lock, taken only once `session`'s transaction has begun. On SQLite a writing transaction
        holds the database's write lock from its start (`db._begin_immediate`), and an API request that relays a
        transaction (a booking's `authoriseFare`) takes that lock first and the nonce lock second: taking them
        here in the same order means neither waits for the other until SQLite's busy timeout (30 s)."""
        session.connection()
        with self._nonce() as nonce:
            yield nonce

    # ---------------------------------------------------------------- passes
    def run_once(self, *, force: bool = False) -> SettlementReport:
        """Finishes unfinished batches, then sends every batch that is due (all queued trips if `force`)."""
        report = SettlementReport()
        with self._run_lock:
            try:
                self._finish_unfinished(report)
                if report.unfinished_batches:
                    return report  # keep nonce order: nothing new goes out until the old ones are resolved
                for _ in range(self.max_batches_per_run):
                    with self._claim() as claim:
                        trips = self._due_trips(force, claim)
                        if not trips:
                            break
                        if not self._send_batch(trips, report, claim):
                            break
            except TRANSIENT_ERRORS as exc:
                report.errors.append(f"chain unavailable: {exc.__class__.__name__}: {exc}")
        return report

    def run_forever(self, stop_event: threading.Event, poll_interval: float | None = None) -> None:
        """Passes until `stop_event` is set, `poll_interval` (default `poll_seconds`) apart; a pass that sent a
        batch is followed by the next at once (trips that became due while it was mined wait for no timer)."""
        pause = self.poll_seconds if poll_interval is None else poll_interval
        log.info("settlement worker started (batch size %d, max age %g s)", self.batch_size, self.max_age_seconds)
        while not stop_event.is_set():
            sent = False
            try:
                report = self.run_once()
                sent = bool(report.batches_sent) and not report.errors
                if report.settled or report.rejected or report.errors:
                    log.info("settlement pass: %s", report)
            except Exception:  # one bad pass must not stop settlement; the next pass starts from the DB
                log.exception("settlement pass failed")
            if not sent:
                stop_event.wait(pause)
        log.info("settlement worker stopped")

    # --------------------------------------------------------- choosing trips
    def _due_trips(self, force: bool, claim: Session | None = None) -> list[Trip]:
        now = self.clock()
        # The ledger rejects, for good, a receipt that ends after the block settling it, and rejects an unconfirmed
        # one `DisputeWindowOpen` before `endTime + disputeWindow`: both compare with the next block's time, which
        # the node's pending block gives (an idle chain's latest block can be far behind it).
        chain_time = self.chain.next_block_timestamp()
        window_closed_before = chain_time - self.chain.dispute_window()
        query = (
            select(Trip, SettlementRetry)
            .join(SettlementRetry, col(SettlementRetry.trip_id) == col(Trip.id), isouter=True)
            .where(Trip.status == TripStatus.QUEUED)
            .where(Trip.end_time <= chain_time)
            .where(
                col(Trip.rider).is_(None)
                | col(Trip.rider_signature).is_not(None)
                | (col(Trip.end_time) <= window_closed_before)
            )
            .where(col(Trip.dispute_status).is_(None) | (col(Trip.dispute_status) != DisputeStatus.OPEN))
            .where(col(SettlementRetry.trip_id).is_(None) | (col(SettlementRetry.retry_after) <= now))
            .order_by(col(Trip.end_time), col(Trip.id))
            .limit(self.batch_size)
        )
        if claim is not None:  # trips another worker is claiming are skipped, not waited for
            query = query.with_for_update(skip_locked=True, of=Trip)
        with self._in(claim) as session:
            rows = session.exec(query).all()
        if not rows:
            return []

        def queued_since(trip: Trip, retry: SettlementRetry | None) -> float:
            return retry.retry_after if retry is not None else as_utc(trip.created_at).timestamp()

        oldest = min(queued_since(trip, retry) for trip, retry in rows)
        if force or len(rows) >= self.batch_size or now - oldest >= self.max_age_seconds:
            return [trip for trip, _ in rows]
        return []

    # -------------------------------------------------------------- sending
    def _send_batch(self, trips: list[Trip], report: SettlementReport, claim: Session | None = None) -> bool:
        """Stores, broadcasts and confirms one batch. False when the pass should stop. `claim` (PostgreSQL) holds
        the trips locked; it is committed by `_persist`, or here when nothing is stored."""
        began = time.perf_counter()
        trips = self._attestable(trips, report, claim)
        if not trips:
            if claim is not None:
                claim.commit()  # the refusals
            return True  # every due trip was refused: look for others
        # Runs of the same driver are cheaper on chain (one earnings write per run), in driving-day order (the
        # driver's daily cap counts the latest day seen).
        trips = sorted(trips, key=lambda t: (t.driver.lower(), t.end_time, t.id))
        trip_ids = [stored_id(t) for t in trips]
        signed_receipts = [self._signed_receipt(t) for t in trips]
        with self._in(claim) as session, self._database_then_nonce(session) as nonce:
            batch_id = batch_id_for(self.chain.chain_id, self.chain.ledger.address, nonce, trip_ids)
            attester_r, attester_vs = self.attester.attest(batch_id, [receipt_of(t) for t in trips])
            call = self.chain.settle_call(batch_id, signed_receipts, attester_r, attester_vs)
            try:
                signed = self.chain.transactions.sign_call(call, nonce)
            except ChainRevert as exc:  # the whole batch would revert (paused, settler role revoked)
                report.errors.append(f"settle would revert: {exc.message}")
                if claim is not None:
                    claim.commit()  # the refusals
                return False
            batch = SettlementBatch(
                id=HexBytes(batch_id).to_0x_hex(),
                trip_ids=trip_ids,
                nonce=nonce,
                tx_hash=signed.tx_hash,
                raw_tx=signed.raw,
                signed_at=self.clock(),
                owner=self.worker_id,
                lease_until=self.clock() + self.lease_seconds,
            )
            if not self._persist(batch, session):
                report.errors.append("trips were claimed by another worker; skipped")
                return False
            if self.hooks.after_persist:
                self.hooks.after_persist(batch)
            sent = self._send(batch)
        if not sent:
            report.unfinished_batches.append(batch.id)  # the next pass reconciles it
            return False
        self._count_broadcast(batch)
        report.batches_sent.append(batch.id)
        if self.hooks.after_broadcast:
            self.hooks.after_broadcast(batch)
        sent_at = time.perf_counter()
        confirmed = self._confirm(batch, report)
        log.info(
            "batch %s: %d trips, %.3f s to check, sign and send, %.3f s to be mined and recorded",
            batch.id,
            len(trip_ids),
            sent_at - began,
            time.perf_counter() - sent_at,
        )
        return confirmed

    def _attestable(self, trips: list[Trip], report: SettlementReport, claim: Session | None = None) -> list[Trip]:
        """The trips the attester vouches for; each one it refuses is rejected for good (never sent). Inside a
        claim transaction the refusals are committed with the batch (or by the caller)."""
        keep: list[Trip] = []
        with self._in(claim) as session:
            for trip in trips:
                problems = trace_problems(session, trip)
                if not problems:
                    keep.append(trip)
                    continue
                reason = f"{ATTESTATION_REFUSED}: {', '.join(problems)}"
                refused = session.execute(
                    update(Trip)
                    .where(col(Trip.id) == trip.id, col(Trip.status) == TripStatus.QUEUED)
                    .values(status=TripStatus.REJECTED, reject_reason=reason)
                )
                if refused.rowcount:  # type: ignore[attr-defined]
                    report.rejected[stored_id(trip)] = reason
                    log.warning("the attester refused trip %s: %s", trip.id, reason)
            if claim is None:
                session.commit()
        return keep

    def _signed_receipt(self, trip: Trip) -> tuple[Any, ...]:
        receipt = receipt_of(trip)  # the very receipt driver and rider signed through the API
        assert trip.driver_signature is not None, "only trips the driver signed are queued"
        rider_signature = bytes(HexBytes(trip.rider_signature)) if trip.rider_signature else None
        return signed_receipt_tuple(receipt, bytes(HexBytes(trip.driver_signature)), rider_signature)

    def _persist(self, batch: SettlementBatch, claim: Session | None = None) -> bool:
        """Stores the batch and claims its trips in one transaction (the claim transaction, whose row locks hold
        them, on PostgreSQL); False if any trip left the queue meanwhile."""
        with self._in(claim) as session:
            claimed = session.execute(
                update(Trip)
                .where(col(Trip.id).in_(batch.trip_ids), col(Trip.status) == TripStatus.QUEUED)
                .values(status=TripStatus.SUBMITTED, batch_id=batch.id)
            )
            if claimed.rowcount != len(batch.trip_ids):  # type: ignore[attr-defined]
                session.rollback()
                return False
            session.add(batch)
            session.commit()
        return True

    def _send(self, batch: SettlementBatch) -> bool:
        """Sends the stored bytes (under the nonce lock); False if another transaction holds or used the nonce. If
        the node is down this raises and the batch stays "submitted": the next pass tries again."""
        try:
            self.chain.transactions.broadcast(_signed_of(batch))
        except (NonceConsumed, NonceInUse):
            return False
        return True

    def _count_broadcast(self, batch: SettlementBatch) -> None:
        """Notes one more broadcast of the batch (after the nonce lock is released: see `_database_then_nonce`)."""
        with self._session() as session:
            stored = session.get_one(SettlementBatch, batch.id)
            stored.broadcast_count += 1
            session.add(stored)
            session.commit()

    def _confirm(self, batch: SettlementBatch, report: SettlementReport) -> bool:
        try:
            receipt = self.chain.transactions.wait_for_receipt(batch.tx_hash, timeout=self.receipt_timeout)
        except TimeExhausted:
            report.unfinished_batches.append(batch.id)
            return False
        self._record_mined(batch.id, receipt, report)
        return True

    # -------------------------------------------------------------- recovery
    def _finish_unfinished(self, report: SettlementReport) -> None:
        with self._session() as session:
            unfinished = session.exec(
                select(SettlementBatch)
                .where(SettlementBatch.status == BatchStatus.SUBMITTED)
                .order_by(col(SettlementBatch.nonce))
            ).all()
        for batch in unfinished:
            leased = self._take_lease(batch.id)
            if leased is None:
                continue  # a live worker looks after it, or it was finished meanwhile
            batch = leased  # as stored now: another worker may have re-signed it since the list was read
            # Read the nonce before the receipt: if the nonce is used and our receipt is still absent
            # afterwards, our transaction can never be mined.
            confirmed_nonce = self.chain.transactions.confirmed_nonce()
            receipt = self._receipt_of_any_version(batch)
            if receipt is not None:
                self._record_mined(batch.id, receipt, report)
            elif batch.nonce < confirmed_nonce:
                self._supersede(batch, report)
            else:
                with self._session() as session, self._database_then_nonce(session):
                    if self.clock() - batch.signed_at >= self.bump_after_seconds:
                        batch = self._replace_with_higher_fees(batch, report, session)
                    sent = self._send(batch)
                if sent:
                    self._count_broadcast(batch)
                    self._confirm(batch, report)
                else:
                    report.unfinished_batches.append(batch.id)

    def _take_lease(self, batch_id: str) -> SettlementBatch | None:
        """Makes this worker the batch's owner for `lease_seconds` if it is unfinished and its owner is this worker,
        nobody, or a worker whose lease ran out, and returns it as stored; None if not. One UPDATE: of two workers
        taking over, one wins."""
        now = self.clock()
        with self._session() as session:
            taken = session.execute(
                update(SettlementBatch)
                .where(
                    col(SettlementBatch.id) == batch_id,
                    col(SettlementBatch.status) == BatchStatus.SUBMITTED,
                    or_(
                        col(SettlementBatch.owner).is_(None),
                        col(SettlementBatch.owner) == self.worker_id,
                        col(SettlementBatch.lease_until).is_(None),
                        col(SettlementBatch.lease_until) <= now,
                    ),
                )
                .values(owner=self.worker_id, lease_until=now + self.lease_seconds)
            )
            if not taken.rowcount:  # type: ignore[attr-defined]
                session.rollback()
                return None
            session.commit()
            return session.get_one(SettlementBatch, batch_id)

    def _receipt_of_any_version(self, batch: SettlementBatch) -> TxReceipt | None:
        for tx_hash in [batch.tx_hash, *batch.replaced_tx_hashes]:
            receipt = self.chain.transactions.receipt_of(tx_hash)
            if receipt is not None:
                return receipt
        return None

    def _replace_with_higher_fees(
        self, batch: SettlementBatch, report: SettlementReport, session: Session
    ) -> SettlementBatch:
        """Stores the re-signed version (in `session`, whose transaction began before the nonce lock was taken)
        before it can be broadcast, keeping the hashes of those it replaces. At the fee ceiling the batch is left
        as it is (its current version is broadcast again)."""
        bumped = self.chain.transactions.bump_fees(_signed_of(batch), max_fee_ceiling=self.max_fee_per_gas)
        if bumped is None:
            report.errors.append(
                f"batch {batch.id} waits unmined at the fee ceiling ({self.max_fee_per_gas} wei per gas)"
            )
            return batch
        stored = session.get_one(SettlementBatch, batch.id, with_for_update=True)
        if stored.status != BatchStatus.SUBMITTED or stored.tx_hash != batch.tx_hash:
            return stored  # another worker finished or re-signed it meanwhile
        stored.replaced_tx_hashes = [*stored.replaced_tx_hashes, stored.tx_hash]
        stored.tx_hash, stored.raw_tx, stored.signed_at = bumped.tx_hash, bumped.raw, self.clock()
        session.add(stored)
        session.commit()
        log.info("batch %s re-signed with higher fees as %s", batch.id, bumped.tx_hash)
        if self.hooks.after_persist:
            self.hooks.after_persist(stored)
        return stored

    def _supersede(self, batch: SettlementBatch, report: SettlementReport) -> None:
        with self._session() as session:
            stored = session.get_one(SettlementBatch, batch.id, with_for_update=True)
            if stored.status != BatchStatus.SUBMITTED:
                return
            trips = self._batch_trips(session, stored)
            settled, requeued = reconcile_trips(session, self.chain, trips)
            stored.status = BatchStatus.SUPERSEDED
            stored.finished_at = utcnow()
            stored.note = f"nonce {stored.nonce} was used by another transaction"
            session.add(stored)
            session.commit()
        report.batches_finished.append(batch.id)
        report.already_settled.extend(settled)
        report.requeued.extend(requeued)

    # ------------------------------------------------------------- recording
    def _record_mined(self, batch_id: str, receipt: TxReceipt, report: SettlementReport) -> None:
        """Records every trip's outcome from a mined receipt, all in one database transaction."""
        now = self.clock()
        with self._session() as session:
            # Under the row's lock: of two workers recording one batch, the second finds it finished.
            batch = session.get_one(SettlementBatch, batch_id, with_for_update=True)
            if batch.status != BatchStatus.SUBMITTED:
                return  # another pass recorded it already
            trips = self._batch_trips(session, batch)
            batch.block_number = int(receipt["blockNumber"])
            batch.gas_used = int(receipt["gasUsed"])
            batch.finished_at = utcnow()
            report.gas_used += batch.gas_used
            if receipt["status"] != 1:
                batch.status = BatchStatus.REVERTED
                batch.note = "settle reverted as a whole"
                for trip in trips:
                    requeue(trip)
                    session.add(trip)
                report.requeued.extend(stored_id(t) for t in trips)
            else:
                events = self.chain.batch_events(receipt)
                batch.status = BatchStatus.CONFIRMED
                batch.settled_count = len(events.settled)
                batch.rejected_count = len(events.rejected)
                resend_check = []
                for trip in trips:
                    trip_id = stored_id(trip)
                    if trip_id in events.settled:
                        record_settled(trip, events.settled[trip_id])
                        report.settled.append(trip_id)
                        session.add(trip)
                    elif trip_id in events.rejected and events.rejected[trip_id].reason != RejectReason.ALREADY_SETTLED:
                        self._record_rejection(session, trip, events.rejected[trip_id], now, report)
                    else:
                        # AlreadySettled (or, defensively, no event at all): the chain decides.
                        resend_check.append(trip)
                if resend_check:
                    settled, requeued = reconcile_trips(session, self.chain, resend_check)
                    report.already_settled.extend(settled)
                    report.requeued.extend(requeued)
            session.add(batch)
            session.commit()
        report.batches_finished.append(batch_id)

    def _record_rejection(
        self, session: Session, trip: Trip, rejection: TripRejection, now: float, report: SettlementReport
    ) -> None:
        trip_id = stored_id(trip)
        reason = rejection.reason.label
        trip.tx_hash = rejection.tx_hash
        trip.block_number = rejection.block_number
        trip.reject_reason = reason
        if rejection.reason in RETRYABLE_REASONS:
            # Retried until it settles: a disputed trip waits for a mediator (a decision never expires), an open
            # window closes. The delay doubles per attempt so that a long dispute costs few rejected receipts.
            retry = session.get(SettlementRetry, trip_id) or SettlementRetry(trip_id=trip_id)
            retry.attempts += 1
            retry.last_reason = reason
            delay = min(self.retry_delay_seconds * 2 ** min(retry.attempts - 1, 30), self.max_retry_delay_seconds)
            retry.retry_after = now + delay
            session.add(retry)
            requeue(trip)
            report.retry_later[trip_id] = reason
            session.add(trip)
            return
        trip.status = TripStatus.REJECTED
        report.rejected[trip_id] = reason
        session.add(trip)

    @staticmethod
    def _batch_trips(session: Session, batch: SettlementBatch) -> list[Trip]:
        # Only trips still held by this batch: a trip reconciled elsewhere is not touched again.
        return list(
            session.exec(
                select(Trip).where(
                    col(Trip.id).in_(batch.trip_ids), Trip.batch_id == batch.id, Trip.status == TripStatus.SUBMITTED
                )
            ).all()
        )


def _signed_of(batch: SettlementBatch) -> SignedTx:
    return SignedTx(raw=batch.raw_tx, tx_hash=batch.tx_hash, nonce=batch.nonce)


# ------------------------------------------------------------------ entry points
def worker_from_settings(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    chain: ChainClient | None = None,
    worker_id: str = DEFAULT_WORKER_ID,
) -> SettlementWorker:
    settings = settings or get_settings()
    if engine is None:
        engine = make_engine(settings.database_url)
        init_db(engine)
    chain = chain or ChainClient(settings.rpc_url, load_manifest(settings.manifest_path), settings.settler_key)
    attester = Attester(attester_key_of(settings, chain.chain_id), chain.manifest.domains["receipt"])
    return SettlementWorker(
        engine,
        chain,
        attester=attester,
        batch_size=settings.settlement_batch_size,
        max_age_seconds=settings.settlement_max_age_seconds,
        bump_after_seconds=settings.settlement_bump_after_seconds,
        max_fee_per_gas=int(settings.settlement_max_fee_gwei * 10**9),
        worker_id=worker_id,
        poll_seconds=settings.settlement_poll_seconds,
    )


def run_once(settings: Settings | None = None, *, force: bool = False) -> SettlementReport:
    """One pass with the configured database and chain (for the CLI)."""
    return worker_from_settings(settings).run_once(force=force)


def run_forever(
    stop_event: threading.Event,
    settings: Settings | None = None,
    poll_interval: float | None = None,
    *,
    worker_id: str = DEFAULT_WORKER_ID,
) -> None:
    """The worker as its own process (`coopride settle`, `coopride run`'s worker processes): runs until `stop_event`
    is set. Several, with different `worker_id`s, may share one PostgreSQL database."""
    worker_from_settings(settings, worker_id=worker_id).run_forever(stop_event, poll_interval)


def start_in_thread(
    worker: SettlementWorker, poll_interval: float | None = None
) -> tuple[threading.Thread, threading.Event]:
    """The embedded worker for the API's lifespan: set the event and join the thread on shutdown."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=worker.run_forever, args=(stop_event, poll_interval), name="settlement-worker", daemon=True
    )
    thread.start()
    return thread, stop_event


@asynccontextmanager
async def embedded_worker(app: FastAPI) -> AsyncIterator[None]:
    """FastAPI lifespan that runs the worker in a thread beside the API (the embedded default).

    Uses `app.state.engine`, `app.state.chain` and `app.state.settings`, as `create_app` sets them.
    """
    worker = worker_from_settings(app.state.settings, engine=app.state.engine, chain=app.state.chain)
    thread, stop_event = start_in_thread(worker)
    app.state.settlement_worker = worker
    try:
        yield
    finally:
        stop_event.set()
        thread.join(timeout=60)
