"""Offers, requests, quotes, matching, booking, pickup and the cancellation policy."""

from __future__ import annotations

import pytest
from api_helpers import (
    LYON_TO,
    NOWHERE,
    RIDE_FROM,
    RIDE_TO,
    VILLEURBANNE_FROM,
    VILLEURBANNE_TO,
    offer_body,
    request_body,
)

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
    assert body["fare_per_km"] == fare_per_km and body["quoted_fare"] == quote_fare(estimated, fare_per_km) > 0
    assert body["status"] == "open"


def test_a_request_in_a_bootstrap_region_rides_free(member, bootstrap_region):
    rider = member(bootstrap_region)
    body = rider.post("/rides/requests", json=request_body(VILLEURBANNE_FROM, VILLEURBANNE_TO)).json()
    assert body["region_id"] == bootstrap_region and body["quoted_fare"] == 0


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


def test_accepting_books_the_seat_and_only_the_rider_may_accept(member, operating_region):
    driver, rider, stranger = member(operating_region), member(operating_region), member(operating_region)
    driver.post("/offers", json=offer_body(seats=1))
    request = rider.post("/rides/requests", json=request_body()).json()
    assert stranger.post(f"/rides/requests/{request['id']}/accept").status_code == 403
    assert stranger.get(f"/rides/requests/{request['id']}").status_code == 403
    assert driver.get(f"/rides/requests/{request['id']}").status_code == 200
    accepted = rider.post(f"/rides/requests/{request['id']}/accept")
    assert accepted.status_code == 200 and accepted.json()["status"] == "booked"
    again = rider.post(f"/rides/requests/{request['id']}/accept")
    assert again.status_code == 409 and "booked" in again.json()["detail"]


def test_only_the_offers_driver_picks_the_rider_up(booked_ride, member, operating_region):
    driver, rider, request = booked_ride()
    assert rider.post(f"/rides/requests/{request['id']}/pickup").status_code == 403
    assert member(operating_region).post(f"/rides/requests/{request['id']}/pickup").status_code == 403
    picked = driver.post(f"/rides/requests/{request['id']}/pickup")
    assert picked.status_code == 200 and picked.json()["status"] == "picked_up" and picked.json()["picked_up_at"]


def test_cancelling_before_pickup_is_free_and_frees_the_seat(booked_ride, member, operating_region):
    driver, rider, request = booked_ride()
    cancelled = rider.post(f"/rides/requests/{request['id']}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    seats = {o["id"]: o["seats_left"] for o in driver.get("/offers").json()}
    assert seats[request["offer_id"]] == 2
    next_rider = member(operating_region)
    assert next_rider.post("/rides/requests", json=request_body()).json()["offer_id"] == request["offer_id"]


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


def test_unknown_requests_are_not_found(member, operating_region):
    response = member(operating_region).post("/rides/requests/4242/accept")
    assert response.status_code == 404
    assert response.json()["detail"] == "no ride request 4242"
