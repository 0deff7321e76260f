"""Regression tests for the attacks of issue 11, one per attack. Each one succeeded against the v1 ledger (escrow not
tied to a booking, the rider's co-signature required, no attester, a plausibility check without a duration bound, a
daily cap per settlement day, receipts that never expired, the permit path falling back on any allowance, deposits
credited with the amount asked) and fails against v2."""

import brownie
import pytest
from brownie import FeeOnTransferToken, accounts, chain
from contract_helpers import (
    DAY,
    DISPUTE_WINDOW,
    MEMBER_ESCROW,
    REGION_LYON,
    SHARE,
    TOKEN,
    RejectReason,
    _enrol,
    outcomes,
)

FEE_BPS = 1500


def _after(seconds: int):
    chain.sleep(seconds)
    chain.mine()


def test_rider_who_withdraws_everything_after_booking_still_pays_the_driver(operating, receipts, members):
    coop, driver, rider = operating, members[0], members[1]
    signed = receipts.trip(driver, rider, distance=10_000, confirm=False)  # books 5 tEUR
    fare = 5 * TOKEN
    with brownie.reverts(f"InsufficientBalance: {rider.address.lower()}, {MEMBER_ESCROW - fare}, {MEMBER_ESCROW}"):
        coop.ledger.withdrawEscrow(MEMBER_ESCROW, {"from": rider})
    coop.ledger.withdrawEscrow(MEMBER_ESCROW - fare, {"from": rider})  # everything that is free
    assert coop.ledger.escrowOf(rider) == 0
    _after(DISPUTE_WINDOW + 1)

    tx = receipts.settle([signed])
    assert outcomes(tx) == {signed[0][0]: "settled"}
    assert coop.ledger.earningsOf(driver) == fare - fare * FEE_BPS // 10_000


def test_driver_is_paid_after_the_dispute_window_when_the_rider_never_confirms(operating, receipts, members):
    coop, driver, rider = operating, members[0], members[1]
    signed = receipts.trip(driver, rider, distance=6_000, confirm=False)
    assert signed[3:] == (b"\0" * 32, b"\0" * 32)  # no rider signature, ever
    assert outcomes(receipts.settle([signed])) == {signed[0][0]: RejectReason.DisputeWindowOpen}
    _after(DISPUTE_WINDOW + 1)
    tx = receipts.settle([signed])
    assert tx.events["TripSettled"]["fare"] == 3 * TOKEN
    assert coop.ledger.earningsOf(driver) == 3 * TOKEN - 3 * TOKEN * FEE_BPS // 10_000


def test_solo_receipt_without_the_attesters_signature_mints_nothing(coop, receipts, members):
    driver = members[0]
    signed = receipts.trip(driver, distance=40_000, duration=3_600)  # signed by the driver alone
    with brownie.reverts(f"BadAttestation: {driver.address.lower()}"):
        receipts.settle([signed], attester=driver)
    with brownie.reverts("BadAttestation: 0x0000000000000000000000000000000000000000"):
        receipts.settle([signed], attestation=(b"\0" * 32, b"\0" * 32))
    assert coop.shares.totalSupply() == 0
    assert not coop.ledger.isSettled(signed[0][0])


def test_a_4000_km_trip_over_30_days_is_rejected(coop, receipts, members):
    made_up = receipts.trip(members[0], distance=4_000_000, duration=30 * DAY, end_time=chain[-1].timestamp - 1)
    genuine = receipts.trip(members[1], distance=12_000, duration=1_800)
    tx = receipts.settle([made_up, genuine])
    assert outcomes(tx) == {made_up[0][0]: RejectReason.InvalidTrip, genuine[0][0]: "settled"}
    assert coop.shares.balanceOf(members[0]) == 0


