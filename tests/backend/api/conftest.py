"""API tests: every test starts from the chain state its module's fixtures left; a booked-ride helper."""

from __future__ import annotations

import time

import pytest
from api_helpers import LYON_FROM, LYON_TO, RIDE_FROM, RIDE_TO, accept, deposit, offer_body, request_body

RIDER_ESCROW = 20_000_000  # 20 tEUR: more than any test ride's fare


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the chain state the module's fixtures left."""


@pytest.fixture(scope="module")
def switched_region(operating_region, chain_client) -> int:
    """The operating region, once the wall clock is past its switch to Operating: traces are stamped with the wall
    clock, and a trip that ended before the switch settles under the bootstrap phase (no fare)."""
    switched_at = chain_client.region(operating_region).phase_changed_at
    while time.time() < switched_at + 3:
        time.sleep(0.5)
    return operating_region


@pytest.fixture
def booked_ride(member, switched_region):
    operating_region = switched_region
    """A driver's offer and a rider's request in the operating region, matched and accepted: the rider deposited
    escrow and signed the fare authorisation, which the backend relayed (the fare is held)."""

    def book(region_id: int = operating_region, origin=LYON_FROM, destination=LYON_TO, ride_from=RIDE_FROM,
             ride_to=RIDE_TO, escrow: int = RIDER_ESCROW):
        driver, rider = member(region_id), member(region_id)
        if escrow:
            deposit(rider, escrow)
        offer = driver.post("/offers", json=offer_body(origin, destination))
        assert offer.status_code == 201, offer.text
        request = rider.post("/rides/requests", json=request_body(ride_from, ride_to))
        assert request.status_code == 201, request.text
        assert request.json()["status"] == "matched", request.json()
        accepted = accept(rider, request.json()["id"])
        assert accepted.status_code == 200, accepted.text
        return driver, rider, accepted.json()

    return book
