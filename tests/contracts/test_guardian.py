"""The guardian (set by governance: RideLedger GUARDIAN_ROLE + Timelock CANCELLER_ROLE) may cancel a queued
proposal in the Timelock, pause settlement and lift its own pause, and nothing else: it cannot lift a pause
governance made, move funds, propose, execute, admit, or grant roles."""

import brownie
import pytest
from brownie import chain
from contract_helpers import CAPITAL_SHARE, SHARE, Governance, keyed_account

PENDING, ACTIVE, CANCELED, SUCCEEDED, QUEUED, EXECUTED = 0, 1, 2, 4, 5, 7
FOR = 1
SALT = b"\x00" * 32


def advance(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


def lower(account) -> str:
    return account.address.lower()


def timelock_salt(governor, description_hash: bytes) -> bytes:
    """The salt GovernorTimelockControl schedules a proposal's operation with: bytes20(governor) ^ descriptionHash."""
    return bytes(a ^ b for a, b in zip(bytes.fromhex(governor.address[2:]).ljust(32, b"\x00"), description_hash))


def queued_proposal(coop, governance: Governance, actions, description: str):
    """Runs a proposal to Queued; returns (proposal id, queue/execute arguments, Timelock operation id)."""
    governor = coop.governor
    proposal_id, call = governance.propose(actions, description)
    advance(governor.votingDelay() + 1)
    for voter in coop.members:
        governor.castVote(proposal_id, FOR, {"from": voter})
    advance(governor.votingPeriod() + 1)
    tx = governor.queue(*call, {"from": coop.members[0]})
    assert governor.state(proposal_id) == QUEUED
    return proposal_id, call, tx.events["CallScheduled"][0]["id"]


# ---------------------------------------------------------------- what the guardian can do


def test_the_guardian_cancels_a_queued_proposal_which_then_can_never_execute(coop, governance):
    proposal_id, call, operation = queued_proposal(
        coop, governance, [(coop.ledger, "setFeeBps", (0,))], "drop the fee to zero"
    )
    tx = coop.timelock.cancel(operation, {"from": coop.guardian})

    assert tx.events["Cancelled"][0]["id"] == operation
    assert coop.governor.state(proposal_id) == CANCELED
    advance(coop.timelock.getMinDelay() + 1)
    with brownie.reverts(revert_pattern="GovernorUnexpectedProposalState: .*"):
        coop.governor.execute(*call, {"from": coop.members[0]})
    targets, values, calldatas, description_hash = call
    with brownie.reverts(revert_pattern="TimelockUnexpectedOperationState: .*"):
        coop.timelock.executeBatch(targets, values, calldatas, SALT, timelock_salt(coop.governor, description_hash),
                                   {"from": coop.guardian})
    assert coop.ledger.feeBps() == 1500


def test_nobody_else_cancels_a_queued_proposal(coop, governance, members, outsider):
    proposal_id, _, operation = queued_proposal(coop, governance, [(coop.ledger, "setFeeBps", (0,))], "no fee")
    for caller in (members[0], coop.admissions, coop.settler, outsider):
        with brownie.reverts(revert_pattern=f"AccessControlUnauthorizedAccount: {lower(caller)}, .*"):
            coop.timelock.cancel(operation, {"from": caller})
    assert coop.governor.state(proposal_id) == QUEUED


def test_the_guardian_pauses_settlement_and_lifts_its_own_pause(coop):
    tx = coop.ledger.pause({"from": coop.guardian})
    assert tx.events["Paused"][0]["account"] == coop.guardian
    assert coop.ledger.paused() and not coop.ledger.pausedByGovernance()
    tx = coop.ledger.unpause({"from": coop.guardian})
    assert tx.events["Unpaused"][0]["account"] == coop.guardian
    assert not coop.ledger.paused()


def test_admissions_and_leaving_go_on_while_settlement_is_paused(coop, members):
    coop.ledger.pause({"from": coop.guardian})
    newcomer = keyed_account("paused-newcomer")
    coop.fund(newcomer)
    coop.join(newcomer)
    wallet = coop.fare_token.balanceOf(members[5])
    coop.membership.leave({"from": members[5]})
    assert coop.fare_token.balanceOf(members[5]) == wallet + CAPITAL_SHARE
    assert coop.membership.isMember(newcomer)


# ---------------------------------------------------------------- governance's pause


def test_the_guardian_cannot_lift_a_pause_governance_made(coop):
    tx = coop.ledger.pause({"from": coop.timelock})
    assert tx.events["Paused"][0]["account"] == coop.timelock
    assert coop.ledger.pausedByGovernance()
    with brownie.reverts("PausedByGovernance: "):
        coop.ledger.unpause({"from": coop.guardian})
    assert coop.ledger.paused()
    coop.ledger.unpause({"from": coop.timelock})
    assert not coop.ledger.paused() and not coop.ledger.pausedByGovernance()


def test_governance_takes_over_the_guardians_pause(coop):
    coop.ledger.pause({"from": coop.guardian})
    tx = coop.ledger.pause({"from": coop.timelock})
    assert tx.events["PauseTakenOverByGovernance"][0]["account"] == coop.timelock
    assert "Paused" not in tx.events
    with brownie.reverts("PausedByGovernance: "):
        coop.ledger.unpause({"from": coop.guardian})
    with brownie.reverts("EnforcedPause: "):
        coop.ledger.pause({"from": coop.timelock})
    with brownie.reverts("EnforcedPause: "):
        coop.ledger.pause({"from": coop.guardian})
    coop.ledger.unpause({"from": coop.timelock})
    assert not coop.ledger.paused()


def test_governance_lifts_the_guardians_pause(coop, governance):
    coop.ledger.pause({"from": coop.guardian})
    governance.pass_([(coop.ledger, "unpause", ())], "resume settlement")
    assert not coop.ledger.paused()


def test_nobody_but_the_guardian_or_governance_pauses_or_unpauses(coop, members, outsider):
    guardian_role = bytes(coop.ledger.GUARDIAN_ROLE())  # brownie renders a bytes32 argument as a bytes literal
    for caller in (members[0], coop.admissions, coop.settler, outsider):
        with brownie.reverts(f"AccessControlUnauthorizedAccount: {lower(caller)}, {guardian_role}"):
            coop.ledger.pause({"from": caller})
    coop.ledger.pause({"from": coop.guardian})
    for caller in (members[0], coop.admissions, coop.settler, outsider):
        with brownie.reverts(f"AccessControlUnauthorizedAccount: {lower(caller)}, {guardian_role}"):
            coop.ledger.unpause({"from": caller})


# ---------------------------------------------------------------- what the guardian cannot do


def test_the_guardian_cannot_move_funds_mint_or_grant_roles(coop, members):
    guardian, ledger, timelock = coop.guardian, coop.ledger, coop.timelock
    coop.membership.remove(members[5], {"from": timelock})  # the treasury holds a forfeited capital share
    admin, guardian_address = bytes(32), lower(guardian)
    for call in (
        lambda: ledger.spendTreasury(guardian, 1, {"from": guardian}),
        lambda: ledger.distributeSurplus(1, {"from": guardian}),
        lambda: ledger.grantRole(ledger.GUARDIAN_ROLE(), members[0], {"from": guardian}),
        lambda: ledger.grantRole(admin, guardian, {"from": guardian}),
        lambda: ledger.setFeeBps(0, {"from": guardian}),
    ):
        with brownie.reverts(f"AccessControlUnauthorizedAccount: {guardian_address}, {admin}"):
            call()
    for call in (
        lambda: timelock.grantRole(timelock.PROPOSER_ROLE(), guardian, {"from": guardian}),
        lambda: timelock.grantRole(timelock.CANCELLER_ROLE(), members[0], {"from": guardian}),
    ):
        with brownie.reverts(revert_pattern=f"AccessControlUnauthorizedAccount: {guardian_address}, .*"):
            call()
    for call in (
        lambda: coop.shares.grant(guardian, SHARE, "guardian", {"from": guardian}),
        lambda: coop.shares.setMinter(guardian, {"from": guardian}),
        lambda: coop.membership.remove(members[0], {"from": guardian}),
        lambda: coop.membership.setCapitalShare(0, {"from": guardian}),
    ):
        with brownie.reverts(f"OwnableUnauthorizedAccount: {guardian_address}"):
            call()
    with brownie.reverts(f"NotAdmissions: {guardian_address}"):
        coop.admit(coop.application(keyed_account("guardian's friend")), sender=guardian)
    assert ledger.treasuryBalance() == CAPITAL_SHARE


def test_the_guardian_cannot_propose_schedule_or_execute(coop, members):
    guardian, timelock, governor = coop.guardian, coop.timelock, coop.governor
    call = coop.ledger.setFeeBps.encode_input(0)
    with brownie.reverts(revert_pattern=f"GovernorInsufficientProposerVotes: {lower(guardian)}, 0, 1"):
        governor.propose([coop.ledger], [0], [call], "guardian's fee", {"from": guardian})
    with brownie.reverts(revert_pattern=f"AccessControlUnauthorizedAccount: {lower(guardian)}, .*"):
        timelock.schedule(coop.ledger, 0, call, SALT, SALT, timelock.getMinDelay(), {"from": guardian})
    with brownie.reverts(revert_pattern="TimelockUnexpectedOperationState: .*"):
        timelock.execute(coop.ledger, 0, call, SALT, SALT, {"from": guardian})
    with brownie.reverts(f"GovernorOnlyExecutor: {lower(guardian)}"):
        governor.relay(coop.ledger, 0, call, {"from": guardian})
    proposal_id = governor.propose([coop.ledger], [0], [call], "a member's fee", {"from": members[0]}).return_value
    advance(governor.votingDelay() + 1)
    with brownie.reverts(f"NoVotingPower: {lower(guardian)}"):
        governor.castVote(proposal_id, FOR, {"from": guardian})
    assert coop.ledger.feeBps() == 1500


def test_governance_replaces_the_guardian(coop, governance, members):
    ledger, timelock, old, new = coop.ledger, coop.timelock, coop.guardian, members[2]
    governance.pass_([
        (ledger, "revokeRole", (ledger.GUARDIAN_ROLE(), old)),
        (timelock, "revokeRole", (timelock.CANCELLER_ROLE(), old)),
        (ledger, "grantRole", (ledger.GUARDIAN_ROLE(), new)),
        (timelock, "grantRole", (timelock.CANCELLER_ROLE(), new)),
    ], "a new guardian")
    with brownie.reverts(revert_pattern=f"AccessControlUnauthorizedAccount: {lower(old)}, .*"):
        ledger.pause({"from": old})
    ledger.pause({"from": new})
    ledger.unpause({"from": new})
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), new) and not timelock.hasRole(timelock.CANCELLER_ROLE(), old)


