"""Regions and their phases: bootstrap rewards every verified km and charges nothing; a region switches to
operating on activity (active drivers, not sign-ups) or by governance, either way; a receipt settles under the phase
of the moment its trip ended; operating charges the booked fare and rewards shared km only."""

import brownie
import pytest
from brownie import chain
from contract_helpers import (
    DAY,
    DISPUTE_WINDOW,
    REGION_LYON,
    REGION_VILLEURBANNE,
    SHARE,
    TOKEN,
    RejectReason,
    _enrol,
    outcomes,
)

LYON_CRITICAL_MASS = 5
LYON_FARE_PER_KM = 500_000
ZERO = "0x0000000000000000000000000000000000000000"


def _ascending(accounts) -> list:
    return sorted(accounts, key=lambda account: int(account.address, 16))


def _drive_solo(receipts, drivers, region_id=REGION_LYON, end_time=None):
    tx = receipts.settle([receipts.trip(d, region_id=region_id, distance=2_000, end_time=end_time) for d in drivers])
    assert tx.events["BatchSettled"]["settled"] == len(drivers)


def test_bootstrap_rewards_solo_kilometres_and_charges_nothing(coop, members, receipts):
    driver = members[0]
    tx = receipts.settle([receipts.trip(driver, distance=12_500, duration=1_200)])

    (settled,) = tx.events["TripSettled"]
    assert (settled["fare"], settled["fee"], settled["shares"]) == (0, 0, 12_500 * SHARE // 1000)
    assert coop.ledger.earningsOf(driver) == 0
    assert coop.ledger.treasuryBalance() == 0


def test_bootstrap_rewards_shared_kilometres_at_the_same_rate_and_the_rider_pays_nothing(coop, members, receipts):
    driver, rider = members[0], members[1]
    escrow_before = coop.ledger.escrowOf(rider)
    tx = receipts.settle([receipts.trip(driver, rider, distance=8_000, fare=0, max_fare=TOKEN)])

    (settled,) = tx.events["TripSettled"]
    assert (settled["fare"], settled["fee"], settled["shares"]) == (0, 0, 8 * SHARE)
    assert coop.ledger.escrowOf(rider) == escrow_before
    assert coop.shares.balanceOf(rider) == 0


def test_bootstrap_rejects_a_receipt_that_asks_for_a_fare(coop, members, receipts):
    trip = receipts.trip(members[0], members[1], distance=8_000, fare=4 * TOKEN)
    tx = receipts.settle([trip])
    assert outcomes(tx) == {trip[0][0]: RejectReason.RegionNotOperating}
    assert coop.shares.totalSupply() == 0


# ------------------------------------------------------------------ critical mass on activity

def test_sign_ups_alone_do_not_switch_a_region(coop, members, outsider):
    assert coop.ledger.region(REGION_LYON)[2] == len(members) >= LYON_CRITICAL_MASS  # enough members ...
    with brownie.reverts(f"NotActiveDriver: {_ascending(members)[0].address.lower()}"):
        coop.ledger.activateRegion(REGION_LYON, [m.address for m in _ascending(members)], {"from": outsider})
    with brownie.reverts(f"CriticalMassNotReached: {REGION_LYON}, 0, {LYON_CRITICAL_MASS}"):
        coop.ledger.activateRegion(REGION_LYON, [], {"from": outsider})  # ... but none has driven


def test_a_region_switches_once_enough_drivers_drove_in_it(coop, members, receipts, outsider):
    drivers = _ascending(members[:LYON_CRITICAL_MASS])
    _drive_solo(receipts, drivers[:-1])
    assert not coop.ledger.isActiveDriver(drivers[-1], REGION_LYON)
    with brownie.reverts(f"NotActiveDriver: {drivers[-1].address.lower()}"):
        coop.ledger.activateRegion(REGION_LYON, [d.address for d in drivers], {"from": outsider})
    with brownie.reverts(f"CriticalMassNotReached: {REGION_LYON}, 4, {LYON_CRITICAL_MASS}"):
        coop.ledger.activateRegion(REGION_LYON, [d.address for d in drivers[:-1]], {"from": outsider})

    _drive_solo(receipts, drivers[-1:])
    tx = coop.ledger.activateRegion(REGION_LYON, [d.address for d in drivers], {"from": outsider})  # anyone
    changed = tx.events["RegionPhaseChanged"]
    assert (changed["regionId"], changed["operating"], changed["activeDrivers"]) == (REGION_LYON, True, 5)
    region = coop.ledger.region(REGION_LYON)
    assert region[3] is True and region[5] == tx.timestamp
    assert coop.ledger.region(REGION_VILLEURBANNE)[3] is False  # regions switch one by one


@pytest.mark.parametrize("case", ["duplicate", "descending", "zero-address"])
def test_each_active_driver_counts_once(coop, members, receipts, case):
    drivers = _ascending(members[:LYON_CRITICAL_MASS])
    _drive_solo(receipts, drivers)
    listed = [d.address for d in drivers]
    if case == "duplicate":
        listed[1] = listed[0]
        offender = listed[0]
    elif case == "descending":
        listed[0], listed[1] = listed[1], listed[0]
        offender = listed[1]
    else:
        listed = [ZERO] + listed[:-1]
        offender = ZERO
    with brownie.reverts(f"NotActiveDriver: {offender.lower()}"):
        coop.ledger.activateRegion(REGION_LYON, listed, {"from": members[0]})


def test_activity_counts_for_thirty_days_and_only_in_the_region_driven_last(coop, members, receipts):
    driver = members[0]
    _drive_solo(receipts, [driver])
    assert coop.ledger.isActiveDriver(driver, REGION_LYON)
    _drive_solo(receipts, [driver], region_id=REGION_VILLEURBANNE)
    assert not coop.ledger.isActiveDriver(driver, REGION_LYON)
    assert coop.ledger.isActiveDriver(driver, REGION_VILLEURBANNE)
    chain.sleep(30 * DAY + 1)
    chain.mine()
    assert not coop.ledger.isActiveDriver(driver, REGION_VILLEURBANNE)


def test_an_activity_that_ended_more_than_thirty_days_ago_does_not_count(coop, members, receipts):
    """Activity dates from the trip's end, not from its settlement."""
    drivers = _ascending(members[:LYON_CRITICAL_MASS])
    _drive_solo(receipts, drivers)
    chain.sleep(30 * DAY - 60)
    chain.mine()
    coop.ledger.activateRegion.call(REGION_LYON, [d.address for d in drivers])
    chain.sleep(120)
    chain.mine()
    with brownie.reverts(revert_pattern="NotActiveDriver: .*"):
        coop.ledger.activateRegion(REGION_LYON, [d.address for d in drivers], {"from": members[0]})


def test_a_removed_member_no_longer_counts(coop, members, receipts):
    drivers = _ascending(members[:LYON_CRITICAL_MASS])
    _drive_solo(receipts, drivers)
    coop.membership.remove(drivers[2], {"from": coop.timelock})
    assert not coop.ledger.isActiveDriver(drivers[2], REGION_LYON)
    with brownie.reverts(f"NotActiveDriver: {drivers[2].address.lower()}"):
        coop.ledger.activateRegion(REGION_LYON, [d.address for d in drivers], {"from": members[0]})


def test_governance_switches_a_region_either_way(coop, members):
    tx = coop.ledger.setRegionPhase(REGION_VILLEURBANNE, True, {"from": coop.timelock})
    assert (tx.events["RegionPhaseChanged"]["operating"], tx.events["RegionPhaseChanged"]["activeDrivers"]) == (True, 0)
    with brownie.reverts(f"RegionPhaseUnchanged: {REGION_VILLEURBANNE}, True"):
        coop.ledger.setRegionPhase(REGION_VILLEURBANNE, True, {"from": coop.timelock})
    tx = coop.ledger.setRegionPhase(REGION_VILLEURBANNE, False, {"from": coop.timelock})
    assert coop.ledger.region(REGION_VILLEURBANNE)[3] is False
    assert coop.ledger.region(REGION_VILLEURBANNE)[5] == tx.timestamp


# ------------------------------------------------------------------ the phase at the trip's end

def test_a_trip_that_ended_before_the_switch_settles_under_the_phase_it_was_signed_in(coop, members, receipts):
    driver, rider = members[0], members[1]
    solo_in_bootstrap = receipts.trip(driver, distance=5_000)
    coop.activate(REGION_LYON)
    solo_after = receipts.trip(driver, distance=5_000)
    tx = receipts.settle([solo_in_bootstrap, solo_after])
    assert outcomes(tx) == {solo_in_bootstrap[0][0]: "settled", solo_after[0][0]: RejectReason.SoloInOperatingRegion}
    assert tx.events["TripSettled"]["shares"] == 5 * SHARE  # bootstrap's rate, every km

    # And back: a fare booked and driven while operating is still paid after governance returns to bootstrap.
    paid_trip = receipts.trip(driver, rider, distance=4_000, confirm=False)
    coop.ledger.setRegionPhase(REGION_LYON, False, {"from": coop.timelock})
    chain.sleep(DISPUTE_WINDOW + 1)
    chain.mine()
    tx = receipts.settle([paid_trip])
    assert outcomes(tx) == {paid_trip[0][0]: "settled"}
    assert tx.events["TripSettled"]["fare"] == 4 * LYON_FARE_PER_KM
    assert tx.events["TripSettled"]["shares"] == 2 * SHARE  # operating's rate, shared km


# ------------------------------------------------------------------ operating

@pytest.mark.parametrize("distance", [1_000, 7_333, 42_195])
def test_operating_region_charges_the_booked_fare_and_sends_the_fee_to_the_treasury(coop, members, receipts, distance):
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
    assert coop.fare_token.balanceOf(ledger) == held_before  # money moves between balances, never out


def test_new_members_join_an_operating_region_and_ride(coop, members, receipts):
    coop.activate(REGION_LYON)
    (newcomer,) = _enrol(coop, ["late-joiner"])
    tx = receipts.settle([receipts.trip(members[0], newcomer, distance=2_000)])
    assert tx.events["TripSettled"]["fare"] == 2 * LYON_FARE_PER_KM
