"""Membership: join, joinBySig, joining fee, removal, soulbound (ERC-5192), one vote per member."""

import brownie
from brownie import chain
from contract_helpers import REGION_LYON, REGION_VILLEURBANNE, TOKEN, keyed_account


def test_join_mints_a_locked_token_and_one_self_delegated_vote(coop):
    newcomer = keyed_account("newcomer")
    tx = coop.join(newcomer, REGION_VILLEURBANNE)
    token_id = coop.membership.tokenIdOf(newcomer)
    assert token_id == int(newcomer.address, 16)
    assert coop.membership.ownerOf(token_id) == newcomer
    assert coop.membership.locked(token_id)
    assert tx.events["Locked"]["tokenId"] == token_id
    assert coop.membership.getVotes(newcomer) == 1
    assert coop.membership.delegates(newcomer) == newcomer
    assert coop.membership.regionOf(newcomer) == REGION_VILLEURBANNE
    assert coop.ledger.isMember(newcomer)
    assert coop.ledger.region(REGION_VILLEURBANNE)[2] == 1


def test_joining_twice_is_refused(coop, members):
    with brownie.reverts(f"AlreadyMember: {members[0].address.lower()}"):
        coop.join(members[0])


def test_joining_an_unknown_region_is_refused(coop):
    with brownie.reverts("UnknownRegion: 42"):
        coop.join(keyed_account("lost"), 42)


def test_join_by_signature_is_relayed_by_anyone(coop):
    member = keyed_account("gasless")
    deadline = chain.time() + 3_600
    signature = coop.join_signature(member, REGION_LYON, deadline)
    coop.membership.joinBySig(member, REGION_LYON, deadline, signature, {"from": coop.settler})
    assert coop.membership.isMember(member)
    assert coop.membership.nonces(member) == 1


def test_join_signature_cannot_be_replayed(coop):
    member = keyed_account("replayer")
    deadline = chain.time() + 3_600
    signature = coop.join_signature(member, REGION_LYON, deadline)
    coop.membership.joinBySig(member, REGION_LYON, deadline, signature, {"from": coop.settler})
    coop.membership.remove(member, {"from": coop.timelock})
    with brownie.reverts():
        coop.membership.joinBySig(member, REGION_LYON, deadline, signature, {"from": coop.settler})


def test_expired_join_signature_is_refused(coop):
    member = keyed_account("late")
    deadline = chain[-1].timestamp - 1
    signature = coop.join_signature(member, REGION_LYON, deadline)
    with brownie.reverts(f"JoinSignatureExpired: {deadline}"):
        coop.membership.joinBySig(member, REGION_LYON, deadline, signature, {"from": coop.settler})


def test_join_signature_for_another_region_is_refused(coop):
    member = keyed_account("wrong-region")
    deadline = chain.time() + 3_600
    signature = coop.join_signature(member, REGION_LYON, deadline)
    with brownie.reverts(f"InvalidJoinSignature: {member.address.lower()}"):
        coop.membership.joinBySig(member, REGION_VILLEURBANNE, deadline, signature, {"from": coop.settler})


def test_joining_fee_goes_to_the_treasury(coop):
    coop.membership.setJoiningFee(5 * TOKEN, {"from": coop.timelock})
    member = keyed_account("payer")
    coop.fund(member, 10 * TOKEN)
    coop.fare_token.approve(coop.ledger, 5 * TOKEN, {"from": member})
    tx = coop.join(member)
    assert tx.events["JoiningFeeCollected"]["amount"] == 5 * TOKEN
    assert coop.ledger.treasuryBalance() == 5 * TOKEN
    assert coop.fare_token.balanceOf(member) == 5 * TOKEN


def test_joining_without_paying_the_fee_changes_nothing(coop):
    coop.membership.setJoiningFee(5 * TOKEN, {"from": coop.timelock})
    member = keyed_account("broke")
    with brownie.reverts():
        coop.join(member)
    assert not coop.membership.isMember(member)
    assert coop.ledger.region(REGION_LYON)[2] == len(coop.members)


def test_removal_burns_the_membership_and_bars_rejoining(coop, members):
    member = members[5]
    coop.membership.remove(member, {"from": coop.timelock})
    assert not coop.membership.isMember(member)
    assert not coop.ledger.isMember(member)
    assert coop.membership.getVotes(member) == 0
    assert coop.ledger.region(REGION_LYON)[2] == len(members) - 1
    with brownie.reverts(f"MembershipRevoked: {member.address.lower()}"):
        coop.join(member)


def test_removed_member_withdraws_their_escrow(coop, members):
    member = members[5]
    coop.membership.remove(member, {"from": coop.timelock})
    coop.ledger.withdrawEscrow(coop.ledger.escrowOf(member), {"from": member})
    assert coop.ledger.escrowOf(member) == 0


def test_only_governance_removes_members_or_sets_fee_and_observer(coop, members):
    for call in (
        lambda: coop.membership.remove(members[1], {"from": members[0]}),
        lambda: coop.membership.setJoiningFee(1, {"from": members[0]}),
        lambda: coop.membership.setObserver(members[0], {"from": members[0]}),
    ):
        with brownie.reverts(f"OwnableUnauthorizedAccount: {members[0].address.lower()}"):
            call()


def test_membership_cannot_be_transferred_or_approved(coop, members):
    owner, other = members[0], members[1]
    token_id = coop.membership.tokenIdOf(owner)
    with brownie.reverts(f"Soulbound: {token_id}"):
        coop.membership.transferFrom(owner, other, token_id, {"from": owner})
    with brownie.reverts(f"Soulbound: {token_id}"):
        coop.membership.safeTransferFrom(owner, other, token_id, {"from": owner})
    with brownie.reverts(f"Soulbound: {token_id}"):
        coop.membership.approve(other, token_id, {"from": owner})
    with brownie.reverts("Soulbound: 0"):
        coop.membership.setApprovalForAll(other, True, {"from": owner})


def test_membership_advertises_erc5192_and_erc721(coop):
    assert coop.membership.supportsInterface("0xb45a3c0e")
    assert coop.membership.supportsInterface("0x80ac58cd")
    assert coop.membership.CLOCK_MODE() == "mode=timestamp"
    assert coop.membership.clock() == chain[-1].timestamp


def test_locked_reverts_for_a_token_that_does_not_exist(coop):
    with brownie.reverts():
        coop.membership.locked(12345)


def test_only_the_membership_calls_the_ledger_hook(coop, members):
    with brownie.reverts(f"OnlyMembership: {members[0].address.lower()}"):
        coop.ledger.onMembershipChanged(members[0], REGION_LYON, True, 0, {"from": members[0]})
