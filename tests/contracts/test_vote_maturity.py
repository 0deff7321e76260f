"""Vote maturity and the quorum floor: a membership votes only on proposals whose snapshot is at least
`votingMaturity` after the member's admission (so members admitted after a proposal was made never vote on it,
and `votingMaturity >= votingDelay` holds both ways), and a quorum is a fraction of the members, never below an
absolute floor."""

import brownie
import pytest
from brownie import chain
from contract_helpers import Governance, _enrol, keyed_account, mature

AGAINST, FOR, ABSTAIN = 0, 1, 2
DEFEATED, SUCCEEDED = 3, 4


def advance(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


def lower(account) -> str:
    return account.address.lower()


def open_proposal(coop, governance: Governance, description: str, proposer=None) -> int:
    proposal_id, _ = governance.propose([(coop.ledger, "setFeeBps", (1200,))], description, proposer=proposer)
    advance(coop.governor.votingDelay() + 1)
    return proposal_id


# ---------------------------------------------------------------- maturity


def test_a_membership_votes_from_votingMaturity_after_admission_on(coop):
    member = keyed_account("maturing")
    coop.fund(member)
    admitted = coop.join(member).timestamp
    maturity = coop.governor.votingMaturity()
    advance(maturity + 2)

    assert coop.membership.admittedAt(member) == admitted
    assert coop.membership.getPastVotes(member, admitted) == 1  # the token's own count is immediate
    assert coop.governor.getVotes(member, admitted) == 0
    assert coop.governor.getVotes(member, admitted + maturity - 1) == 0
    assert coop.governor.getVotes(member, admitted + maturity) == 1
    assert coop.governor.getVotes(member, admitted - 1) == 0


def test_members_admitted_after_a_proposal_was_made_never_vote_on_it(deploy_coop):
    # A voting delay of a minute of chain time: the late joiners' nine transactions land before the snapshot
    # however slowly a loaded machine mines them (the chain's clock follows the wall clock).
    coop = deploy_coop({"votingDelay": 60, "votingMaturity": 120, "votingPeriod": 600})
    governance = Governance(coop)
    proposal_id, _ = governance.propose([(coop.ledger, "setFeeBps", (1200,))], "fee 12 %")
    late = _enrol(coop, [f"late-joiner-{i}" for i in range(3)], escrow=0)
    advance(coop.governor.votingDelay() + 1)
    snapshot = coop.governor.proposalSnapshot(proposal_id)
    assert all(coop.membership.getPastVotes(member, snapshot) == 1 for member in late)  # members at the snapshot

    for member in late:
        with brownie.reverts(f"NoVotingPower: {lower(member)}"):
            coop.governor.castVote(proposal_id, FOR, {"from": member})
    advance(coop.governor.votingMaturity() + 1)  # mature now, still inside the voting period
    for member in late:
        with brownie.reverts(f"NoVotingPower: {lower(member)}"):
            coop.governor.castVote(proposal_id, FOR, {"from": member})
    assert tuple(coop.governor.proposalVotes(proposal_id)) == (0, 0, 0)

    second = open_proposal(coop, governance, "fee 12 %, again")
    for member in late:  # the next proposal counts them
        coop.governor.castVote(second, FOR, {"from": member})
    assert tuple(coop.governor.proposalVotes(second)) == (0, len(late), 0)


def test_an_immature_member_cannot_propose(coop, governance):
    newcomer = keyed_account("eager-proposer")
    coop.fund(newcomer)
    coop.join(newcomer)
    with brownie.reverts(revert_pattern=f"GovernorInsufficientProposerVotes: {lower(newcomer)}, 0, 1"):
        governance.propose([(coop.ledger, "setFeeBps", (0,))], "no fee", proposer=newcomer)
    mature(coop)
    proposal_id, _ = governance.propose([(coop.ledger, "setFeeBps", (0,))], "no fee", proposer=newcomer)
    assert coop.governor.proposalProposer(proposal_id) == newcomer


def test_a_member_who_leaves_or_is_removed_loses_the_vote_on_open_proposals(coop, members, governance):
    proposal_id = open_proposal(coop, governance, "fee 12 %")
    coop.membership.leave({"from": members[4]})
    coop.membership.remove(members[5], {"from": coop.timelock})
    for member in members[4:]:
        with brownie.reverts(f"NoVotingPower: {lower(member)}"):
            coop.governor.castVote(proposal_id, FOR, {"from": member})
    coop.governor.castVote(proposal_id, FOR, {"from": members[0]})


def test_voting_maturity_never_goes_below_the_voting_delay(coop, governance):
    governor = coop.governor
    delay, maturity = governor.votingDelay(), governor.votingMaturity()
    with brownie.reverts(f"VotingMaturityBelowDelay: {delay - 1}, {delay}"):
        governance.pass_([(governor, "setVotingMaturity", (delay - 1,))])
    with brownie.reverts(f"VotingMaturityBelowDelay: {maturity}, {maturity + 1}"):
        governance.pass_([(governor, "setVotingDelay", (maturity + 1,))])
    assert (governor.votingDelay(), governor.votingMaturity()) == (delay, maturity)

    tx = governance.pass_([(governor, "setVotingMaturity", (600,)), (governor, "setVotingDelay", (600,))])
    assert (governor.votingDelay(), governor.votingMaturity()) == (600, 600)
    changed = tx.events["VotingMaturitySet"][0]
    assert (changed["oldVotingMaturity"], changed["newVotingMaturity"]) == (maturity, 600)


def test_only_governance_sets_maturity_floor_and_delay(coop, members):
    for caller in (members[0], coop.guardian, coop.admissions, coop.deployer):
        for call in (
            lambda: coop.governor.setVotingMaturity(10, {"from": caller}),
            lambda: coop.governor.setQuorumFloor(10, {"from": caller}),
            lambda: coop.governor.setVotingDelay(1, {"from": caller}),
        ):
            with brownie.reverts(f"GovernorOnlyExecutor: {lower(caller)}"):
                call()


# ---------------------------------------------------------------- quorum


def test_quorum_is_the_members_fraction_with_an_absolute_floor(coop, members, governance):
    governor = coop.governor
    first = open_proposal(coop, governance, "fee 12 % with six members")
    # 20 % of 6 members is 1 vote: the floor of 3 applies.
    assert governor.quorum(governor.proposalSnapshot(first)) == governor.quorumFloor() == 3

    _enrol(coop, [f"quorum-member-{i}" for i in range(14)], escrow=0)
    mature(coop)
    second = open_proposal(coop, governance, "fee 12 % with twenty members")
    assert governor.quorum(governor.proposalSnapshot(second)) == 4  # 20 % of 20 members
    assert governor.quorum(governor.proposalSnapshot(first)) == 3  # each proposal keeps its own


@pytest.mark.parametrize(
    "ballots, outcome",
    [((FOR, FOR), DEFEATED), ((FOR, FOR, AGAINST), DEFEATED), ((FOR, FOR, ABSTAIN), SUCCEEDED),
     ((FOR, FOR, FOR), SUCCEEDED)],
)
def test_a_proposal_needs_the_quorum_floor_of_votes(coop, members, governance, ballots, outcome):
    proposal_id = open_proposal(coop, governance, f"fee 12 %: {ballots}")
    for voter, support in zip(members, ballots):
        coop.governor.castVote(proposal_id, support, {"from": voter})
    advance(coop.governor.votingPeriod() + 1)
    assert coop.governor.state(proposal_id) == outcome


def test_governance_sets_the_quorum_floor_but_never_to_zero(coop, governance):
    with brownie.reverts("InvalidQuorumFloor: 0"):
        governance.pass_([(coop.governor, "setQuorumFloor", (0,))])
    tx = governance.pass_([(coop.governor, "setQuorumFloor", (5,))])
    assert coop.governor.quorumFloor() == 5
    changed = tx.events["QuorumFloorSet"][0]
    assert (changed["oldQuorumFloor"], changed["newQuorumFloor"]) == (3, 5)
    proposal_id = open_proposal(coop, governance, "fee 12 % under a floor of 5")
    assert coop.governor.quorum(coop.governor.proposalSnapshot(proposal_id)) == 5

