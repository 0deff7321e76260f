from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status

from coopride.api.deps import ChainDep, CurrentMember, RegionMapDep, SessionDep, SettingsDep, SignedIn
from coopride.api.idempotency import IdempotencyKey, idempotent
from coopride.schemas.common import SignatureIn, TypedDataResponse
from coopride.schemas.trips import DisputeIn, OpenDisputePublic, ResolutionIn, TripCreate, TripPublic
from coopride.schemas.types import FareAmount96In, RowId, signature_bytes
from coopride.services import disputes, trips

router = APIRouter(prefix="/trips", tags=["trips"])

TripId = Annotated[RowId, Path(description="trip id (the on-chain tripId)")]
ReasonQuery = Annotated[str, Query(min_length=1, max_length=500, description="why, in a sentence")]
AwardQuery = Annotated[FareAmount96In, Query(description="fare-token base units paid to the driver, fee included")]


@router.post(
    "",
    summary="Driver: log a driven trip with its GPS trace",
    response_model=TripPublic,
    status_code=status.HTTP_201_CREATED,
)
def log_trip(
    body: TripCreate,
    driver: CurrentMember,
    session: SessionDep,
    chain: ChainDep,
    region_map: RegionMapDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """With `request_id`, the trace must start at the booked pickup and (unless the rider ended the
    ride early) end at the booked drop-off. Without it, it is solo movement: it earns shares while
    the region bootstraps and is recorded "void" once the region operates. A trace that fails the
    checks is recorded "void" with its reasons; it earns nothing and is never settled. A booking has one trip:
    logging it again is a 409 (or, with the same `Idempotency-Key`, the first answer). A driver's trips may not
    overlap in time (409), except shared trips of one offer."""

    def work() -> TripPublic:
        fixes = [fix.fix for fix in body.fixes]
        return TripPublic.of(trips.log_trip(session, chain, region_map, driver, body.request_id, fixes))

    return idempotent(session, request, driver, idempotency_key, body, TripPublic, status.HTTP_201_CREATED, work)


@router.get("", summary="Your trips, as driver or rider", response_model=list[TripPublic])
def my_trips(caller: SignedIn, session: SessionDep) -> list[TripPublic]:
    return [TripPublic.of(trip) for trip in trips.trips_of(session, caller)]


@router.get(
    "/disputes", summary="Mediator: the open disputes to decide, oldest first", response_model=list[OpenDisputePublic]
)
def open_disputes(mediator: SignedIn, session: SessionDep, chain: ChainDep) -> list[OpenDisputePublic]:
    """Every trip whose dispute waits for a mediator, with the most that may be awarded (read on chain); those you
    are a party to are left out (another mediator decides them). 403 unless you hold MEDIATOR_ROLE."""
    trips.require_mediator(chain, mediator)
    return [
        OpenDisputePublic.model_validate(found, from_attributes=True)
        for found in disputes.open_disputes(session, chain)
        if mediator not in (found.driver, found.rider)
    ]


@router.get("/{trip_id}", summary="A trip you drove or rode", response_model=TripPublic)
def read_trip(trip_id: TripId, caller: SignedIn, session: SessionDep) -> TripPublic:
    return TripPublic.of(trips.get_trip(session, trip_id, caller))


@router.get("/{trip_id}/receipt", summary="The EIP-712 TripReceipt to sign", response_model=TypedDataResponse)
def receipt(trip_id: TripId, caller: SignedIn, session: SessionDep, chain: ChainDep) -> TypedDataResponse:
    """Sign `typed_data` with `eth_signTypedData_v4` and post the signature to `/trips/{id}/signatures`."""
    trip = trips.get_trip(session, trip_id, caller)
    typed = trips.receipt_data(trip, chain.manifest.domains["receipt"])
    typed["message"]["traceHash"] = "0x" + typed["message"]["traceHash"].hex()  # JSON carries no bytes
    return TypedDataResponse(typed_data=typed)


@router.post("/{trip_id}/signatures", summary="Post your signature on the trip's receipt", response_model=TripPublic)
def sign(
    trip_id: TripId,
    body: SignatureIn,
    caller: SignedIn,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """The driver and, for a shared trip, the rider each sign once (a second signature is a 409). When every
    required signature is in, the trip is "queued" for settlement."""

    def work() -> TripPublic:
        trip = trips.get_trip(session, trip_id, caller)
        domain = chain.manifest.domains["receipt"]
        return TripPublic.of(trips.add_signature(session, trip, domain, caller, signature_bytes(body.signature)))

    return idempotent(session, request, caller, idempotency_key, body, TripPublic, status.HTTP_200_OK, work)


@router.get("/{trip_id}/dispute/typed-data", summary="The Dispute to sign", response_model=TypedDataResponse)
def dispute_typed_data(
    trip_id: TripId, reason: ReasonQuery, caller: SignedIn, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> TypedDataResponse:
    """EIP-712 `Dispute` of a shared trip's fare, for its rider or driver: sign it and post it with the same
    reason and deadline to `/trips/{id}/disputes`."""
    trip = trips.get_trip(session, trip_id, caller)
    return TypedDataResponse(typed_data=trips.dispute_data(chain, settings, trip, caller, reason))


@router.post(
    "/{trip_id}/disputes",
    summary="Dispute a shared trip: it waits for a mediator",
    response_model=TripPublic,
    status_code=status.HTTP_201_CREATED,
)
def dispute(
    trip_id: TripId,
    body: DisputeIn,
    caller: SignedIn,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Relays your signed `Dispute` (`RideLedger.disputeBySig`). The fare stays held, and the trip unsettled,
    until a mediator decides."""

    def work() -> TripPublic:
        trip = trips.get_trip(session, trip_id, caller)
        signature = signature_bytes(body.signature)
        return TripPublic.of(trips.file_dispute(session, chain, trip, caller, body.reason, body.deadline, signature))

    return idempotent(session, request, caller, idempotency_key, body, TripPublic, status.HTTP_201_CREATED, work)


@router.get(
    "/{trip_id}/resolution/typed-data", summary="Mediator: the Resolution to sign", response_model=TypedDataResponse
)
def resolution_typed_data(
    trip_id: TripId,
    award: AwardQuery,
    reason: ReasonQuery,
    mediator: SignedIn,
    session: SessionDep,
    chain: ChainDep,
    settings: SettingsDep,
) -> TypedDataResponse:
    """EIP-712 `Resolution` of a disputed trip, for a member holding MEDIATOR_ROLE who is no party to it."""
    return TypedDataResponse(
        typed_data=trips.resolution_data(session, chain, settings, trip_id, mediator, award, reason)
    )


@router.post("/{trip_id}/resolution", summary="Mediator: decide a disputed trip", response_model=TripPublic)
def resolve(
    trip_id: TripId,
    body: ResolutionIn,
    mediator: SignedIn,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Relays the mediator's signed `Resolution` (`RideLedger.resolveDisputeBySig`): `award` goes to the driver
    (less the cooperative fee) at once, the rest of the hold back to the rider."""

    def work() -> TripPublic:
        signature = signature_bytes(body.signature)
        return TripPublic.of(
            trips.resolve(session, chain, trip_id, mediator, body.award, body.reason, body.deadline, signature)
        )

    return idempotent(session, request, mediator, idempotency_key, body, TripPublic, status.HTTP_200_OK, work)
