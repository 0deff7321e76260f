"""Regions and their phases: bootstrap rewards every verified km and charges nothing; critical mass switches a
region to operating for good; operating charges fares per km and rewards shared km only."""

import brownie
import pytest
from contract_helpers import REGION_LYON, REGION_VILLEURBANNE, SHARE, RejectReason, keyed_account, outcomes

VILLEURBANNE_CRITICAL_MASS = 8
LYON_FARE_PER_KM = 500_000


@pytest.fixture(scope="module")
def villeurbanne_newcomers(coop):
    """Eight funded accounts, not yet members, for region 2 (critical mass eight)."""
    newcomers = [keyed_account(f"villeurbanne-{i}") for i in range(VILLEURBANNE_CRITICAL_MASS)]
    for account in newcomers:
        coop.fund(account)
    return newcomers


def test_bootstrap_rewards_solo_kilometres_and_charges_nothing(coop, members, receipts):
    driver = members[0]
    tx = receipts.settle([receipts.trip(driver, distance=12_500, duration=1_200)])

    (settled,) = tx.events["TripSettled"]
    assert (settled["fare"], settled["fee"], settled["shares"]) == (0, 0, 12_500 * SHARE // 1000)
    assert coop.shares.balanceOf(driver) == 12_500 * SHARE // 1000
    assert coop.ledger.earningsOf(driver) == 0
    assert coop.ledger.treasuryBalance() == 0


def test_bootstrap_rewards_shared_kilometres_at_the_same_rate_and_the_rider_pays_nothing(coop, members, receipts):
    driver, rider = members[0], members[1]
    escrow_before = coop.ledger.escrowOf(rider)
    tx = receipts.settle([receipts.trip(driver, rider, distance=8_000, fare=0)])

    (settled,) = tx.events["TripSettled"]
    assert (settled["fare"], settled["fee"], settled["shares"]) == (0, 0, 8 * SHARE)
    assert coop.ledger.escrowOf(rider) == escrow_before
    assert coop.shares.balanceOf(rider) == 0
    assert coop.ledger.earningsOf(driver) == 0


def test_bootstrap_rejects_a_receipt_that_asks_for_a_fare(coop, members, receipts):
    driver, rider = members[0], members[1]
    escrow_before = coop.ledger.escrowOf(rider)
    trip = receipts.trip(driver, rider, distance=8_000, fare=4 * 10**6)
    tx = receipts.settle([trip])

    assert outcomes(tx) == {trip[0][0]: RejectReason.RegionNotOperating}
    assert coop.ledger.escrowOf(rider) == escrow_before
    assert coop.shares.totalSupply() == 0
    assert not coop.ledger.isSettled(trip[0][0])


def test_a_region_cannot_operate_before_its_members_reach_critical_mass(coop, villeurbanne_newcomers, outsider):
    ledger = coop.ledger
    with brownie.reverts(f"CriticalMassNotReached: {REGION_VILLEURBANNE}, 0, {VILLEURBANNE_CRITICAL_MASS}"):
        ledger.activateRegion(REGION_VILLEURBANNE, {"from": outsider})
    for joined, newcomer in enumerate(villeurbanne_newcomers[:-1], start=1):
        coop.join(newcomer, REGION_VILLEURBANNE)
        with brownie.reverts(f"CriticalMassNotReached: {REGION_VILLEURBANNE}, {joined}, {VILLEURBANNE_CRITICAL_MASS}"):
            ledger.activateRegion(REGION_VILLEURBANNE, {"from": outsider})
    assert ledger.region(REGION_VILLEURBANNE)[3] is False

    coop.join(villeurbanne_newcomers[-1], REGION_VILLEURBANNE)
    tx = ledger.activateRegion(REGION_VILLEURBANNE, {"from": outsider})  # anyone may switch it on

    assert tx.events["RegionActivated"][0]["members"] == VILLEURBANNE_CRITICAL_MASS
    assert tuple(ledger.region(REGION_VILLEURBANNE)) == (450_000, VILLEURBANNE_CRITICAL_MASS, VILLEURBANNE_CRITICAL_MASS, True, True)
    assert ledger.region(REGION_LYON)[3] is False  # regions switch one by one


def test_members_of_other_regions_do_not_count_towards_critical_mass(coop, members):
    with brownie.reverts(f"CriticalMassNotReached: {REGION_VILLEURBANNE}, 0, {VILLEURBANNE_CRITICAL_MASS}"):
        coop.ledger.activateRegion(REGION_VILLEURBANNE, {"from": members[0]})


def test_an_operating_region_stays_operating_even_when_members_leave(coop, members, governance):
    coop.activate(REGION_LYON)
    with brownie.reverts(f"RegionAlreadyOperating: {REGION_LYON}"):
        coop.ledger.activateRegion(REGION_LYON, {"from": members[0]})

    governance.pass_(
        [(coop.membership, "remove", (members[4],)), (coop.membership, "remove", (members[5],))],
        voters=members[:4],
    )
    lyon = coop.ledger.region(REGION_LYON)
    assert lyon[2] == len(members) - 2 < lyon[1]  # below critical mass now
    assert lyon[3] is True


@pytest.mark.parametrize("distance", [1_000, 7_333, 42_195])
def test_operating_region_charges_the_fare_per_km_and_sends_the_fee_to_the_treasury(coop, members, receipts, distance):
    coop.activate(REGION_LYON)
    driver, rider = members[0], members[1]
    ledger = coop.ledger
    escrow_before, held_before = ledger.escrowOf(rider), coop.fare_token.balanceOf(ledger)
    fare = distance * LYON_FARE_PER_KM // 1000
    fee = fare * 1500 // 10_000
    tx = receipts.settle([receipts.trip(driver, rider, distance=distance, duration=3_600)])

    (settled,) = tx.events["TripSettled"]
    assert (settled["fare"], settled["fee"], settled["shares"]) == (fare, fee, distance * (SHARE // 2) // 1000)
    assert escrow_before - ledger.escrowOf(rider) == fare
    assert ledger.treasuryBalance() == fee
    assert ledger.earningsOf(driver) == fare - fee
    assert coop.shares.balanceOf(driver) == settled["shares"]
    assert coop.fare_token.balanceOf(ledger) == held_before  # money moves between balances, never out


def test_operating_region_rewards_solo_kilometres_with_nothing(coop, members, receipts):
    coop.activate(REGION_LYON)
    driver = members[0]
    trip = receipts.trip(driver, distance=20_000, duration=1_800)
    tx = receipts.settle([trip])

    (settled,) = tx.events["TripSettled"]
    assert (settled["fare"], settled["fee"], settled["shares"]) == (0, 0, 0)
    assert coop.ledger.isSettled(trip[0][0])
    assert coop.shares.balanceOf(driver) == 0
    assert coop.ledger.earningsOf(driver) == 0


def test_a_receipt_signed_without_fare_in_bootstrap_is_rejected_after_the_switch(coop, members, receipts):
    driver, rider = members[0], members[1]
    signed_in_bootstrap = receipts.trip(driver, rider, distance=5_000, fare=0)
    coop.activate(REGION_LYON)
    tx = receipts.settle([signed_in_bootstrap])

    assert outcomes(tx) == {signed_in_bootstrap[0][0]: RejectReason.FareExceedsSigned}
    assert coop.ledger.escrowOf(rider) == 100 * 10**6
    assert coop.shares.balanceOf(driver) == 0
