"""Escrow deposits (plain and ERC-2612 permit, credited by what arrives), withdrawals (direct and by signature) of
free escrow and earnings; money a booking holds is not free."""

import brownie
import pytest
from brownie import chain
from contract_helpers import MEMBER_ESCROW, TOKEN, keyed_account

from coopride.chain.eip712 import sign_typed_data, withdrawal_typed_data


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


def test_deposit_with_a_front_run_permit_still_deposits_once(coop, members):
    rider = members[1]
    deadline = chain.time() + 600
    v, r, s = coop.permit_signature(rider, coop.ledger.address, 20 * TOKEN, deadline)
    coop.fare_token.permit(rider, coop.ledger, 20 * TOKEN, deadline, v, r, s, {"from": members[2]})
    coop.ledger.depositWithPermit(rider, 20 * TOKEN, deadline, v, r, s, {"from": coop.settler})
    assert coop.ledger.escrowOf(rider) == MEMBER_ESCROW + 20 * TOKEN
    # The rider then leaves a standing allowance; the used permit cannot be replayed to pull from it.
    coop.fare_token.approve(coop.ledger, 500 * TOKEN, {"from": rider})
    with brownie.reverts(f"InvalidPermit: {rider.address.lower()}"):
        coop.ledger.depositWithPermit(rider, 20 * TOKEN, deadline, v, r, s, {"from": members[2]})
    assert coop.ledger.escrowOf(rider) == MEMBER_ESCROW + 20 * TOKEN


def test_a_permit_deposit_cannot_replay_a_permit_the_ledger_already_used(coop, members):
    rider = members[1]
    deadline = chain.time() + 600
    v, r, s = coop.permit_signature(rider, coop.ledger.address, 20 * TOKEN, deadline)
    coop.ledger.depositWithPermit(rider, 20 * TOKEN, deadline, v, r, s, {"from": coop.settler})
    coop.fare_token.approve(coop.ledger, 500 * TOKEN, {"from": rider})
    with brownie.reverts(f"InvalidPermit: {rider.address.lower()}"):
        coop.ledger.depositWithPermit(rider, 20 * TOKEN, deadline, v, r, s, {"from": coop.settler})


def test_deposit_with_a_forged_permit_moves_nothing(coop, members):
    rider, thief = members[1], members[2]
    deadline = chain.time() + 600
    v, r, s = coop.permit_signature(thief, coop.ledger.address, 20 * TOKEN, deadline)
    with brownie.reverts(f"InvalidPermit: {rider.address.lower()}"):
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


# ------------------------------------------------------------------ gasless withdrawals

def _withdrawal_signature(coop, account, from_earnings: bool, amount: int, deadline: int, nonce: int | None = None):
    nonce = coop.ledger.nonces(account) if nonce is None else nonce
    typed = withdrawal_typed_data(coop.receipt_domain, account.address, from_earnings, amount, nonce, deadline)
    return sign_typed_data(account.private_key, typed)


@pytest.mark.parametrize("from_earnings", [False, True], ids=["escrow", "earnings"])
def test_a_relayed_withdrawal_pays_the_signer(operating, receipts, members, from_earnings):
    coop, account = operating, members[0]
    if from_earnings:
        receipts.settle([receipts.trip(account, members[1], distance=10_000)])
    amount = TOKEN
    deadline = chain[-1].timestamp + 600
    signature = _withdrawal_signature(coop, account, from_earnings, amount, deadline)
    before = coop.fare_token.balanceOf(account)
    balance = coop.ledger.earningsOf if from_earnings else coop.ledger.escrowOf
    held = balance(account)
    tx = coop.ledger.withdrawBySig(account, from_earnings, amount, deadline, signature, {"from": coop.settler})
    assert coop.fare_token.balanceOf(account) == before + amount
    assert balance(account) == held - amount
    assert ("EarningsWithdrawn" if from_earnings else "EscrowWithdrawn") in tx.events
    with brownie.reverts(f"InvalidSignature: {account.address.lower()}"):  # the nonce is used
        coop.ledger.withdrawBySig(account, from_earnings, amount, deadline, signature, {"from": coop.settler})


def test_a_relayed_withdrawal_needs_the_accounts_own_signature_in_time(coop, members):
    account, thief = members[0], members[1]
    deadline = chain[-1].timestamp + 600
    forged = _withdrawal_signature(coop, thief, False, TOKEN, deadline, nonce=coop.ledger.nonces(account))
    with brownie.reverts(f"InvalidSignature: {account.address.lower()}"):
        coop.ledger.withdrawBySig(account, False, TOKEN, deadline, forged, {"from": thief})
    signature = _withdrawal_signature(coop, account, False, TOKEN, deadline)
    with brownie.reverts(f"InvalidSignature: {account.address.lower()}"):  # another amount than signed
        coop.ledger.withdrawBySig(account, False, 2 * TOKEN, deadline, signature, {"from": thief})
    chain.sleep(601)
    chain.mine()
    with brownie.reverts(f"SignatureExpired: {deadline}"):
        coop.ledger.withdrawBySig(account, False, TOKEN, deadline, signature, {"from": thief})
    assert coop.ledger.escrowOf(account) == MEMBER_ESCROW


def test_money_a_booking_holds_cannot_be_withdrawn_directly_or_by_signature(operating, members):
    coop, driver, rider = operating, members[0], members[1]
    coop.authorise(1, driver, rider, 60 * TOKEN)
    free = MEMBER_ESCROW - 60 * TOKEN
    assert coop.ledger.escrowOf(rider) == free
    with brownie.reverts(f"InsufficientBalance: {rider.address.lower()}, {free}, {MEMBER_ESCROW}"):
        coop.ledger.withdrawEscrow(MEMBER_ESCROW, {"from": rider})
    deadline = chain[-1].timestamp + 600
    signature = _withdrawal_signature(coop, rider, False, free + 1, deadline)
    with brownie.reverts(f"InsufficientBalance: {rider.address.lower()}, {free}, {free + 1}"):
        coop.ledger.withdrawBySig(rider, False, free + 1, deadline, signature, {"from": coop.settler})
    coop.ledger.withdrawEscrow(free, {"from": rider})
    assert coop.ledger.holdOf(1, driver, rider)[0] == 60 * TOKEN
