"""Serialising writers that must not interleave (issue 12), on both databases.

SQLite: every transaction that may write begins `BEGIN IMMEDIATE` (`coopride.db`), so writers already run one at
a time, waiting up to the busy timeout; nothing more is needed. PostgreSQL: rows are locked with
`SELECT ... FOR UPDATE` (`lock_row`), and a thing that has no row of its own (the seats of a region's offers
while matching, a driver's time line, an idempotency key) with a transaction-scoped advisory lock (`lock_key`),
released at commit or rollback. Locks are always taken in the order idempotency key, region or driver, rows, so
that two transactions never wait for each other."""

from __future__ import annotations

import hashlib
from typing import TypeVar

from sqlalchemy import text
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


def _postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_key(session: Session, *key: str | int) -> None:
    """Waits until no other transaction holds `key`, then holds it until this transaction ends."""
    if not _postgresql(session):
        return
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int.from_bytes(digest, "big", signed=True)})


def lock_row(session: Session, row: Row) -> Row:
    """`row` locked (`FOR UPDATE`) and read again as committed now: later writers wait for this transaction."""
    if _postgresql(session):
        session.refresh(row, with_for_update=True)
    return row
