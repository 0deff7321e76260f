"""Fare authorisations and their holds: who may create, release, dispute and decide them, directly and by signature,
and what each decision pays."""

import brownie
import pytest
from brownie import chain
from contract_helpers import (
    DAY,
    DISPUTE_WINDOW,
    MAX_RECEIPT_AGE,
    SHARE,
    TOKEN,
    HoldState,
    RejectReason,
    outcomes,
)

from coopride.chain.eip712 import (
    dispute_typed_data,
    hold_release_typed_data,
    resolution_typed_data,
    sign_typed_data,
)

FEE_BPS = 1500
FARE = 2 * TOKEN


@pytest.fixture
def booked(operating, receipts, members):
    """members[1] booked a ride with members[0]: FARE held; a receipt for it, unconfirmed."""
    receipt = receipts.make(members[0], members[1], distance=4_000)
    receipts.book(receipt)
    return receipt


@pytest.fixture
def mediator(coop, members):
    """members[5], appointed mediator by governance."""
    coop.ledger.grantRole(coop.ledger.MEDIATOR_ROLE(), members[5], {"from": coop.timelock})
    return members[5]


def _hold(coop, receipt):
    return tuple(coop.ledger.holdOf(receipt.tripId, receipt.driver, receipt.rider))


def _deadline():
    return chain[-1].timestamp + 600


# ------------------------------------------------------------------ authorisation

def test_authorisation_moves_the_fare_from_free_escrow_into_the_hold(operating, receipts, members):
    coop, driver, rider = operating, members[0], members[1]
    before = coop.ledger.escrowOf(rider)
    receipt = receipts.make(driver, rider, distance=4_000)
    now = chain[-1].timestamp
    tx = receipts.book(receipt, cancel_by=now + 300, expiry=now + DAY)
    assert coop.ledger.escrowOf(rider) == before - FARE
    assert _hold(coop, receipt) == (FARE, now + 300, now + DAY, HoldState.Active)
    event = tx.events["FareAuthorised"]
    assert (event["tripId"], event["rider"], event["driver"], event["maxFare"]) == (receipt.tripId, rider, driver, FARE)
    assert (event["cancelBy"], event["expiry"]) == (now + 300, now + DAY)


def test_authorisation_is_relayed_by_anyone_but_signed_by_the_rider(operating, members, outsider):
    coop, driver, rider = operating, members[0], members[1]
    coop.authorise(1, driver, rider, FARE, relayer=outsider)
    with brownie.reverts(f"InvalidSignature: {rider.address.lower()}"):
        coop.authorise(2, driver, rider, FARE, signer=members[2])


@pytest.mark.parametrize(
    "case, error",
    [
        ("expired", "AuthorisationExpired: .*"),
        ("cancel-after-expiry", "InvalidAuthorisation: 7"),
        ("rider-is-driver", "InvalidAuthorisation: 7"),
        ("rider-not-member", "NotMember: .*"),
        ("driver-not-member", "NotMember: .*"),
        ("unknown-region", "UnknownRegion: 99"),
        ("underfunded", "InsufficientBalance: .*"),
    ],
)
def test_authorisation_refuses_bad_bookings(operating, members, outsider, case, error):
    coop, driver, rider = operating, members[0], members[1]
    now = chain[-1].timestamp
    kwargs = {"trip_id": 7, "driver": driver, "rider": rider, "max_fare": FARE}
    if case == "expired":
        kwargs["expiry"] = now
    elif case == "cancel-after-expiry":
        kwargs.update(cancel_by=now + 100, expiry=now + 99)
    elif case == "rider-is-driver":
        kwargs["rider"] = driver
    elif case == "rider-not-member":
        kwargs["rider"] = outsider
    elif case == "driver-not-member":
        kwargs["driver"] = outsider
    elif case == "unknown-region":
        kwargs["region_id"] = 99
    elif case == "underfunded":
        kwargs["max_fare"] = coop.ledger.escrowOf(rider) + 1
    escrow_before = coop.ledger.escrowOf(rider)
    with brownie.reverts(revert_pattern=error):
        coop.authorise(**kwargs)
    assert coop.ledger.escrowOf(rider) == escrow_before


def test_the_same_booking_cannot_be_held_twice(operating, booked, members):
    with brownie.reverts(f"HoldExists: {booked.tripId}"):
        operating.authorise(booked.tripId, members[0], members[1], FARE)


