"""Governance end to end: proposals through the Governor and the Timelock, ballots signed by members and
relayed by someone else, one member one vote, quorum, and no way around the Timelock."""

import brownie
import pytest
from brownie import accounts, chain
from contract_helpers import REGION_LYON, SHARE, Governance, mature
from eth_utils import keccak

from coopride.chain.eip712 import Domain, ballot_typed_data, sign_typed_data

AGAINST, FOR, ABSTAIN = 0, 1, 2
PENDING, ACTIVE, DEFEATED, SUCCEEDED, QUEUED, EXECUTED = 0, 1, 3, 4, 5, 7


def advance(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


@pytest.fixture(scope="module")
def relayer():
    """The backend's account that pays for relayed ballots and executions; not a member."""
    return accounts[3]


@pytest.fixture(scope="module")
def gasless_members(coop, relayer):
    """Three members who never held native currency: their signed applications and capital-share permits were
    relayed by the admissions key, and they are mature (they vote on proposals made from now on)."""
    admitted = []
    for index in range(3):
        member = accounts.add(keccak(text=f"coopride-gasless-voter-{index}"))
        coop.fund(member)
        coop.join(member)
        admitted.append(member)
    mature(coop)
    return admitted


def ballot_signature(governor, voter, proposal_id: int, support: int, nonce: int | None = None) -> bytes:
    domain = Domain("CoopGovernor", "1", chain.id, governor.address)
    nonce = governor.nonces(voter) if nonce is None else nonce
    return sign_typed_data(voter.private_key, ballot_typed_data(domain, proposal_id, support, voter.address, nonce))


def tally(governor, proposal_id: int) -> tuple[int, int, int]:
    """(against, for, abstain) votes."""
    return tuple(int(votes) for votes in governor.proposalVotes(proposal_id))


def relay_ballot(governor, voter, proposal_id: int, support: int, relayer):
    signature = ballot_signature(governor, voter, proposal_id, support)
    return governor.castVoteBySig(proposal_id, support, voter, signature, {"from": relayer})


def open_proposal(governance: Governance, actions, description: str, proposer=None):
    """Proposes and waits out the voting delay; returns (proposal id, queue/execute arguments)."""
    proposal_id, call = governance.propose(actions, description, proposer=proposer)
    advance(governance.coop.governor.votingDelay() + 1)
    return proposal_id, call


def test_fare_change_voted_by_relayed_ballots_is_charged_at_the_next_settlement(
    coop, members, gasless_members, governance, receipts, relayer
):
    ledger, governor = coop.ledger, coop.governor
    coop.activate(REGION_LYON)
    old_fare, new_fare = ledger.region(REGION_LYON)[0], 650_000
    proposal_id, (targets, values, calldatas, description_hash) = governance.propose(
        [(ledger, "setRegionFare", (REGION_LYON, new_fare))], "Lyon: 0.65 tEUR per km", proposer=members[0]
    )
    assert governor.state(proposal_id) == PENDING

    advance(governor.votingDelay() + 1)
    assert governor.state(proposal_id) == ACTIVE
    for voter in gasless_members:
        relay_ballot(governor, voter, proposal_id, FOR, relayer)
    relay_ballot(governor, members[1], proposal_id, AGAINST, relayer)
    assert tally(governor, proposal_id) == (1, 3, 0)
    assert all(voter.balance() == 0 for voter in gasless_members)

    advance(governor.votingPeriod() + 1)
    assert governor.state(proposal_id) == SUCCEEDED
    governor.queue(targets, values, calldatas, description_hash, {"from": relayer})
    assert governor.state(proposal_id) == QUEUED
    with brownie.reverts(revert_pattern="TimelockUnexpectedOperationState: .*"):
        governor.execute(targets, values, calldatas, description_hash, {"from": relayer})
    assert ledger.region(REGION_LYON)[0] == old_fare

    advance(coop.timelock.getMinDelay() + 1)
    governor.execute(targets, values, calldatas, description_hash, {"from": relayer})
    assert governor.state(proposal_id) == EXECUTED
    assert ledger.region(REGION_LYON)[0] == new_fare

    driver, rider = members[2], members[3]
    escrow_before, treasury_before = ledger.escrowOf(rider), ledger.treasuryBalance()
    tx = receipts.settle([receipts.trip(driver, rider, distance=4_000, fare=4 * new_fare)])
    settled = tx.events["TripSettled"][0]
    assert settled["fare"] == 4 * new_fare
    assert escrow_before - ledger.escrowOf(rider) == 4 * new_fare
    assert settled["fee"] == 4 * new_fare * ledger.feeBps() // 10_000
    assert ledger.treasuryBalance() - treasury_before == settled["fee"]
    assert ledger.earningsOf(driver) == settled["fare"] - settled["fee"]


def test_a_receipt_signed_before_a_fare_rise_is_charged_its_own_fare(coop, members, governance, receipts):
    # v2: the rider's authorisation caps what a booking pays; a later fare change never re-prices a signed receipt.
    coop.activate(REGION_LYON)
    old_fare = coop.ledger.region(REGION_LYON)[0]
    signed_at_old_fare = receipts.trip(members[2], members[3], distance=4_000, fare=4 * old_fare)
    governance.pass_([(coop.ledger, "setRegionFare", (REGION_LYON, old_fare * 2))])
    assert coop.ledger.region(REGION_LYON)[0] == old_fare * 2

    tx = receipts.settle([signed_at_old_fare])
    assert "TripRejected" not in tx.events
    assert tx.events["TripSettled"][0]["fare"] == 4 * old_fare


def test_each_member_has_one_vote_whatever_their_shares(coop, members, gasless_members, governance, receipts, relayer):
    # members[0] drives 40 km in bootstrap Lyon and members[1] 4 km: shares differ by ten times.
    long_trip = receipts.trip(members[0], distance=40_000, duration=3_600)
    short_trip = receipts.trip(members[1], distance=4_000)
    receipts.settle([long_trip, short_trip])
    assert coop.shares.balanceOf(members[0]) == 40 * SHARE
    assert coop.shares.balanceOf(members[1]) == 4 * SHARE
    advance(2)

    proposal_id, _ = open_proposal(governance, [(coop.ledger, "setFeeBps", (1200,))], "fee 12 %")
    snapshot = coop.governor.proposalSnapshot(proposal_id)
    voters = members + gasless_members
    for voter in members[:3]:
        coop.governor.castVote(proposal_id, FOR, {"from": voter})
    for voter in members[3:] + gasless_members:
        relay_ballot(coop.governor, voter, proposal_id, FOR, relayer)

    assert [coop.governor.getVotes(voter, snapshot) for voter in voters] == [1] * len(voters)
    assert tally(coop.governor, proposal_id) == (0, len(voters), 0)


def test_a_non_member_cannot_vote(coop, members, outsider, governance, relayer):
    proposal_id, _ = open_proposal(governance, [(coop.ledger, "setFeeBps", (1200,))], "fee 12 %")
    signature = ballot_signature(coop.governor, outsider, proposal_id, FOR)

    no_power = f"NoVotingPower: {outsider.address.lower()}"
    with brownie.reverts(no_power):
        coop.governor.castVoteBySig(proposal_id, FOR, outsider, signature, {"from": relayer})
    with brownie.reverts(no_power):
        coop.governor.castVote(proposal_id, FOR, {"from": outsider})
    assert not coop.governor.hasVoted(proposal_id, outsider)
    assert tally(coop.governor, proposal_id) == (0, 0, 0)


def test_a_relayed_ballot_cannot_be_replayed(coop, members, gasless_members, governance, relayer):
    voter = gasless_members[0]
    proposal_id, _ = open_proposal(governance, [(coop.ledger, "setFeeBps", (1200,))], "fee 12 %")
    signature = ballot_signature(coop.governor, voter, proposal_id, FOR)
    coop.governor.castVoteBySig(proposal_id, FOR, voter, signature, {"from": relayer})

    with brownie.reverts(revert_pattern="GovernorInvalidSignature: .*"):
        coop.governor.castVoteBySig(proposal_id, FOR, voter, signature, {"from": members[1]})
    second_id, _ = open_proposal(governance, [(coop.ledger, "setFeeBps", (1100,))], "fee 11 %")
    with brownie.reverts(revert_pattern="GovernorInvalidSignature: .*"):
        coop.governor.castVoteBySig(second_id, FOR, voter, signature, {"from": relayer})
    assert tally(coop.governor, proposal_id) == (0, 1, 0)
    assert tally(coop.governor, second_id) == (0, 0, 0)


def test_a_ballot_signed_by_someone_else_is_rejected(coop, members, governance, relayer):
    proposal_id, _ = open_proposal(governance, [(coop.ledger, "setFeeBps", (1200,))], "fee 12 %")
    forged = ballot_signature(coop.governor, members[1], proposal_id, FOR, nonce=coop.governor.nonces(members[0]))

    with brownie.reverts(revert_pattern="GovernorInvalidSignature: .*"):
        coop.governor.castVoteBySig(proposal_id, FOR, members[0], forged, {"from": relayer})
    assert not coop.governor.hasVoted(proposal_id, members[0])


@pytest.fixture(scope="module")
def strict_quorum_coop(coop, deploy_coop):
    """A second deployment whose quorum is half the six members: three votes."""
    return deploy_coop({"quorumPercent": 50})


@pytest.mark.parametrize(
    "ballots, outcome",
    [
        ((FOR, FOR), DEFEATED),
        ((FOR, FOR, AGAINST), DEFEATED),
        ((FOR, FOR, ABSTAIN), SUCCEEDED),
        ((FOR, FOR, FOR), SUCCEEDED),
    ],
)
def test_a_proposal_without_quorum_is_defeated(strict_quorum_coop, ballots, outcome):
    coop = strict_quorum_coop
    governance = Governance(coop)
    proposal_id, (targets, values, calldatas, description_hash) = open_proposal(
        governance, [(coop.ledger, "setFeeBps", (1000,))], "fee 10 %"
    )
    assert coop.governor.quorum(coop.governor.proposalSnapshot(proposal_id)) == 3
    for voter, support in zip(coop.members, ballots):
        coop.governor.castVote(proposal_id, support, {"from": voter})
    advance(coop.governor.votingPeriod() + 1)

    assert coop.governor.state(proposal_id) == outcome
    if outcome == DEFEATED:
        with brownie.reverts(revert_pattern="GovernorUnexpectedProposalState: .*"):
            coop.governor.queue(targets, values, calldatas, description_hash, {"from": coop.members[0]})


def test_the_deployer_cannot_bypass_the_timelock(coop, members):
    deployer, ledger, timelock = coop.deployer, coop.ledger, coop.timelock
    unauthorised = "AccessControlUnauthorizedAccount: .*"
    with brownie.reverts(revert_pattern=unauthorised):
        ledger.setRegionFare(REGION_LYON, 1, {"from": deployer})
    with brownie.reverts(revert_pattern=unauthorised):
        ledger.grantRole(ledger.SETTLER_ROLE(), deployer, {"from": deployer})
    with brownie.reverts(revert_pattern="OwnableUnauthorizedAccount: .*"):
        coop.shares.grant(deployer, SHARE, "self-dealing", {"from": deployer})
    with brownie.reverts(revert_pattern="OwnableUnauthorizedAccount: .*"):
        coop.membership.remove(members[0], {"from": deployer})

    call = ledger.setRegionFare.encode_input(REGION_LYON, 1)
    salt = b"\x00" * 32
    with brownie.reverts(revert_pattern=unauthorised):
        timelock.schedule(ledger, 0, call, salt, salt, timelock.getMinDelay(), {"from": deployer})
    with brownie.reverts(revert_pattern="TimelockUnexpectedOperationState: .*"):
        timelock.execute(ledger, 0, call, salt, salt, {"from": deployer})
    with brownie.reverts(revert_pattern="GovernorOnlyExecutor: .*"):
        coop.governor.relay(ledger, 0, call, {"from": deployer})
    assert ledger.region(REGION_LYON)[0] == 500_000


def test_a_member_cannot_schedule_on_the_timelock_directly(coop, members):
    call = coop.ledger.setFeeBps.encode_input(0)
    salt = b"\x00" * 32
    with brownie.reverts(revert_pattern="AccessControlUnauthorizedAccount: .*"):
        coop.timelock.schedule(coop.ledger, 0, call, salt, salt, 30, {"from": members[0]})
    assert coop.ledger.feeBps() == 1500

