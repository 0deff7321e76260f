from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from coopride.api.deps import ChainDep, CurrentMember, RegionMapDep, SessionDep, SignedIn
from coopride.schemas.common import SignatureIn, TypedDataResponse
from coopride.schemas.trips import TripCreate, TripPublic
from coopride.schemas.types import signature_bytes
from coopride.services import trips

router = APIRouter(prefix="/trips", tags=["trips"])

TripId = Annotated[int, Path(ge=1, description="trip id (the on-chain tripId)")]


@router.post(
    "",
    summary="Driver: log a driven trip with its GPS trace",
    response_model=TripPublic,
    status_code=status.HTTP_201_CREATED,
)
def log_trip(
    body: TripCreate, driver: CurrentMember, session: SessionDep, chain: ChainDep, region_map: RegionMapDep
) -> TripPublic:
    """With `request_id`, the trace must start at the booked pickup and (unless the rider ended the
    ride early) end at the booked drop-off. Without it, it is solo movement: it earns shares while
    the region bootstraps and is recorded "void" once the region operates. A trace that fails the
    checks is recorded "void" with its reasons; it earns nothing and is never settled."""
    trip = trips.log_trip(session, chain, region_map, driver, body.request_id, [fix.fix for fix in body.fixes])
    session.commit()
    return TripPublic.of(trip)


@router.get("", summary="Your trips, as driver or rider", response_model=list[TripPublic])
def my_trips(caller: SignedIn, session: SessionDep) -> list[TripPublic]:
    return [TripPublic.of(trip) for trip in trips.trips_of(session, caller)]


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
def sign(trip_id: TripId, body: SignatureIn, caller: SignedIn, session: SessionDep, chain: ChainDep) -> TripPublic:
    """The driver and, for a shared trip, the rider each sign once. When every required signature
    is in, the trip is "queued" for settlement."""
    trip = trips.get_trip(session, trip_id, caller)
    trip = trips.add_signature(
        session, trip, chain.manifest.domains["receipt"], caller, signature_bytes(body.signature)
    )
    session.commit()
    return TripPublic.of(trip)
