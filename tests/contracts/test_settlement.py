"""RideLedger.settle: every rule and every reject reason; a bad receipt never reverts the batch."""

import brownie
import pytest
from brownie import chain
from contract_helpers import REGION_LYON, REGION_VILLEURBANNE, SHARE, TOKEN, RejectReason, keyed_account, outcomes

from coopride.chain.eip712 import Domain, signed_receipt_tuple


def _settle_one(receipts, signed):
    tx = receipts.settle([signed])
    return tx, outcomes(tx)[signed[0][0]]


# ------------------------------------------------------------------ bootstrap phase

def test_bootstrap_solo_trip_earns_shares_and_charges_nothing(coop, receipts, members):
    driver = members[0]
    tx, outcome = _settle_one(receipts, receipts.trip(driver, distance=5_000))
    assert outcome == "settled"
    assert coop.shares.balanceOf(driver) == 5 * SHARE
    assert tx.events["TripSettled"]["fare"] == 0
    assert tx.events["TripSettled"]["shares"] == 5 * SHARE
    assert coop.ledger.earningsOf(driver) == 0


def test_bootstrap_shared_trip_earns_shares_without_fare(coop, receipts, members):
    driver, rider = members[0], members[1]
    escrow_before = coop.ledger.escrowOf(rider)
    _, outcome = _settle_one(receipts, receipts.trip(driver, rider, distance=2_500))
    assert outcome == "settled"
    assert coop.shares.balanceOf(driver) == 25 * SHARE // 10
    assert coop.ledger.escrowOf(rider) == escrow_before


def test_bootstrap_receipt_with_a_fare_is_rejected(coop, receipts, members):
    signed = receipts.trip(members[0], members[1], fare=1 * TOKEN)
    _, outcome = _settle_one(receipts, signed)
    assert outcome == RejectReason.RegionNotOperating
    assert not coop.ledger.isSettled(signed[0][0])


# ------------------------------------------------------------------ operating phase

def test_operating_shared_trip_pays_driver_and_treasury(operating, receipts, members):
    coop = operating
    driver, rider = members[0], members[1]
    escrow_before = coop.ledger.escrowOf(rider)
    tx, outcome = _settle_one(receipts, receipts.trip(driver, rider, distance=10_000))
    fare = 10 * 500_000  # 10 km at 0.50 tEUR
    fee = fare * 1500 // 10_000
    assert outcome == "settled"
    assert coop.ledger.escrowOf(rider) == escrow_before - fare
    assert coop.ledger.earningsOf(driver) == fare - fee
    assert coop.ledger.treasuryBalance() == fee
    assert coop.shares.balanceOf(driver) == 5 * SHARE  # 0.5 share per shared km
    assert tx.events["TripSettled"]["fare"] == fare
    assert tx.events["TripSettled"]["fee"] == fee


def test_operating_solo_trip_settles_without_reward(operating, receipts, members):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], distance=10_000))
    assert outcome == "settled"
    assert operating.shares.balanceOf(members[0]) == 0


def test_rider_signed_more_than_the_fare_pays_only_the_fare(operating, receipts, members):
    rider = members[1]
    before = operating.ledger.escrowOf(rider)
    _, outcome = _settle_one(receipts, receipts.trip(members[0], rider, distance=1_000, fare=2 * TOKEN))
    assert outcome == "settled"
    assert operating.ledger.escrowOf(rider) == before - 500_000


def test_fare_raised_after_rider_signed_is_rejected(operating, receipts, members):
    signed = receipts.trip(members[0], members[1], distance=4_000)
    operating.ledger.setRegionFare(REGION_LYON, 600_000, {"from": operating.timelock})
    _, outcome = _settle_one(receipts, signed)
    assert outcome == RejectReason.FareExceedsSigned


def test_fare_above_signed_is_rejected(operating, receipts, members):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], members[1], distance=4_000, fare=1_999_999))
    assert outcome == RejectReason.FareExceedsSigned


def test_unfunded_rider_is_rejected_and_may_be_posted_again_after_top_up(operating, receipts, members):
    coop, rider = operating, members[2]
    coop.ledger.withdrawEscrow(coop.ledger.escrowOf(rider), {"from": rider})
    signed = receipts.trip(members[0], rider, distance=2_000)
    _, outcome = _settle_one(receipts, signed)
    assert outcome == RejectReason.RiderUnderfunded
    assert not coop.ledger.isSettled(signed[0][0])
    coop.deposit(rider, 5 * TOKEN)
    _, outcome = _settle_one(receipts, signed)
    assert outcome == "settled"
    assert coop.ledger.escrowOf(rider) == 4 * TOKEN


# ------------------------------------------------------------------ replay and signatures

def test_receipt_replayed_in_the_same_batch_settles_once(coop, receipts, members):
    signed = receipts.trip(members[0])
    tx = receipts.settle([signed, signed])
    assert tx.events["BatchSettled"]["settled"] == 1
    assert tx.events["TripRejected"]["reason"] == RejectReason.AlreadySettled
    assert coop.shares.balanceOf(members[0]) == 5 * SHARE


