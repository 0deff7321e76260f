from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Lt
from fastapi import APIRouter, Path, Request, status

from coopride.api.deps import ChainDep, CurrentMember, RegionMapDep, SessionDep, SettingsDep, SignedIn
from coopride.api.idempotency import IdempotencyKey, idempotent
from coopride.models import RideRequest
from coopride.schemas.common import SignatureIn, TypedDataResponse
from coopride.schemas.rides import CancelIn, OfferCreate, OfferPublic, RideRequestCreate, RideRequestPublic
from coopride.schemas.types import ChainRegionId, RowId, signature_bytes
from coopride.services import rides

router = APIRouter(tags=["rides"])

# Request and offer ids are 32-bit columns (INTEGER on PostgreSQL): beyond, a 422, never a database error.
RequestId = Annotated[RowId, Lt(2**31), Path(description="ride request id")]
OfferId = Annotated[RowId, Lt(2**31), Path(description="offer id")]
RegionIdPath = Annotated[ChainRegionId, Path(description="region id")]


@router.post(
    "/offers",
    summary="Offer seats on a trip you will drive",
    response_model=OfferPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_offer(
    body: OfferCreate, driver: CurrentMember, session: SessionDep, chain: ChainDep, region_map: RegionMapDep
) -> OfferPublic:
    """Publishing an offer runs matching over the region's open requests."""
    offer = rides.post_offer(
        session,
        chain,
        region_map,
        driver,
        origin=body.origin.point,
        destination=body.destination.point,
        depart_earliest=body.depart_earliest,
        depart_latest=body.depart_latest,
        seats=body.seats,
        max_detour_m=body.max_detour_m,
    )
    session.commit()
    return offer


@router.get("/offers", summary="Your offers", response_model=list[OfferPublic])
def my_offers(driver: SignedIn, session: SessionDep) -> list[OfferPublic]:
    return rides.offers_of(session, driver)


@router.get(
    "/offers/{offer_id}/requests",
    summary="Ride requests matched or booked on your offer",
    response_model=list[RideRequestPublic],
)
def offer_requests(offer_id: OfferId, driver: SignedIn, session: SessionDep) -> list[RideRequest]:
    return rides.requests_on_offer(session, offer_id, driver)


@router.post("/offers/{offer_id}/cancel", summary="Driver: withdraw your offer", response_model=OfferPublic)
def cancel_offer(offer_id: OfferId, driver: SignedIn, session: SessionDep) -> OfferPublic:
    """Riders matched but not yet booked go back to waiting (and are matched again). 409 while a rider is booked
    or on board: their fare is held on chain under an authorisation only they can release, so they cancel first
    (or you drive them). A cancelled offer matches nobody."""
    offer = rides.cancel_offer(session, offer_id, driver)
    session.commit()
    return offer


@router.post(
    "/rides/requests",
    summary="Request a ride; see its quoted fare",
    response_model=RideRequestPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_request(
    body: RideRequestCreate, rider: CurrentMember, session: SessionDep, chain: ChainDep, region_map: RegionMapDep
) -> RideRequest:
    """The fare is quoted at the region's current per-km fare on the estimated road distance (0 while
    the region bootstraps). Posting runs matching; the response shows the match if one was found."""
    request = rides.post_request(
        session,
        chain,
        region_map,
        rider,
        origin=body.origin.point,
        destination=body.destination.point,
        earliest=body.earliest,
        latest=body.latest,
    )
    session.commit()
    return request


@router.get(
    "/rides/requests/{request_id}",
    summary="A ride request (its rider or matched driver)",
    response_model=RideRequestPublic,
)
def read_request(request_id: RequestId, caller: SignedIn, session: SessionDep) -> RideRequest:
    return rides.visible_request(session, request_id, caller)


@router.get(
    "/rides/requests/{request_id}/authorisation",
    summary="The FareAuthorisation to sign to accept the match",
    response_model=TypedDataResponse,
)
def authorisation(request_id: RequestId, rider: SignedIn, session: SessionDep, chain: ChainDep) -> TypedDataResponse:
    """EIP-712 `FareAuthorisation`: the booking's trip id, the driver, pickup and drop-off, the most you pay
    (`maxFare`), until when you may cancel for free (`cancelBy`) and when it expires. Sign it and post the
    signature to `/rides/requests/{id}/accept`."""
    return TypedDataResponse(typed_data=rides.authorisation_typed_data(session, chain, request_id, rider))


@router.post(
    "/rides/requests/{request_id}/accept", summary="Accept the match: book the seat", response_model=RideRequestPublic
)
def accept(
    request_id: RequestId,
    body: SignatureIn,
    rider: CurrentMember,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Relays your signed authorisation (`RideLedger.authoriseFare`): `maxFare` of your free escrow is held for
    this booking until the trip settles. 409 when already accepted (with the same `Idempotency-Key`: the first
    answer); 422 when your escrow is short."""
    return idempotent(
        session,
        request,
        rider,
        idempotency_key,
        body,
        RideRequestPublic,
        status.HTTP_200_OK,
        lambda: rides.accept(session, chain, request_id, rider, signature_bytes(body.signature)),
    )


@router.post(
    "/rides/requests/{request_id}/pickup", summary="Driver: the rider is on board", response_model=RideRequestPublic
)
def pickup(request_id: RequestId, driver: CurrentMember, session: SessionDep) -> RideRequest:
    request = rides.pick_up(session, request_id, driver)
    session.commit()
    return request


@router.get(
    "/rides/requests/{request_id}/cancel/typed-data",
    summary="The HoldRelease to sign to cancel a booked ride",
    response_model=TypedDataResponse,
)
def cancel_typed_data(
    request_id: RequestId, rider: SignedIn, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> TypedDataResponse:
    """EIP-712 `HoldRelease` of the booking's hold; valid until the booking's `cancelBy` at the latest."""
    return TypedDataResponse(typed_data=rides.hold_release_typed_data(session, chain, settings, request_id, rider))


@router.post(
    "/rides/requests/{request_id}/cancel",
    summary="Cancel: free before pickup, ends the ride after",
    response_model=RideRequestPublic,
)
def cancel(
    request_id: RequestId,
    rider: SignedIn,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    body: CancelIn | None = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Before pickup the request is cancelled at no cost; once accepted, with your signed `HoldRelease`
    (`{deadline, signature}`) before `cancelBy`, which returns the held fare to your escrow. After pickup the
    ride ends now: the driver's trace must stop here, and the rider pays only the kilometres it verifies."""
    return idempotent(
        session,
        request,
        rider,
        idempotency_key,
        body,
        RideRequestPublic,
        status.HTTP_200_OK,
        lambda: rides.cancel(
            session,
            chain,
            request_id,
            rider,
            deadline=body.deadline if body is not None else None,
            signature=signature_bytes(body.signature) if body is not None else None,
        ),
    )


@router.post(
    "/regions/{region_id}/match",
    summary="Operator: run matching over a region now",
    response_model=list[RideRequestPublic],
)
def match_region(
    region_id: RegionIdPath, _member: CurrentMember, session: SessionDep, chain: ChainDep
) -> list[RideRequest]:
    """Matching also runs whenever an offer or request is posted; any member may trigger it (it is
    idempotent). Returns the requests it newly matched. 404 for a region not on chain."""
    matched = rides.match_region(session, chain, region_id)
    session.commit()
    return matched
