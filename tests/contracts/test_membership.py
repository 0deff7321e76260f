"""Membership: signed applications admitted by the admissions role or governance, the capital share (collected at
admission, held by the ledger apart from the treasury, returned on leaving, forfeited on removal), leaving,
removal, soulbound tokens (ERC-5192), one vote per member."""

import brownie
import pytest
from brownie import chain
from contract_helpers import CAPITAL_SHARE, MEMBER_ESCROW, MEMBER_FUNDS, REGION_LYON, REGION_VILLEURBANNE, TOKEN, keyed_account


@pytest.fixture
def applicant(coop):
    account = keyed_account("applicant")
    coop.fund(account)
    return account


def lower(account) -> str:
    return account.address.lower()


def ledger_holds_exactly_its_balances(coop) -> bool:
    """Every fare token the ledger holds is someone's escrow or earnings, the treasury, or a capital share."""
    ledger = coop.ledger
    accounts = coop.members + [keyed_account("applicant")]
    owed = sum(ledger.escrowOf(a) + ledger.earningsOf(a) for a in accounts)
    return coop.fare_token.balanceOf(ledger) == owed + ledger.treasuryBalance() + ledger.capitalHeld()


# ---------------------------------------------------------------- admission


def test_admission_mints_a_locked_self_delegated_vote_and_collects_the_capital_share(coop, applicant):
    held_before = coop.ledger.capitalHeld()
    tx = coop.join(applicant, REGION_VILLEURBANNE)

    token_id = coop.membership.tokenIdOf(applicant)
    assert token_id == int(applicant.address, 16)
    assert coop.membership.ownerOf(token_id) == applicant and coop.membership.locked(token_id)
    assert coop.membership.delegates(applicant) == applicant
    assert coop.membership.getVotes(applicant) == 1
    assert coop.membership.regionOf(applicant) == REGION_VILLEURBANNE
    assert coop.membership.admittedAt(applicant) == tx.timestamp
    assert coop.membership.capitalPaid(applicant) == CAPITAL_SHARE
    assert coop.ledger.isMember(applicant)
    assert coop.ledger.region(REGION_VILLEURBANNE)[2] == 1
    assert coop.ledger.capitalHeld() == held_before + CAPITAL_SHARE
    assert coop.fare_token.balanceOf(applicant) == MEMBER_FUNDS - CAPITAL_SHARE
    assert coop.ledger.treasuryBalance() == 0  # the capital share is not the treasury's
    admitted = tx.events["MemberAdmitted"][0]
    assert (admitted["member"], admitted["regionId"], admitted["capitalShare"], admitted["admittedBy"]) == (
        applicant, REGION_VILLEURBANNE, CAPITAL_SHARE, coop.admissions)
    assert tx.events["CapitalShareCollected"][0]["amount"] == CAPITAL_SHARE
    assert tx.events["Locked"][0]["tokenId"] == token_id
    assert ledger_holds_exactly_its_balances(coop)


def test_governance_admits_an_application_too(coop, applicant):
    tx = coop.admit(coop.application(applicant), sender=coop.timelock)
    assert coop.membership.isMember(applicant)
    assert tx.events["MemberAdmitted"][0]["admittedBy"] == coop.timelock


def test_only_the_admissions_role_or_governance_admits(coop, members, applicant, outsider):
    application = coop.application(applicant)
    for caller in (applicant, outsider, members[0], coop.settler, coop.guardian, coop.deployer):
        with brownie.reverts(f"NotAdmissions: {lower(caller)}"):
            coop.admit(application, sender=caller)
    assert not coop.membership.isMember(applicant)
    assert coop.membership.nonces(applicant) == 0


