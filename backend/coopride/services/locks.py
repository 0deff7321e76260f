"""Serialising writers that must not interleave (issue 12), on both databases.

SQLite: every transaction that may write begins `BEGIN IMMEDIATE` (`coopride.db`), so writers already run one at
a time, waiting up to the busy timeout; nothing more is needed. PostgreSQL: rows are locked with
`SELECT ... FOR UPDATE` (`lock_row`), and a thing that has no row of its own (the seats of a region's offers
while matching, a driver's time line, an idempotency key) with a transaction-scoped advisory lock (`lock_key`),
released at commit or rollback. Locks are always taken in the order idempotency key, region or driver, rows, so
that two transactions never wait for each other."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from sqlalchemy import Engine, text
from sqlmodel import Session, SQLModel

from coopride.chain.transactions import SettlerTransactions

Row = TypeVar("Row", bound=SQLModel)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _advisory_key(key: tuple[str | int, ...]) -> int:
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "big", signed=True)


def lock_key(session: Session, *key: str | int) -> None:
    """Waits until no other transaction holds `key`, then holds it until this transaction ends."""
    if not _postgresql(session):
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(key)})


@contextmanager
def held_by_this_process(engine: Engine, *key: str | int) -> Iterator[None]:
    """Holds `key` for the block, whatever transactions begin and end meanwhile: a session-level advisory lock on
    a connection of its own (PostgreSQL; nothing to do on SQLite, which serves one process)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _advisory_key(key)})
        connection.commit()
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _advisory_key(key)})
                connection.commit()
            except Exception:  # never hand a connection that may still hold the lock back to the pool
                connection.invalidate()
                raise


def share_nonces(engine: Engine, transactions: SettlerTransactions) -> None:
    """Every process on `engine` that sends from one key (API relays, settlement workers) takes the key's lock from
    choosing a nonce to the broadcast, so two processes never sign two transactions with one nonce."""
    transactions.nonce_guard = lambda address: held_by_this_process(engine, "nonce", address.lower())


def lock_row(session: Session, row: Row) -> Row:
    """`row` locked (`FOR UPDATE`) and read again as committed now: later writers wait for this transaction."""
    if _postgresql(session):
        session.refresh(row, with_for_update=True)
    return row