# ---------------------------------------------------------------- the guardian stays removable


def test_the_guardian_cannot_cancel_its_own_removal(coop, governance):
    ledger, timelock, guardian = coop.ledger, coop.timelock, coop.guardian
    proposal_id, call, operation = queued_proposal(coop, governance, [
        (ledger, "revokeRole", (ledger.GUARDIAN_ROLE(), guardian)),
        (timelock, "revokeRole", (timelock.CANCELLER_ROLE(), guardian)),
    ], "retire the guardian")
    assert timelock.isGuardianRemoval(operation)

    with brownie.reverts(f"GuardianCannotCancelRemoval: {bytes(operation)}"):
        timelock.cancel(operation, {"from": guardian})
    advance(timelock.getMinDelay() + 1)
    coop.governor.execute(*call, {"from": coop.members[0]})
    assert coop.governor.state(proposal_id) == EXECUTED
    assert not ledger.hasRole(ledger.GUARDIAN_ROLE(), guardian)
    assert not timelock.hasRole(timelock.CANCELLER_ROLE(), guardian)


@pytest.mark.parametrize("other_action", ["fee change", "governor's canceller role", "ledger admin"])
def test_anything_more_than_a_guardian_removal_stays_cancellable(coop, governance, other_action):
    ledger, timelock, guardian = coop.ledger, coop.timelock, coop.guardian
    removal = (ledger, "revokeRole", (ledger.GUARDIAN_ROLE(), guardian))
    other = {
        "fee change": (ledger, "setFeeBps", (0,)),
        "governor's canceller role": (timelock, "revokeRole", (timelock.CANCELLER_ROLE(), coop.governor)),
        "ledger admin": (ledger, "revokeRole", (ledger.DEFAULT_ADMIN_ROLE(), timelock)),
    }[other_action]
    proposal_id, _, operation = queued_proposal(coop, governance, [removal, other], f"retire the guardian, and {other_action}")
    assert not timelock.isGuardianRemoval(operation)
    timelock.cancel(operation, {"from": guardian})
    assert coop.governor.state(proposal_id) == CANCELED
