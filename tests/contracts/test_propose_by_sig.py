"""Gas-free proposals: a member signs an EIP-712 `Proposal`, anyone relays `CoopGovernor.proposeBySig`, and the
Governor records the member (not the relayer) as proposer. Outsiders, replays, expired and tampered signatures are
refused and leave no proposal and no spent nonce."""

import brownie
import pytest
from brownie import accounts, chain
from eth_utils import keccak
from brownie.test import given
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from coopride.chain.eip712 import Domain, proposal_typed_data, sign_typed_data

PENDING, EXECUTED = 0, 7
FOR = 1
SIGNATURE_LIFETIME = 3600


@pytest.fixture(scope="module")
def relayer(coop):
    """The backend's key: pays the gas, holds no membership and no vote."""
    account = accounts[3]
    assert not coop.membership.isMember(account)
    return account


@pytest.fixture(scope="module")
def governor_domain(coop) -> Domain:
    return Domain.from_manifest(coop.manifest["eip712"]["governor"])


@pytest.fixture(scope="module")
def fee_change(coop):
    """(targets, values, calldatas, description) lowering the fee to 12 %."""
    return [coop.ledger.address], [0], [coop.ledger.setFeeBps.encode_input(1200)], "Lower the cooperative fee to 12 %"


def sign_proposal(coop, domain, signer, proposal, proposer=None, deadline=None, nonce=None) -> tuple[int, bytes]:
    """(deadline, signature) of `signer` over `proposal` on behalf of `proposer` (default: the signer)."""
    targets, values, calldatas, description = proposal
    proposer = proposer or signer
    deadline = chain.time() + SIGNATURE_LIFETIME if deadline is None else deadline
    nonce = coop.governor.nonces(proposer) if nonce is None else nonce
    proposal_hash = coop.governor.hashProposal(targets, values, calldatas, keccak(text=description))
    typed = proposal_typed_data(domain, proposer.address, proposal_hash, nonce, deadline)
    return deadline, sign_typed_data(signer.private_key, typed)


def relay(coop, relayer, proposal, proposer, deadline, signature):
    targets, values, calldatas, description = proposal
    return coop.governor.proposeBySig(targets, values, calldatas, description, proposer, deadline, signature,
                                      {"from": relayer})


def proposal_exists(coop, proposal) -> bool:
    targets, values, calldatas, description = proposal
    proposal_id = coop.governor.hashProposal(targets, values, calldatas, keccak(text=description))
    return coop.governor.proposalSnapshot(proposal_id) != 0


def test_a_members_signed_proposal_relayed_by_a_non_member_names_the_member_as_proposer(
    coop, members, relayer, governor_domain, fee_change
):
    proposer = members[0]
    nonce = coop.governor.nonces(proposer)
    deadline, signature = sign_proposal(coop, governor_domain, proposer, fee_change)

    tx = relay(coop, relayer, fee_change, proposer, deadline, signature)

    proposal_id = tx.return_value
    targets, values, calldatas, description = fee_change
    assert proposal_id == coop.governor.hashProposal(targets, values, calldatas, keccak(text=description))
    created = tx.events["ProposalCreated"]
    assert created["proposalId"] == proposal_id and created["proposer"] == proposer.address
    assert created["description"] == description and list(created["targets"]) == targets
    assert coop.governor.proposalProposer(proposal_id) == proposer.address
    assert coop.governor.state(proposal_id) == PENDING
    assert coop.governor.nonces(proposer) == nonce + 1


def test_a_signed_proposal_goes_through_vote_queue_and_execution(coop, members, relayer, governor_domain, fee_change):
    deadline, signature = sign_proposal(coop, governor_domain, members[1], fee_change)
    proposal_id = relay(coop, relayer, fee_change, members[1], deadline, signature).return_value
    chain.sleep(coop.governor.votingDelay() + 1)
    chain.mine()
    for voter in members:
        coop.governor.castVote(proposal_id, FOR, {"from": voter})
    chain.sleep(coop.governor.votingPeriod() + 1)
    chain.mine()
    targets, values, calldatas, description = fee_change
    coop.governor.queue(targets, values, calldatas, keccak(text=description), {"from": relayer})
    chain.sleep(coop.timelock.getMinDelay() + 1)
    chain.mine()
    coop.governor.execute(targets, values, calldatas, keccak(text=description), {"from": relayer})

    assert coop.governor.state(proposal_id) == EXECUTED
    assert coop.ledger.feeBps() == 1200


def test_an_outsiders_signed_proposal_is_refused_for_lack_of_votes(coop, outsider, relayer, governor_domain, fee_change):
    deadline, signature = sign_proposal(coop, governor_domain, outsider, fee_change)
    with brownie.reverts(f"GovernorInsufficientProposerVotes: {outsider.address.lower()}, 0, 1"):
        relay(coop, relayer, fee_change, outsider, deadline, signature)
    assert not proposal_exists(coop, fee_change)