def test_ten_fresh_wallets_farming_the_daily_cap_are_bounded_by_the_region_cap(coop, receipts):
    """Even if the attester were fooled by made-up traces, ten new wallets together earn at most the region's
    1,000 km a day (bootstrap: one share per km), not 10 x 300 km."""
    wallets = _enrol(coop, [f"farmer-{i}" for i in range(10)], escrow=0)
    end = chain[-1].timestamp - 1
    batch = [receipts.trip(w, distance=100_000, duration=3_600, end_time=end) for w in wallets for _ in range(3)]
    tx = receipts.settle(batch)
    assert tx.events["BatchSettled"]["settled"] == 30
    minted = [coop.shares.balanceOf(w) for w in wallets]
    assert sum(minted) == 1_000 * SHARE
    assert minted[:4] == [300 * SHARE, 300 * SHARE, 300 * SHARE, 100 * SHARE] and set(minted[4:]) == {0}
    assert coop.ledger.regionRewardedMetres(REGION_LYON, end // DAY) == 1_000_000


def test_settler_and_member_wallets_cannot_burn_upcoming_trip_ids(operating, receipts, members):
    coop, colluder, accomplice = operating, members[3], members[4]
    upcoming = receipts.make(members[0], members[1], distance=3_000)  # the next booking's id
    # Self-signed receipts under that id and the next ones, attested by a member's key instead of the attester's.
    forged = [receipts.trip(colluder, region_id=2, trip_id=upcoming.tripId + i) for i in range(3)]
    for attestation in ({"attester": colluder}, {"attestation": (b"\0" * 32, b"\0" * 32)}):
        with brownie.reverts(revert_pattern="BadAttestation: .*"):
            receipts.settle(forged, **attestation)
    # Two member wallets hold and release a booking of their own under the id: it does not touch the trip id.
    coop.authorise(upcoming.tripId, colluder, accomplice, TOKEN)
    coop.ledger.releaseHold(upcoming.tripId, colluder, accomplice, {"from": colluder})
    assert not any(coop.ledger.isSettled(upcoming.tripId + i) for i in range(3))

    receipts.book(upcoming)
    tx = receipts.settle([receipts.sign(upcoming)])
    assert outcomes(tx) == {upcoming.tripId: "settled"}


def test_a_year_old_receipt_is_expired_and_charges_nothing(operating, receipts, members):
    coop, driver, rider = operating, members[0], members[1]
    signed = receipts.trip(driver, rider, distance=4_000)
    _after(365 * DAY)
    coop.deposit(rider, 50 * TOKEN)  # the rider's new deposit
    escrow = coop.ledger.escrowOf(rider)
    tx = receipts.settle([signed])
    assert outcomes(tx) == {signed[0][0]: RejectReason.Expired}
    assert coop.ledger.escrowOf(rider) == escrow
    assert coop.ledger.earningsOf(driver) == 0
    coop.ledger.releaseHold(signed[0][0], driver, rider, {"from": members[5]})  # anyone, by now
    assert coop.ledger.escrowOf(rider) == escrow + 2 * TOKEN


def test_a_backlog_settled_on_one_day_is_rewarded_per_driving_day(coop, receipts, members):
    """300 km a day for three days, settled together on the fourth (after a pause): three days' rewards."""
    driver = members[0]
    today = chain[-1].timestamp // DAY * DAY
    backlog = [
        receipts.trip(driver, distance=100_000, duration=3_600, end_time=today - days_ago * DAY + (2 + trip) * 3_600)
        for days_ago in (3, 2, 1)
        for trip in range(3)
    ]
    tx = receipts.settle(backlog)
    assert tx.events["BatchSettled"]["settled"] == 9
    assert coop.shares.balanceOf(driver) == 900 * SHARE
    assert [e["shares"] for e in tx.events["TripSettled"]] == [100 * SHARE] * 9


def test_a_stranger_cannot_push_a_members_standing_allowance_into_escrow(coop, members, outsider):
    rider = members[1]
    coop.fare_token.approve(coop.ledger, 500 * TOKEN, {"from": rider})  # a standing allowance
    wallet = coop.fare_token.balanceOf(rider)
    deadline = chain[-1].timestamp + 600
    for v, r, s in (
        (27, b"\x01" * 32, b"\x02" * 32),  # no signature at all
        coop.permit_signature(outsider, coop.ledger.address, 100 * TOKEN, deadline),  # the stranger's own
    ):
        with brownie.reverts(f"InvalidPermit: {rider.address.lower()}"):
            coop.ledger.depositWithPermit(rider, 100 * TOKEN, deadline, v, r, s, {"from": outsider})
    assert coop.ledger.escrowOf(rider) == MEMBER_ESCROW
    assert coop.fare_token.balanceOf(rider) == wallet


@pytest.fixture(scope="module")
def fee_coop(deploy_coop):
    """A deployment whose fare token burns 1 % of every transfer. Admission refuses a capital share that arrives
    short (`CapitalShareNotReceived`), so this cooperative asks none."""
    token = FeeOnTransferToken.deploy({"from": accounts[0]})
    return deploy_coop({"fareToken": token.address, "capitalShare": 0}, members=2)


def test_a_fee_on_transfer_token_is_credited_with_what_arrived(fee_coop):
    coop = fee_coop
    member = coop.members[0]
    # Enrolment deposited MEMBER_ESCROW; 1 % was burnt on the way in.
    assert coop.ledger.escrowOf(member) == MEMBER_ESCROW * 99 // 100
    tx = coop.deposit(member, 10 * TOKEN)
    assert tx.events["EscrowDeposited"]["amount"] == 10 * TOKEN * 99 // 100
    held = coop.fare_token.balanceOf(coop.ledger)
    assert held == sum(coop.ledger.escrowOf(m) for m in coop.members)  # solvent to the unit
    coop.ledger.withdrawEscrow(coop.ledger.escrowOf(member), {"from": member})
    assert coop.ledger.escrowOf(member) == 0
    assert coop.fare_token.balanceOf(coop.ledger) == coop.ledger.escrowOf(coop.members[1])
