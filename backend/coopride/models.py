"""Database tables and the API's request/response shapes.

Tables (`table=True`) never leave the API: each has a `...Public` shape for responses and a
`...Create` shape for input. Every uint256 that can exceed 2^63 (share amounts, proposal ids, token
amounts in 18 decimals) is stored as a decimal string; SQLite integers are signed 64-bit.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator
from pydantic import Field as ApiField
from sqlalchemy import JSON, BigInteger, Column, Integer
from sqlmodel import Field, SQLModel

from coopride.domain.geo import validate_latlon

# Trip.status values. "void": trace rejected, or solo movement in an operating region (earns nothing,
# never settled). The settlement worker moves "queued" -> "submitted" -> "settled" | "rejected".
TRIP_VOID = "void"
TRIP_AWAITING_SIGNATURES = "awaiting_signatures"
TRIP_QUEUED = "queued"
TRIP_SUBMITTED = "submitted"
TRIP_SETTLED = "settled"
TRIP_REJECTED = "rejected"
TRIP_STATUSES = (TRIP_VOID, TRIP_AWAITING_SIGNATURES, TRIP_QUEUED, TRIP_SUBMITTED, TRIP_SETTLED, TRIP_REJECTED)

# RideRequest.status values.
REQUEST_OPEN = "open"  # waiting for a match
REQUEST_MATCHED = "matched"  # matched to an offer, waiting for the rider to accept
REQUEST_BOOKED = "booked"  # accepted: the seat is the rider's
REQUEST_PICKED_UP = "picked_up"  # the driver picked the rider up
REQUEST_ENDED_EARLY = "ended_early"  # cancelled after pickup: the rider pays the km ridden
REQUEST_COMPLETED = "completed"  # the driver logged the trip
REQUEST_CANCELLED = "cancelled"  # cancelled before pickup: free
REQUEST_HOLDS_SEAT = (REQUEST_MATCHED, REQUEST_BOOKED, REQUEST_PICKED_UP)

OFFER_OPEN = "open"
OFFER_CLOSED = "closed"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; everything stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _trip_id_column() -> Column:
    # SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL needs 64 bits for a uint64 trip id.
    return Column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True)


# --------------------------------------------------------------------------- sign-in


class SignInNonce(SQLModel, table=True):
    """A sign-in challenge: single use, expiring."""

    nonce: str = Field(primary_key=True, max_length=64)
    address: str = Field(index=True, max_length=42)
    message: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class MemberSession(SQLModel, table=True):
    """A bearer session; only the SHA-256 of its token is stored."""

    token_hash: str = Field(primary_key=True, max_length=64)
    address: str = Field(index=True, max_length=42)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


# --------------------------------------------------------------------------- offers and requests


class TripOffer(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    driver: str = Field(index=True, max_length=42)
    region_id: int = Field(index=True)
    origin_lat: float
    origin_lon: float
    destination_lat: float
    destination_lon: float
    depart_earliest: int
    depart_latest: int
    seats: int
    max_detour_m: int
    status: str = Field(default=OFFER_OPEN, index=True, max_length=16)
    created_at: datetime = Field(default_factory=utcnow)


class RideRequest(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    rider: str = Field(index=True, max_length=42)
    region_id: int = Field(index=True)
    origin_lat: float
    origin_lon: float
    destination_lat: float
    destination_lon: float
    earliest: int
    latest: int
    estimated_metres: int
    fare_per_km: int  # the region's fare when quoted
    quoted_fare: int  # fare-token units; 0 in a bootstrap region
    status: str = Field(default=REQUEST_OPEN, index=True, max_length=16)
    offer_id: int | None = Field(default=None, foreign_key="tripoffer.id", index=True)
    shared_metres: int | None = None
    detour_metres: int | None = None
    pickup_time: int | None = None  # planned, from the matcher
    picked_up_at: int | None = None
    ended_at: int | None = None  # when a ride cancelled after pickup ended
    created_at: datetime = Field(default_factory=utcnow)


# --------------------------------------------------------------------------- trips (the on-chain receipts)


class Trip(SQLModel, table=True):
    """One driven trip. `id` IS the on-chain tripId (dense, increasing). The settlement worker
    reads "queued" trips and writes batch_id, tx_hash, block_number, fare_paid, fee_paid,
    shares_minted, reject_reason and settled_at."""

    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, sa_column=_trip_id_column())
    driver: str = Field(index=True, max_length=42)
    rider: str | None = Field(default=None, index=True, max_length=42)
    request_id: int | None = Field(default=None, foreign_key="riderequest.id")
    region_id: int = Field(index=True)
    distance_metres: int
    fare: int = Field(default=0, sa_type=BigInteger)
    start_time: int = Field(sa_type=BigInteger)
    end_time: int = Field(sa_type=BigInteger)
    trace_hash: str = Field(max_length=66)
    trace: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    check_reasons: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=TRIP_AWAITING_SIGNATURES, index=True, max_length=24)
    driver_signature: str | None = Field(default=None, max_length=132)
    rider_signature: str | None = Field(default=None, max_length=132)
    batch_id: str | None = Field(default=None, index=True, max_length=66)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    reject_reason: str | None = None
    fare_paid: int | None = Field(default=None, sa_type=BigInteger)
    fee_paid: int | None = Field(default=None, sa_type=BigInteger)
    shares_minted: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    settled_at: datetime | None = None


# --------------------------------------------------------------------------- relayed transactions


RELAY_JOIN = "join"
RELAY_DEPOSIT = "deposit"
RELAY_BALLOT = "ballot"
RELAY_PROPOSE = "propose"
RELAY_QUEUE = "queue"
RELAY_EXECUTE = "execute"
RELAY_CLAIM = "claim"
RELAY_ACTIVATE = "activate_region"


class RelayedTransaction(SQLModel, table=True):
    """A transaction the backend sent for a member (paid by the settler key)."""

    id: int | None = Field(default=None, primary_key=True)
    member: str = Field(index=True, max_length=42)
    kind: str = Field(index=True, max_length=24)
    region_id: int | None = None
    amount: str | None = None  # decimal string
    proposal_id: str | None = Field(default=None, index=True)  # decimal string (uint256)
    support: int | None = None
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_type=BigInteger)
    gas_used: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)

    @classmethod
    def of(cls, member: str, kind: str, outcome, **fields) -> "RelayedTransaction":
        """The row for a relayed transaction's `TxOutcome` (hash, block, gas)."""
        return cls(member=member, kind=kind, tx_hash=outcome.tx_hash, block_number=outcome.block_number,
                   gas_used=outcome.gas_used, **fields)


