"""Regressions for the attacks of the v1 security review (issue 10): each test plays one attack and asserts that it
fails. The attackers' (and, for the fee change, governance's) steps are the functions under "The attack steps";
the assertions are the tests'. With those steps written for v1's API (`join` instead of an application), every
test here fails on the v1 contracts (docs/design.md, "Threat model", lists which attack each test covers).

Fresh wallets are keyed accounts that never held a membership; "the worst case" is an admissions key fooled into
admitting them all at once."""

import brownie
import pytest
from brownie import chain
from brownie.exceptions import VirtualMachineError
from contract_helpers import CAPITAL_SHARE, MEMBER_FUNDS, REGION_LYON, REGION_VILLEURBANNE, TOKEN, Governance, keyed_account

AGAINST, FOR = 0, 1
DEFEATED = 3
DAY = 86_400
# The production windows (scripts/deploy.py PRODUCTION_PARAMS) with a quorum floor six members can reach.
PRODUCTION_WINDOWS = {"votingDelay": DAY, "votingPeriod": 5 * DAY, "timelockDelay": 2 * DAY,
                      "votingMaturity": 7 * DAY, "quorumPercent": 10, "quorumFloor": 3}


def advance(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


def fresh_wallets(coop, label: str, count: int) -> list:
    wallets = [keyed_account(f"{label}-{index}") for index in range(count)]
    for wallet in wallets:
        coop.fund(wallet)
    return wallets


# ---------------------------------------------------------------- the attack steps


def wallets_try_to_get_in(coop, wallets, region_id: int) -> list:
    """Each wallet does all it can on its own to become a member: it signs an application (with a permit for the
    capital share) and relays it itself. Returns the signed applications."""
    applications = []
    for wallet in wallets:
        application = coop.application(wallet, region_id)
        try:
            coop.admit(application, sender=wallet)
        except VirtualMachineError:
            pass
        applications.append(application)
    return applications


def admissions_key_admits(coop, applications) -> None:
    """The worst case: the admissions key, fooled by made-up identities, admits every application at once."""
    for application in applications:
        coop.admit(application)


def wallets_vote(coop, wallets, proposal_id: int, support: int) -> None:
    for wallet in wallets:
        try:
            coop.governor.castVote(proposal_id, support, {"from": wallet})
        except VirtualMachineError:
            pass


def sign_up_at_the_current_fee(coop, wallet) -> dict:
    """What a newcomer signs while the fee is low: an application for at most the current capital share."""
    return coop.application(wallet)


def governance_raises_the_fee(coop, amount: int) -> None:
    coop.membership.setCapitalShare(amount, {"from": coop.timelock})


def relay_the_sign_up(coop, signed: dict):
    return coop.admit(signed)


# ---------------------------------------------------------------- the attacks


@pytest.fixture(scope="module")
def production_coop(coop, deploy_coop):
    """A deployment with the production windows (a week's maturity); its six members are mature."""
    return deploy_coop(PRODUCTION_WINDOWS)


def test_seven_fresh_wallets_cannot_take_the_treasury_admin_role_minter_or_remove_a_member(production_coop):
    coop = production_coop
    ledger, shares, membership, governor = coop.ledger, coop.shares, coop.membership, coop.governor
    governance = Governance(coop)
    membership.remove(coop.members[5], {"from": coop.timelock})  # governance's removal leaves money in the treasury
    insider, honest = coop.members[0], coop.members[1:5]
    treasury = ledger.treasuryBalance()
    crowd = fresh_wallets(coop, "crowd", 7)
    attacker = crowd[0]
    admin = ledger.DEFAULT_ADMIN_ROLE()

    admissions_key_admits(coop, wallets_try_to_get_in(coop, crowd, REGION_LYON))
    advance(60)
    actions = [
        (ledger, "spendTreasury", (attacker, treasury)),
        (ledger, "grantRole", (admin, attacker)),
        (shares, "setMinter", (attacker,)),
        (membership, "remove", (honest[0],)),
    ]
    with brownie.reverts(revert_pattern=f"GovernorInsufficientProposerVotes: {attacker.address.lower()}, 0, 1"):
        governance.propose(actions, "the crowd's own proposal", proposer=attacker)
    proposal_id, call = governance.propose(actions, "an insider's proposal", proposer=insider)
    advance(governor.votingDelay() + 1)
    governor.castVote(proposal_id, FOR, {"from": insider})
    wallets_vote(coop, crowd, proposal_id, FOR)
    for voter in honest:
        governor.castVote(proposal_id, AGAINST, {"from": voter})
    advance(governor.votingPeriod() + 1)

    assert tuple(governor.proposalVotes(proposal_id)) == (len(honest), 1, 0)
    assert not any(governor.hasVoted(proposal_id, wallet) for wallet in crowd)
    assert governor.state(proposal_id) == DEFEATED
    with brownie.reverts(revert_pattern="GovernorUnexpectedProposalState: .*"):
        governor.queue(*call, {"from": attacker})
    assert ledger.treasuryBalance() == treasury == CAPITAL_SHARE
    assert not ledger.hasRole(admin, attacker)
    assert shares.minter() == ledger
    assert membership.isMember(honest[0])


def test_two_votes_cannot_pass_a_proposal(coop, members, governance):
    proposal_id, call = governance.propose([(coop.ledger, "setFeeBps", (0,))], "no fee, quietly")
    advance(coop.governor.votingDelay() + 1)
    for voter in members[:2]:
        coop.governor.castVote(proposal_id, FOR, {"from": voter})
    advance(coop.governor.votingPeriod() + 1)

    assert coop.governor.quorum(coop.governor.proposalSnapshot(proposal_id)) >= 3
    assert coop.governor.state(proposal_id) == DEFEATED
    with brownie.reverts(revert_pattern="GovernorUnexpectedProposalState: .*"):
        coop.governor.queue(*call, {"from": members[0]})
    assert coop.ledger.feeBps() == 1500


def test_wallets_that_get_in_after_a_proposal_is_public_cannot_vote_on_it(coop, members, governance):
    proposal_id, _ = governance.propose([(coop.ledger, "setFeeBps", (0,))], "no fee")
    late = fresh_wallets(coop, "late-joiner", 3)
    admissions_key_admits(coop, wallets_try_to_get_in(coop, late, REGION_LYON))
    advance(coop.governor.votingDelay() + coop.governor.votingMaturity() + 1)
    wallets_vote(coop, late, proposal_id, FOR)
    coop.governor.castVote(proposal_id, AGAINST, {"from": members[1]})

    assert all(coop.membership.isMember(wallet) for wallet in late)
    assert not any(coop.governor.hasVoted(proposal_id, wallet) for wallet in late)
    assert tuple(coop.governor.proposalVotes(proposal_id)) == (1, 0, 0)


def test_eight_fresh_wallets_add_nothing_to_a_regions_member_count(coop, outsider):
    crowd = fresh_wallets(coop, "villeurbanne-crowd", 8)
    wallets_try_to_get_in(coop, crowd, REGION_VILLEURBANNE)

    assert coop.ledger.region(REGION_VILLEURBANNE)[2] == 0  # members: what critical mass used to count
    assert not any(coop.ledger.isMember(wallet) or coop.membership.isMember(wallet) for wallet in crowd)
    assert all(coop.fare_token.balanceOf(wallet) == MEMBER_FUNDS for wallet in crowd)


def test_a_fee_raised_after_the_applicant_signed_cannot_be_charged(coop):
    newcomer = fresh_wallets(coop, "early-signer", 1)[0]
    coop.fare_token.approve(coop.ledger, MEMBER_FUNDS, {"from": newcomer})  # a standing allowance, for deposits later
    signed = sign_up_at_the_current_fee(coop, newcomer)
    governance_raises_the_fee(coop, 900 * TOKEN)

    with brownie.reverts(f"CapitalShareExceedsSigned: {900 * TOKEN}, {CAPITAL_SHARE}"):
        relay_the_sign_up(coop, signed)
    assert coop.fare_token.balanceOf(newcomer) == MEMBER_FUNDS
    assert not coop.membership.isMember(newcomer)


def test_the_guardian_cannot_lift_a_pause_governance_voted(coop, governance):
    governance.pass_([(coop.ledger, "pause", ())], "pause settlement until the audit is done")
    assert coop.ledger.paused()

    with brownie.reverts("PausedByGovernance: "):
        coop.ledger.unpause({"from": coop.guardian})
    assert coop.ledger.paused()
