"""Is the service up: does the database answer, and the chain node?"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session

from coopride.chain.client import ChainClient
from coopride.chain.errors import ChainUnavailable
from coopride.schemas.health import Health


def check(session: Session, chain: ChainClient) -> Health:
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = True
    except Exception:  # any failure of the database counts as down
        database = False
    try:
        block_number: int | None = chain.block_number()
    except ChainUnavailable:
        block_number = None
    return Health(database=database, chain=block_number is not None, block_number=block_number)