# ------------------------------------------------------------------ releases

def test_the_rider_cancels_before_cancel_by_and_gets_the_hold_back(operating, booked, members):
    coop, rider = operating, members[1]
    before = coop.ledger.escrowOf(rider)
    tx = coop.ledger.releaseHold(booked.tripId, booked.driver, rider, {"from": rider})
    assert coop.ledger.escrowOf(rider) == before + FARE
    assert (tx.events["HoldReleased"]["by"], tx.events["HoldReleased"]["amount"]) == (rider, FARE)
    assert _hold(operating, booked) == (0, 0, 0, HoldState.None_)
    assert coop.ledger.isHoldReleased(booked.tripId, booked.driver, rider)


def test_the_rider_cannot_cancel_after_cancel_by(operating, booked, members):
    chain.sleep(601)
    chain.mine()
    with brownie.reverts(f"ReleaseNotAllowed: {members[1].address.lower()}"):
        operating.ledger.releaseHold(booked.tripId, booked.driver, booked.rider, {"from": members[1]})


def test_the_driver_may_waive_the_fare_at_any_time(operating, booked, members):
    chain.sleep(DAY)
    chain.mine()
    before = operating.ledger.escrowOf(members[1])
    operating.ledger.releaseHold(booked.tripId, booked.driver, booked.rider, {"from": members[0]})
    assert operating.ledger.escrowOf(members[1]) == before + FARE


def test_anyone_releases_a_hold_once_its_receipt_could_only_be_expired(operating, booked, members, outsider):
    expiry = _hold(operating, booked)[2]
    with brownie.reverts(f"ReleaseNotAllowed: {outsider.address.lower()}"):
        operating.ledger.releaseHold(booked.tripId, booked.driver, booked.rider, {"from": outsider})
    chain.sleep(expiry + MAX_RECEIPT_AGE - chain[-1].timestamp + 1)
    chain.mine()
    operating.ledger.releaseHold(booked.tripId, booked.driver, booked.rider, {"from": outsider})
    assert operating.ledger.isHoldReleased(booked.tripId, booked.driver, booked.rider)


def test_a_released_booking_can_neither_settle_nor_be_authorised_again(operating, booked, receipts, members):
    """The rider's authorisation signature carries no nonce: the hold's tombstone stops it being relayed again."""
    coop = operating
    coop.ledger.releaseHold(booked.tripId, booked.driver, booked.rider, {"from": members[1]})
    with brownie.reverts(f"HoldExists: {booked.tripId}"):
        coop.authorise(booked.tripId, members[0], members[1], FARE)
    tx = receipts.settle([receipts.sign(booked)])
    assert outcomes(tx) == {booked.tripId: RejectReason.NotAuthorised}
    with brownie.reverts(f"HoldNotActive: {booked.tripId}"):
        coop.ledger.releaseHold(booked.tripId, booked.driver, booked.rider, {"from": members[0]})


def test_a_release_by_another_pair_does_not_touch_the_trip_id(operating, booked, receipts, members):
    """Two members cannot burn someone else's booking id by authorising and releasing a hold of their own on it."""
    coop = operating
    coop.authorise(booked.tripId, members[2], members[3], TOKEN)
    coop.ledger.releaseHold(booked.tripId, members[2], members[3], {"from": members[2]})
    assert not coop.ledger.isSettled(booked.tripId)
    tx = receipts.settle([receipts.sign(booked)])
    assert outcomes(tx) == {booked.tripId: "settled"}


def test_a_release_is_relayed_with_the_signers_signature(operating, booked, members, outsider):
    coop, rider = operating, members[1]
    deadline = _deadline()
    nonce = coop.ledger.nonces(rider)
    typed = hold_release_typed_data(coop.receipt_domain, booked.tripId, booked.driver, rider.address, rider.address, nonce, deadline)
    signature = sign_typed_data(rider.private_key, typed)
    with brownie.reverts(f"InvalidSignature: {outsider.address.lower()}"):
        coop.ledger.releaseHoldBySig(booked.tripId, booked.driver, rider, outsider, deadline, signature, {"from": coop.settler})
    tx = coop.ledger.releaseHoldBySig(booked.tripId, booked.driver, rider, rider, deadline, signature, {"from": coop.settler})
    assert tx.events["HoldReleased"]["by"] == rider
    assert coop.ledger.nonces(rider) == nonce + 1


