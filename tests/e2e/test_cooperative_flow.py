"""A cooperative's first days, end to end, through the HTTP API on anvil with the contracts that
scripts/deploy.py deploys: members are admitted without holding ether, drivers earn bootstrap shares for
attested solo kilometres, the region reaches critical mass (active drivers), a rider deposits with a permit,
driver and rider are matched, the rider accepts with a signed fare authorisation (the fare is held), the ride
is logged, signed by the driver and confirmed by the rider, the embedded worker settles it, every statement
equals what the chain says, and a fee change is voted with relayed ballots and carried out by the Timelock."""

from __future__ import annotations

import time

from sqlmodel import Session

from coopride.models import RideRequest
from e2e_helpers import LYON_FROM, LYON_TO, RIDE_FROM, RIDE_TO, trace, wait_for_trip

DEPOSIT = 5_000_000  # 5 tEUR


def _sign_receipt(party, trip_id: int) -> dict:
    typed = party.get(f"/trips/{trip_id}/receipt")
    assert typed.status_code == 200, typed.text
    signed = party.post(f"/trips/{trip_id}/signatures", json={"signature": party.sign_typed(typed.json()["typed_data"])})
    assert signed.status_code == 200, signed.text
    return signed.json()


def _settled_event(chain_client, trip_id: int) -> dict:
    [event] = chain_client.ledger.events.TripSettled.get_logs(from_block=0, argument_filters={"tripId": trip_id})
    return {"tx_hash": event["transactionHash"].to_0x_hex(), "fare": event["args"]["fare"], "fee": event["args"]["fee"],
            "shares": event["args"]["shares"]}


