"""Checking a wallet's EIP-712 signature before the backend pays gas to relay it."""

from __future__ import annotations

from fastapi import HTTPException, status

from coopride.chain.eip712 import recover_typed_data_signer


def signature_bytes(signature_hex: str) -> bytes:
    return bytes.fromhex(signature_hex.removeprefix("0x"))


def require_signer(typed_data: dict, signature_hex: str, expected: str, what: str) -> bytes:
    """The signature's bytes, if `expected` signed exactly `typed_data`; 403 with the reason otherwise."""
    signature = signature_bytes(signature_hex)
    try:
        signer = recover_typed_data_signer(typed_data, signature)
    except Exception as exc:  # eth_keys raises several types for a malformed signature
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {what} signature cannot be verified: {exc}") from None
    if signer != expected:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"the {what} signature is not {expected}'s over this exact typed data (it recovers to {signer})",
        )
    return signature