def test_a_hundred_applications_from_fresh_wallets_change_nothing_on_chain(coop, members):
    membership, ledger, governor = coop.membership, coop.ledger, coop.governor
    before = (membership.getPastTotalSupply(chain[-1].timestamp - 1), ledger.region(REGION_LYON), ledger.region(REGION_VILLEURBANNE),
              ledger.capitalHeld(), ledger.treasuryBalance(), coop.shares.totalSupply())
    crowd = [keyed_account(f"crowd-applicant-{i}") for i in range(100)]
    for index, wallet in enumerate(crowd):
        coop.fund(wallet, CAPITAL_SHARE)
        application = coop.application(wallet, REGION_VILLEURBANNE if index % 2 else REGION_LYON)
        if index < 5:  # an applicant cannot admit itself, however it relays its application
            with brownie.reverts(f"NotAdmissions: {lower(wallet)}"):
                coop.admit(application, sender=wallet)
    chain.sleep(governor.votingMaturity() + 1)
    chain.mine()

    now = chain[-1].timestamp - 1
    assert (membership.getPastTotalSupply(now), ledger.region(REGION_LYON), ledger.region(REGION_VILLEURBANNE),
            ledger.capitalHeld(), ledger.treasuryBalance(), coop.shares.totalSupply()) == before
    assert membership.getPastTotalSupply(now) == len(members)
    for wallet in crowd:
        assert not membership.isMember(wallet) and not ledger.isMember(wallet)
        assert membership.getVotes(wallet) == 0 and governor.getVotes(wallet, now) == 0
        assert membership.nonces(wallet) == 0 and coop.fare_token.balanceOf(wallet) == CAPITAL_SHARE


def test_a_capital_share_lowered_after_signing_charges_the_lower_amount(coop, applicant):
    application = coop.application(applicant)
    coop.membership.setCapitalShare(4 * TOKEN, {"from": coop.timelock})
    tx = coop.admit(application)
    assert tx.events["CapitalShareCollected"][0]["amount"] == 4 * TOKEN
    assert coop.membership.capitalPaid(applicant) == 4 * TOKEN
    assert coop.fare_token.balanceOf(applicant) == MEMBER_FUNDS - 4 * TOKEN


def test_a_free_admission_moves_no_tokens(coop, applicant):
    coop.membership.setCapitalShare(0, {"from": coop.timelock})
    tx = coop.admit(coop.application(applicant))
    assert "CapitalShareCollected" not in tx.events
    assert coop.membership.capitalPaid(applicant) == 0
    assert coop.fare_token.balanceOf(applicant) == MEMBER_FUNDS


def test_an_expired_application_is_refused(coop, applicant):
    deadline = chain[-1].timestamp - 1
    with brownie.reverts(f"ApplicationExpired: {deadline}"):
        coop.admit(coop.application(applicant, deadline=deadline))
    assert not coop.membership.isMember(applicant)


@pytest.mark.parametrize("changed", ["region", "capital", "deadline", "applicant"])
def test_an_application_with_other_terms_than_signed_is_refused(coop, applicant, changed):
    application = coop.application(applicant, max_capital_share=2 * CAPITAL_SHARE)
    region_id, max_share, deadline, who = REGION_LYON, 2 * CAPITAL_SHARE, application["deadline"], applicant
    if changed == "region":
        region_id = REGION_VILLEURBANNE
    elif changed == "capital":
        max_share = 3 * CAPITAL_SHARE
    elif changed == "deadline":
        deadline += 1
    else:
        who = keyed_account("impostor")
    with brownie.reverts(f"InvalidApplicationSignature: {lower(who)}"):
        coop.membership.admit(who, region_id, max_share, deadline, application["signature"], {"from": coop.admissions})


def test_an_application_cannot_be_replayed_after_leaving(coop, applicant):
    application = coop.application(applicant)
    coop.admit(application)
    coop.membership.leave({"from": applicant})
    with brownie.reverts(f"InvalidApplicationSignature: {lower(applicant)}"):
        coop.membership.admit(applicant, REGION_LYON, application["max_capital_share"], application["deadline"],
                              application["signature"], {"from": coop.admissions})
    assert not coop.membership.isMember(applicant)


def test_admission_without_the_capital_share_funds_changes_nothing(coop):
    broke = keyed_account("broke")
    coop.fund(broke, CAPITAL_SHARE - 1)
    with brownie.reverts(revert_pattern="ERC20InsufficientBalance: .*"):
        coop.join(broke)
    assert not coop.membership.isMember(broke) and not coop.ledger.isMember(broke)
    assert coop.membership.nonces(broke) == 0
    assert coop.ledger.region(REGION_LYON)[2] == len(coop.members)


def test_admission_without_an_allowance_for_the_capital_share_is_refused(coop, applicant):
    application = coop.application(applicant, permit_value=CAPITAL_SHARE - 1)
    with brownie.reverts(revert_pattern="ERC20InsufficientAllowance: .*"):
        coop.admit(application)
    assert not coop.membership.isMember(applicant)


