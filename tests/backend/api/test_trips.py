"""Driven trips: trace checks, receipts both parties sign, and the trip settling on chain."""

from __future__ import annotations

import time

from api_helpers import LYON_FROM, LYON_TO, NOWHERE, RIDE_FROM, RIDE_TO, VILLEURBANNE_FROM, VILLEURBANNE_TO, trace
from sqlmodel import Session

from coopride.domain.pricing import quote_fare
from coopride.models import RideRequest
from coopride.settlement.worker import SettlementWorker

DATABASES = ("sqlite", "postgresql")  # every test here runs on both (tests/backend/conftest.py)


def _log(driver, fixes, request_id=None):
    return driver.post("/trips", json={"request_id": request_id, "fixes": fixes})


def _receipt(party, trip_id):
    response = party.get(f"/trips/{trip_id}/receipt")
    assert response.status_code == 200, response.text
    return response.json()["typed_data"]


def _sign(party, trip_id, signature=None):
    signature = signature or party.sign_typed(_receipt(party, trip_id))
    return party.post(f"/trips/{trip_id}/signatures", json={"signature": signature})


def test_a_booked_ride_is_queued_once_driver_and_rider_signed_its_receipt(booked_ride, chain_client, operating_region):
    driver, rider, request = booked_ride()
    logged = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"])
    assert logged.status_code == 201, logged.text
    trip = logged.json()
    fare_per_km = chain_client.region(operating_region).fare_per_km
    assert trip["status"] == "awaiting_signatures" and trip["rider"] == rider.address
    assert trip["fare"] == quote_fare(trip["distance_metres"], fare_per_km) > 0
    assert _receipt(driver, trip["id"]) == _receipt(rider, trip["id"])
    assert _receipt(driver, trip["id"])["domain"]["verifyingContract"] == chain_client.ledger.address

    after_driver = _sign(driver, trip["id"])
    assert after_driver.status_code == 200, after_driver.text
    assert after_driver.json()["status"] == "awaiting_signatures" and after_driver.json()["driver_signed"]
    after_rider = _sign(rider, trip["id"])
    assert after_rider.json()["status"] == "queued" and after_rider.json()["rider_signed"]
    assert rider.get(f"/rides/requests/{request['id']}").json()["status"] == "completed"


def test_a_queued_ride_settles_and_both_statements_prove_it(booked_ride, chain_client, mint_fare_tokens, app,
                                                            operating_region):
    driver, rider, request = booked_ride()
    mint_fare_tokens(rider.address, 5_000_000)
    permit = rider.get("/members/me/deposit/typed-data", params={"amount": 5_000_000}).json()["typed_data"]
    rider.post("/members/me/deposits", json={"amount": 5_000_000, "deadline": permit["message"]["deadline"],
                                             "signature": rider.sign_typed(permit)})
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"]).json()
    _sign(driver, trip["id"])
    _sign(rider, trip["id"])

    SettlementWorker(app.state.engine, chain_client, max_age_seconds=0, receipt_timeout=10).run_once(force=True)

    settled = driver.get(f"/trips/{trip['id']}").json()
    assert settled["status"] == "settled", settled
    assert chain_client.is_settled(trip["id"])
    assert settled["fare_paid"] == trip["fare"] and chain_client.escrow_of(rider.address) == 5_000_000 - trip["fare"]
    driver_statement = driver.get(f"/members/{driver.address}/statement").json()
    row = driver_statement["trips"][0]
    assert row["trip_id"] == trip["id"] and row["tx_hash"] == settled["tx_hash"] and row["block_number"]
    assert driver_statement["driving"]["metres_shared"] == trip["distance_metres"]
    assert driver_statement["driving"]["fares_received"] == settled["fare_paid"] - settled["fee_paid"]
    assert driver_statement["driving"]["fares_received"] == chain_client.earnings_of(driver.address)
    assert driver_statement["driving"]["shares_earned"] == str(chain_client.shares_of(driver.address))
    assert driver_statement["settled_trip_ids"] == [trip["id"]]
    rider_statement = rider.get(f"/members/{rider.address}/statement").json()
    assert rider_statement["riding"]["fares_paid"] == trip["fare"]
    region = driver.get(f"/regions/{operating_region}").json()
    assert region["metres_settled"] == trip["distance_metres"] and region["fees_to_treasury"] == settled["fee_paid"]


