"""The database: an engine from DATABASE_URL, schema by Alembic migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from eth_utils import keccak
from sqlalchemy import Engine, event, text
from sqlmodel import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Whether SQLite transactions started in this context may write (see `_begin_immediate`).
_may_write: ContextVar[bool] = ContextVar("coopride_sqlite_may_write", default=True)


def nonce_lock_key(address: str) -> int:
    """The PostgreSQL advisory lock key (a signed 64-bit integer) that serialises the nonces of one sending address
    across processes: the settlement workers and the API processes relaying from the same key take it."""
    return int.from_bytes(keccak(b"coopride settler nonce " + address.lower().encode())[:8], "big", signed=True)


def lock_engine(engine: Engine) -> Engine:
    """An engine with a small pool of its own for `nonce_lock`: a request that holds a connection of `engine`'s pool
    must not wait for that pool to lend it a second one for the lock (with every connection lent to such requests,
    none would ever come back). Each process sends from a key one thread at a time, so a few connections do."""
    return create_engine(engine.url, pool_size=2, max_overflow=4, pool_pre_ping=True)


@contextmanager
def nonce_lock(engine: Engine, address: str) -> Iterator[None]:
    """Holds `address`'s advisory lock (PostgreSQL), session level, on a connection of its own: a dead process's
    lock goes with its connection."""
    key = nonce_lock_key(address)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            try:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
            except Exception:  # never hand a connection that may still hold the lock back to the pool
                connection.invalidate()
                raise


@contextmanager
def read_only_transactions() -> Iterator[None]:
    """SQLite transactions begun inside are deferred (readers never wait for the write lock): for work that only
    reads, such as a GET request."""
    token = _may_write.set(False)
    try:
        yield
    finally:
        _may_write.reset(token)


def mark_read_only() -> None:
    """`read_only_transactions` for the rest of the current context (a request's task)."""
    _may_write.set(False)


def make_engine(database_url: str) -> Engine:
    """SQLite (the default) or PostgreSQL, whichever DATABASE_URL names."""
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(database_url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate)
        return engine
    return create_engine(database_url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver's own transaction handling off: `_begin_immediate` opens every transaction.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _begin_immediate(connection: Any) -> None:
    """A SQLite transaction that may write takes the write lock when it starts (`BEGIN IMMEDIATE`), waiting up to
    the busy timeout for it. A deferred transaction that read first and then writes cannot wait: SQLite answers
    "database is locked" at once when another writer committed meanwhile (issue 12: 500s under contention).
    Read-only work (`read_only_transactions`, GET requests) begins deferred and never waits for writers."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write.get() else "BEGIN")


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
        config.attributes["engine"] = engine
    return config


def init_db(engine: Engine) -> None:
    """Brings the schema to the newest revision (Alembic `upgrade head`)."""
    command.upgrade(alembic_config(engine), "head")
