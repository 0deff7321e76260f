"""Membership, gas-free: joining a region, depositing fare tokens into escrow and claiming surplus, each a
member's signature (or request) the backend relays from the settler key."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import join_typed_data as join_message
from coopride.chain.eip712 import permit_typed_data
from coopride.config import Settings
from coopride.models import RelayedTransaction
from coopride.models.enums import RelayKind
from coopride.services.errors import Conflict, Forbidden, Invalid
from coopride.services.relays import record_relayed, require_live_deadline, signature_deadline
from coopride.services.signatures import require_typed_signer


def require_member(chain: ChainClient, address: str) -> None:
    """Refuses (403) an address that holds no CoopRide membership on chain."""
    if not chain.is_member(address):
        raise Forbidden(f"{address} is not a member: join first (POST /members/join)")


def require_region(chain: ChainClient, region_id: int) -> None:
    if not chain.region(region_id).exists:
        raise Invalid(f"unknown region {region_id}")


def _require_newcomer(chain: ChainClient, address: str) -> None:
    if chain.is_member(address):
        raise Conflict(f"{address} is already a member")


def _join_message(chain: ChainClient, address: str, region_id: int, deadline: int) -> dict[str, Any]:
    return join_message(
        chain.manifest.domains["membership"], address, region_id, chain.membership_nonce(address), deadline
    )


def join_typed_data(chain: ChainClient, settings: Settings, address: str, region_id: int) -> dict[str, Any]:
    """The EIP-712 `Join` for `address` to sign."""
    _require_newcomer(chain, address)
    require_region(chain, region_id)
    return _join_message(chain, address, region_id, signature_deadline(chain, settings))


def join(
    session: Session, chain: ChainClient, address: str, region_id: int, deadline: int, signature: bytes
) -> RelayedTransaction:
    """Relays `address`'s signed `Join` (`Membership.joinBySig`)."""
    _require_newcomer(chain, address)
    require_region(chain, region_id)
    require_live_deadline(chain, deadline)
    require_typed_signer(_join_message(chain, address, region_id, deadline), signature, address, "Join")
    outcome = chain.relay_join(address, region_id, deadline, signature)
    return record_relayed(session, address, RelayKind.JOIN, outcome, region_id=region_id)


def _permit(chain: ChainClient, member: str, amount: int, deadline: int) -> dict[str, Any]:
    return permit_typed_data(
        chain.manifest.domains["fareToken"], member, chain.ledger.address, amount, chain.permit_nonce(member), deadline
    )


def deposit_typed_data(chain: ChainClient, settings: Settings, member: str, amount: int) -> dict[str, Any]:
    """The ERC-2612 `Permit` (spender: the RideLedger) for `member` to sign."""
    return _permit(chain, member, amount, signature_deadline(chain, settings))


def deposit(
    session: Session, chain: ChainClient, member: str, amount: int, deadline: int, signature: bytes
) -> RelayedTransaction:
    """Relays `member`'s signed permit into an escrow deposit (`RideLedger.depositWithPermit`)."""
    require_live_deadline(chain, deadline)
    balance = chain.fare_token_balance(member)
    if balance < amount:
        raise Invalid(f"the wallet holds {balance} fare-token units, less than the {amount} to deposit")
    require_typed_signer(_permit(chain, member, amount, deadline), signature, member, "permit")
    outcome = chain.relay_permit_deposit(member, amount, deadline, signature)
    return record_relayed(session, member, RelayKind.DEPOSIT, outcome, amount=str(amount))


def claim(session: Session, chain: ChainClient, member: str) -> RelayedTransaction:
    """Relays `CoopShare.claimFor(member)`: the member's share of distributed surplus, paid to the member."""
    amount = chain.claimable(member)
    if amount == 0:
        raise Conflict("nothing to claim")
    outcome = chain.relay_claim(member)
    return record_relayed(session, member, RelayKind.CLAIM, outcome, amount=str(amount))
