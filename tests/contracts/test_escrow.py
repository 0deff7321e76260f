"""Escrow deposits (plain and ERC-2612 permit), withdrawals, pull payments of earnings."""

import brownie
from brownie import chain
from contract_helpers import MEMBER_ESCROW, TOKEN, keyed_account


def test_member_deposits_into_escrow(coop, members):
    member = members[0]
    tx = coop.deposit(member, 7 * TOKEN)
    assert coop.ledger.escrowOf(member) == MEMBER_ESCROW + 7 * TOKEN
    assert tx.events["EscrowDeposited"]["amount"] == 7 * TOKEN


def test_non_member_cannot_deposit(coop, outsider):
    coop.fare_token.approve(coop.ledger, TOKEN, {"from": outsider})
    with brownie.reverts(f"NotMember: {outsider.address.lower()}"):
        coop.ledger.deposit(TOKEN, {"from": outsider})


def test_zero_deposit_is_refused(coop, members):
    with brownie.reverts("ZeroAmount: "):
        coop.ledger.deposit(0, {"from": members[0]})


def test_deposit_with_permit_is_relayed_by_anyone(coop, members):
    rider = members[1]
    deadline = chain.time() + 600
    v, r, s = coop.permit_signature(rider, coop.ledger.address, 20 * TOKEN, deadline)
    coop.ledger.depositWithPermit(rider, 20 * TOKEN, deadline, v, r, s, {"from": coop.settler})
    assert coop.ledger.escrowOf(rider) == MEMBER_ESCROW + 20 * TOKEN


def test_deposit_with_a_front_run_permit_still_deposits(coop, members):
    rider = members[1]
    deadline = chain.time() + 600
    v, r, s = coop.permit_signature(rider, coop.ledger.address, 20 * TOKEN, deadline)
    coop.fare_token.permit(rider, coop.ledger, 20 * TOKEN, deadline, v, r, s, {"from": members[2]})
    coop.ledger.depositWithPermit(rider, 20 * TOKEN, deadline, v, r, s, {"from": coop.settler})
    assert coop.ledger.escrowOf(rider) == MEMBER_ESCROW + 20 * TOKEN


def test_deposit_with_a_forged_permit_moves_nothing(coop, members):
    rider, thief = members[1], members[2]
    deadline = chain.time() + 600
    v, r, s = coop.permit_signature(thief, coop.ledger.address, 20 * TOKEN, deadline)
    with brownie.reverts():
        coop.ledger.depositWithPermit(rider, 20 * TOKEN, deadline, v, r, s, {"from": thief})
    assert coop.ledger.escrowOf(rider) == MEMBER_ESCROW


def test_rider_withdraws_escrow(coop, members):
    member = members[0]
    before = coop.fare_token.balanceOf(member)
    coop.ledger.withdrawEscrow(30 * TOKEN, {"from": member})
    assert coop.ledger.escrowOf(member) == MEMBER_ESCROW - 30 * TOKEN
    assert coop.fare_token.balanceOf(member) == before + 30 * TOKEN


def test_withdrawing_more_than_escrow_is_refused(coop, members):
    member = members[0]
    with brownie.reverts(f"InsufficientBalance: {member.address.lower()}, {MEMBER_ESCROW}, {MEMBER_ESCROW + 1}"):
        coop.ledger.withdrawEscrow(MEMBER_ESCROW + 1, {"from": member})


def test_driver_withdraws_earnings(operating, receipts, members):
    coop, driver = operating, members[0]
    receipts.settle([receipts.trip(driver, members[1], distance=10_000)])
    earned = coop.ledger.earningsOf(driver)
    assert earned == 5 * TOKEN * 85 // 100
    before = coop.fare_token.balanceOf(driver)
    tx = coop.ledger.withdrawEarnings(earned, {"from": driver})
    assert coop.fare_token.balanceOf(driver) == before + earned
    assert coop.ledger.earningsOf(driver) == 0
    assert tx.events["EarningsWithdrawn"]["amount"] == earned
    with brownie.reverts():
        coop.ledger.withdrawEarnings(1, {"from": driver})


def test_nobody_withdraws_what_they_do_not_have(coop):
    stranger = keyed_account("stranger")
    with brownie.reverts():
        coop.ledger.withdrawEscrow(1, {"from": stranger})
    with brownie.reverts():
        coop.ledger.withdrawEarnings(1, {"from": stranger})
