"""Joining, depositing and claiming through the relay: the backend pays the gas, the member signs."""

from __future__ import annotations

from sqlmodel import Session, select

from coopride.models import RelayedTransaction


def _join_data(me, region_id):
    response = me.get("/members/join/typed-data", params={"region_id": region_id})
    assert response.status_code == 200, response.text
    return response.json()["typed_data"]


def test_joining_by_signature_makes_a_member_without_ether(wallet, chain_client, bootstrap_region, app):
    me = wallet()
    members_before = chain_client.region(bootstrap_region).members
    data = _join_data(me, bootstrap_region)
    response = me.post("/members/join", json={"region_id": bootstrap_region, "deadline": data["message"]["deadline"],
                                              "signature": me.sign_typed(data)})
    assert response.status_code == 201, response.text
    assert chain_client.is_member(me.address)
    assert chain_client.region(bootstrap_region).members == members_before + 1
    assert chain_client.w3.eth.get_balance(me.address) == 0
    receipt = chain_client.w3.eth.get_transaction_receipt(response.json()["tx_hash"])
    assert receipt["blockNumber"] == response.json()["block_number"] and receipt["from"] == chain_client.settler
    with Session(app.state.engine) as session:
        assert [r.kind for r in session.exec(select(RelayedTransaction)).all()] == ["join"]


def test_a_join_signed_by_another_wallet_is_refused_and_nothing_happens(wallet, chain_client, bootstrap_region, app):
    me, other = wallet(), wallet()
    data = _join_data(me, bootstrap_region)
    response = me.post("/members/join", json={"region_id": bootstrap_region, "deadline": data["message"]["deadline"],
                                              "signature": other.sign_typed(data)})
    assert response.status_code == 403
    assert f"not {me.address}'s" in response.json()["detail"]
    assert not chain_client.is_member(me.address) and not chain_client.is_member(other.address)
    with Session(app.state.engine) as session:
        assert session.exec(select(RelayedTransaction)).all() == []


def test_a_join_whose_signed_deadline_differs_is_refused(wallet, chain_client, bootstrap_region):
    me = wallet()
    data = _join_data(me, bootstrap_region)
    response = me.post("/members/join", json={"region_id": bootstrap_region,
                                              "deadline": data["message"]["deadline"] + 1,
                                              "signature": me.sign_typed(data)})
    assert response.status_code == 403
    assert not chain_client.is_member(me.address)


def test_a_join_past_its_deadline_is_refused(wallet, chain_client, bootstrap_region, chain):
    me = wallet()
    data = _join_data(me, bootstrap_region)
    chain.sleep(4000)
    chain.mine()
    response = me.post("/members/join", json={"region_id": bootstrap_region, "deadline": data["message"]["deadline"],
                                              "signature": me.sign_typed(data)})
    assert response.status_code == 422
    assert "deadline has passed" in response.json()["detail"]


def test_joining_an_unknown_region_is_refused(wallet):
    me = wallet()
    response = me.get("/members/join/typed-data", params={"region_id": 999})
    assert response.status_code == 422
    assert response.json()["detail"] == "unknown region 999"


def test_joining_twice_is_a_conflict(member, bootstrap_region):
    me = member(bootstrap_region)
    response = me.get("/members/join/typed-data", params={"region_id": bootstrap_region})
    assert response.status_code == 409
    assert "already a member" in response.json()["detail"]


def test_joining_needs_a_session(client, bootstrap_region):
    assert client.get("/members/join/typed-data", params={"region_id": bootstrap_region}).status_code == 401


def test_a_permit_deposit_moves_tokens_into_escrow(member, bootstrap_region, chain_client, mint_fare_tokens):
    me = member(bootstrap_region)
    mint_fare_tokens(me.address, 10_000_000)
    typed = me.get("/members/me/deposit/typed-data", params={"amount": 4_000_000})
    assert typed.status_code == 200, typed.text
    data = typed.json()["typed_data"]
    response = me.post("/members/me/deposits", json={"amount": 4_000_000, "deadline": data["message"]["deadline"],
                                                     "signature": me.sign_typed(data)})
    assert response.status_code == 201, response.text
    assert chain_client.escrow_of(me.address) == 4_000_000
    assert chain_client.fare_token_balance(me.address) == 6_000_000
    assert response.json()["amount"] == "4000000"


def test_a_deposit_above_the_wallet_balance_is_refused(member, bootstrap_region, chain_client, mint_fare_tokens):
    me = member(bootstrap_region)
    mint_fare_tokens(me.address, 1_000)
    data = me.get("/members/me/deposit/typed-data", params={"amount": 5_000}).json()["typed_data"]
    response = me.post("/members/me/deposits", json={"amount": 5_000, "deadline": data["message"]["deadline"],
                                                     "signature": me.sign_typed(data)})
    assert response.status_code == 422
    assert "holds 1000" in response.json()["detail"]
    assert chain_client.escrow_of(me.address) == 0


def test_a_permit_signed_for_another_amount_is_refused(member, bootstrap_region, chain_client, mint_fare_tokens):
    me = member(bootstrap_region)
    mint_fare_tokens(me.address, 10_000)
    data = me.get("/members/me/deposit/typed-data", params={"amount": 1_000}).json()["typed_data"]
    response = me.post("/members/me/deposits", json={"amount": 9_000, "deadline": data["message"]["deadline"],
                                                     "signature": me.sign_typed(data)})
    assert response.status_code == 403
    assert chain_client.escrow_of(me.address) == 0


def test_deposits_need_membership_and_a_positive_amount(wallet, member, bootstrap_region):
    assert wallet().get("/members/me/deposit/typed-data", params={"amount": 5}).status_code == 403
    response = member(bootstrap_region).get("/members/me/deposit/typed-data", params={"amount": 0})
    assert response.status_code == 422
    response = member(bootstrap_region).get("/members/me/deposit/typed-data", params={"amount": "five"})
    assert response.status_code == 422


def test_claiming_with_nothing_to_claim_is_a_conflict(member, bootstrap_region):
    response = member(bootstrap_region).post("/members/me/claim")
    assert response.status_code == 409
    assert response.json()["detail"] == "nothing to claim"


def test_own_statement_is_full_and_another_members_is_public_only(member, bootstrap_region):
    me, other = member(bootstrap_region), member(bootstrap_region)
    mine = me.get(f"/members/{me.address}/statement")
    assert mine.status_code == 200, mine.text
    body = mine.json()
    assert body["full"] and body["chain"]["is_member"] and [t["kind"] for t in body["transactions"]] == ["join"]
    theirs = me.get(f"/members/{other.address}/statement").json()
    assert not theirs["full"]
    assert theirs["trips"] is None and theirs["transactions"] is None and theirs["chain"] is None
    assert theirs["driving"]["metres_driven"] == 0


def test_a_statement_for_a_malformed_address_is_a_validation_error(member, bootstrap_region):
    response = member(bootstrap_region).get("/members/0xnot-an-address/statement")
    assert response.status_code == 422
