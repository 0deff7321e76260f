"""`coopride disputes`, `coopride decide` and `coopride release-stale` against this test's chain and database: a
mediator decides a disputed trip with their own key, and a booking never driven gets its hold released once no
receipt can use it (expiry + maxReceiptAge), by anyone, without the worker."""

from __future__ import annotations

import pytest
from api_helpers import RIDE_FROM, RIDE_TO, trace
from sqlmodel import Session, select
from typer.testing import CliRunner

from coopride.chain.types import HoldState
from coopride.cli import app as cli
from coopride.models import RelayedTransaction, RideRequest
from coopride.models.enums import RelayKind

DATABASES = ("sqlite",)
# A short receipt age, so that a stale hold is an hour and a half away on the chain's clock, not a week.
DEPLOY_PARAMS = {"maxReceiptAge": 3_600, "maxTripSeconds": 3_600}
RIDER_ESCROW = 20_000_000


@pytest.fixture
def operator(settings, deployment):
    """Runs `coopride ...` against this test's chain and database."""
    env = {"COOPRIDE_RPC_URL": deployment.rpc_url, "DATABASE_URL": settings.database_url,
           "COOPRIDE_MANIFEST": str(deployment.manifest_path), "COOPRIDE_SETTLER_KEY": deployment.settler_key,
           "COOPRIDE_MEDIATOR_KEY": "", "COLUMNS": "250"}

    def run(*args: str, **extra_env: str):
        return CliRunner().invoke(cli, list(args), env={**env, **extra_env})

    return run


@pytest.fixture
def mediator(member, operating_region, manifest):
    """A member of the operating region holding MEDIATOR_ROLE (granted by the Timelock, the ledger's admin)."""
    from brownie import Contract, accounts

    person = member(operating_region)
    ledger = Contract.from_abi("RideLedger", manifest.address("RideLedger"), manifest.contract("RideLedger").abi)
    timelock = accounts.at(manifest.address("TimelockController"), force=True)
    ledger.grantRole(ledger.MEDIATOR_ROLE(), person.address, {"from": timelock})
    return person


def _dispute(party, trip_id, reason):
    data = party.get(f"/trips/{trip_id}/dispute/typed-data", params={"reason": reason}).json()["typed_data"]
    response = party.post(f"/trips/{trip_id}/disputes", json={"reason": reason, "deadline": data["message"]["deadline"],
                                                              "signature": party.sign_typed(data)})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_mediator_decides_an_open_dispute_from_the_command_line(operator, booked_ride, mediator, member,
                                                                   operating_region, chain_client):
    driver, rider, request = booked_ride(escrow=RIDER_ESCROW)
    assert "no open disputes" in operator("disputes").output
    trip = driver.post("/trips", json={"request_id": request["id"], "fixes": trace(RIDE_FROM, RIDE_TO, ends_ago=1)})
    trip = trip.json()
    assert driver.post(f"/trips/{trip['id']}/signatures",
                       json={"signature": driver.sign_typed(driver.get(f"/trips/{trip['id']}/receipt").json()
                                                            ["typed_data"])}).status_code == 200
    _dispute(rider, trip["id"], "dropped two streets away")

    listed = operator("disputes")
    assert listed.exit_code == 0, listed.output
    assert f"trip {trip['id']}" in listed.output and "dropped two streets away" in listed.output
    assert driver.address in listed.output and rider.address in listed.output and "disputed by the rider" in listed.output
    max_fare = int(request["max_fare"])
    assert f"maxFare {max_fare / 10**6:,.2f} tEUR" in listed.output and "since 20" in listed.output

    award = int(trip["fare"]) // 2
    args = ("decide", str(trip["id"]), "--award", str(award), "--reason", "half the ride was a detour")
    no_key = operator(*args)
    assert no_key.exit_code == 1 and "no mediator key" in no_key.output
    stranger = operator(*args, "--mediator-key", member(operating_region).account.key.hex())
    assert stranger.exit_code == 1 and "MEDIATOR_ROLE" in stranger.output
    too_much = operator("decide", str(trip["id"]), "--award", str(max_fare + 1), "--reason", "x",
                        COOPRIDE_MEDIATOR_KEY=mediator.account.key.hex())
    assert too_much.exit_code == 1 and "above the fare the rider authorised" in too_much.output

    earnings = chain_client.earnings_of(driver.address)
    decided = operator(*args, COOPRIDE_MEDIATOR_KEY=mediator.account.key.hex())
    assert decided.exit_code == 0, decided.output
    assert "decided" in decided.output and "resolved_paid" in decided.output
    assert chain_client.hold_of(trip["id"], driver.address, rider.address).state == HoldState.RESOLVED_PAID
    fee = award * chain_client.parameters().fee_bps // 10_000
    assert chain_client.earnings_of(driver.address) == earnings + award - fee
    assert chain_client.escrow_of(rider.address) == RIDER_ESCROW - award
    shown = rider.get(f"/trips/{trip['id']}").json()["dispute"]
    assert (shown["status"], shown["award"], shown["mediator"]) == ("resolved_paid", str(award), mediator.address)
    assert shown["resolution_reason"] == "half the ride was a detour"
    assert "no open disputes" in operator("disputes").output
    again = operator(*args, COOPRIDE_MEDIATOR_KEY=mediator.account.key.hex())
    assert again.exit_code == 1 and "no open dispute" in again.output


def test_release_stale_frees_a_booking_never_driven_once_no_receipt_can_use_it(operator, booked_ride, chain_client,
                                                                               app):
    from brownie import chain

    driver, rider, request = booked_ride(escrow=RIDER_ESCROW)
    assert chain_client.escrow_of(rider.address) == RIDER_ESCROW - int(request["max_fare"])
    nothing = operator("release-stale")
    assert nothing.exit_code == 0 and "0 stale holds released" in nothing.output

    with Session(app.state.engine) as session:
        booking = session.get(RideRequest, request["id"])
        assert booking is not None and booking.authorisation_expiry is not None
        releasable_after = booking.authorisation_expiry + chain_client.max_receipt_age()
    chain.sleep(releasable_after - chain_client.next_block_timestamp() - 30)
    chain.mine()
    assert "0 stale holds" in operator("release-stale", "--dry-run").output  # not yet: a receipt may still come
    chain.sleep(60)
    chain.mine()

    listed = operator("release-stale", "--dry-run")
    assert listed.exit_code == 0 and f"trip {request['trip_id']}" in listed.output and "1 stale holds" in listed.output
    released = operator("release-stale")
    assert released.exit_code == 0, released.output
    assert "1 stale holds released" in released.output and rider.address in released.output
    assert chain_client.escrow_of(rider.address) == RIDER_ESCROW
    hold = chain_client.hold_of(request["trip_id"], driver.address, rider.address)
    assert hold.state == HoldState.NONE and hold.released
    with Session(app.state.engine) as session:
        booking = session.get(RideRequest, request["id"])
        assert booking is not None and booking.release_tx_hash
        kinds = session.exec(select(RelayedTransaction.kind).where(RelayedTransaction.member == rider.address)).all()
        assert RelayKind.RELEASE_HOLD in kinds
    assert "0 stale holds released" in operator("release-stale").output  # once only