def test_an_expired_release_signature_is_refused(operating, booked, members):
    coop, rider = operating, members[1]
    deadline = chain[-1].timestamp + 5
    typed = hold_release_typed_data(coop.receipt_domain, booked.tripId, booked.driver, rider.address, rider.address, 0, deadline)
    signature = sign_typed_data(rider.private_key, typed)
    chain.sleep(10)
    chain.mine()
    with brownie.reverts(f"SignatureExpired: {deadline}"):
        coop.ledger.releaseHoldBySig(booked.tripId, booked.driver, rider, rider, deadline, signature, {"from": coop.settler})


# ------------------------------------------------------------------ disputes and decisions

def test_either_party_disputes_and_the_trip_waits_for_a_mediator(operating, booked, receipts, members, outsider):
    coop = operating
    with brownie.reverts(f"NotParty: {outsider.address.lower()}"):
        coop.ledger.dispute(booked.tripId, booked.driver, booked.rider, "not me", {"from": outsider})
    tx = coop.ledger.dispute(booked.tripId, booked.driver, booked.rider, "driver never came", {"from": members[1]})
    assert (tx.events["TripDisputed"]["by"], tx.events["TripDisputed"]["reason"]) == (members[1], "driver never came")
    assert _hold(coop, booked)[3] == HoldState.Disputed
    with brownie.reverts(f"NotDisputable: {booked.tripId}"):
        coop.ledger.dispute(booked.tripId, booked.driver, booked.rider, "again", {"from": members[0]})
    chain.sleep(DISPUTE_WINDOW + 1)
    chain.mine()
    tx = receipts.settle([receipts.sign(booked)])  # the rider's confirmation does not override a dispute either
    assert outcomes(tx) == {booked.tripId: RejectReason.Disputed}
    with brownie.reverts(f"HoldNotActive: {booked.tripId}"):
        coop.ledger.releaseHold(booked.tripId, booked.driver, booked.rider, {"from": members[0]})


def test_a_dispute_is_relayed_with_the_partys_signature(operating, booked, members):
    coop, driver = operating, members[0]
    deadline = _deadline()
    typed = dispute_typed_data(coop.receipt_domain, booked.tripId, driver.address, booked.rider, "no show", driver.address, 0, deadline)
    signature = sign_typed_data(driver.private_key, typed)
    with brownie.reverts(f"InvalidSignature: {driver.address.lower()}"):
        coop.ledger.disputeBySig(booked.tripId, driver, booked.rider, "no-show", driver, deadline, signature, {"from": coop.settler})
    tx = coop.ledger.disputeBySig(booked.tripId, driver, booked.rider, "no show", driver, deadline, signature, {"from": coop.settler})
    assert tx.events["TripDisputed"]["by"] == driver