def test_receipt_replayed_in_a_later_batch_is_rejected(coop, receipts, members):
    signed = receipts.trip(members[0])
    receipts.settle([signed])
    _, outcome = _settle_one(receipts, signed)
    assert outcome == RejectReason.AlreadySettled
    assert coop.shares.balanceOf(members[0]) == 5 * SHARE


def test_forged_driver_signature_is_rejected(coop, receipts, members, outsider):
    receipt = receipts.make(members[0])
    _, outcome = _settle_one(receipts, receipts.sign(receipt, driver=outsider))
    assert outcome == RejectReason.BadDriverSignature


def test_forged_rider_signature_is_rejected(operating, receipts, members, outsider):
    receipt = receipts.make(members[0], members[1])
    _, outcome = _settle_one(receipts, receipts.sign(receipt, rider=outsider))
    assert outcome == RejectReason.BadRiderSignature


def test_swapped_signatures_are_rejected(operating, receipts, members):
    receipt = receipts.make(members[0], members[1])
    driver_sig = receipts.signature(members[0], receipt)
    rider_sig = receipts.signature(members[1], receipt)
    _, outcome = _settle_one(receipts, signed_receipt_tuple(receipt, rider_sig, driver_sig))
    assert outcome == RejectReason.BadDriverSignature


def test_missing_rider_signature_is_rejected(operating, receipts, members):
    receipt = receipts.make(members[0], members[1])
    signed = signed_receipt_tuple(receipt, receipts.signature(members[0], receipt), None)
    _, outcome = _settle_one(receipts, signed)
    assert outcome == RejectReason.BadRiderSignature


def test_high_s_signature_is_rejected(coop, receipts, members):
    receipt = receipts.make(members[0])
    r, vs = signed_receipt_tuple(receipt, receipts.signature(members[0], receipt), None)[1:3]
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    v_bit = int.from_bytes(vs, "big") >> 255
    s = int.from_bytes(vs, "big") & ((1 << 255) - 1)
    malleable_vs = ((n - s) | ((1 - v_bit) << 255)).to_bytes(32, "big")
    _, outcome = _settle_one(receipts, (receipt.as_tuple(), r, malleable_vs, b"\0" * 32, b"\0" * 32))
    assert outcome == RejectReason.BadDriverSignature


@pytest.mark.parametrize("field", ["chainId", "verifyingContract"])
def test_receipt_signed_for_another_domain_is_rejected(coop, receipts, members, field):
    domain = coop.receipt_domain
    other = Domain(
        domain.name,
        domain.version,
        domain.chainId + 1 if field == "chainId" else domain.chainId,
        coop.membership.address if field == "verifyingContract" else domain.verifyingContract,
    )
    receipt = receipts.make(members[0])
    _, outcome = _settle_one(receipts, receipts.sign(receipt, domain=other))
    assert outcome == RejectReason.BadDriverSignature


# ------------------------------------------------------------------ membership and regions

def test_non_member_driver_is_rejected(coop, receipts, outsider):
    _, outcome = _settle_one(receipts, receipts.trip(outsider))
    assert outcome == RejectReason.NotMember


def test_non_member_rider_is_rejected(coop, receipts, members, outsider):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], outsider))
    assert outcome == RejectReason.NotMember


def test_removed_member_can_no_longer_drive(coop, receipts, members):
    coop.membership.remove(members[3], {"from": coop.timelock})
    _, outcome = _settle_one(receipts, receipts.trip(members[3]))
    assert outcome == RejectReason.NotMember


def test_unknown_region_is_rejected(coop, receipts, members):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], region_id=99))
    assert outcome == RejectReason.UnknownRegion


def test_trip_in_another_bootstrap_region_earns_bootstrap_rewards(operating, receipts, members):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], region_id=REGION_VILLEURBANNE, distance=3_000))
    assert outcome == "settled"
    assert operating.shares.balanceOf(members[0]) == 3 * SHARE


# ------------------------------------------------------------------ invalid trips

@pytest.mark.parametrize(
    "overrides",
    [
        {"distance": 0},
        {"duration": 0},
        {"end_time_offset": 3_600},  # ends in the future
        {"distance": 20_001, "duration": 360},  # 200.01 km/h
    ],
    ids=["zero-distance", "zero-duration", "ends-in-future", "too-fast"],
)
def test_implausible_trip_is_rejected(coop, receipts, members, overrides):
    kwargs = dict(overrides)
    if "end_time_offset" in kwargs:
        kwargs["end_time"] = chain.time() + kwargs.pop("end_time_offset")
    _, outcome = _settle_one(receipts, receipts.trip(members[0], **kwargs))
    assert outcome == RejectReason.InvalidTrip


def test_exactly_200_km_per_hour_is_allowed(coop, receipts, members):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], distance=20_000, duration=360))
    assert outcome == "settled"


def test_driver_riding_with_themself_is_rejected(coop, receipts, members):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], members[0]))
    assert outcome == RejectReason.InvalidTrip


def test_solo_receipt_with_a_fare_is_rejected(operating, receipts, members):
    _, outcome = _settle_one(receipts, receipts.trip(members[0], fare=1))
    assert outcome == RejectReason.InvalidTrip