def test_admission_to_an_unknown_region_is_refused(coop, applicant):
    with brownie.reverts("UnknownRegion: 42"):
        coop.join(applicant, 42)


def test_admitting_a_member_twice_is_refused(coop, members):
    with brownie.reverts(f"AlreadyMember: {lower(members[0])}"):
        coop.join(members[0])


def test_the_admissions_role_is_set_by_governance(coop, applicant, members):
    new_admissions = members[3]
    tx = coop.membership.setAdmissions(new_admissions, {"from": coop.timelock})
    assert tx.events["AdmissionsSet"][0]["admissions"] == new_admissions
    application = coop.application(applicant)
    with brownie.reverts(f"NotAdmissions: {lower(coop.admissions)}"):
        coop.admit(application)
    coop.admit(application, sender=new_admissions)
    assert coop.membership.isMember(applicant)


# ---------------------------------------------------------------- leaving


def test_leaving_returns_the_capital_share_and_ends_the_vote(coop, members):
    member = members[5]
    wallet_before, held_before = coop.fare_token.balanceOf(member), coop.ledger.capitalHeld()
    tx = coop.membership.leave({"from": member})

    assert not coop.membership.isMember(member) and not coop.ledger.isMember(member)
    assert coop.membership.getVotes(member) == 0
    assert coop.membership.admittedAt(member) == 0 and coop.membership.capitalPaid(member) == 0
    assert coop.fare_token.balanceOf(member) == wallet_before + CAPITAL_SHARE
    assert coop.ledger.capitalHeld() == held_before - CAPITAL_SHARE
    assert coop.ledger.region(REGION_LYON)[2] == len(members) - 1
    left = tx.events["MemberLeft"][0]
    assert (left["member"], left["regionId"], left["capitalReturned"]) == (member, REGION_LYON, CAPITAL_SHARE)
    assert tx.events["CapitalShareReturned"][0]["amount"] == CAPITAL_SHARE
    assert not coop.membership.isRevoked(member)
    assert ledger_holds_exactly_its_balances(coop)


def test_a_member_who_left_keeps_their_escrow_withdrawable(coop, members):
    member = members[5]
    coop.membership.leave({"from": member})
    coop.ledger.withdrawEscrow(MEMBER_ESCROW, {"from": member})
    assert coop.ledger.escrowOf(member) == 0


def test_a_member_who_left_may_apply_again_and_matures_anew(coop, members):
    member = members[5]
    coop.membership.leave({"from": member})
    tx = coop.join(member)
    assert coop.membership.isMember(member)
    assert coop.membership.admittedAt(member) == tx.timestamp
    assert coop.membership.capitalPaid(member) == CAPITAL_SHARE
    assert coop.governor.getVotes(member, tx.timestamp) == 0  # not mature again yet


def test_leave_by_signature_is_relayed_by_anyone(coop, members):
    member = members[4]
    deadline = chain.time() + 3_600
    signature = coop.leave_signature(member, deadline)
    tx = coop.membership.leaveBySig(member, deadline, signature, {"from": coop.settler})
    assert not coop.membership.isMember(member)
    assert tx.events["CapitalShareReturned"][0]["member"] == member
    assert coop.membership.nonces(member) == 2  # one for the application, one for leaving


def test_a_leave_signature_cannot_be_replayed_or_forged_or_used_late(coop, members):
    member, other = members[4], members[3]
    late = chain[-1].timestamp - 1
    with brownie.reverts(f"LeaveSignatureExpired: {late}"):
        coop.membership.leaveBySig(member, late, coop.leave_signature(member, late), {"from": coop.settler})
    deadline = chain.time() + 3_600
    forged = coop.leave_signature(other, deadline, nonce=coop.membership.nonces(member))
    with brownie.reverts(f"InvalidLeaveSignature: {lower(member)}"):
        coop.membership.leaveBySig(member, deadline, forged, {"from": coop.settler})
    signature = coop.leave_signature(member, deadline)
    coop.membership.leaveBySig(member, deadline, signature, {"from": coop.settler})
    coop.join(member)
    with brownie.reverts(f"InvalidLeaveSignature: {lower(member)}"):
        coop.membership.leaveBySig(member, deadline, signature, {"from": coop.settler})
    assert coop.membership.isMember(member)


def test_a_non_member_cannot_leave(coop, outsider):
    with brownie.reverts(f"NotAMember: {lower(outsider)}"):
        coop.membership.leave({"from": outsider})


