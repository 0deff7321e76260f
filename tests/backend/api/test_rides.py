"""Offers, requests, quotes, matching, booking (the rider's fare authorisation and its hold), pickup and the
cancellation policy."""

from __future__ import annotations

import pytest
from api_helpers import (
    LYON_TO,
    NOWHERE,
    RIDE_FROM,
    RIDE_TO,
    VILLEURBANNE_FROM,
    VILLEURBANNE_TO,
    accept,
    authorisation,
    cancel_booked,
    deposit,
    offer_body,
    request_body,
    trace,
)
from eth_account import Account

from coopride.chain.types import HoldState

from coopride.domain.geo import GreatCircleDistance, LatLon
from coopride.domain.pricing import quote_fare

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/backend/conftest.py)


def test_a_request_in_an_operating_region_is_quoted_at_the_chain_fare(member, operating_region, chain_client):
    rider = member(operating_region)
    response = rider.post("/rides/requests", json=request_body())
    assert response.status_code == 201, response.text
    body = response.json()
    estimated = round(GreatCircleDistance().road_metres(LatLon(**RIDE_FROM), LatLon(**RIDE_TO)))
    fare_per_km = chain_client.region(operating_region).fare_per_km
    assert body["region_id"] == operating_region and body["estimated_metres"] == estimated
    assert body["fare_per_km"] == str(fare_per_km) and body["quoted_fare"] == str(quote_fare(estimated, fare_per_km))
    assert int(body["quoted_fare"]) > 0
    assert body["status"] == "open"


def test_a_request_in_a_bootstrap_region_rides_free(member, bootstrap_region):
    rider = member(bootstrap_region)
    body = rider.post("/rides/requests", json=request_body(VILLEURBANNE_FROM, VILLEURBANNE_TO)).json()
    assert body["region_id"] == bootstrap_region and body["quoted_fare"] == "0"


def test_posting_a_request_matches_it_to_a_fitting_offer(member, operating_region):
    driver, rider = member(operating_region), member(operating_region)
    offer = driver.post("/offers", json=offer_body(seats=1)).json()
    assert offer["seats_left"] == 1
    request = rider.post("/rides/requests", json=request_body()).json()
    assert request["status"] == "matched" and request["offer_id"] == offer["id"]
    assert request["pickup_time"] is not None and request["detour_metres"] <= 2_000
    assert driver.get("/offers").json()[0]["seats_left"] == 0
    seen_by_driver = driver.get(f"/offers/{offer['id']}/requests").json()
    assert [r["id"] for r in seen_by_driver] == [request["id"]]


def test_posting_an_offer_matches_waiting_requests_up_to_its_seats(member, operating_region):
    riders = [member(operating_region) for _ in range(3)]
    requests = [r.post("/rides/requests", json=request_body()).json() for r in riders]
    assert all(r["status"] == "open" for r in requests)
    driver = member(operating_region)
    offer = driver.post("/offers", json=offer_body(seats=2)).json()
    assert offer["seats_left"] == 0
    statuses = sorted(r.get(f"/rides/requests/{q['id']}").json()["status"] for r, q in zip(riders, requests))
    assert statuses == ["matched", "matched", "open"]


def test_a_driver_is_never_matched_to_their_own_offer_but_to_another(member, operating_region):
    driver = member(operating_region)
    driver.post("/offers", json=offer_body())
    request = driver.post("/rides/requests", json=request_body()).json()
    assert request["status"] == "open"
    other_offer = member(operating_region).post("/offers", json=offer_body(seats=1)).json()
    assert driver.get(f"/rides/requests/{request['id']}").json()["offer_id"] == other_offer["id"]


def test_the_operator_endpoint_runs_matching_on_demand(member, operating_region):
    driver, rider = member(operating_region), member(operating_region)
    request = rider.post("/rides/requests", json=request_body()).json()
    assert driver.post(f"/regions/{operating_region}/match").json() == []
    driver.post("/offers", json=offer_body())
    assert rider.get(f"/rides/requests/{request['id']}").json()["status"] == "matched"
    assert driver.post(f"/regions/{operating_region}/match").json() == []


