"""Plain values the chain package hands out: enums of the contracts, region and parameter reads,
transaction outcomes, settlement events, proposals."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class RejectReason(IntEnum):
    """`RideLedger.RejectReason` v2 (docs/design.md): `DISPUTED` and `DISPUTE_WINDOW_OPEN` mean "retry later",
    every other reason is final for that receipt."""

    NONE = 0
    ALREADY_SETTLED = 1
    BAD_DRIVER_SIGNATURE = 2
    BAD_RIDER_SIGNATURE = 3
    NOT_MEMBER = 4
    UNKNOWN_REGION = 5
    REGION_NOT_OPERATING = 6
    FARE_EXCEEDS_AUTHORISED = 7
    NOT_AUTHORISED = 8
    INVALID_TRIP = 9
    EXPIRED = 10
    DISPUTED = 11
    DISPUTE_WINDOW_OPEN = 12
    SOLO_IN_OPERATING_REGION = 13

    @property
    def label(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


class ProposalState(IntEnum):
    """OpenZeppelin `IGovernor.ProposalState`."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7

    @property
    def label(self) -> str:
        """As the API shows it: "Pending", "Active", ..."""
        return self.name.capitalize()


class HoldState(IntEnum):
    """`IRideLedgerBookings.HoldState`: a released or settled hold reads `NONE`."""

    NONE = 0
    ACTIVE = 1
    DISPUTED = 2
    RESOLVED_PAID = 3
    RESOLVED_UNPAID = 4


@dataclass(frozen=True)
class Hold:
    """`RideLedger.holdOf(tripId, driver, rider)` and `isHoldReleased`."""

    max_fare: int
    cancel_by: int
    expiry: int
    state: HoldState
    released: bool


@dataclass(frozen=True)
class TxOutcome:
    tx_hash: str
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction that can be stored and broadcast again byte for byte."""

    raw: str
    tx_hash: str
    nonce: int


@dataclass(frozen=True)
class RegionState:
    """`IRideLedgerGovernance.Region` (v2)."""

    fare_per_km: int
    critical_mass: int
    members: int
    operating: bool
    exists: bool
    phase_changed_at: int = 0  # unix seconds when `operating` last changed (0: never)
    daily_rewarded_km: int = 0  # km rewarded with shares per driving day in the region, all drivers together


@dataclass(frozen=True)
class LedgerParameters:
    fee_bps: int
    bootstrap_reward_per_km: int
    operating_reward_per_km: int
    halving_interval: int
    daily_rewarded_metres: int


@dataclass(frozen=True)
class TripSettlement:
    """One `TripSettled` event."""

    trip_id: int
    fare: int
    fee: int
    shares: int
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class TripRejection:
    trip_id: int
    reason: RejectReason
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class BatchEvents:
    settled: dict[int, TripSettlement]
    rejected: dict[int, TripRejection]


@dataclass(frozen=True)
class ProposalInfo:
    proposal_id: int
    proposer: str
    targets: list[str]
    values: list[int]
    calldatas: list[str]
    description: str
    vote_start: int
    vote_end: int
    state: ProposalState
    votes_against: int
    votes_for: int
    votes_abstain: int
    eta: int  # unix seconds from which a queued proposal may be executed; 0 until queued