def test_a_signature_by_the_wrong_party_is_refused(booked_ride, wallet):
    driver, rider, request = booked_ride()
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"]).json()
    stranger_signature = wallet().sign_typed(_receipt(rider, trip["id"]))
    response = _sign(rider, trip["id"], stranger_signature)
    assert response.status_code == 403 and "not the rider's" in response.json()["detail"]
    response = _sign(driver, trip["id"], rider.sign_typed(_receipt(rider, trip["id"])))
    assert response.status_code == 403 and "not the driver's" in response.json()["detail"]
    unchanged = driver.get(f"/trips/{trip['id']}").json()
    assert not unchanged["driver_signed"] and not unchanged["rider_signed"]


def test_a_signature_over_other_terms_is_refused(booked_ride):
    driver, rider, request = booked_ride()
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"]).json()
    cheaper = _receipt(rider, trip["id"])
    cheaper["message"]["fare"] = trip["fare"] // 2
    response = _sign(rider, trip["id"], rider.sign_typed(cheaper))
    assert response.status_code == 403
    assert rider.get(f"/trips/{trip['id']}").json()["status"] == "awaiting_signatures"


def test_signing_twice_is_a_conflict(booked_ride):
    driver, _rider, request = booked_ride()
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"]).json()
    assert _sign(driver, trip["id"]).status_code == 200
    again = _sign(driver, trip["id"])
    assert again.status_code == 409 and "already signed" in again.json()["detail"]


def test_a_stranger_can_neither_read_nor_sign_a_trip(booked_ride, member, operating_region):
    driver, _rider, request = booked_ride()
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"]).json()
    stranger = member(operating_region)
    assert stranger.get(f"/trips/{trip['id']}").status_code == 403
    assert stranger.get(f"/trips/{trip['id']}/receipt").status_code == 403
    assert stranger.post(f"/trips/{trip['id']}/signatures", json={"signature": "0x" + "11" * 65}).status_code == 403
    assert stranger.get("/trips/9999").status_code == 404


def test_only_the_booked_driver_logs_the_ride(booked_ride, member, operating_region):
    _driver, rider, request = booked_ride()
    other_driver = member(operating_region)
    response = _log(other_driver, trace(RIDE_FROM, RIDE_TO), request["id"])
    assert response.status_code == 403
    assert _log(rider, trace(RIDE_FROM, RIDE_TO), request["id"]).status_code == 403


def test_solo_movement_in_a_bootstrap_region_needs_only_the_drivers_signature(member, bootstrap_region):
    driver = member(bootstrap_region)
    trip = _log(driver, trace(VILLEURBANNE_FROM, VILLEURBANNE_TO)).json()
    assert trip["status"] == "awaiting_signatures" and trip["rider"] is None and trip["fare"] == 0
    assert trip["region_id"] == bootstrap_region and trip["distance_metres"] > 1_000
    assert _receipt(driver, trip["id"])["message"]["rider"] == "0x" + "0" * 40
    assert _sign(driver, trip["id"]).json()["status"] == "queued"


def test_solo_movement_in_an_operating_region_is_void_and_has_no_receipt(member, operating_region):
    driver = member(operating_region)
    trip = _log(driver, trace(LYON_FROM, LYON_TO)).json()
    assert trip["status"] == "void" and "solo_in_operating_region" in trip["check_reasons"]
    response = driver.get(f"/trips/{trip['id']}/receipt")
    assert response.status_code == 409 and "void" in response.json()["detail"]
    assert driver.get(f"/members/{driver.address}/statement").json()["driving"]["metres_driven"] == 0