@pytest.mark.parametrize(
    "place, reason",
    [
        ({"lat": 91.0, "lon": 4.8}, "lat must be within [-90, 90]"),
        ({"lat": 45.7, "lon": -181.0}, "lon must be within [-180, 180]"),
        ({"lat": "north", "lon": 4.8}, "valid number"),
        ({"lat": 45.7}, "Field required"),
    ],
)
def test_malformed_coordinates_are_validation_errors(member, operating_region, place, reason):
    response = member(operating_region).post("/rides/requests", json=request_body(place, RIDE_TO))
    assert response.status_code == 422
    assert reason in response.text


def test_a_point_outside_every_region_is_refused_with_a_reason(member, operating_region):
    rider = member(operating_region)
    response = rider.post("/rides/requests", json=request_body(RIDE_FROM, NOWHERE))
    assert response.status_code == 422
    assert response.json()["detail"] == "the destination (48.8566, 2.3522) lies outside every CoopRide region"
    assert rider.post("/offers", json=offer_body(NOWHERE, LYON_TO)).status_code == 422


def test_windows_out_of_order_and_wrong_types_are_validation_errors(member, operating_region):
    rider = member(operating_region)
    body = request_body()
    body["earliest"], body["latest"] = body["latest"], body["earliest"]
    assert "latest is before earliest" in rider.post("/rides/requests", json=body).text
    offer = offer_body()
    offer["seats"] = "three"
    assert rider.post("/offers", json=offer).status_code == 422
    offer = offer_body(seats=0)
    assert rider.post("/offers", json=offer).status_code == 422


def test_only_members_request_rides(wallet):
    response = wallet().post("/rides/requests", json=request_body())
    assert response.status_code == 403


def test_each_match_gets_an_unpredictable_trip_id(member, operating_region):
    driver = member(operating_region)
    driver.post("/offers", json=offer_body(seats=2))
    first, second = (member(operating_region).post("/rides/requests", json=request_body()).json() for _ in range(2))
    assert first["status"] == second["status"] == "matched"
    assert first["trip_id"] != second["trip_id"]
    assert all(0 < r["trip_id"] < 2**53 for r in (first, second))
    # Random among the free ids of one 256-id word of the ledger's bitmap (services/rides.py TRIP_ID_BITS): the
    # next booking's id shares the word, but is not its neighbour's successor.
    assert first["trip_id"] >> 8 == second["trip_id"] >> 8


def test_accepting_books_the_seat_with_the_riders_fare_authorisation(member, operating_region, chain_client):
    driver, rider, stranger = member(operating_region), member(operating_region), member(operating_region)
    deposit(rider, 20_000_000)
    offer = driver.post("/offers", json=offer_body(seats=1)).json()
    request = rider.post("/rides/requests", json=request_body()).json()
    typed = authorisation(rider, request["id"])
    message = typed["message"]
    assert typed["primaryType"] == "FareAuthorisation" and typed["domain"]["verifyingContract"] == chain_client.ledger.address
    assert message["tripId"] == request["trip_id"] and message["driver"] == driver.address
    assert message["rider"] == rider.address and message["maxFare"] > 0
    assert message["cancelBy"] == request["pickup_time"]
    assert message["expiry"] == offer["depart_latest"] + chain_client.max_trip_seconds()
    assert message["pickupLatE6"] == round(RIDE_FROM["lat"] * 1e6)
    assert stranger.get(f"/rides/requests/{request['id']}/authorisation").status_code == 403
    assert stranger.post(f"/rides/requests/{request['id']}/accept",
                         json={"signature": stranger.sign_typed(typed)}).status_code == 403
    assert stranger.get(f"/rides/requests/{request['id']}").status_code == 403
    assert driver.get(f"/rides/requests/{request['id']}").status_code == 200

    accepted = accept(rider, request["id"])
    assert accepted.status_code == 200, accepted.text
    booked = accepted.json()
    assert booked["status"] == "booked" and booked["max_fare"] == str(message["maxFare"])
    assert booked["authorisation_tx_hash"]
    hold = chain_client.hold_of(request["trip_id"], driver.address, rider.address)
    assert (hold.state, hold.max_fare, hold.expiry) == (HoldState.ACTIVE, message["maxFare"], message["expiry"])
    assert chain_client.escrow_of(rider.address) == 20_000_000 - message["maxFare"]
    again = accept(rider, request["id"], rider.sign_typed(typed))
    assert again.status_code == 409 and "booked" in again.json()["detail"]


