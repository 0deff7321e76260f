"""Validated field types the API shapes share: points on the globe, addresses, signatures, amounts."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Lt
from eth_utils import is_hex_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

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

# Ids. Annotated-types bounds (not a `Field`), so that the same type works in a body, and in a path or a query
# together with FastAPI's `Path()`/`Query()` (`Annotated[RowId, Path(description=...)]`): an id outside the range
# is a 422, never a database error (SQLite and PostgreSQL integers are signed 64-bit).
RowId = Annotated[int, Ge(1), Lt(2**63)]
# A region id as the RideLedger stores it (uint32, 0 is no region).
ChainRegionId = Annotated[int, Ge(1), Lt(2**32)]
UINT256_LIMIT = 2**256


def _uint256_text(value: str) -> str:
    if int(value) >= UINT256_LIMIT:
        raise ValueError("the number must be below 2**256 (a uint256)")
    return str(int(value))


# A uint256 written in decimal (a proposal id): digits only, below 2**256; leading zeros dropped.
Uint256Text = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,78}$"),
    AfterValidator(_uint256_text),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,78}$", "description": "a uint256 in decimal digits"}),
]

# An amount in integer base units (fare-token units, 6 decimals on the test token; share units, 18 decimals),
# answered as a decimal string so that no JSON client rounds it (a double holds integers only up to 2**53).
# See `GET /chain` for each token's decimals.
BaseUnits = Annotated[
    int,
    Ge(0),
    PlainSerializer(str, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": "^[0-9]+$", "description": "integer base units, decimal"}),
]


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters (U+0000): PostgreSQL cannot store them")
    return value


# Text a client sends that the backend stores: any Unicode but NUL, which PostgreSQL refuses in text columns.
StoredText = Annotated[str, AfterValidator(_without_nul)]
