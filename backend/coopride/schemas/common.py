"""Shapes several areas answer with: typed data to sign, a signature, a relayed transaction."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from coopride.models.relays import RelayedTransactionBase
from coopride.schemas.types import PUBLIC, FareAmount, HexSignature

# The exception to the amount rule (`coopride.schemas.types`): typed data is what a wallet signs, in the shape
# eth_signTypedData_v4 takes, so its integers (uint96 fares and awards, uint256 amounts, nonces, deadlines, ids)
# are JSON numbers, as eth-account's `encode_typed_data` and wallets read them; some exceed 2**53, so parse them
# exactly (a wallet also accepts them as decimal strings).
TYPED_DATA = (
    "EIP-712 typed data for eth_signTypedData_v4 (types, primaryType, domain, message); its integers are JSON "
    "numbers, some above 2**53 (parse them exactly); amounts in it are base units like every amount of the API"
)


class TypedDataResponse(BaseModel):
    """EIP-712 typed data: sign it with `eth_signTypedData_v4` and post the signature back."""

    typed_data: dict[str, Any] = Field(description=TYPED_DATA)


class SignatureIn(BaseModel):
    signature: HexSignature


class RelayedTransactionPublic(RelayedTransactionBase):
    model_config = PUBLIC  # type: ignore[assignment]

    amount: FareAmount | None = Field(  # type: ignore[assignment]
        default=None, description="fare-token base units deposited, withdrawn or claimed; null for other kinds"
    )
