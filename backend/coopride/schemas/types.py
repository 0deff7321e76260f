"""Validated field types the API shapes share: points on the globe, addresses, signatures, amounts."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from annotated_types import Ge, Lt
from eth_utils import is_hex_address, to_checksum_address
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

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

# ------------------------------------------------------------------ amounts
# The API's one rule for amounts: every amount of a token, in every answer and every request, is an integer
# number of the token's base units written as a decimal string ("2500000"), so that no JSON client rounds it (a
# double holds integers only up to 2**53). `GET /chain` gives each token's decimals: the fare token's (fares,
# deposits, escrow, earnings, fees, treasury, capital shares, awards) and the share token's (co-op shares,
# rewards). Inside the backend an amount is a Python int.
FARE_TOKEN = "fare token"
SHARE_TOKEN = "share token"
_DIGITS = re.compile(r"[0-9]+")
_BOUND_NAMES = {2**96: "2**96 (a uint96)", 2**256: "2**256 (a uint256)"}


@dataclass(frozen=True)
class BaseUnits:
    """`Annotated[int, BaseUnits(token)]`: an amount of `token` in integer base units, from `minimum` and below
    `below`; a decimal string in JSON (pattern `^[0-9]+$`). A request's amount must be such a string: a JSON
    number, a sign, spaces, a decimal point or an exponent is refused (422). An answer's (`answer=True`) is also
    built from the backend's ints (or a decimal string column)."""

    token: str
    minimum: int = 0
    below: int = 2**256
    answer: bool = False

    @property
    def description(self) -> str:
        return (
            f"{self.token} amount: integer base units written as a decimal string, at least {self.minimum} and "
            f"below {_BOUND_NAMES.get(self.below, self.below)}; GET /chain gives the {self.token}'s decimals"
        )

    def _refuse(self, problem: str) -> PydanticCustomError:
        return PydanticCustomError(
            "base_units",
            'an amount is a decimal string of {token} base units, e.g. "2500000": {problem}',
            {"token": self.token.replace(" ", "-"), "problem": problem},
        )

    def _validate(self, value: object) -> int:
        if isinstance(value, str):
            if not _DIGITS.fullmatch(value):
                raise self._refuse(f"{ascii(value)[:40]} is not digits only")
            digits = value.lstrip("0") or "0"
            amount = int(digits) if len(digits) <= 78 else self.below  # 2**256 has 78 digits
        elif isinstance(value, int) and not isinstance(value, bool) and self.answer:
            amount = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            raise self._refuse("got a JSON number; write it between quotes")
        else:
            raise self._refuse(f"got {type(value).__name__}")
        if amount < self.minimum:
            raise self._refuse(f"it must be at least {self.minimum}")
        if amount >= self.below:
            raise self._refuse(f"it must be below {_BOUND_NAMES.get(self.below, self.below)}")
        return amount

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(
            self._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(str, when_used="json"),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "pattern": "^[0-9]+$", "description": self.description, "examples": ["2500000"]}


# What the API answers with.
FareAmount = Annotated[int, BaseUnits(FARE_TOKEN, answer=True)]
ShareAmount = Annotated[int, BaseUnits(SHARE_TOKEN, answer=True)]
# What it accepts, bounded as the contracts take them.
FareAmountIn = Annotated[int, BaseUnits(FARE_TOKEN)]  # a uint256 from 0 (a maximum capital share)
PositiveFareAmountIn = Annotated[int, BaseUnits(FARE_TOKEN, minimum=1)]  # deposits, withdrawals, treasury
FareAmount96In = Annotated[int, BaseUnits(FARE_TOKEN, below=2**96)]  # a uint96: an award, a fare per km
ShareAmount96In = Annotated[int, BaseUnits(SHARE_TOKEN, below=2**96)]  # a uint96: a reward per km


def _without_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters (U+0000): PostgreSQL cannot store them")
    return value


# Text a client sends that the backend stores: any Unicode but NUL, which PostgreSQL refuses in text columns.
StoredText = Annotated[str, AfterValidator(_without_nul)]