class Proposal(SQLModel, table=True):
    """A parameter-change proposal the backend relayed; the chain holds its state and tallies."""

    proposal_id: str = Field(primary_key=True)  # decimal string (uint256)
    proposer: str = Field(index=True, max_length=42)  # the member who signed it (the Governor's proposer too)
    kind: str = Field(max_length=32)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    description: str
    targets: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    values: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    calldatas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tx_hash: str = Field(max_length=66)
    block_number: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


# =========================================================================== API shapes


class LatLonIn(BaseModel):
    lat: float = ApiField(description="latitude in degrees, -90..90", examples=[45.7597])
    lon: float = ApiField(description="longitude in degrees, -180..180", examples=[4.8422])

    @model_validator(mode="after")
    def _on_the_globe(self) -> "LatLonIn":
        validate_latlon(self.lat, self.lon)
        return self


class OfferCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "origin": {"lat": 45.7640, "lon": 4.8357},
                    "destination": {"lat": 45.7485, "lon": 4.8467},
                    "depart_earliest": 1795000000,
                    "depart_latest": 1795000900,
                    "seats": 3,
                    "max_detour_m": 1500,
                }
            ]
        }
    )
    origin: LatLonIn
    destination: LatLonIn
    depart_earliest: int = ApiField(ge=0, description="unix seconds")
    depart_latest: int = ApiField(ge=0, description="unix seconds")
    seats: int = ApiField(ge=1, le=8)
    max_detour_m: int = ApiField(ge=0, le=50_000, description="the longest detour the driver accepts, metres")

    @model_validator(mode="after")
    def _window_in_order(self) -> "OfferCreate":
        if self.depart_latest < self.depart_earliest:
            raise ValueError("depart_latest is before depart_earliest")
        return self


class OfferPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    driver: str
    region_id: int
    origin_lat: float
    origin_lon: float
    destination_lat: float
    destination_lon: float
    depart_earliest: int
    depart_latest: int
    seats: int
    seats_left: int
    max_detour_m: int
    status: str


class RideRequestCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "origin": {"lat": 45.7620, "lon": 4.8390},
                    "destination": {"lat": 45.7500, "lon": 4.8450},
                    "earliest": 1795000000,
                    "latest": 1795001800,
                }
            ]
        }
    )
    origin: LatLonIn
    destination: LatLonIn
    earliest: int = ApiField(ge=0, description="earliest pickup, unix seconds")
    latest: int = ApiField(ge=0, description="latest pickup, unix seconds")

    @model_validator(mode="after")
    def _window_in_order(self) -> "RideRequestCreate":
        if self.latest < self.earliest:
            raise ValueError("latest is before earliest")
        return self


class RideRequestPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    rider: str
    region_id: int
    origin_lat: float
    origin_lon: float
    destination_lat: float
    destination_lon: float
    earliest: int
    latest: int
    estimated_metres: int
    fare_per_km: int
    quoted_fare: int
    status: str
    offer_id: int | None
    shared_metres: int | None
    detour_metres: int | None
    pickup_time: int | None
    picked_up_at: int | None
    ended_at: int | None


class FixIn(BaseModel):
    t: int = ApiField(ge=0, lt=2**40, description="unix seconds (uint40, as in the receipt)")
    lat: float
    lon: float

    @model_validator(mode="after")
    def _on_the_globe(self) -> "FixIn":
        validate_latlon(self.lat, self.lon)
        return self