def test_accepting_is_refused_with_the_chains_rule_before_anything_is_sent(member, operating_region, chain_client):
    driver, rider = member(operating_region), member(operating_region)
    driver.post("/offers", json=offer_body(seats=1))
    request = rider.post("/rides/requests", json=request_body()).json()
    typed = authorisation(rider, request["id"])
    nonce = chain_client.transactions.pending_nonce()

    short = accept(rider, request["id"])  # no escrow yet
    assert short.status_code == 422 and "InsufficientBalance" in short.json()["detail"]
    deposit(rider, 20_000_000)
    nonce = chain_client.transactions.pending_nonce()
    forged = accept(rider, request["id"], "0x" + bytes(Account.create().sign_typed_data(full_message=typed).signature).hex())
    assert forged.status_code == 403
    signature = bytes.fromhex(rider.sign_typed(typed)[2:])
    order = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    high_s = (order - int.from_bytes(signature[32:64], "big")).to_bytes(32, "big")
    twin = signature[:32] + high_s + bytes([55 - signature[64]])  # the same signer, the malleable form
    refused = accept(rider, request["id"], "0x" + twin.hex())
    assert refused.status_code == 422 and "high s" in refused.json()["detail"]
    other_terms = dict(typed, message={**typed["message"], "maxFare": typed["message"]["maxFare"] // 2})
    assert accept(rider, request["id"], rider.sign_typed(other_terms)).status_code == 403
    assert chain_client.transactions.pending_nonce() == nonce  # nothing was sent
    assert rider.get(f"/rides/requests/{request['id']}").json()["status"] == "matched"
    assert accept(rider, request["id"]).status_code == 200


def test_an_expired_authorisation_is_refused(member, operating_region, app):
    from sqlmodel import Session

    from coopride.models import TripOffer

    driver, rider = member(operating_region), member(operating_region)
    deposit(rider, 20_000_000)
    offer = driver.post("/offers", json=offer_body(seats=1)).json()
    request = rider.post("/rides/requests", json=request_body()).json()
    with Session(app.state.engine) as session:
        stored = session.get(TripOffer, offer["id"])
        stored.depart_latest = stored.depart_earliest = 1_000_000  # a window long gone
        session.add(stored)
        session.commit()
    response = accept(rider, request["id"])
    assert response.status_code == 409 and "expired" in response.json()["detail"]


def test_a_bootstrap_booking_holds_nothing_but_is_still_authorised(member, bootstrap_region, chain_client):
    driver, rider = member(bootstrap_region), member(bootstrap_region)
    driver.post("/offers", json=offer_body(VILLEURBANNE_FROM, VILLEURBANNE_TO))
    request = rider.post("/rides/requests", json=request_body(VILLEURBANNE_FROM, VILLEURBANNE_TO)).json()
    assert authorisation(rider, request["id"])["message"]["maxFare"] == 0
    booked = accept(rider, request["id"]).json()
    assert booked["status"] == "booked"
    assert chain_client.hold_of(request["trip_id"], driver.address, rider.address).state == HoldState.ACTIVE


def test_only_the_offers_driver_picks_the_rider_up(booked_ride, member, operating_region):
    driver, rider, request = booked_ride()
    assert rider.post(f"/rides/requests/{request['id']}/pickup").status_code == 403
    assert member(operating_region).post(f"/rides/requests/{request['id']}/pickup").status_code == 403
    picked = driver.post(f"/rides/requests/{request['id']}/pickup")
    assert picked.status_code == 200 and picked.json()["status"] == "picked_up" and picked.json()["picked_up_at"]


def test_cancelling_before_pickup_is_free_and_frees_the_seat(booked_ride, member, operating_region, chain_client):
    driver, rider, request = booked_ride()
    unsigned = rider.post(f"/rides/requests/{request['id']}/cancel")
    assert unsigned.status_code == 422 and "HoldRelease" in unsigned.json()["detail"]
    cancelled = cancel_booked(rider, request["id"])
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["release_tx_hash"]
    assert chain_client.escrow_of(rider.address) == 20_000_000  # the held fare is back
    assert chain_client.hold_of(request["trip_id"], driver.address, rider.address).released
    seats = {o["id"]: o["seats_left"] for o in driver.get("/offers").json()}
    assert seats[request["offer_id"]] == 2
    next_rider = member(operating_region)
    assert next_rider.post("/rides/requests", json=request_body()).json()["offer_id"] == request["offer_id"]


def test_cancelling_a_match_before_accepting_needs_no_signature(member, operating_region):
    driver, rider = member(operating_region), member(operating_region)
    driver.post("/offers", json=offer_body(seats=1))
    request = rider.post("/rides/requests", json=request_body()).json()
    cancelled = rider.post(f"/rides/requests/{request['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_cancelling_after_pickup_ends_the_ride_early(booked_ride):
    driver, rider, request = booked_ride()
    driver.post(f"/rides/requests/{request['id']}/pickup")
    ended = rider.post(f"/rides/requests/{request['id']}/cancel")
    assert ended.status_code == 200 and ended.json()["status"] == "ended_early" and ended.json()["ended_at"]
    assert rider.post(f"/rides/requests/{request['id']}/cancel").status_code == 409


def test_nobody_cancels_someone_elses_request(booked_ride):
    driver, _rider, request = booked_ride()
    response = driver.post(f"/rides/requests/{request['id']}/cancel")
    assert response.status_code == 403


def test_ids_out_of_range_are_validation_errors_not_server_errors(member, operating_region):
    someone = member(operating_region)
    assert someone.get(f"/rides/requests/{2**40}").status_code == 422
    assert someone.get(f"/offers/{2**40}/requests").status_code == 422
    assert someone.get(f"/trips/{2**63}").status_code == 422
    assert someone.get(f"/trips/{2**62}").status_code == 404


def test_unknown_requests_are_not_found(member, operating_region):
    response = member(operating_region).post("/rides/requests/4242/accept", json={"signature": "0x" + "11" * 65})
    assert response.status_code == 404
    assert response.json()["detail"] == "no ride request 4242"


# ------------------------------------------------------------------ seats, offers, idempotency (issue 12)
def test_a_completed_ride_keeps_its_seat_and_a_full_offer_closes(booked_ride, member, operating_region):
    driver, _rider, booking = booked_ride()  # a two-seat offer
    second = member(operating_region).post("/rides/requests", json=request_body()).json()
    assert second["status"] == "matched" and second["offer_id"] == booking["offer_id"]
    assert driver.get("/offers").json()[0]["status"] == "closed"  # full
    logged = driver.post("/trips", json={"request_id": booking["id"], "fixes": trace(RIDE_FROM, RIDE_TO)})
    assert logged.status_code == 201, logged.text
    third = member(operating_region).post("/rides/requests", json=request_body()).json()
    assert third["status"] == "open"  # the completed ride still holds its seat
    assert driver.get("/offers").json()[0]["seats_left"] == 0


def test_a_cancellation_frees_the_seat_for_the_next_rider(member, operating_region):
    driver, first, second = member(operating_region), member(operating_region), member(operating_region)
    driver.post("/offers", json=offer_body(seats=1))
    taken = first.post("/rides/requests", json=request_body()).json()
    waiting = second.post("/rides/requests", json=request_body()).json()
    assert (taken["status"], waiting["status"]) == ("matched", "open")
    assert first.post(f"/rides/requests/{taken['id']}/cancel").status_code == 200
    assert second.get(f"/rides/requests/{waiting['id']}").json()["status"] == "matched"


def test_an_offer_past_its_window_matches_nobody(member, operating_region):
    driver, rider = member(operating_region), member(operating_region)
    body = offer_body(seats=1)
    body["depart_earliest"], body["depart_latest"] = body["depart_earliest"] - 7_200, body["depart_earliest"] - 3_600
    assert driver.post("/offers", json=body).status_code == 201
    assert rider.post("/rides/requests", json=request_body()).json()["status"] == "open"
    assert driver.get("/offers").json()[0]["status"] == "closed"


def test_a_driver_cancels_an_offer_and_matched_riders_wait_again(member, operating_region):
    driver, rider, stranger = member(operating_region), member(operating_region), member(operating_region)
    offer = driver.post("/offers", json=offer_body(seats=1)).json()
    request = rider.post("/rides/requests", json=request_body()).json()
    assert request["status"] == "matched"
    assert stranger.post(f"/offers/{offer['id']}/cancel").status_code == 403
    cancelled = driver.post(f"/offers/{offer['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    again = rider.get(f"/rides/requests/{request['id']}").json()
    assert again["status"] == "open" and again["offer_id"] is None and again["trip_id"] is None
    assert driver.post(f"/offers/{offer['id']}/cancel").status_code == 409
    assert driver.post(f"/offers/{2**40}/cancel").status_code == 422
    assert driver.post("/offers/424242/cancel").status_code == 404


def test_an_offer_with_a_booked_rider_cannot_be_cancelled(booked_ride):
    driver, rider, booking = booked_ride()
    refused = driver.post(f"/offers/{booking['offer_id']}/cancel")
    assert refused.status_code == 409 and "booked" in refused.json()["detail"]
    assert rider.get(f"/rides/requests/{booking['id']}").json()["status"] == "booked"


def test_an_acceptance_repeated_with_its_idempotency_key_answers_the_first_answer(member, operating_region,
                                                                                   chain_client):
    driver, rider = member(operating_region), member(operating_region)
    deposit(rider, 20_000_000)
    driver.post("/offers", json=offer_body(seats=1))
    request = rider.post("/rides/requests", json=request_body()).json()
    typed = authorisation(rider, request["id"])
    body = {"signature": rider.sign_typed(typed)}
    headers = {**rider.headers, "Idempotency-Key": "accept-1"}
    first = rider.client.post(f"/rides/requests/{request['id']}/accept", json=body, headers=headers)
    again = rider.client.post(f"/rides/requests/{request['id']}/accept", json=body, headers=headers)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert chain_client.escrow_of(rider.address) == 20_000_000 - typed["message"]["maxFare"]  # held once
    other = rider.client.post(f"/rides/requests/{request['id']}/accept",
                              json={"signature": "0x" + "22" * 65}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert rider.post(f"/rides/requests/{request['id']}/accept", json=body).status_code == 409  # no key


def test_matching_an_unknown_region_is_not_found(member, operating_region):
    someone = member(operating_region)
    assert someone.post("/regions/1000000000/match").status_code == 404
    assert someone.post(f"/regions/{2**40}/match").status_code == 422
    assert someone.post(f"/regions/{operating_region}/match").status_code == 200


def test_a_cancellation_repeated_with_its_idempotency_key_answers_the_first_answer(booked_ride):
    _driver, rider, booking = booked_ride()
    typed = rider.get(f"/rides/requests/{booking['id']}/cancel/typed-data").json()["typed_data"]
    body = {"deadline": typed["message"]["deadline"], "signature": rider.sign_typed(typed)}
    headers = {**rider.headers, "Idempotency-Key": "cancel-1"}
    first = rider.client.post(f"/rides/requests/{booking['id']}/cancel", json=body, headers=headers)
    again = rider.client.post(f"/rides/requests/{booking['id']}/cancel", json=body, headers=headers)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json() and first.json()["status"] == "cancelled"
    assert rider.post(f"/rides/requests/{booking['id']}/cancel", json=body).status_code == 409  # no key: refused