def test_a_replayed_signature_is_refused(coop, members, relayer, governor_domain, fee_change):
    proposer = members[0]
    deadline, signature = sign_proposal(coop, governor_domain, proposer, fee_change)
    relay(coop, relayer, fee_change, proposer, deadline, signature)
    with brownie.reverts(f"InvalidProposalSignature: {proposer.address.lower()}"):
        relay(coop, relayer, fee_change, proposer, deadline, signature)


def test_an_expired_signature_is_refused(coop, members, relayer, governor_domain, fee_change):
    proposer = members[0]
    deadline, signature = sign_proposal(coop, governor_domain, proposer, fee_change, deadline=chain.time() + 5)
    chain.sleep(10)
    chain.mine()
    with brownie.reverts(f"ProposalSignatureExpired: {deadline}"):
        relay(coop, relayer, fee_change, proposer, deadline, signature)
    assert not proposal_exists(coop, fee_change)


def test_a_signature_over_other_calldata_is_refused_and_the_genuine_one_still_works(
    coop, members, relayer, governor_domain, fee_change
):
    proposer = members[0]
    nonce = coop.governor.nonces(proposer)
    deadline, signature = sign_proposal(coop, governor_domain, proposer, fee_change)
    targets, values, _, description = fee_change
    tampered = (targets, values, [coop.ledger.setFeeBps.encode_input(0)], description)

    with brownie.reverts(f"InvalidProposalSignature: {proposer.address.lower()}"):
        relay(coop, relayer, tampered, proposer, deadline, signature)

    assert not proposal_exists(coop, tampered)
    assert coop.governor.nonces(proposer) == nonce
    relay(coop, relayer, fee_change, proposer, deadline, signature)
    assert proposal_exists(coop, fee_change)


def test_a_member_cannot_sign_a_proposal_in_another_members_name(coop, members, relayer, governor_domain, fee_change):
    impostor, victim = members[0], members[1]
    deadline, signature = sign_proposal(coop, governor_domain, impostor, fee_change, proposer=victim)
    with brownie.reverts(f"InvalidProposalSignature: {victim.address.lower()}"):
        relay(coop, relayer, fee_change, victim, deadline, signature)


def test_a_description_reserved_for_another_proposer_is_refused(coop, members, relayer, governor_domain, fee_change):
    proposer, other = members[0], members[1]
    targets, values, calldatas, _ = fee_change
    reserved = (targets, values, calldatas, f"Lower the fee #proposer={other.address}")
    deadline, signature = sign_proposal(coop, governor_domain, proposer, reserved)
    with brownie.reverts(f"GovernorRestrictedProposer: {proposer.address.lower()}"):
        relay(coop, relayer, reserved, proposer, deadline, signature)


def test_a_signature_for_another_governor_is_refused(coop, members, relayer, fee_change):
    proposer = members[0]
    elsewhere = Domain("CoopGovernor", "1", chain.id, coop.ledger.address)
    deadline, signature = sign_proposal(coop, elsewhere, proposer, fee_change)
    with brownie.reverts(f"InvalidProposalSignature: {proposer.address.lower()}"):
        relay(coop, relayer, fee_change, proposer, deadline, signature)


TAMPERINGS = ["target", "value", "calldata", "description", "deadline", "nonce"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tampering=st.sampled_from(TAMPERINGS), amount=st.integers(min_value=1, max_value=2**64))
def test_any_change_to_what_was_signed_is_refused(coop, members, relayer, governor_domain, fee_change, tampering, amount):
    proposer = members[2]
    nonce = coop.governor.nonces(proposer)
    targets, values, calldatas, description = fee_change
    signed_deadline = chain.time() + SIGNATURE_LIFETIME
    relayed = {"proposal": fee_change, "deadline": signed_deadline}
    if tampering == "target":
        relayed["proposal"] = ([coop.shares.address], values, calldatas, description)
    elif tampering == "value":
        relayed["proposal"] = (targets, [amount], calldatas, description)
    elif tampering == "calldata":
        relayed["proposal"] = (targets, values, [coop.ledger.setFeeBps.encode_input(amount % 1200)], description)
    elif tampering == "description":
        relayed["proposal"] = (targets, values, calldatas, f"{description} ({amount})")
    elif tampering == "deadline":
        relayed["deadline"] = signed_deadline + amount
    signed_nonce = nonce + amount if tampering == "nonce" else nonce
    _, signature = sign_proposal(coop, governor_domain, proposer, fee_change, deadline=signed_deadline,
                                 nonce=signed_nonce)

    with brownie.reverts(f"InvalidProposalSignature: {proposer.address.lower()}"):
        relay(coop, relayer, relayed["proposal"], proposer, relayed["deadline"], signature)
    assert not proposal_exists(coop, relayed["proposal"])
    assert coop.governor.nonces(proposer) == nonce