@pytest.mark.parametrize("award", [FARE, FARE // 4, 0], ids=["full", "part", "nothing"])
def test_a_mediators_decision_pays_the_award_refunds_the_rest_and_the_receipt_settles_without_money(
    operating, booked, receipts, members, mediator, award
):
    coop, driver, rider = operating, members[0], members[1]
    coop.ledger.dispute(booked.tripId, booked.driver, booked.rider, "detour", {"from": rider})
    escrow_before, treasury_before = coop.ledger.escrowOf(rider), coop.ledger.treasuryBalance()
    tx = coop.ledger.resolveDispute(booked.tripId, driver, rider, award, "trace shows the trip", {"from": mediator})
    fee = award * FEE_BPS // 10_000
    decided = tx.events["DisputeResolved"]
    assert (decided["mediator"], decided["award"], decided["fee"], decided["refund"]) == (mediator, award, fee, FARE - award)
    assert decided["reason"] == "trace shows the trip"
    assert coop.ledger.earningsOf(driver) == award - fee
    assert coop.ledger.treasuryBalance() == treasury_before + fee
    assert coop.ledger.escrowOf(rider) == escrow_before + FARE - award
    assert _hold(coop, booked)[3] == (HoldState.ResolvedPaid if award else HoldState.ResolvedUnpaid)

    # The receipt settles later with no money; shares only if something was awarded; a decision never expires.
    chain.sleep(MAX_RECEIPT_AGE + 1)
    chain.mine()
    settle = receipts.settle([receipts.sign(booked, confirm=False)])
    settled = settle.events["TripSettled"]
    assert (settled["fare"], settled["fee"]) == (0, 0)
    assert settled["shares"] == (2 * SHARE if award else 0)  # 4 shared km at 0.5
    assert coop.ledger.earningsOf(driver) == award - fee
    assert _hold(coop, booked)[3] == HoldState.None_


def test_only_an_appointed_member_mediator_who_is_no_party_decides(operating, booked, members, mediator, outsider):
    coop = operating
    with brownie.reverts(f"NotDisputable: {booked.tripId}"):
        coop.ledger.resolveDispute(booked.tripId, booked.driver, booked.rider, 0, "early", {"from": mediator})
    coop.ledger.dispute(booked.tripId, booked.driver, booked.rider, "late", {"from": members[1]})
    with brownie.reverts(f"NotMediator: {members[2].address.lower()}"):
        coop.ledger.resolveDispute(booked.tripId, booked.driver, booked.rider, 0, "x", {"from": members[2]})
    coop.ledger.grantRole(coop.ledger.MEDIATOR_ROLE(), outsider, {"from": coop.timelock})
    with brownie.reverts(f"NotMediator: {outsider.address.lower()}"):
        coop.ledger.resolveDispute(booked.tripId, booked.driver, booked.rider, 0, "x", {"from": outsider})
    coop.ledger.grantRole(coop.ledger.MEDIATOR_ROLE(), members[1], {"from": coop.timelock})
    with brownie.reverts(f"MediatorIsParty: {members[1].address.lower()}"):
        coop.ledger.resolveDispute(booked.tripId, booked.driver, booked.rider, 0, "mine", {"from": members[1]})
    with brownie.reverts(f"AwardExceedsHold: {FARE + 1}, {FARE}"):
        coop.ledger.resolveDispute(booked.tripId, booked.driver, booked.rider, FARE + 1, "x", {"from": mediator})
    coop.ledger.pause({"from": coop.guardian})
    with brownie.reverts("EnforcedPause: "):
        coop.ledger.resolveDispute(booked.tripId, booked.driver, booked.rider, 0, "x", {"from": mediator})


def test_a_decision_is_relayed_with_the_mediators_signature_and_stands_once(operating, booked, members, mediator):
    coop = operating
    coop.ledger.dispute(booked.tripId, booked.driver, booked.rider, "late", {"from": members[1]})
    deadline = _deadline()
    typed = resolution_typed_data(
        coop.receipt_domain, booked.tripId, booked.driver, booked.rider, FARE // 2, "half", mediator.address, 0, deadline
    )
    signature = sign_typed_data(mediator.private_key, typed)
    with brownie.reverts(f"InvalidSignature: {mediator.address.lower()}"):
        coop.ledger.resolveDisputeBySig(
            booked.tripId, booked.driver, booked.rider, FARE, "half", mediator, deadline, signature, {"from": coop.settler}
        )
    tx = coop.ledger.resolveDisputeBySig(
        booked.tripId, booked.driver, booked.rider, FARE // 2, "half", mediator, deadline, signature, {"from": coop.settler}
    )
    assert tx.events["DisputeResolved"]["award"] == FARE // 2
    with brownie.reverts(f"NotDisputable: {booked.tripId}"):
        coop.ledger.resolveDispute(booked.tripId, booked.driver, booked.rider, FARE, "more", {"from": mediator})


def test_a_disputed_trip_cannot_be_disputed_after_it_settled(operating, booked, receipts, members):
    receipts.settle([receipts.sign(booked)])  # confirmed by the rider
    with brownie.reverts(f"NotDisputable: {booked.tripId}"):
        operating.ledger.dispute(booked.tripId, booked.driver, booked.rider, "too late", {"from": members[1]})


def test_holds_of_different_bookings_are_independent(operating, receipts, members):
    coop = operating
    first = receipts.make(members[0], members[1], distance=2_000)
    second = receipts.make(members[2], members[1], distance=2_000)
    receipts.book(first)
    receipts.book(second)
    coop.ledger.dispute(first.tripId, first.driver, first.rider, "x", {"from": members[1]})
    tx = receipts.settle([receipts.sign(first), receipts.sign(second)])
    assert outcomes(tx) == {first.tripId: RejectReason.Disputed, second.tripId: "settled"}
