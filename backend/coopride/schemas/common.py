"""Shapes several areas answer with: typed data to sign, a signature, a relayed transaction."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from coopride.models.relays import RelayedTransactionBase
from coopride.schemas.types import PUBLIC, HexSignature


class TypedDataResponse(BaseModel):
    """EIP-712 typed data: sign it with `eth_signTypedData_v4` and post the signature back."""

    typed_data: dict[str, Any]


class SignatureIn(BaseModel):
    signature: HexSignature


class RelayedTransactionPublic(RelayedTransactionBase):
    model_config = PUBLIC  # type: ignore[assignment]
