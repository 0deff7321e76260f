"""Every status and kind the database stores, as `StrEnum`s: each member *is* its string (stored as
VARCHAR, compared and serialised as the plain value), so rows written before these types existed read
back the same."""

from __future__ import annotations

from enum import StrEnum


class OfferStatus(StrEnum):
    """ "open": matching may fill its free seats. "closed": full, or its departure window has passed (a seat freed
    by a cancellation reopens it within the window). "cancelled": withdrawn by its driver."""

    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class RequestStatus(StrEnum):
    OPEN = "open"  # waiting for a match
    MATCHED = "matched"  # matched to an offer, waiting for the rider to accept
    BOOKED = "booked"  # accepted: the seat is the rider's
    PICKED_UP = "picked_up"  # the driver picked the rider up
    ENDED_EARLY = "ended_early"  # cancelled after pickup: the rider pays the km ridden
    COMPLETED = "completed"  # the driver logged the trip
    CANCELLED = "cancelled"  # cancelled before pickup: free


# A request in one of these states holds a seat on its offer (`RideRequest.seat`): from its match to the end of
# the trip; only a cancellation gives it back.
SEAT_HOLDING = (
    RequestStatus.MATCHED,
    RequestStatus.BOOKED,
    RequestStatus.PICKED_UP,
    RequestStatus.ENDED_EARLY,
    RequestStatus.COMPLETED,
)


class TripStatus(StrEnum):
    """ "void": trace rejected, or solo movement in an operating region (earns nothing, never settled).
    "queued": the driver signed the receipt; the settlement worker sends it once the rider confirmed (signed it
    too) or the dispute window has passed since the trip's end, and no dispute is open. The worker moves
    "queued" -> "submitted" -> "settled" | "rejected"."""

    VOID = "void"
    AWAITING_SIGNATURES = "awaiting_signatures"
    QUEUED = "queued"
    SUBMITTED = "submitted"
    SETTLED = "settled"
    REJECTED = "rejected"


# A trip in one of these states may still settle.
PENDING = (TripStatus.AWAITING_SIGNATURES, TripStatus.QUEUED, TripStatus.SUBMITTED)


class TripRole(StrEnum):
    """Who a member was on a trip."""

    DRIVER = "driver"
    RIDER = "rider"


class RelayKind(StrEnum):
    """What a transaction the backend sent for a member (and paid for) did."""

    JOIN = "join"
    LEAVE = "leave"
    DEPOSIT = "deposit"
    BALLOT = "ballot"
    PROPOSE = "propose"
    QUEUE = "queue"
    EXECUTE = "execute"
    CLAIM = "claim"
    ACTIVATE_REGION = "activate_region"
    WITHDRAW = "withdraw"
    AUTHORISE_FARE = "authorise_fare"
    RELEASE_HOLD = "release_hold"
    DISPUTE = "dispute"
    RESOLVE_DISPUTE = "resolve_dispute"


class ApplicationStatus(StrEnum):
    """A membership application: stored off chain until the admissions role admits (on chain) or refuses it;
    "expired" once its signed deadline passed undecided."""

    PENDING = "pending"
    ADMITTED = "admitted"
    REFUSED = "refused"
    EXPIRED = "expired"


class ProposalKind(StrEnum):
    """The parameter changes a member may propose (each is one RideLedger call)."""

    REGION_FARE = "region_fare"
    FEE = "fee"
    REWARDS = "rewards"
    CRITICAL_MASS = "critical_mass"
    DISTRIBUTE_SURPLUS = "distribute_surplus"
    SPEND_TREASURY = "spend_treasury"


class RegionPhase(StrEnum):
    BOOTSTRAP = "bootstrap"
    OPERATING = "operating"


class DisputeStatus(StrEnum):
    """A trip's dispute: open until a mediator decides (paid: an award above zero; unpaid: nothing)."""

    OPEN = "open"
    RESOLVED_PAID = "resolved_paid"
    RESOLVED_UNPAID = "resolved_unpaid"


class BatchStatus(StrEnum):
    SUBMITTED = "submitted"  # persisted with its signed transaction; maybe broadcast, outcome unknown
    CONFIRMED = "confirmed"  # mined; every trip's outcome recorded from its events
    REVERTED = "reverted"  # mined but reverted as a whole (e.g. paused): its trips went back to the queue
    SUPERSEDED = "superseded"  # its nonce was used by another transaction: trips reconciled from the chain
