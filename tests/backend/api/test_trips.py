"""Driven trips: trace checks, the receipt the driver signs and the rider confirms, the trip settling on chain,
disputes and mediators' decisions shown to both parties."""

from __future__ import annotations

import time

import pytest
from api_helpers import (
    LYON_FROM,
    LYON_TO,
    NOWHERE,
    RIDE_FROM,
    RIDE_TO,
    VILLEURBANNE_FROM,
    VILLEURBANNE_TO,
    cancel_booked,
    trace,
)
from sqlmodel import Session

from coopride.chain.types import HoldState
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


def _settle(app, chain_client):
    """Winds the chain's clock to the wall clock (fn_isolation's reverts leave it behind), then one worker pass."""
    from brownie import chain

    lag = int(time.time()) + 1 - chain_client.next_block_timestamp()
    if lag > 0:
        chain.sleep(lag)
        chain.mine()
    return SettlementWorker(app.state.engine, chain_client, max_age_seconds=0, receipt_timeout=10).run_once(force=True)


def _past_the_window(chain_client, trip):
    """Moves the chain's clock past the trip's dispute window (whatever fn_isolation's reverts left it at)."""
    from brownie import chain

    ahead = trip["end_time"] + chain_client.dispute_window() + 1 - chain_client.next_block_timestamp()
    if ahead > 0:
        chain.sleep(ahead)
        chain.mine()


def test_a_booked_ride_is_queued_once_the_driver_signed_and_the_rider_may_confirm(
    booked_ride, chain_client, operating_region
):
    driver, rider, request = booked_ride()
    logged = _log(driver, trace(RIDE_FROM, RIDE_TO), request["id"])
    assert logged.status_code == 201, logged.text
    trip = logged.json()
    fare_per_km = chain_client.region(operating_region).fare_per_km
    assert trip["id"] == request["trip_id"]  # the booking's trip id, authorised on chain
    assert trip["status"] == "awaiting_signatures" and trip["rider"] == rider.address and trip["dispute"] is None
    assert 0 < int(trip["fare"]) <= int(request["max_fare"])
    assert int(trip["fare"]) == min(quote_fare(trip["distance_metres"], fare_per_km), int(request["max_fare"]))
    assert _receipt(driver, trip["id"]) == _receipt(rider, trip["id"])
    assert _receipt(driver, trip["id"])["domain"]["verifyingContract"] == chain_client.ledger.address

    after_driver = _sign(driver, trip["id"])
    assert after_driver.status_code == 200, after_driver.text
    assert after_driver.json()["status"] == "queued" and after_driver.json()["driver_signed"]
    assert not after_driver.json()["rider_signed"]
    after_rider = _sign(rider, trip["id"])
    assert after_rider.json()["status"] == "queued" and after_rider.json()["rider_signed"]
    assert rider.get(f"/rides/requests/{request['id']}").json()["status"] == "completed"


def test_a_confirmed_ride_settles_and_both_statements_prove_it(booked_ride, chain_client, app, operating_region):
    driver, rider, request = booked_ride(escrow=5_000_000)
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO, ends_ago=1), request["id"]).json()
    _sign(driver, trip["id"])
    _sign(rider, trip["id"])

    report = _settle(app, chain_client)

    settled = driver.get(f"/trips/{trip['id']}").json()
    assert settled["status"] == "settled", (settled, report)
    assert chain_client.is_settled(trip["id"])
    assert settled["fare_paid"] == trip["fare"]
    assert chain_client.escrow_of(rider.address) == 5_000_000 - int(trip["fare"])
    driver_statement = driver.get(f"/members/{driver.address}/statement").json()
    row = driver_statement["trips"][0]
    assert row["trip_id"] == trip["id"] and row["tx_hash"] == settled["tx_hash"] and row["block_number"]
    assert driver_statement["driving"]["metres_shared"] == trip["distance_metres"]
    fares_received = int(driver_statement["driving"]["fares_received"])
    assert fares_received == int(settled["fare_paid"]) - int(settled["fee_paid"])
    assert fares_received == chain_client.earnings_of(driver.address)
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
    cheaper["message"]["fare"] = int(trip["fare"]) // 2
    response = _sign(rider, trip["id"], rider.sign_typed(cheaper))
    assert response.status_code == 403
    assert rider.get(f"/trips/{trip['id']}").json()["status"] == "awaiting_signatures"