# ------------------------------------------------------------------ batches

def test_receipt_with_a_word_beyond_its_type_is_rejected_without_reverting_the_batch(coop, receipts, members):
    malformed, good = receipts.trip(members[0]), receipts.trip(members[1])
    calldata = bytearray(bytes.fromhex(coop.ledger.settle.encode_input(b"\x01" * 32, [malformed, good])[2:]))
    first_receipt = 4 + 3 * 32  # selector, batchId, array offset, array length
    fare_word = first_receipt + 5 * 32
    calldata[fare_word] = 0x01  # a bit far above uint96
    tx = coop.settler.transfer(coop.ledger, 0, data="0x" + calldata.hex())
    assert outcomes(tx) == {malformed[0][0]: RejectReason.InvalidTrip, good[0][0]: "settled"}
    assert not coop.ledger.isSettled(malformed[0][0])


def test_bad_receipts_do_not_revert_the_batch(operating, receipts, members, outsider):
    good = receipts.trip(members[0], members[1], distance=1_000)
    forged = receipts.sign(receipts.make(members[0]), driver=outsider)
    stranger = receipts.trip(outsider)
    good_too = receipts.trip(members[2], members[3], distance=1_000)
    tx = receipts.settle([good, forged, stranger, good_too], batch_id=b"\x07" * 32)
    assert tx.events["BatchSettled"]["batchId"] == "0x" + "07" * 32
    assert tx.events["BatchSettled"]["settled"] == 2
    assert tx.events["BatchSettled"]["rejected"] == 2
    assert operating.ledger.isSettled(good[0][0]) and operating.ledger.isSettled(good_too[0][0])
    assert not operating.ledger.isSettled(forged[0][0])


def test_member_who_rides_and_drives_in_one_batch_keeps_both_balances(operating, receipts, members):
    """Aliasing: the same account is a rider, then a driver, then a rider again within one batch."""
    coop = operating
    a, b, c = members[0], members[1], members[2]
    escrow_a, escrow_b = coop.ledger.escrowOf(a), coop.ledger.escrowOf(b)
    batch = [
        receipts.trip(b, a, distance=2_000),  # a rides with b
        receipts.trip(a, c, distance=4_000),  # a drives c
        receipts.trip(a, b, distance=4_000),  # a drives b
        receipts.trip(c, a, distance=2_000),  # a rides with c
    ]
    tx = receipts.settle(batch)
    assert tx.events["BatchSettled"]["settled"] == 4
    fare_2km, fare_4km = 1_000_000, 2_000_000
    driver_part = lambda fare: fare - fare * 1500 // 10_000  # noqa: E731
    assert coop.ledger.escrowOf(a) == escrow_a - 2 * fare_2km
    assert coop.ledger.earningsOf(a) == 2 * driver_part(fare_4km)
    assert coop.ledger.escrowOf(b) == escrow_b - fare_4km
    assert coop.ledger.earningsOf(b) == driver_part(fare_2km)
    assert coop.shares.balanceOf(a) == 4 * SHARE  # 8 shared km at 0.5


def test_tokens_held_equal_escrow_plus_earnings_plus_treasury_plus_capital(operating, receipts, members):
    coop = operating
    batch = [receipts.trip(members[i % 3], members[3 + i % 3], distance=1_000 + 37 * i) for i in range(9)]
    receipts.settle(batch)
    held = coop.fare_token.balanceOf(coop.ledger)
    owed = sum(coop.ledger.escrowOf(m) + coop.ledger.earningsOf(m) for m in members)
    assert held == owed + coop.ledger.treasuryBalance() + coop.ledger.capitalHeld()


def test_only_the_settler_settles(coop, receipts, members):
    with brownie.reverts():
        receipts.settle([receipts.trip(members[0])], sender=members[0])


def test_paused_ledger_reverts_the_whole_batch(coop, receipts, members):
    coop.ledger.pause({"from": coop.guardian})
    signed = receipts.trip(members[0])
    with brownie.reverts("EnforcedPause: "):
        receipts.settle([signed])
    coop.ledger.unpause({"from": coop.guardian})
    _, outcome = _settle_one(receipts, signed)
    assert outcome == "settled"


def test_guardian_cannot_move_funds(operating, receipts, members):
    coop, guardian = operating, operating.guardian
    receipts.settle([receipts.trip(members[0], members[1], distance=10_000)])
    with brownie.reverts():
        coop.ledger.spendTreasury(guardian, 1, {"from": guardian})
    with brownie.reverts():
        coop.ledger.distributeSurplus(1, {"from": guardian})
    with brownie.reverts():
        coop.ledger.grantRole(coop.ledger.SETTLER_ROLE(), guardian, {"from": guardian})


def test_escrow_stays_withdrawable_while_paused(coop, members):
    coop.ledger.pause({"from": coop.guardian})
    coop.ledger.withdrawEscrow(TOKEN, {"from": members[0]})
    assert coop.ledger.escrowOf(members[0]) == 99 * TOKEN
