"""Places inside the genesis regions, GPS traces, and request bodies for the API tests."""

from __future__ import annotations

import time

# Inside "Lyon 3e" (region 1 of the default region map) and "Villeurbanne" (region 2).
LYON_FROM = {"lat": 45.7640, "lon": 4.8300}
LYON_TO = {"lat": 45.7550, "lon": 4.8550}
RIDE_FROM = {"lat": 45.7635, "lon": 4.8320}
RIDE_TO = {"lat": 45.7555, "lon": 4.8530}
VILLEURBANNE_FROM = {"lat": 45.7719, "lon": 4.8902}
VILLEURBANNE_TO = {"lat": 45.7800, "lon": 4.9000}
NOWHERE = {"lat": 48.8566, "lon": 2.3522}  # Paris: in no CoopRide region


def trace(start: dict, end: dict, *, fixes: int = 12, seconds_between: int = 20, ends_ago: int = 120) -> list[dict]:
    """A straight drive from `start` to `end` at city speed, ending `ends_ago` seconds ago."""
    end_time = int(time.time()) - ends_ago
    start_time = end_time - seconds_between * (fixes - 1)
    return [
        {
            "t": start_time + i * seconds_between,
            "lat": start["lat"] + (end["lat"] - start["lat"]) * i / (fixes - 1),
            "lon": start["lon"] + (end["lon"] - start["lon"]) * i / (fixes - 1),
        }
        for i in range(fixes)
    ]


def offer_body(origin=LYON_FROM, destination=LYON_TO, *, seats: int = 2, max_detour_m: int = 2_000) -> dict:
    now = int(time.time())
    return {"origin": origin, "destination": destination, "depart_earliest": now + 600, "depart_latest": now + 1800,
            "seats": seats, "max_detour_m": max_detour_m}


def request_body(origin=RIDE_FROM, destination=RIDE_TO) -> dict:
    now = int(time.time())
    return {"origin": origin, "destination": destination, "earliest": now + 300, "latest": now + 3600}


def deposit(wallet, amount: int) -> None:
    """Mints `amount` test fare tokens to the wallet and deposits them into its escrow with a relayed permit."""
    wallet.mint(amount)
    permit = wallet.get("/members/me/deposit/typed-data", params={"amount": str(amount)})
    assert permit.status_code == 200, permit.text
    typed = permit.json()["typed_data"]
    done = wallet.post("/members/me/deposits", json={"amount": str(amount), "deadline": typed["message"]["deadline"],
                                                     "signature": wallet.sign_typed(typed)})
    assert done.status_code in (200, 201), done.text


def authorisation(rider, request_id: int) -> dict:
    response = rider.get(f"/rides/requests/{request_id}/authorisation")
    assert response.status_code == 200, response.text
    return response.json()["typed_data"]


def accept(rider, request_id: int, signature: str | None = None):
    """Signs the match's FareAuthorisation and posts it; returns the response."""
    signature = signature or rider.sign_typed(authorisation(rider, request_id))
    return rider.post(f"/rides/requests/{request_id}/accept", json={"signature": signature})


def cancel_booked(rider, request_id: int):
    """Cancels a booked ride with the rider's signed HoldRelease; returns the response."""
    typed = rider.get(f"/rides/requests/{request_id}/cancel/typed-data")
    assert typed.status_code == 200, typed.text
    data = typed.json()["typed_data"]
    return rider.post(f"/rides/requests/{request_id}/cancel",
                      json={"deadline": data["message"]["deadline"], "signature": rider.sign_typed(data)})