def test_an_unconfirmed_ride_waits_for_the_dispute_window(booked_ride, chain_client, app):

    driver, rider, request = booked_ride()
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO, ends_ago=1), request["id"]).json()
    _sign(driver, trip["id"])
    assert _settle(app, chain_client).batches_sent == []
    _past_the_window(chain_client, trip)
    assert _settle(app, chain_client).settled == [trip["id"]]
    assert rider.get(f"/trips/{trip['id']}").json()["fare_paid"] == trip["fare"]


def _withdraw(party, amount):
    typed = party.get("/members/me/withdrawal/typed-data", params={"amount": amount, "from_earnings": False})
    if typed.status_code != 200:
        return typed
    data = typed.json()["typed_data"]
    return party.post("/members/me/withdrawals", json={"amount": str(amount), "from_earnings": False,
                                                       "deadline": data["message"]["deadline"],
                                                       "signature": party.sign_typed(data)})


def test_a_rider_who_withdraws_everything_after_accepting_cannot_leave_the_driver_unpaid(booked_ride, chain_client,
                                                                                        app):
    driver, rider, request = booked_ride()
    free = chain_client.escrow_of(rider.address)
    assert free == 20_000_000 - int(request["max_fare"])
    assert _withdraw(rider, free).status_code in (200, 201)
    assert chain_client.escrow_of(rider.address) == 0
    refused = _withdraw(rider, int(request["max_fare"]))  # what the booking holds is not the rider's to take
    assert 400 <= refused.status_code < 500, refused.text

    trip = _log(driver, trace(RIDE_FROM, RIDE_TO, ends_ago=1), request["id"]).json()
    _sign(driver, trip["id"])  # the rider never confirms
    _past_the_window(chain_client, trip)
    assert _settle(app, chain_client).settled == [trip["id"]]
    paid = driver.get(f"/trips/{trip['id']}").json()
    assert paid["fare_paid"] == trip["fare"] and int(trip["fare"]) > 0
    assert chain_client.earnings_of(driver.address) == int(paid["fare_paid"]) - int(paid["fee_paid"])
    assert chain_client.escrow_of(rider.address) == int(request["max_fare"]) - int(trip["fare"])  # the rest of the hold


@pytest.fixture
def mediator(member, operating_region, manifest):
    """A member of the operating region holding MEDIATOR_ROLE (granted by the Timelock, the ledger's admin)."""
    from brownie import Contract, accounts

    person = member(operating_region)
    ledger = Contract.from_abi("RideLedger", manifest.address("RideLedger"), manifest.contract("RideLedger").abi)
    timelock = accounts.at(manifest.address("TimelockController"), force=True)
    tx = ledger.grantRole(ledger.MEDIATOR_ROLE(), person.address, {"from": timelock})
    assert ledger.hasRole(ledger.MEDIATOR_ROLE(), person.address), tx.events
    return person


def _dispute(party, trip_id, reason):
    typed = party.get(f"/trips/{trip_id}/dispute/typed-data", params={"reason": reason})
    assert typed.status_code == 200, typed.text
    data = typed.json()["typed_data"]
    return party.post(f"/trips/{trip_id}/disputes", json={"reason": reason, "deadline": data["message"]["deadline"],
                                                          "signature": party.sign_typed(data)})


def _resolve(mediator, trip_id, award, reason):
    typed = mediator.get(f"/trips/{trip_id}/resolution/typed-data", params={"award": award, "reason": reason})
    if typed.status_code != 200:
        return typed
    data = typed.json()["typed_data"]
    return mediator.post(f"/trips/{trip_id}/resolution", json={"award": str(award), "reason": reason,
                                                              "deadline": data["message"]["deadline"],
                                                              "signature": mediator.sign_typed(data)})


