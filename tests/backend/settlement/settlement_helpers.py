"""Helpers for the settlement tests (imported by the conftest and by tests that need their own database)."""

from __future__ import annotations

import time

from sqlmodel import Session, select

from coopride.chain.eip712 import (
    ZERO_ADDRESS,
    FareAuthorisation,
    TripReceipt,
    application_typed_data,
    fare_authorisation_typed_data,
    receipt_typed_data,
    sign_typed_data,
)
from coopride.chain.types import HoldState
from coopride.domain.pricing import quote_fare
from coopride.domain.traces import Fix, check_trace, trace_hash
from coopride.models import RideRequest, Trip
from coopride.models.enums import RequestStatus, TripStatus
from coopride.services.rides import allocate_trip_id

TRIP_METRES = 4_000
TRIP_SECONDS = 600
FIXES = 6
START = (45.76, 4.83)


def trip_fixes(end: int, metres: int = TRIP_METRES) -> list[Fix]:
    """A straight drive north of `metres` over TRIP_SECONDS ending at `end`, in FIXES fixes: a trace the attester
    passes."""
    step = metres / 111_195 / (FIXES - 1)
    return [Fix(end - TRIP_SECONDS + i * TRIP_SECONDS // (FIXES - 1), START[0] + i * step, START[1])
            for i in range(FIXES)]


def verified_metres(metres: int = TRIP_METRES) -> int:
    """The distance the trace checks verify for `trip_fixes(_, metres)` (what a receipt carries)."""
    return check_trace(trip_fixes(2_000_000_000, metres)).verified_metres


def admit(manifest, account, region_id: int) -> None:
    """Admits a brownie account (it holds ether): mints and approves the capital share, signs the Application, and
    the admissions account (anvil #2) admits it."""
    from brownie import Contract, accounts

    def contract(name):
        return Contract.from_abi(name, manifest.address(name), manifest.contract(name).abi)

    membership, token = contract("Membership"), contract("FareToken")
    share = membership.capitalShare()
    if share:
        token.mint(account, share, {"from": account})
        token.approve(manifest.address("RideLedger"), share, {"from": account})
    deadline = int(time.time()) + 10 * 86_400
    typed = application_typed_data(manifest.domains["membership"], account.address, region_id, share,
                                   membership.nonces(account.address), deadline)
    admissions = accounts.at(membership.admissions(), force=True)
    membership.admit(account.address, region_id, share, deadline, sign_typed_data(account.private_key, typed),
                     {"from": admissions})


def store_signed_trip(engine, chain_client, driver, rider=None, *, region_id: int, metres: int = TRIP_METRES,
                      fare: int | None = None, rider_key: str | None = None, ends_in: int = -60,
                      confirm: bool = True, book: bool = True, max_fare: int | None = None,
                      trace: list[Fix] | None = None) -> int:
    """Stores a trip that ended a minute ago (or `ends_in` seconds from the chain's time), signed by its driver,
    status "queued"; returns its (random) trip id. A shared trip is booked first as the API books it (a ride
    request with the trip id, and the rider's fare authorisation relayed on chain, unless `book=False`) and carries
    the rider's confirmation unless `confirm=False` (signed with `rider_key` if given)."""
    end = chain_client.latest_timestamp() + ends_in
    fixes = trace or trip_fixes(end, metres)
    distance = check_trace(fixes).verified_metres or metres
    region = chain_client.region(region_id)
    if fare is None:
        fare = quote_fare(distance, region.fare_per_km) if rider is not None and region.operating else 0
    domain = chain_client.manifest.domains["receipt"]
    with Session(engine) as session:
        trip_id = allocate_trip_id(session)
        request_id = None
        if rider is not None:
            authorised = fare if max_fare is None else max_fare
            expiry = end + 3_600 if end + 3_600 > chain_client.next_block_timestamp() else chain_client.next_block_timestamp() + 3_600
            request = RideRequest(
                rider=rider.address, region_id=region_id, origin_lat=fixes[0].lat, origin_lon=fixes[0].lon,
                destination_lat=fixes[-1].lat, destination_lon=fixes[-1].lon, earliest=end - 900, latest=end,
                estimated_metres=distance, fare_per_km=region.fare_per_km, quoted_fare=fare,
                status=RequestStatus.COMPLETED, trip_id=trip_id, max_fare=authorised, cancel_by=end - TRIP_SECONDS,
                authorisation_expiry=expiry,
            )
            if book:
                auth = FareAuthorisation(trip_id, rider.address, driver.address, region_id,
                                         round(fixes[0].lat * 1e6), round(fixes[0].lon * 1e6),
                                         round(fixes[-1].lat * 1e6), round(fixes[-1].lon * 1e6),
                                         authorised, min(end - TRIP_SECONDS, expiry), expiry)
                signature = sign_typed_data(rider.private_key, fare_authorisation_typed_data(domain, auth))
                request.authorisation_tx_hash = chain_client.relay_authorise_fare(auth, signature).tx_hash
            session.add(request)
            session.flush()
            request_id = request.id
        trip = Trip(id=trip_id, driver=driver.address, rider=rider.address if rider else None, region_id=region_id,
                    request_id=request_id, distance_metres=distance, fare=fare, start_time=fixes[0].t,
                    end_time=fixes[-1].t, trace_hash="0x" + trace_hash(fixes).hex(),
                    trace=[[f.t, f.lat, f.lon] for f in fixes])
        receipt = TripReceipt(trip_id, driver.address, rider.address if rider else ZERO_ADDRESS, region_id, distance,
                              fare, fixes[0].t, fixes[-1].t, trace_hash(fixes))
        typed = receipt_typed_data(domain, receipt)
        trip.driver_signature = "0x" + sign_typed_data(driver.private_key, typed).hex()
        if rider is not None and confirm:
            trip.rider_signature = "0x" + sign_typed_data(rider_key or rider.private_key, typed).hex()
        trip.status = TripStatus.QUEUED
        session.add(trip)
        session.commit()
        return trip_id


def rider_funds(chain_client, engine, rider) -> int:
    """The rider's free escrow plus what the active holds of their trips in the database reserve: what the rider
    owns in the ledger, whether or not a trip was booked yet."""
    with Session(engine) as session:
        trips = session.exec(select(Trip).where(Trip.rider == rider.address)).all()
    held = 0
    for trip in trips:
        hold = chain_client.hold_of(trip.id, trip.driver, rider.address)
        if hold.state == HoldState.ACTIVE:
            held += hold.max_fare
    return chain_client.escrow_of(rider.address) + held
