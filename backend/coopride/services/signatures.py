"""Checking wallet signatures: the one place a signer is recovered from a signature."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import SignableMessage, encode_typed_data

from coopride.services.errors import DomainError, Forbidden


def recover_signer(
    signable: SignableMessage, signature: bytes, what: str, refusal: type[DomainError] = Forbidden
) -> str:
    """The address that signed `signable`; `refusal` ("<what> cannot be verified: ...") when none can be recovered."""
    try:
        return str(Account.recover_message(signable, signature=signature))
    except Exception as exc:  # eth_keys raises several types for a malformed signature
        raise refusal(f"{what} cannot be verified: {exc}") from None


def require_typed_signer(typed_data: dict[str, Any], signature: bytes, expected: str, what: str) -> None:
    """Refuses (403) unless `expected` signed exactly `typed_data` (EIP-712)."""
    signer = recover_signer(encode_typed_data(full_message=typed_data), signature, f"the {what} signature")
    if signer != expected:
        raise Forbidden(
            f"the {what} signature is not {expected}'s over this exact typed data (it recovers to {signer})"
        )
