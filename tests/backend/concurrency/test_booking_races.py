"""Bookings, trips and receipts under concurrency (issue 12): real clients on threads against a real uvicorn, on
SQLite and PostgreSQL. Each race has exactly one winner; the losers get a 409 (or the winner's answer, replayed
for the same `Idempotency-Key`), never a 5xx and never a second booking, trip or settlement."""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from race_helpers import race, race_each
from sqlmodel import Session, col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))

from api_helpers import (
    LYON_FROM,
    LYON_TO,
    RIDE_FROM,
    RIDE_TO,
    accept,
    authorisation,
    deposit,
    offer_body,
    request_body,
    trace,
)

from coopride.models import RideRequest, Trip
from coopride.settlement.worker import SettlementWorker

DATABASES = ("sqlite", "postgresql")
RACERS = 8
ESCROW = 20_000_000


@pytest.fixture(scope="module")
def switched_region(operating_region, chain_client) -> int:
    """The operating region once the wall clock is past its switch (traces are stamped with the wall clock)."""
    switched_at = chain_client.region(operating_region).phase_changed_at
    while time.time() < switched_at + 3:
        time.sleep(0.5)
    return operating_region


def _codes(answers) -> Counter:
    return Counter(answer.status_code for answer in answers)


def _explain(answers) -> list:
    return [(answer.status_code, answer.text[:200]) for answer in answers]


def _book(member, region_id: int, *, seats: int = 1):
    driver, rider = member(region_id), member(region_id)
    deposit(rider, ESCROW)
    offer = driver.post("/offers", json=offer_body(LYON_FROM, LYON_TO, seats=seats))
    assert offer.status_code == 201, offer.text
    request = rider.post("/rides/requests", json=request_body(RIDE_FROM, RIDE_TO))
    assert request.json()["status"] == "matched", request.text
    accepted = accept(rider, request.json()["id"])
    assert accepted.status_code == 200, accepted.text
    return driver, rider, accepted.json(), offer.json()


def _settle(app, chain_client):
    from brownie import chain

    lag = int(time.time()) + 1 - chain_client.next_block_timestamp()
    if lag > 0:
        chain.sleep(lag)
        chain.mine()
    return SettlementWorker(app.state.engine, chain_client, max_age_seconds=0, receipt_timeout=10).run_once(force=True)


def _sign(party, trip_id: int):
    typed = party.get(f"/trips/{trip_id}/receipt").json()["typed_data"]
    return {"signature": party.sign_typed(typed)}


def test_the_same_trip_posted_at_once_is_logged_once_and_settled_once(member, switched_region, live_url, app,
                                                                      chain_client):
    driver, rider, booking, _offer = _book(member, switched_region)
    body = {"request_id": booking["id"], "fixes": trace(RIDE_FROM, RIDE_TO, ends_ago=1)}

    answers = race(RACERS, lambda client: client.post("/trips", json=body, headers=driver.headers), live_url)

    codes = _codes(answers)
    assert codes[201] == 1 and codes[409] == RACERS - 1, _explain(answers)
    trip = next(answer.json() for answer in answers if answer.status_code == 201)
    assert trip["id"] == booking["trip_id"]
    with Session(app.state.engine) as session:
        assert session.exec(select(Trip.id).where(col(Trip.request_id) == booking["id"])).all() == [trip["id"]]
    assert driver.post(f"/trips/{trip['id']}/signatures", json=_sign(driver, trip["id"])).status_code == 200
    assert rider.post(f"/trips/{trip['id']}/signatures", json=_sign(rider, trip["id"])).status_code == 200
    report = _settle(app, chain_client)
    assert report.settled == [trip["id"]], report
    assert chain_client.is_settled(trip["id"])
    assert chain_client.escrow_of(rider.address) == ESCROW - int(trip["fare"])  # paid once
    assert _settle(app, chain_client).settled == []


def test_the_same_trip_posted_at_once_with_one_idempotency_key_answers_the_same_trip(member, switched_region,
                                                                                     live_url):
    driver, _rider, booking, _offer = _book(member, switched_region)
    body = {"request_id": booking["id"], "fixes": trace(RIDE_FROM, RIDE_TO, ends_ago=1)}
    headers = {**driver.headers, "Idempotency-Key": "trip-" + str(booking["id"])}

    answers = race(RACERS, lambda client: client.post("/trips", json=body, headers=headers), live_url)

    assert _codes(answers) == {201: RACERS}, _explain(answers)
    assert len({answer.text for answer in answers}) == 1