class TripCreate(BaseModel):
    """A driven trip's GPS trace. `request_id` names the booked ride it carried; omit it for solo movement."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": 1,
                    "fixes": [
                        {"t": 1795000000, "lat": 45.7620, "lon": 4.8390},
                        {"t": 1795000060, "lat": 45.7580, "lon": 4.8410},
                        {"t": 1795000120, "lat": 45.7540, "lon": 4.8430},
                    ],
                }
            ]
        }
    )
    request_id: int | None = None
    fixes: list[FixIn] = ApiField(min_length=2, max_length=20_000)


class TripPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    driver: str
    rider: str | None
    request_id: int | None
    region_id: int
    distance_metres: int
    fare: int
    start_time: int
    end_time: int
    trace_hash: str
    check_reasons: list[Any]
    status: str
    driver_signed: bool
    rider_signed: bool
    batch_id: str | None
    tx_hash: str | None
    block_number: int | None
    reject_reason: str | None
    fare_paid: int | None
    fee_paid: int | None
    shares_minted: str | None

    @classmethod
    def of(cls, trip: Trip) -> "TripPublic":
        data = trip.model_dump(exclude={"trace", "driver_signature", "rider_signature"})
        return cls(**data, driver_signed=trip.driver_signature is not None, rider_signed=trip.rider_signature is not None)


def _hex_signature(value: str) -> str:
    body = value[2:] if value.startswith(("0x", "0X")) else value
    try:
        raw = bytes.fromhex(body)
    except ValueError:
        raise ValueError("signature is not hex") from None
    if len(raw) != 65:
        raise ValueError(f"a signature has 65 bytes, got {len(raw)}")
    return "0x" + raw.hex()


HexSignature = Annotated[str, AfterValidator(_hex_signature),
                         ApiField(description="65-byte wallet signature, 0x hex", examples=["0x" + "11" * 65])]


class SignatureIn(BaseModel):
    signature: HexSignature


def _checksum(value: str) -> str:
    from eth_utils import is_hex_address, to_checksum_address

    if not isinstance(value, str) or not is_hex_address(value):
        raise ValueError(f"not an Ethereum address: {value!r}")
    return to_checksum_address(value)


Address = Annotated[str, AfterValidator(_checksum), ApiField(examples=["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"])]
TokenAmount = Annotated[int, ApiField(gt=0, lt=2**256, description="fare-token units (6 decimals on the test token)")]


# --------------------------------------------------------------------------- sign-in shapes


class NonceRequest(BaseModel):
    address: Address


class NonceResponse(BaseModel):
    nonce: str
    message: str = ApiField(description="the EIP-4361 message to sign with `personal_sign`")
    expires_at: datetime


class LoginRequest(BaseModel):
    message: str = ApiField(description="exactly the message `POST /auth/nonce` returned")
    signature: HexSignature


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    address: str
    expires_at: datetime


# --------------------------------------------------------------------------- relayed signatures


class TypedDataResponse(BaseModel):
    """EIP-712 typed data: sign it with `eth_signTypedData_v4` and post the signature back."""

    typed_data: dict[str, Any]


class JoinRequest(BaseModel):
    region_id: int = ApiField(ge=1, lt=2**32)
    deadline: int = ApiField(ge=0, lt=2**256, description="the deadline in the signed typed data")
    signature: HexSignature


class DepositRequest(BaseModel):
    amount: TokenAmount
    deadline: int = ApiField(ge=0, lt=2**256, description="the deadline in the signed permit")
    signature: HexSignature


class BallotRequest(BaseModel):
    proposal_id: str = ApiField(pattern=r"^[0-9]{1,78}$", description="decimal proposal id")
    support: int = ApiField(ge=0, le=2, description="0 against, 1 for, 2 abstain")
    signature: HexSignature


class RelayedTransactionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    member: str
    region_id: int | None
    amount: str | None
    proposal_id: str | None
    support: int | None
    tx_hash: str
    block_number: int
    gas_used: int


# --------------------------------------------------------------------------- governance shapes

Uint96 = Annotated[int, ApiField(ge=0, lt=2**96)]
RegionIdField = Annotated[int, ApiField(ge=1, lt=2**32)]
Description = Annotated[str, ApiField(min_length=1, max_length=4000, description="why the change; goes on chain")]


class RegionFareChange(BaseModel):
    kind: Literal["region_fare"]
    region_id: RegionIdField
    fare_per_km: Uint96 = ApiField(description="fare-token units per km")
    description: Description


class FeeChange(BaseModel):
    kind: Literal["fee"]
    fee_bps: int = ApiField(ge=0, le=10_000, description="basis points: 1500 = 15 %")
    description: Description


class RewardsChange(BaseModel):
    kind: Literal["rewards"]
    bootstrap_reward_per_km: Uint96 = ApiField(description="share units (18 decimals) per km")
    operating_reward_per_km: Uint96 = ApiField(description="share units (18 decimals) per km")
    description: Description


class CriticalMassChange(BaseModel):
    kind: Literal["critical_mass"]
    region_id: RegionIdField
    critical_mass: int = ApiField(ge=1, lt=2**32, description="members needed to switch the region to operating")
    description: Description


class SurplusDistribution(BaseModel):
    kind: Literal["distribute_surplus"]
    amount: TokenAmount = ApiField(description="fare-token units moved from the treasury to shareholders, pro rata")
    description: Description


class TreasurySpend(BaseModel):
    kind: Literal["spend_treasury"]
    to: Address
    amount: TokenAmount = ApiField(description="fare-token units paid from the treasury")
    description: Description


ProposalCreate = Annotated[
    RegionFareChange | FeeChange | RewardsChange | CriticalMassChange | SurplusDistribution | TreasurySpend,
    ApiField(discriminator="kind", examples=[{"kind": "fee", "fee_bps": 1200, "description": "Lower the fee to 12 %"}]),
]


class ProposalDraft(BaseModel):
    """What the Governor will receive for a requested change, and the EIP-712 `Proposal` to sign for it."""

    proposal_id: str = ApiField(description="decimal uint256: the Governor's hashProposal, signed as proposalHash")
    targets: list[str]
    values: list[str]
    calldatas: list[str]
    description: str = ApiField(description="the description sent on chain")
    deadline: int = ApiField(description="unix seconds; post the signature before it")
    typed_data: dict[str, Any] = ApiField(description="sign with eth_signTypedData_v4")


class ProposalSubmit(BaseModel):
    """A change, with the member's signature over the draft `POST /governance/proposals/typed-data` returned."""

    change: ProposalCreate
    deadline: int = ApiField(ge=0, lt=2**256, description="the deadline in the signed typed data")
    signature: HexSignature


class ProposalPublic(BaseModel):
    proposal_id: str = ApiField(description="decimal uint256")
    state: str = ApiField(description="Pending, Active, Canceled, Defeated, Succeeded, Queued, Expired, Executed")
    proposer: str = ApiField(description="the proposer the Governor recorded")
    description: str
    votes_for: int
    votes_against: int
    votes_abstain: int
    vote_start: int = ApiField(description="unix seconds")
    vote_end: int = ApiField(description="unix seconds")
    eta: int | None = ApiField(description="unix seconds from which a queued proposal may be executed")
    targets: list[str]
    values: list[str]
    calldatas: list[str]
    requested_by: str | None = ApiField(description="the member who proposed it through this backend, if any")
    kind: str | None
    parameters: dict[str, Any] | None
    tx_hash: str | None
    block_number: int | None