def test_a_dispute_holds_the_trip_until_a_mediator_decides_and_both_statements_show_it(
    booked_ride, chain_client, app, mediator, member, operating_region
):

    driver, rider, request = booked_ride()
    trip = _log(driver, trace(RIDE_FROM, RIDE_TO, ends_ago=1), request["id"]).json()
    _sign(driver, trip["id"])
    disputed = _dispute(rider, trip["id"], "dropped two streets away")
    assert disputed.status_code == 201, disputed.text
    dispute = disputed.json()["dispute"]
    assert (dispute["status"], dispute["by"], dispute["reason"]) == ("open", rider.address, "dropped two streets away")
    assert dispute["tx_hash"] and dispute["award"] is None
    assert chain_client.hold_of(trip["id"], driver.address, rider.address).state == HoldState.DISPUTED
    again = driver.get(f"/trips/{trip['id']}/dispute/typed-data", params={"reason": "again"})
    assert again.status_code == 409 and "already disputed" in again.json()["detail"]

    _past_the_window(chain_client, trip)
    assert _settle(app, chain_client).batches_sent == []  # held until a mediator decides
    assert _resolve(driver, trip["id"], 1, "mine").status_code == 403  # a party, and no mediator
    assert _resolve(member(operating_region), trip["id"], 1, "not a mediator").status_code == 403
    too_much = mediator.get(f"/trips/{trip['id']}/resolution/typed-data",
                            params={"award": int(request["max_fare"]) + 1, "reason": "too much"})
    assert too_much.status_code == 422

    listed = mediator.get("/trips/disputes")
    assert listed.status_code == 200, listed.text
    assert [(d["trip_id"], d["by"], d["reason"], d["fare"], d["max_fare"]) for d in listed.json()] == [
        (trip["id"], rider.address, "dropped two streets away", trip["fare"], request["max_fare"])]
    assert driver.get("/trips/disputes").status_code == 403  # not a mediator

    award = int(trip["fare"]) // 2
    earnings = chain_client.earnings_of(driver.address)
    decided = _resolve(mediator, trip["id"], award, "half the ride was a detour")
    assert decided.status_code == 200, decided.text
    assert mediator.get("/trips/disputes").json() == []
    shown = decided.json()["dispute"]
    assert (shown["status"], shown["award"], shown["resolution_reason"]) == ("resolved_paid", str(award),
                                                                             "half the ride was a detour")
    assert shown["mediator"] == mediator.address and shown["resolution_tx_hash"]
    fee = award * chain_client.parameters().fee_bps // 10_000
    assert chain_client.earnings_of(driver.address) == earnings + award - fee
    assert chain_client.escrow_of(rider.address) == 20_000_000 - award  # the rest of the hold came back

    settled = _settle(app, chain_client)
    assert settled.settled == [trip["id"]], settled  # no money moves: the decision paid
    assert chain_client.earnings_of(driver.address) == earnings + award - fee
    for party in (driver, rider):
        statement = party.get(f"/members/{party.address}/statement").json()
        [row] = statement["trips"]
        assert row["dispute"]["status"] == "resolved_paid" and row["dispute"]["award"] == str(award)
        assert row["dispute"]["resolution_reason"] == "half the ride was a detour"
    assert driver.get(f"/members/{driver.address}/statement").json()["driving"]["fares_received"] == str(award - fee)
    assert rider.get(f"/members/{rider.address}/statement").json()["riding"]["fares_paid"] == str(award)


def test_a_solo_trip_cannot_be_disputed_and_strangers_cannot_dispute(member, bootstrap_region, booked_ride):
    driver = member(bootstrap_region)
    solo = _log(driver, trace(VILLEURBANNE_FROM, VILLEURBANNE_TO)).json()
    assert driver.get(f"/trips/{solo['id']}/dispute/typed-data", params={"reason": "x"}).status_code == 409
    shared_driver, _rider, request = booked_ride()
    shared = _log(shared_driver, trace(RIDE_FROM, RIDE_TO), request["id"]).json()
    assert driver.get(f"/trips/{shared['id']}/dispute/typed-data", params={"reason": "x"}).status_code == 403
    assert shared_driver.get(f"/trips/{shared['id']}/dispute/typed-data", params={"reason": ""}).status_code == 422


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
    assert trip["status"] == "awaiting_signatures" and trip["rider"] is None and trip["fare"] == "0"
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


def _picked_up_at(app, request_id: int, moment: int) -> None:
    with Session(app.state.engine) as session:
        stored = session.get(RideRequest, request_id)
        stored.picked_up_at = moment
        session.add(stored)
        session.commit()