def test_a_cooperative_from_first_members_to_a_voted_fee_change(member, chain_client, mint_fare_tokens, manifest, chain,
                                                                app):
    region = manifest.regions[0]
    assert not chain_client.region(region.id).operating

    # Members are admitted through the API; none of them ever holds ether.
    driver, rider = member(region.id), member(region.id)
    others = [member(region.id) for _ in range(region.critical_mass - 1)]
    everyone = [driver, rider, *others]
    assert all(chain_client.is_member(m.address) for m in everyone)
    assert all(chain_client.w3.eth.get_balance(m.address) == 0 for m in everyone)

    # Bootstrap: attested solo kilometres earn shares, no fare; each driver becomes active.
    solo_ids = {}
    for someone in (driver, *others[: region.critical_mass - 1]):
        solo = someone.post("/trips", json={"fixes": trace(LYON_FROM, LYON_TO, ends_ago=1_800)})
        assert solo.status_code == 201, solo.text
        assert _sign_receipt(someone, solo.json()["id"])["status"] == "queued"
        solo_ids[someone.address] = solo.json()["id"]
    solo_trip = wait_for_trip(driver, solo_ids[driver.address], "settled")
    assert solo_trip["status"] == "settled", solo_trip
    assert (solo_trip["fare_paid"], solo_trip["fee_paid"]) == ("0", "0") and int(solo_trip["shares_minted"]) > 0
    for someone in others[: region.critical_mass - 1]:
        assert wait_for_trip(someone, solo_ids[someone.address], "settled")["status"] == "settled"

    # Critical mass reached (active drivers): anyone may switch the region to Operating.
    assert len(chain_client.active_drivers(region.id)) >= region.critical_mass
    chain_client.activate_region(region.id)
    assert chain_client.region(region.id).operating
    switched_at = chain_client.region(region.id).phase_changed_at

    # The rider funds escrow with a signed ERC-2612 permit, relayed.
    mint_fare_tokens(rider.address, DEPOSIT)
    permit = rider.get("/members/me/deposit/typed-data", params={"amount": DEPOSIT}).json()["typed_data"]
    deposited = rider.post("/members/me/deposits", json={"amount": str(DEPOSIT),
                                                         "deadline": permit["message"]["deadline"],
                                                         "signature": rider.sign_typed(permit)})
    assert deposited.status_code == 201, deposited.text
    assert chain_client.escrow_of(rider.address) == DEPOSIT

    # The driver offers seats, the rider asks for a ride on the way; they are matched and the rider books.
    now = int(time.time())
    offer = driver.post("/offers", json={"origin": LYON_FROM, "destination": LYON_TO, "depart_earliest": now + 600,
                                         "depart_latest": now + 1_800, "seats": 2, "max_detour_m": 2_000})
    assert offer.status_code == 201, offer.text
    request = rider.post("/rides/requests", json={"origin": RIDE_FROM, "destination": RIDE_TO,
                                                  "earliest": now + 300, "latest": now + 3_600})
    assert request.status_code == 201, request.text
    assert (request.json()["status"], request.json()["offer_id"]) == ("matched", offer.json()["id"])
    authorisation = rider.get(f"/rides/requests/{request.json()['id']}/authorisation")
    assert authorisation.status_code == 200, authorisation.text
    booked = rider.post(f"/rides/requests/{request.json()['id']}/accept",
                        json={"signature": rider.sign_typed(authorisation.json()["typed_data"])})
    assert booked.status_code == 200 and booked.json()["status"] == "booked", booked.text
    max_fare = int(booked.json()["max_fare"])  # every amount is a decimal string of base units
    assert chain_client.escrow_of(rider.address) == DEPOSIT - max_fare  # held for the booking
    picked_up = driver.post(f"/rides/requests/{request.json()['id']}/pickup")
    assert picked_up.status_code == 200, picked_up.text

    # The driver logs the trace (the ride ends after the switch) and signs the receipt; the rider confirms it;
    # the embedded worker settles it.
    while time.time() < switched_at + 2:
        time.sleep(0.2)
    fixes = trace(RIDE_FROM, RIDE_TO, ends_ago=1)
    # The drive took 220 s of trace; the test does not wait them out, so the pickup tap moves to the trace's start.
    with Session(app.state.engine) as session:
        booking = session.get(RideRequest, request.json()["id"])
        booking.picked_up_at = fixes[0]["t"]
        session.add(booking)
        session.commit()
    logged = driver.post("/trips", json={"request_id": request.json()["id"], "fixes": fixes})
    assert logged.status_code == 201, logged.text
    ride = logged.json()
    assert ride["status"] == "awaiting_signatures" and 0 < int(ride["fare"]) <= max_fare
    assert _sign_receipt(driver, ride["id"])["status"] == "queued"
    assert _sign_receipt(rider, ride["id"])["rider_signed"]
    ride = wait_for_trip(rider, ride["id"], "settled")
    assert ride["status"] == "settled", ride

    # Every figure in the statements is what the chain says.
    for trip in (solo_trip, ride):
        assert _settled_event(chain_client, trip["id"]) == {
            "tx_hash": trip["tx_hash"], "fare": int(trip["fare_paid"]), "fee": int(trip["fee_paid"]),
            "shares": int(trip["shares_minted"])}
    fee_bps = chain_client.parameters().fee_bps
    assert ride["fare_paid"] == ride["fare"] and int(ride["fee_paid"]) == int(ride["fare"]) * fee_bps // 10_000

    driving = driver.get(f"/members/{driver.address}/statement").json()
    assert sorted(driving["settled_trip_ids"]) == sorted([solo_trip["id"], ride["id"]])
    earnings = str(chain_client.earnings_of(driver.address))
    assert driving["driving"]["fares_received"] == earnings == driving["chain"]["earnings"]
    assert driving["driving"]["shares_earned"] == str(chain_client.shares_of(driver.address)) == driving["chain"]["shares"]
    assert int(driving["driving"]["shares_earned"]) == int(solo_trip["shares_minted"]) + int(ride["shares_minted"])

    riding = rider.get(f"/members/{rider.address}/statement").json()
    assert riding["riding"]["fares_paid"] == ride["fare_paid"] == str(DEPOSIT - chain_client.escrow_of(rider.address))
    assert riding["chain"]["escrow"] == str(chain_client.escrow_of(rider.address))

    stats = driver.get(f"/regions/{region.id}").json()
    assert stats["phase"] == "operating" and stats["trips_settled"] == region.critical_mass + 1
    treasury = str(chain_client.treasury_balance())
    assert stats["fees_to_treasury"] == ride["fee_paid"] == treasury == stats["treasury_balance"]

    # Governance: a member proposes a lower fee; members vote with relayed ballots; the Timelock applies it.
    fee_change = {"kind": "fee", "fee_bps": 1_200, "description": "Lower the cooperative fee to 12 %"}
    draft = rider.post("/governance/proposals/typed-data", json=fee_change).json()
    proposed = rider.post("/governance/proposals", json={"change": fee_change, "deadline": draft["deadline"],
                                                         "signature": rider.sign_typed(draft["typed_data"])})
    assert proposed.status_code == 201, proposed.text
    proposal_id = proposed.json()["proposal_id"]
    assert proposed.json()["proposer"] == rider.address == chain_client.proposal(int(proposal_id)).proposer
    chain.sleep(2)
    chain.mine()
    for voter, support in ((driver, 1), (rider, 1), (others[1], 1), (others[0], 0)):
        ballot = voter.get(f"/governance/proposals/{proposal_id}/ballot", params={"support": support}).json()
        cast = voter.post("/governance/ballots", json={"proposal_id": proposal_id, "support": support,
                                                       "signature": voter.sign_typed(ballot["typed_data"])})
        assert cast.status_code == 201, cast.text
    counted = driver.get(f"/governance/proposals/{proposal_id}").json()
    assert (counted["votes_for"], counted["votes_against"], counted["votes_abstain"]) == (3, 1, 0)
    on_chain = chain_client.proposal(int(proposal_id))
    assert (on_chain.votes_for, on_chain.votes_against) == (3, 1)  # past the quorum floor of 3
    assert all(chain_client.w3.eth.get_balance(m.address) == 0 for m in everyone)
    assert [v["support"] for v in riding_votes(rider)] == [1]

    chain.sleep(manifest.parameters["votingPeriod"] + 1)
    chain.mine()
    assert driver.get(f"/governance/proposals/{proposal_id}").json()["state"] == "Succeeded"
    assert driver.post(f"/governance/proposals/{proposal_id}/queue").status_code == 201
    chain.sleep(manifest.parameters["timelockDelay"] + 1)
    chain.mine()
    assert others[0].post(f"/governance/proposals/{proposal_id}/execute").status_code == 201
    assert chain_client.parameters().fee_bps == 1_200
    assert driver.get(f"/governance/proposals/{proposal_id}").json()["state"] == "Executed"


def riding_votes(party) -> list[dict]:
    return party.get(f"/members/{party.address}/statement").json()["votes"]
