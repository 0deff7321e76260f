from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from sqlmodel import select

from coopride.api import booking
from coopride.api.errors import Forbidden, NotFound
from coopride.api.deps import ChainDep, CurrentMember, RegionMapDep, SessionDep, SignedIn
from coopride.models import RideRequest, TripOffer
from coopride.schemas.rides import OfferCreate, OfferPublic, RideRequestCreate, RideRequestPublic

router = APIRouter(tags=["rides"])

RequestId = Annotated[int, Path(ge=1, description="ride request id")]
RegionIdPath = Annotated[int, Path(ge=1, lt=2**32)]


@router.post("/offers", summary="Offer seats on a trip you will drive", response_model=OfferPublic,
             status_code=status.HTTP_201_CREATED)
def create_offer(body: OfferCreate, driver: CurrentMember, session: SessionDep, chain: ChainDep,
                 region_map: RegionMapDep) -> OfferPublic:
    """Publishing an offer runs matching over the region's open requests."""
    offer = booking.post_offer(session, chain, region_map, driver, body)
    session.commit()
    return booking.offer_public(session, offer)


@router.get("/offers", summary="Your offers", response_model=list[OfferPublic])
def my_offers(driver: SignedIn, session: SessionDep) -> list[OfferPublic]:
    offers = session.exec(select(TripOffer).where(TripOffer.driver == driver).order_by(TripOffer.id)).all()
    return booking.offers_public(session, offers)


@router.get("/offers/{offer_id}/requests", summary="Ride requests matched or booked on your offer",
            response_model=list[RideRequestPublic])
def offer_requests(offer_id: Annotated[int, Path(ge=1)], driver: SignedIn, session: SessionDep) -> list[RideRequest]:
    offer = session.get(TripOffer, offer_id)
    if offer is None:
        raise NotFound(f"no offer {offer_id}")
    if offer.driver != driver:
        raise Forbidden(f"offer {offer_id} is not yours")
    return session.exec(select(RideRequest).where(RideRequest.offer_id == offer_id).order_by(RideRequest.id)).all()


@router.post("/rides/requests", summary="Request a ride; see its quoted fare", response_model=RideRequestPublic,
             status_code=status.HTTP_201_CREATED)
def create_request(body: RideRequestCreate, rider: CurrentMember, session: SessionDep, chain: ChainDep,
                   region_map: RegionMapDep) -> RideRequest:
    """The fare is quoted at the region's current per-km fare on the estimated road distance (0 while
    the region bootstraps). Posting runs matching; the response shows the match if one was found."""
    request = booking.post_request(session, chain, region_map, rider, body)
    session.commit()
    return request


@router.get("/rides/requests/{request_id}", summary="A ride request (its rider or matched driver)",
            response_model=RideRequestPublic)
def read_request(request_id: RequestId, caller: SignedIn, session: SessionDep) -> RideRequest:
    return booking.visible_request(session, request_id, caller)


@router.post("/rides/requests/{request_id}/accept", summary="Accept the match: book the seat",
             response_model=RideRequestPublic)
def accept(request_id: RequestId, rider: CurrentMember, session: SessionDep) -> RideRequest:
    request = booking.accept(session, request_id, rider)
    session.commit()
    return request


@router.post("/rides/requests/{request_id}/pickup", summary="Driver: the rider is on board",
             response_model=RideRequestPublic)
def pickup(request_id: RequestId, driver: CurrentMember, session: SessionDep) -> RideRequest:
    request = booking.pick_up(session, request_id, driver)
    session.commit()
    return request


@router.post("/rides/requests/{request_id}/cancel", summary="Cancel: free before pickup, ends the ride after",
             response_model=RideRequestPublic)
def cancel(request_id: RequestId, rider: SignedIn, session: SessionDep) -> RideRequest:
    """Before pickup the request is cancelled at no cost. After pickup the ride ends now: the
    driver's trace must stop here, and the rider pays only the kilometres it verifies."""
    request = booking.cancel(session, request_id, rider)
    session.commit()
    return request


@router.post("/regions/{region_id}/match", summary="Operator: run matching over a region now",
             response_model=list[RideRequestPublic])
def match_region(region_id: RegionIdPath, _member: CurrentMember, session: SessionDep) -> list[RideRequest]:
    """Matching also runs whenever an offer or request is posted; any member may trigger it (it is
    idempotent). Returns the requests it newly matched."""
    matched = booking.run_matching(session, region_id)
    session.commit()
    return matched
