"""CoopShare: non-transferable, capped, minted by the ledger and by governance grants; surplus distributed
pro rata to shares in O(1) and claimed by each member."""

import brownie
from contract_helpers import SHARE, TOKEN


def about(expected):
    """Per-share maths rounds down: a holder may get one fare-token unit less, never more."""
    return range(expected - 1, expected + 1)


def _grant(coop, member, amount):
    return coop.shares.grant(member, amount, "contribution", {"from": coop.timelock})


def test_shares_cannot_be_transferred_or_approved(coop, members):
    a, b = members[0], members[1]
    _grant(coop, a, 10 * SHARE)
    with brownie.reverts("SharesNotTransferable: "):
        coop.shares.transfer(b, SHARE, {"from": a})
    with brownie.reverts("SharesNotTransferable: "):
        coop.shares.approve(b, SHARE, {"from": a})
    with brownie.reverts("SharesNotTransferable: "):
        coop.shares.transferFrom(a, b, SHARE, {"from": b})
    assert coop.shares.balanceOf(a) == 10 * SHARE


def test_grant_mints_and_records_the_reason(coop, members):
    tx = _grant(coop, members[0], 3 * SHARE)
    assert tx.events["SharesGranted"]["reason"] == "contribution"
    assert tx.events["Transfer"]["value"] == 3 * SHARE
    assert coop.shares.totalSupply() == 3 * SHARE
    assert coop.shares.decimals() == 18


def test_grant_beyond_the_cap_is_refused(coop, members):
    cap = coop.shares.cap()
    with brownie.reverts(f"ShareCapExceeded: 0, {cap + 1}, {cap}"):
        _grant(coop, members[0], cap + 1)


def test_only_governance_grants_and_sets_the_minter(coop, members):
    who = members[0].address.lower()
    with brownie.reverts(f"OwnableUnauthorizedAccount: {who}"):
        coop.shares.grant(members[0], 1, "me", {"from": members[0]})
    with brownie.reverts(f"OwnableUnauthorizedAccount: {who}"):
        coop.shares.setMinter(members[0], {"from": members[0]})


def test_only_the_ledger_mints_rewards(coop, members):
    with brownie.reverts(f"NotMinter: {members[0].address.lower()}"):
        coop.shares.mintBatch([members[0]], [SHARE], {"from": members[0]})


def _distribute(coop, amount):
    coop.fund(coop.deployer, amount)
    coop.fare_token.approve(coop.shares, amount, {"from": coop.deployer})
    return coop.shares.distribute(amount, {"from": coop.deployer})


def test_surplus_is_shared_pro_rata_to_shares(coop, members):
    a, b = members[0], members[1]
    _grant(coop, a, 30 * SHARE)
    _grant(coop, b, 10 * SHARE)
    tx = _distribute(coop, 100 * TOKEN)
    assert tx.events["SurplusDistributed"]["totalShares"] == 40 * SHARE
    assert coop.shares.claimable(a) in about(75 * TOKEN)
    assert coop.shares.claimable(b) in about(25 * TOKEN)


def test_shares_minted_after_a_distribution_do_not_share_in_it(coop, members):
    a, b = members[0], members[1]
    _grant(coop, a, 10 * SHARE)
    _distribute(coop, 50 * TOKEN)
    _grant(coop, b, 10 * SHARE)
    assert coop.shares.claimable(b) == 0
    _distribute(coop, 20 * TOKEN)
    assert coop.shares.claimable(a) in about(60 * TOKEN)
    assert coop.shares.claimable(b) in about(10 * TOKEN)


def test_claim_pays_once(coop, members):
    a = members[0]
    _grant(coop, a, 10 * SHARE)
    _distribute(coop, 8 * TOKEN)
    before = coop.fare_token.balanceOf(a)
    tx = coop.shares.claim({"from": a})
    paid = tx.events["SurplusClaimed"]["amount"]
    assert paid in about(8 * TOKEN)
    assert coop.fare_token.balanceOf(a) == before + paid
    assert coop.shares.claimable(a) == 0
    with brownie.reverts(f"NothingToClaim: {a.address.lower()}"):
        coop.shares.claim({"from": a})


def test_anyone_relays_a_claim_that_pays_the_member(coop, members):
    a, relayer = members[0], members[1]
    _grant(coop, a, 10 * SHARE)
    _distribute(coop, 8 * TOKEN)
    before_a, before_relayer = coop.fare_token.balanceOf(a), coop.fare_token.balanceOf(relayer)
    coop.shares.claimFor(a, {"from": relayer})
    assert coop.fare_token.balanceOf(a) - before_a in about(8 * TOKEN)
    assert coop.fare_token.balanceOf(relayer) == before_relayer


def test_distribution_without_shares_or_amount_is_refused(coop):
    coop.fund(coop.deployer, TOKEN)
    coop.fare_token.approve(coop.shares, TOKEN, {"from": coop.deployer})
    with brownie.reverts("NoShares: "):
        coop.shares.distribute(TOKEN, {"from": coop.deployer})
    with brownie.reverts("NothingToDistribute: "):
        coop.shares.distribute(0, {"from": coop.deployer})


def test_claims_never_exceed_what_was_distributed(coop, members):
    """Awkward share counts and amounts: rounding always favours the pool, never a holder."""
    grants = [7 * SHARE + 3, 11 * SHARE + 5, 13, 1 * SHARE]
    total = 0
    for i, amount in enumerate(grants):
        _grant(coop, members[i], amount)
        _distribute(coop, 1_000_003 + i)
        total += 1_000_003 + i
    claimable = sum(coop.shares.claimable(m) for m in members)
    assert total - len(grants) * 2 <= claimable <= total
    for m in members[: len(grants)]:
        if coop.shares.claimable(m):
            coop.shares.claim({"from": m})
    assert coop.fare_token.balanceOf(coop.shares) == total - claimable


def test_treasury_surplus_reaches_shareholders_through_governance(operating, receipts, members):
    coop = operating
    receipts.settle([receipts.trip(members[0], members[1], distance=10_000)])  # fee 0.75 tEUR, 5 shares
    fee = coop.ledger.treasuryBalance()
    coop.ledger.distributeSurplus(fee, {"from": coop.timelock})
    assert coop.ledger.treasuryBalance() == 0
    assert coop.shares.claimable(members[0]) in about(fee)
