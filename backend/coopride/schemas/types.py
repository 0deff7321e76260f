"""Validated field types the API shapes share: points on the globe, addresses, signatures, amounts."""

from __future__ import annotations

from typing import Annotated

from eth_utils import is_hex_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from coopride.domain.geo import LatLon, validate_latlon

# Shapes the API answers with: read from table rows, and every field listed as present (defaults included).
PUBLIC = ConfigDict(from_attributes=True, json_schema_serialization_defaults_required=True)


class LatLonIn(BaseModel):
    """A point on the globe, in degrees."""

    lat: float = Field(description="latitude in degrees, -90..90", examples=[45.7597])
    lon: float = Field(description="longitude in degrees, -180..180", examples=[4.8422])

    @model_validator(mode="after")
    def _on_the_globe(self) -> LatLonIn:
        validate_latlon(self.lat, self.lon)
        return self

    @property
    def point(self) -> LatLon:
        return LatLon(self.lat, self.lon)


def _hex_signature(value: str) -> str:
    body = value[2:] if value.startswith(("0x", "0X")) else value
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise ValueError("signature is not hex") from None
    if len(raw) != 65:
        raise ValueError(f"a signature has 65 bytes, got {len(raw)}")
    return "0x" + raw.hex()


def _checksum(value: str) -> str:
    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    return to_checksum_address(value)


def signature_bytes(signature: str) -> bytes:
    """The bytes of a `HexSignature` (already validated: 0x and 65 bytes of hex)."""
    return bytes.fromhex(signature.removeprefix("0x"))


HexSignature = Annotated[
    str,
    AfterValidator(_hex_signature),
    Field(description="65-byte wallet signature, 0x hex", examples=["0x" + "11" * 65]),
]
Address = Annotated[str, AfterValidator(_checksum), Field(examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"])]
TokenAmount = Annotated[int, Field(gt=0, lt=2**256, description="fare-token units (6 decimals on the test token)")]
Uint96 = Annotated[int, Field(ge=0, lt=2**96)]
RegionIdField = Annotated[int, Field(ge=1, lt=2**32)]
Deadline = Annotated[int, Field(ge=0, lt=2**256, description="the deadline in the signed typed data")]