# ---------------------------------------------------------------- removal


def test_removal_forfeits_the_capital_share_to_the_treasury_and_bars_readmission(coop, members):
    member = members[5]
    wallet_before, held_before = coop.fare_token.balanceOf(member), coop.ledger.capitalHeld()
    tx = coop.membership.remove(member, {"from": coop.timelock})

    assert not coop.membership.isMember(member) and not coop.ledger.isMember(member)
    assert coop.membership.isRevoked(member)
    assert coop.membership.getVotes(member) == 0
    assert coop.ledger.region(REGION_LYON)[2] == len(members) - 1
    assert coop.fare_token.balanceOf(member) == wallet_before
    assert coop.ledger.capitalHeld() == held_before - CAPITAL_SHARE
    assert coop.ledger.treasuryBalance() == CAPITAL_SHARE
    removed = tx.events["MemberRemoved"][0]
    assert (removed["member"], removed["regionId"], removed["capitalForfeited"]) == (member, REGION_LYON, CAPITAL_SHARE)
    assert tx.events["CapitalShareForfeited"][0]["amount"] == CAPITAL_SHARE
    with brownie.reverts(f"MembershipRevoked: {lower(member)}"):
        coop.join(member)
    assert ledger_holds_exactly_its_balances(coop)


def test_a_removed_member_withdraws_their_escrow(coop, members):
    member = members[5]
    coop.membership.remove(member, {"from": coop.timelock})
    coop.ledger.withdrawEscrow(coop.ledger.escrowOf(member), {"from": member})
    assert coop.ledger.escrowOf(member) == 0


def test_only_governance_removes_members_or_sets_capital_share_admissions_and_observer(coop, members):
    for caller in (members[0], coop.admissions, coop.guardian):
        for call in (
            lambda: coop.membership.remove(members[1], {"from": caller}),
            lambda: coop.membership.setCapitalShare(1, {"from": caller}),
            lambda: coop.membership.setAdmissions(caller, {"from": caller}),
            lambda: coop.membership.setObserver(caller, {"from": caller}),
        ):
            with brownie.reverts(f"OwnableUnauthorizedAccount: {lower(caller)}"):
                call()


def test_capital_share_changes_are_announced_and_bounded(coop):
    tx = coop.membership.setCapitalShare(25 * TOKEN, {"from": coop.timelock})
    assert tx.events["CapitalShareSet"][0]["capitalShare"] == 25 * TOKEN
    assert coop.membership.capitalShare() == 25 * TOKEN
    with brownie.reverts(f"SafeCastOverflowedUintDowncast: 96, {2**96}"):
        coop.membership.setCapitalShare(2**96, {"from": coop.timelock})


# ---------------------------------------------------------------- capital apart from the treasury


def test_treasury_spending_never_touches_the_capital_shares(coop, members):
    ledger = coop.ledger
    assert ledger.capitalHeld() == len(members) * CAPITAL_SHARE
    with brownie.reverts("TreasuryInsufficient: 0, 1"):
        ledger.spendTreasury(coop.deployer, 1, {"from": coop.timelock})
    with brownie.reverts("TreasuryInsufficient: 0, 1"):
        ledger.distributeSurplus(1, {"from": coop.timelock})

    coop.membership.remove(members[5], {"from": coop.timelock})  # forfeits one capital share to the treasury
    with brownie.reverts(f"TreasuryInsufficient: {CAPITAL_SHARE}, {CAPITAL_SHARE + 1}"):
        ledger.spendTreasury(coop.deployer, CAPITAL_SHARE + 1, {"from": coop.timelock})
    ledger.spendTreasury(coop.deployer, CAPITAL_SHARE, {"from": coop.timelock})
    assert ledger.capitalHeld() == (len(members) - 1) * CAPITAL_SHARE
    for member in members[:5]:  # every remaining member can still be paid back
        coop.membership.leave({"from": member})
    assert ledger.capitalHeld() == 0
    assert ledger_holds_exactly_its_balances(coop)


@pytest.mark.parametrize("hook", ["onAdmitted", "onLeft", "onRemoved"])
def test_only_the_membership_calls_the_ledger_hooks(coop, members, hook):
    with brownie.reverts(f"OnlyMembership: {lower(members[0])}"):
        getattr(coop.ledger, hook)(members[0], REGION_LYON, 0, {"from": members[0]})


# ---------------------------------------------------------------- the token


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