def test_a_ride_ended_early_charges_only_the_kilometres_ridden(booked_ride, chain_client, operating_region, app):
    driver, rider, request = booked_ride()
    driver.post(f"/rides/requests/{request['id']}/pickup")
    rider.post(f"/rides/requests/{request['id']}/cancel")
    halfway = {"lat": (RIDE_FROM["lat"] + RIDE_TO["lat"]) / 2, "lon": (RIDE_FROM["lon"] + RIDE_TO["lon"]) / 2}
    fixes = trace(RIDE_FROM, halfway, fixes=7)
    _picked_up_at(app, request["id"], fixes[0]["t"])  # the pickup the trace recorded
    trip = _log(driver, fixes, request["id"]).json()
    assert trip["status"] == "awaiting_signatures", trip
    fare_per_km = chain_client.region(operating_region).fare_per_km
    assert int(trip["fare"]) == quote_fare(trip["distance_metres"], fare_per_km)
    assert int(trip["fare"]) < int(request["quoted_fare"]) * 0.6


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
    assert cancel_booked(rider, request["id"]).status_code == 200
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


# ------------------------------------------------------------------ traces against bookings and time (issue 12)
def test_a_drivers_solo_drives_cannot_overlap_in_time(member, bootstrap_region):
    driver = member(bootstrap_region)
    first = _log(driver, trace(VILLEURBANNE_FROM, VILLEURBANNE_TO, ends_ago=300))
    assert first.status_code == 201 and first.json()["status"] == "awaiting_signatures", first.text
    overlapping = _log(driver, trace(VILLEURBANNE_TO, VILLEURBANNE_FROM, ends_ago=200))
    assert overlapping.status_code == 409 and "overlap" in overlapping.json()["detail"]
    later = trace(VILLEURBANNE_TO, VILLEURBANNE_FROM, ends_ago=300 - 20 * 11 - 60)
    later = [fix for fix in later if fix["t"] >= first.json()["end_time"]]
    assert _log(driver, later).status_code == 201


def test_a_shared_trip_cannot_overlap_the_drivers_solo_drive(booked_ride):
    driver, _rider, request = booked_ride()
    assert _log(driver, trace(VILLEURBANNE_FROM, VILLEURBANNE_TO, ends_ago=150)).status_code == 201
    overlapping = _log(driver, trace(RIDE_FROM, RIDE_TO, ends_ago=120), request["id"])
    assert overlapping.status_code == 409 and "overlap" in overlapping.json()["detail"]


def test_a_trace_must_pass_the_pickup_when_the_rider_got_in(booked_ride, app):
    driver, _rider, request = booked_ride()
    assert driver.post(f"/rides/requests/{request['id']}/pickup").status_code == 200
    fixes = trace(RIDE_FROM, RIDE_TO)
    _picked_up_at(app, request["id"], fixes[-1]["t"] + 600)  # the rider got in after the trace ended
    trip = _log(driver, fixes, request["id"]).json()
    assert trip["status"] == "void" and "pickup_outside_trace_time" in trip["check_reasons"], trip


def test_ids_beyond_64_bits_are_validation_errors(booked_ride):
    driver, _rider, _request = booked_ride()
    for path in (f"/trips/{2**64}/signatures", f"/trips/{2**64}/disputes"):
        assert driver.post(path, json={}).status_code == 422
    assert driver.post("/trips", json={"request_id": 2**64, "fixes": trace(RIDE_FROM, RIDE_TO)}).status_code == 422


def test_a_parked_car_with_gps_noise_earns_nothing(member, bootstrap_region):
    driver = member(bootstrap_region)
    end = int(time.time()) - 60
    noise = [(0.00004, -0.00003), (-0.00003, 0.00004), (0.00002, 0.00002), (-0.00004, -0.00001)]
    fixes = [{"t": end - 20 * (11 - i), "lat": VILLEURBANNE_FROM["lat"] + noise[i % 4][0],
              "lon": VILLEURBANNE_FROM["lon"] + noise[i % 4][1]} for i in range(12)]
    trip = _log(driver, fixes)
    assert trip.status_code == 201, trip.text
    assert trip.json()["distance_metres"] == 0 or trip.json()["status"] == "void", trip.json()