def test_a_trace_that_starts_away_from_the_pickup_is_void(booked_ride):
    driver, _rider, request = booked_ride()
    a_kilometre_north = {"lat": RIDE_FROM["lat"] + 0.009, "lon": RIDE_FROM["lon"]}
    trip = _log(driver, trace(a_kilometre_north, RIDE_TO), request["id"]).json()
    assert trip["status"] == "void" and "pickup_far_from_booking" in trip["check_reasons"]


def test_a_trace_with_fixes_out_of_order_is_void(member, bootstrap_region):
    driver = member(bootstrap_region)
    fixes = trace(VILLEURBANNE_FROM, VILLEURBANNE_TO)
    fixes[3]["t"], fixes[4]["t"] = fixes[4]["t"], fixes[3]["t"]
    trip = _log(driver, fixes).json()
    assert trip["status"] == "void" and "out_of_order" in trip["check_reasons"]


def test_a_ride_ended_early_charges_only_the_kilometres_ridden(booked_ride, chain_client, operating_region):
    driver, rider, request = booked_ride()
    driver.post(f"/rides/requests/{request['id']}/pickup")
    rider.post(f"/rides/requests/{request['id']}/cancel")
    halfway = {"lat": (RIDE_FROM["lat"] + RIDE_TO["lat"]) / 2, "lon": (RIDE_FROM["lon"] + RIDE_TO["lon"]) / 2}
    trip = _log(driver, trace(RIDE_FROM, halfway, fixes=7), request["id"]).json()
    assert trip["status"] == "awaiting_signatures", trip
    fare_per_km = chain_client.region(operating_region).fare_per_km
    assert trip["fare"] == quote_fare(trip["distance_metres"], fare_per_km)
    assert trip["fare"] < request["quoted_fare"] * 0.6


def test_a_ride_ended_early_cannot_log_kilometres_after_the_rider_left(booked_ride, app):
    driver, rider, request = booked_ride()
    driver.post(f"/rides/requests/{request['id']}/pickup")
    rider.post(f"/rides/requests/{request['id']}/cancel")
    with Session(app.state.engine) as session:
        stored = session.get(RideRequest, request["id"])
        stored.ended_at = int(time.time()) - 1_000
        session.add(stored)
        session.commit()
    response = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"])
    assert response.status_code == 422 and "ended this ride early" in response.json()["detail"]


def test_a_cancelled_ride_cannot_be_logged(booked_ride):
    driver, rider, request = booked_ride()
    rider.post(f"/rides/requests/{request['id']}/cancel")
    response = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"])
    assert response.status_code == 409 and "cancelled" in response.json()["detail"]


def test_traces_in_the_future_or_with_bad_fixes_are_refused(member, bootstrap_region):
    driver = member(bootstrap_region)
    response = _log(driver, trace(VILLEURBANNE_FROM, VILLEURBANNE_TO, ends_ago=-3_600))
    assert response.status_code == 422 and response.json()["detail"] == "the trace ends in the future"
    fixes = trace(VILLEURBANNE_FROM, VILLEURBANNE_TO)
    fixes[2]["lat"] = 200
    assert _log(driver, fixes).status_code == 422
    assert _log(driver, fixes[:1]).status_code == 422
    fixes = trace(VILLEURBANNE_FROM, VILLEURBANNE_TO)
    fixes[0]["t"] = 2**40  # beyond the receipt's uint40: refused, not a server error
    assert _log(driver, fixes).status_code == 422
    assert driver.post("/trips", json={"fixes": "not a list"}).status_code == 422


def test_solo_movement_outside_every_region_is_refused(member, bootstrap_region):
    nearby = {"lat": NOWHERE["lat"] + 0.01, "lon": NOWHERE["lon"]}
    response = _log(member(bootstrap_region), trace(NOWHERE, nearby))
    assert response.status_code == 422
    assert "lies outside every CoopRide region" in response.json()["detail"]


def test_non_members_cannot_log_trips(wallet):
    response = wallet().post("/trips", json={"fixes": trace(VILLEURBANNE_FROM, VILLEURBANNE_TO)})
    assert response.status_code == 403
