"""What every relay of a member's signature shares: the deadline of the typed data the member signs, and the
record of the transaction the settler key paid for."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from coopride.chain.client import ChainClient
from coopride.chain.types import TxOutcome
from coopride.config import Settings
from coopride.models import RelayedTransaction
from coopride.models.enums import RelayKind
from coopride.services.errors import Invalid


def signature_deadline(chain: ChainClient, settings: Settings) -> int:
    """The deadline to put in typed data built now: `signature_deadline_seconds` past the chain's time."""
    return chain.latest_timestamp() + settings.signature_deadline_seconds


def require_live_deadline(chain: ChainClient, deadline: int) -> None:
    if deadline < chain.latest_timestamp():
        raise Invalid("the signed deadline has passed: fetch fresh typed data")


def record_relayed(
    session: Session, member: str, kind: RelayKind, outcome: TxOutcome, **fields: Any
) -> RelayedTransaction:
    """Adds the row for a transaction the backend sent for `member`; the caller commits."""
    row = RelayedTransaction(
        member=member,
        kind=kind,
        tx_hash=outcome.tx_hash,
        block_number=outcome.block_number,
        gas_used=outcome.gas_used,
        **fields,
    )
    session.add(row)
    return row
