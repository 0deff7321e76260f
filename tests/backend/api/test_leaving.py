"""Leaving the cooperative, gas-free: the member signs an EIP-712 `Leave`, the backend relays
`Membership.leaveBySig`; the capital share paid at admission goes back to the wallet, and escrow stays the
former member's to withdraw."""

from __future__ import annotations

from api_helpers import LYON_FROM, LYON_TO, deposit, offer_body

CAPITAL_SHARE = 10_000_000  # scripts/deploy.py's LOCAL_PARAMS


def _leave(me, signer=None):
    typed = me.get("/members/me/leave/typed-data")
    assert typed.status_code == 200, typed.text
    data = typed.json()["typed_data"]
    body = {"deadline": data["message"]["deadline"], "signature": (signer or me).sign_typed(data)}
    return me.post("/members/me/leave", json=body)


def test_a_member_who_leaves_gets_the_capital_share_back_without_ether(member, bootstrap_region, chain_client,
                                                                      manifest):
    me = member(bootstrap_region)
    assert chain_client.capital_paid(me.address) == CAPITAL_SHARE
    wallet_before = chain_client.fare_token_balance(me.address)
    data = me.get("/members/me/leave/typed-data").json()["typed_data"]
    assert data["primaryType"] == "Leave" and data["domain"]["verifyingContract"] == manifest.address("Membership")
    assert data["message"]["member"] == me.address

    response = _leave(me)

    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "leave" and int(response.json()["amount"]) == CAPITAL_SHARE
    assert not chain_client.is_member(me.address)
    assert chain_client.fare_token_balance(me.address) == wallet_before + CAPITAL_SHARE
    assert chain_client.w3.eth.get_balance(me.address) == 0
    kinds = [t["kind"] for t in me.get(f"/members/{me.address}/statement").json()["transactions"]]
    assert kinds == ["join", "leave"]


def test_a_member_who_left_can_no_longer_offer_rides_but_takes_the_escrow_back(member, bootstrap_region,
                                                                              chain_client):
    me = member(bootstrap_region)
    deposit(me, 2_000_000)
    left = _leave(me)
    assert left.status_code == 201, left.text

    assert me.post("/offers", json=offer_body(LYON_FROM, LYON_TO)).status_code == 403
    assert me.get("/members/me/leave/typed-data").status_code == 403
    data = me.get("/members/me/withdrawal/typed-data", params={"amount": 2_000_000, "from_earnings": False})
    assert data.status_code == 200, data.text
    typed = data.json()["typed_data"]
    withdrawn = me.post("/members/me/withdrawals", json={"amount": "2000000", "from_earnings": False,
                                                         "deadline": typed["message"]["deadline"],
                                                         "signature": me.sign_typed(typed)})
    assert withdrawn.status_code == 201, withdrawn.text
    assert chain_client.escrow_of(me.address) == 0


def test_a_leave_signed_by_another_wallet_changes_nothing(member, wallet, bootstrap_region, chain_client):
    me = member(bootstrap_region)

    response = _leave(me, signer=wallet())

    assert response.status_code == 403, response.text
    assert chain_client.is_member(me.address)
    assert chain_client.capital_paid(me.address) == CAPITAL_SHARE


def test_a_stale_leave_is_refused_and_changes_nothing(member, bootstrap_region, chain_client):
    me = member(bootstrap_region)
    data = me.get("/members/me/leave/typed-data").json()["typed_data"]
    stale = {"deadline": 1, "signature": me.sign_typed({**data, "message": {**data["message"], "deadline": 1}})}

    response = me.post("/members/me/leave", json=stale)

    assert response.status_code == 422, response.text
    assert chain_client.is_member(me.address)


def test_only_members_can_leave(wallet):
    assert wallet().get("/members/me/leave/typed-data").status_code == 403
    assert wallet().post("/members/me/leave", json={"deadline": 2**40, "signature": "0x" + "11" * 65}).status_code == 403