def test_the_same_signature_posted_at_once_is_accepted_once(member, switched_region, live_url, app, chain_client):
    driver, rider, booking, _offer = _book(member, switched_region)
    trip = driver.post("/trips", json={"request_id": booking["id"],
                                       "fixes": trace(RIDE_FROM, RIDE_TO, ends_ago=1)}).json()
    for party in (driver, rider):
        body = _sign(party, trip["id"])
        answers = race(RACERS, lambda client, party=party, body=body: client.post(
            f"/trips/{trip['id']}/signatures", json=body, headers=party.headers), live_url)
        codes = _codes(answers)
        assert codes[200] == 1 and codes[409] == RACERS - 1, _explain(answers)
    assert driver.get(f"/trips/{trip['id']}").json()["status"] == "queued"
    assert _settle(app, chain_client).settled == [trip["id"]]


def test_riders_racing_for_one_seat_book_it_once(member, switched_region, live_url, app):
    driver = member(switched_region)
    riders = [member(switched_region) for _ in range(RACERS)]
    offer = driver.post("/offers", json=offer_body(LYON_FROM, LYON_TO, seats=1)).json()
    body = request_body(RIDE_FROM, RIDE_TO)

    answers = race_each(RACERS, lambda client, index: client.post(
        "/rides/requests", json=body, headers=riders[index].headers), live_url)

    assert _codes(answers) == {201: RACERS}, _explain(answers)
    statuses = Counter(answer.json()["status"] for answer in answers)
    assert statuses == {"matched": 1, "open": RACERS - 1}, statuses
    with Session(app.state.engine) as session:
        holding = session.exec(select(RideRequest).where(col(RideRequest.offer_id) == offer["id"])).all()
    assert len(holding) == 1
    assert driver.get("/offers").json()[0]["seats_left"] == 0


def test_the_same_acceptance_sent_at_once_books_and_holds_once(member, switched_region, live_url, chain_client):
    driver, rider = member(switched_region), member(switched_region)
    deposit(rider, ESCROW)
    driver.post("/offers", json=offer_body(LYON_FROM, LYON_TO, seats=1))
    request = rider.post("/rides/requests", json=request_body(RIDE_FROM, RIDE_TO)).json()
    typed = authorisation(rider, request["id"])
    body = {"signature": rider.sign_typed(typed)}

    answers = race(RACERS, lambda client: client.post(
        f"/rides/requests/{request['id']}/accept", json=body, headers=rider.headers), live_url)

    codes = _codes(answers)
    assert codes[200] == 1 and codes[409] == RACERS - 1, _explain(answers)
    assert chain_client.escrow_of(rider.address) == ESCROW - typed["message"]["maxFare"]


def test_cancelling_while_another_rider_takes_the_seat_leaves_one_holder(member, switched_region, live_url, app):
    driver = member(switched_region)
    first, second = member(switched_region), member(switched_region)
    offer = driver.post("/offers", json=offer_body(LYON_FROM, LYON_TO, seats=1)).json()
    waiting = second.post("/rides/requests", json=request_body(RIDE_FROM, RIDE_TO))
    assert waiting.json()["status"] == "matched"
    third = member(switched_region)
    body = request_body(RIDE_FROM, RIDE_TO)

    def one(client, index):
        if index % 2:
            return client.post(f"/rides/requests/{waiting.json()['id']}/cancel", headers=second.headers)
        return client.post("/rides/requests", json=body, headers=(first if index else third).headers)

    answers = race_each(4, one, live_url)

    assert all(answer.status_code < 500 for answer in answers), _explain(answers)
    with Session(app.state.engine) as session:
        requests = session.exec(select(RideRequest).where(col(RideRequest.offer_id) == offer["id"])).all()
    holding = [r for r in requests if r.status in ("matched", "booked", "picked_up", "completed", "ended_early")]
    assert len(holding) <= 1, requests

