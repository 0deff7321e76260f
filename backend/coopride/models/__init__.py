"""The database tables (SQLModel, `table=True`) and the statuses they store (`enums`). Nothing here is an
API shape: those are in `coopride.schemas`, built on the bases the tables share. Every uint256 that can
exceed 2^63 (share amounts, proposal ids, token amounts in 18 decimals) is stored as a decimal string;
SQLite integers are signed 64-bit. The schema itself is made by the Alembic migrations (`coopride.migrations`)."""

from coopride.models.applications import Application
from coopride.models.auth import MemberSession, SignInNonce
from coopride.models.base import as_utc, stored_id, utcnow
from coopride.models.relays import Proposal, RelayedTransaction
from coopride.models.rides import IdempotencyRecord, RideRequest, TripOffer
from coopride.models.settlement import SettlementBatch, SettlementRetry
from coopride.models.trips import Trip

__all__ = [
    "Application",
    "IdempotencyRecord",
    "MemberSession",
    "Proposal",
    "RelayedTransaction",
    "RideRequest",
    "SettlementBatch",
    "SettlementRetry",
    "SignInNonce",
    "Trip",
    "TripOffer",
    "as_utc",
    "stored_id",
    "utcnow",
]
