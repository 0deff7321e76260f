"""Several settlement workers on one PostgreSQL database, sharing the settler key (issue 13): real processes claim
disjoint batches (`FOR UPDATE SKIP LOCKED`), take nonces under the advisory lock, and one of them is killed
(SIGKILL) mid-batch; its batch is taken over once its lease runs out. At the end every trip is settled on chain
exactly once, the database agrees, and no trip is in two batches that both went through."""

from __future__ import annotations

import collections
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from sqlmodel import Session, select

from coopride.models import SettlementBatch, Trip
from coopride.models.enums import BatchStatus, TripStatus
from coopride.settlement.reconcile import audit
from coopride.settlement.worker import SettlementHooks

DATABASES = ("postgresql",)

TRIPS = 30
BATCH_SIZE = 4
LEASE_SECONDS = 4.0
KILLED = "worker-killed"
SURVIVORS = ("worker-a", "worker-b")

WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    from sqlmodel import Session, func, select
    from coopride.chain.client import ChainClient
    from coopride.chain.manifest import load_manifest
    from coopride.db import make_engine
    from coopride.models import Trip
    from coopride.models.enums import TripStatus
    from coopride.settlement.worker import SettlementHooks, SettlementWorker

    database_url, rpc_url, manifest_path, key, worker_id, kill_at, batch_size, lease = sys.argv[1:9]
    engine = make_engine(database_url)
    chain = ChainClient(rpc_url, load_manifest(manifest_path), key)
    hooks = SettlementHooks()
    if kill_at != "never":
        setattr(hooks, kill_at, lambda batch: os.kill(os.getpid(), signal.SIGKILL))
    worker = SettlementWorker(engine, chain, batch_size=int(batch_size), max_age_seconds=0, receipt_timeout=10,
                              lease_seconds=float(lease), worker_id=worker_id, hooks=hooks)
    deadline = time.time() + 150
    while time.time() < deadline:
        report = worker.run_once()
        print(worker_id, "sent", report.batches_sent, "finished", report.batches_finished, report.errors, flush=True)
        with Session(engine) as session:
            left = session.exec(select(func.count()).select_from(Trip).where(Trip.status != TripStatus.SETTLED)).one()
        if not left:
            sys.exit(0)
        time.sleep(0.2)
    sys.exit(3)
    """
)


@pytest.fixture
def queued(bootstrap_region, members, queue_trip) -> list[int]:
    """TRIPS solo trips by two drivers, driver-signed and due."""
    drivers = members["drivers"]
    return sorted(queue_trip(drivers[i % 2], region_id=bootstrap_region) for i in range(TRIPS))


def _start(deployment, engine, worker_id: str, kill_at: str = "never") -> subprocess.Popen[str]:
    database_url = engine.url.render_as_string(hide_password=False)
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, database_url, deployment.rpc_url, str(deployment.manifest_path),
         deployment.settler_key, worker_id, kill_at, str(BATCH_SIZE), str(LEASE_SECONDS)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _batches(engine) -> list[SettlementBatch]:
    with Session(engine) as session:
        return list(session.exec(select(SettlementBatch)).all())


@pytest.mark.parametrize("kill_at", ["after_persist", "after_broadcast"])
def test_three_workers_one_killed_mid_batch_settle_every_trip_exactly_once(
    kill_at, queued, deployment, engine, chain_client
):
    killed = _start(deployment, engine, KILLED, kill_at)
    processes = [killed]
    try:
        # The survivors start once the doomed worker stored its first batch: it is sure to die holding one.
        deadline = time.time() + 60
        while not any(b.owner == KILLED for b in _batches(engine)):
            assert killed.poll() is None, killed.communicate()[0]
            assert time.time() < deadline, "the first worker stored no batch"
            time.sleep(0.05)
        processes += [_start(deployment, engine, worker_id) for worker_id in SURVIVORS]
        (left_behind,) = [b.id for b in _batches(engine) if b.owner == KILLED]
        outputs = [p.communicate(timeout=180)[0] for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    assert killed.returncode == -signal.SIGKILL, outputs[0]
    for process, output in zip(processes[1:], outputs[1:], strict=True):
        assert process.returncode == 0, output

    # The chain: one TripSettled per trip, none for anything else we queued twice.
    logs = chain_client.ledger.events.TripSettled.get_logs(from_block=0)
    settled_on_chain = collections.Counter(int(log["args"]["tripId"]) for log in logs)
    assert {trip_id: settled_on_chain[trip_id] for trip_id in queued} == dict.fromkeys(queued, 1)
    tx_of = {int(log["args"]["tripId"]): log["transactionHash"].to_0x_hex() for log in logs}

    # The database agrees, trip by trip.
    with Session(engine) as session:
        trips = {t.id: t for t in session.exec(select(Trip).where(Trip.id.in_(queued))).all()}
        assert audit(session, chain_client) == []
    assert {t.status for t in trips.values()} == {TripStatus.SETTLED}
    assert {trip_id: t.tx_hash for trip_id, t in trips.items()} == {trip_id: tx_of[trip_id] for trip_id in queued}

    # Every batch is finished; each trip is in exactly one batch that went through, the one whose transaction
    # settled it; the batch the killed worker left was finished by a survivor.
    batches = _batches(engine)
    assert all(b.status != BatchStatus.SUBMITTED for b in batches), [(b.id, b.status) for b in batches]
    confirmed_with = collections.defaultdict(list)
    for batch in batches:
        if batch.status == BatchStatus.CONFIRMED:
            for trip_id in batch.trip_ids:
                confirmed_with[trip_id].append(batch)
    for trip_id in queued:
        assert len(confirmed_with[trip_id]) == 1, f"trip {trip_id} in {len(confirmed_with[trip_id])} confirmed batches"
        assert tx_of[trip_id] in {confirmed_with[trip_id][0].tx_hash, *confirmed_with[trip_id][0].replaced_tx_hashes}
    assert all(b.owner in SURVIVORS for b in batches), "a survivor took over the killed worker's batch"
    (taken_over,) = [b for b in batches if b.id == left_behind]
    # Broadcast before the kill: mined, recorded from its receipt. Stored only: a survivor whose lease check came
    # after the lease ran out broadcast the stored bytes (confirmed); one that came first took the node's next
    # nonce, the same one, for a batch of its own, and the stored batch was superseded, its trips sent again.
    expected = {BatchStatus.CONFIRMED} if kill_at == "after_broadcast" else {BatchStatus.CONFIRMED, BatchStatus.SUPERSEDED}
    assert taken_over.status in expected
    if kill_at == "after_broadcast":  # every nonce was taken under the advisory lock: no batch lost its nonce
        assert {b.status for b in batches} == {BatchStatus.CONFIRMED}
        assert len({b.nonce for b in batches}) == len(batches)


class WorkerDied(Exception):
    """Stands in for the process dying at a hook."""


def _die(_batch):
    raise WorkerDied


class TestLeases:
    """In one process, with clocks moved by hand: who may finish a batch another worker left."""

    @pytest.fixture
    def left_batch(self, bootstrap_region, members, queue_trip, make_worker, engine):
        """Three trips in a batch worker "a" stored (signed, never broadcast) before it died; (trip ids, batch)."""
        ids = sorted(queue_trip(members["drivers"][i % 2], region_id=bootstrap_region) for i in range(3))
        with pytest.raises(WorkerDied):
            make_worker(worker_id="a", lease_seconds=60, hooks=SettlementHooks(after_persist=_die)).run_once()
        (batch,) = _batches(engine)
        assert (batch.owner, batch.status) == ("a", BatchStatus.SUBMITTED)
        return ids, batch

    def test_another_worker_leaves_a_leased_batch_alone_and_takes_it_over_when_the_lease_runs_out(
        self, left_batch, make_worker, engine, trips_in_db, chain_client
    ):
        ids, batch = left_batch
        clock = [time.time()]
        other = make_worker(worker_id="b", lease_seconds=60, clock=lambda: clock[0])

        report = other.run_once()

        assert report.batches_finished == [] and report.unfinished_batches == [] and report.settled == []
        (still,) = _batches(engine)
        assert (still.owner, still.status, still.broadcast_count) == ("a", BatchStatus.SUBMITTED, 0)

        clock[0] += 61
        report = other.run_once()

        assert report.batches_sent == [] and report.batches_finished == [batch.id] and sorted(report.settled) == ids
        (finished,) = _batches(engine)
        assert (finished.owner, finished.status, finished.broadcast_count) == ("b", BatchStatus.CONFIRMED, 1)
        assert {t.tx_hash for t in trips_in_db(*ids).values()} == {batch.tx_hash}

    def test_the_same_worker_restarted_finishes_its_own_batch_at_once(self, left_batch, make_worker, engine):
        ids, batch = left_batch

        report = make_worker(worker_id="a", lease_seconds=60).run_once()

        assert report.batches_finished == [batch.id] and sorted(report.settled) == ids

    def test_of_two_workers_taking_over_one_wins_the_lease(self, left_batch, make_worker, engine):
        _, batch = left_batch
        later = time.time() + 61
        first, second = (make_worker(worker_id=w, lease_seconds=60, clock=lambda: later) for w in ("b", "c"))

        assert first._take_lease(batch.id).owner == "b"
        assert second._take_lease(batch.id) is None
        assert first._take_lease(batch.id).lease_until == later + 60  # its own: renewed


def test_trips_another_worker_is_claiming_are_skipped_not_waited_for(
    bootstrap_region, members, queue_trip, make_worker, engine, trips_in_db
):
    ids = sorted(queue_trip(members["drivers"][i % 2], region_id=bootstrap_region) for i in range(4))
    with Session(engine) as other:  # another worker's claim transaction, open, holding two trips
        held = sorted(t.id for t in other.exec(select(Trip).where(Trip.id.in_(ids[:2])).with_for_update()).all())
        assert len(held) == 2

        report = make_worker(worker_id="b").run_once()

        assert sorted(report.settled) == sorted(set(ids) - set(held))
        other.rollback()
    assert {t.status for t in trips_in_db(*held).values()} == {TripStatus.QUEUED}
    assert sorted(make_worker(worker_id="b").run_once().settled) == held
