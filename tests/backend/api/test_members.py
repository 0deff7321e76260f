"""Joining is an application (v2): the applicant signs an EIP-712 Application and an ERC-2612 permit for the
capital share; nothing happens on chain until the admissions role admits it (on the local chain the backend
admits at once). Depositing, withdrawing and claiming are relayed: the backend pays the gas, the member signs."""

from __future__ import annotations

import pytest
from eth_account import Account
from sqlmodel import Session, select

from coopride.models import Application, RelayedTransaction

CAPITAL_SHARE = 10_000_000  # scripts/deploy.py's LOCAL_PARAMS


@pytest.fixture
def manual_admissions(app, settings):
    """Applications wait for the admissions role (auto-admit off, as off the local chain)."""
    app.state.settings = settings.model_copy(update={"auto_admit": False})


def _applications(app) -> list[Application]:
    with Session(app.state.engine) as session:
        return list(session.exec(select(Application)).all())


# ------------------------------------------------------------------------------------------- applying
def test_the_typed_data_is_an_application_and_a_permit_for_the_capital_share(wallet, bootstrap_region, chain_client,
                                                                             manifest):
    me = wallet()
    data = me.application(bootstrap_region)
    typed, permit = data["typed_data"], data["permit_typed_data"]
    assert data["capital_share"] == str(CAPITAL_SHARE) == str(chain_client.capital_share())
    assert typed["primaryType"] == "Application"
    assert typed["domain"]["verifyingContract"] == manifest.address("Membership")
    assert typed["message"] == {"applicant": me.address, "regionId": bootstrap_region, "maxCapitalShare": CAPITAL_SHARE,
                                "nonce": 0, "deadline": typed["message"]["deadline"]}
    assert permit["primaryType"] == "Permit"
    assert permit["message"] == {"owner": me.address, "spender": manifest.address("RideLedger"), "value": CAPITAL_SHARE,
                                 "nonce": 0, "deadline": typed["message"]["deadline"]}


def test_an_application_is_admitted_at_once_on_the_local_chain(wallet, chain_client, bootstrap_region, app):
    me = wallet().mint(CAPITAL_SHARE + 5)
    members_before = chain_client.region(bootstrap_region).members
    response = me.apply(bootstrap_region)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "admitted" and body["applicant"] == me.address and body["region_id"] == bootstrap_region
    assert body["max_capital_share"] == str(CAPITAL_SHARE) and body["reason"] is None and body["decided_at"]
    assert chain_client.is_member(me.address) and chain_client.region_of(me.address) == bootstrap_region
    assert chain_client.region(bootstrap_region).members == members_before + 1
    assert chain_client.capital_paid(me.address) == CAPITAL_SHARE
    assert chain_client.fare_token_balance(me.address) == 5
    assert chain_client.w3.eth.get_balance(me.address) == 0
    receipt = chain_client.w3.eth.get_transaction_receipt(body["tx_hash"])
    assert receipt["from"] == chain_client.admissions_address() and receipt["status"] == 1
    assert me.get("/members/applications/me").json() == body
    with Session(app.state.engine) as session:
        assert [r.kind for r in session.exec(select(RelayedTransaction)).all()] == ["join"]


def test_an_application_signed_by_another_wallet_is_refused_and_nothing_is_stored(wallet, chain_client,
                                                                                 bootstrap_region, app):
    me, other = wallet().mint(CAPITAL_SHARE), wallet()
    data = me.application(bootstrap_region)
    response = me.apply(bootstrap_region, data, signature=other.sign_typed(data["typed_data"]))
    assert response.status_code == 403
    assert f"not {me.address}'s" in response.json()["detail"] and "application" in response.json()["detail"]
    assert not chain_client.is_member(me.address) and _applications(app) == []


def test_a_permit_signed_by_another_wallet_is_refused(wallet, chain_client, bootstrap_region, app):
    me, other = wallet().mint(CAPITAL_SHARE), wallet()
    data = me.application(bootstrap_region)
    response = me.apply(bootstrap_region, data, permit_signature=other.sign_typed(data["permit_typed_data"]))
    assert response.status_code == 403 and "permit" in response.json()["detail"]
    assert not chain_client.is_member(me.address) and _applications(app) == []


def test_an_application_whose_signed_fields_differ_is_refused(wallet, chain_client, bootstrap_region):
    me = wallet().mint(CAPITAL_SHARE)
    data = me.application(bootstrap_region)
    for change in ({"deadline": data["typed_data"]["message"]["deadline"] + 1}, {"region_id": 1},
                   {"max_capital_share": str(CAPITAL_SHARE + 1)}):
        assert me.apply(bootstrap_region, data, **change).status_code == 403, change
    assert not chain_client.is_member(me.address)


def test_a_capital_share_above_the_signed_maximum_is_refused(wallet, chain_client, bootstrap_region, app):
    me = wallet().mint(CAPITAL_SHARE)
    data = me.application(bootstrap_region)
    lower = CAPITAL_SHARE - 1
    data["typed_data"]["message"]["maxCapitalShare"] = lower
    data["permit_typed_data"]["message"]["value"] = lower
    response = me.apply(bootstrap_region, data)
    assert response.status_code == 422
    assert f"above the most you signed for ({lower})" in response.json()["detail"]
    assert not chain_client.is_member(me.address) and _applications(app) == []


def test_a_wallet_without_the_capital_share_is_refused(wallet, chain_client, bootstrap_region, app):
    me = wallet().mint(CAPITAL_SHARE - 1)
    response = me.apply(bootstrap_region)
    assert response.status_code == 422
    assert f"holds {CAPITAL_SHARE - 1}" in response.json()["detail"] and "capital share" in response.json()["detail"]
    assert not chain_client.is_member(me.address) and _applications(app) == []


def test_an_application_past_its_deadline_is_refused(wallet, chain_client, bootstrap_region, chain):
    me = wallet().mint(CAPITAL_SHARE)
    data = me.application(bootstrap_region)
    chain.sleep(4000)
    chain.mine()
    response = me.apply(bootstrap_region, data)
    assert response.status_code == 422
    assert "deadline has passed" in response.json()["detail"]
    assert not chain_client.is_member(me.address)


def test_applying_to_an_unknown_region_is_refused(wallet):
    me = wallet()
    response = me.get("/members/application/typed-data", params={"region_id": 999})
    assert response.status_code == 422
    assert response.json()["detail"] == "unknown region 999"
    posted = me.post("/members/applications", json={"region_id": 999, "max_capital_share": "1", "deadline": 2**40,
                                                     "signature": "0x" + "11" * 65,
                                                     "permit_signature": "0x" + "11" * 65})
    assert posted.status_code == 422 and posted.json()["detail"] == "unknown region 999"


@pytest.mark.parametrize("body, reason", [
    ({"region_id": 0}, "greater than or equal to 1"),
    ({"max_capital_share": "-1"}, "is not digits only"),
    ({"max_capital_share": 1}, "got a JSON number"),
    ({"deadline": 2**64}, "less than"),
    ({"signature": "0x1234"}, "65 bytes"),
    ({"permit_signature": "nothex"}, "not hex"),
])
def test_malformed_applications_are_validation_errors(wallet, bootstrap_region, body, reason):
    valid = {"region_id": bootstrap_region, "max_capital_share": "1", "deadline": 2**40,
             "signature": "0x" + "11" * 65, "permit_signature": "0x" + "11" * 65}
    response = wallet().post("/members/applications", json={**valid, **body})
    assert response.status_code == 422 and reason in response.text


def test_applying_as_a_member_is_a_conflict(member, bootstrap_region):
    me = member(bootstrap_region)
    response = me.get("/members/application/typed-data", params={"region_id": bootstrap_region})
    assert response.status_code == 409
    assert "already a member" in response.json()["detail"]
    again = me.post("/members/applications", json={"region_id": bootstrap_region, "max_capital_share": "1",
                                                   "deadline": 2**40, "signature": "0x" + "11" * 65,
                                                   "permit_signature": "0x" + "11" * 65})
    assert again.status_code == 409 and "already a member" in again.json()["detail"]


def test_applying_needs_a_session(client, bootstrap_region):
    assert client.get("/members/application/typed-data", params={"region_id": bootstrap_region}).status_code == 401
    assert client.post("/members/applications", json={}).status_code == 401
    assert client.get("/members/applications/me").status_code == 401


def test_without_an_application_there_is_none_to_show(wallet):
    response = wallet().get("/members/applications/me")
    assert response.status_code == 404 and "has not applied" in response.json()["detail"]


def test_the_join_endpoints_of_v1_are_gone(wallet, bootstrap_region):
    me = wallet()
    assert me.get("/members/join/typed-data", params={"region_id": bootstrap_region}).status_code in (404, 405)
    assert me.post("/members/join", json={}).status_code in (404, 405)


# ---------------------------------------------------------------------------------- the admissions role
def test_applications_change_nothing_on_chain_until_admitted(manual_admissions, wallet, chain_client,
                                                             bootstrap_region, admissions_wallet):
    applicants = [wallet().mint(CAPITAL_SHARE) for _ in range(100)]
    block, members = chain_client.block_number(), chain_client.region(bootstrap_region).members
    for me in applicants:
        response = me.apply(bootstrap_region)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "pending" and response.json()["tx_hash"] is None
    assert chain_client.block_number() == block
    assert chain_client.region(bootstrap_region).members == members
    assert not any(chain_client.is_member(me.address) for me in applicants)
    pending = admissions_wallet.get("/members/applications", params={"status": "pending"})
    assert pending.status_code == 200
    assert [a["applicant"] for a in pending.json()] == [me.address for me in applicants]

    first = pending.json()[0]
    admitted = admissions_wallet.post(f"/members/applications/{first['id']}/admit")
    assert admitted.status_code == 200, admitted.text
    assert admitted.json()["status"] == "admitted" and admitted.json()["tx_hash"]
    assert chain_client.is_member(applicants[0].address)
    assert chain_client.region(bootstrap_region).members == members + 1
    assert not chain_client.is_member(applicants[1].address)
    assert len(admissions_wallet.get("/members/applications", params={"status": "pending"}).json()) == 99


def test_a_second_pending_application_is_a_conflict(manual_admissions, wallet, bootstrap_region):
    me = wallet().mint(CAPITAL_SHARE)
    data = me.application(bootstrap_region)
    assert me.apply(bootstrap_region, data).status_code == 201
    assert me.get("/members/application/typed-data", params={"region_id": bootstrap_region}).status_code == 409
    again = me.apply(bootstrap_region, data)
    assert again.status_code == 409 and "pending application" in again.json()["detail"]


def test_only_the_admissions_address_decides(app, settings, wallet, member, bootstrap_region, chain_client,
                                             admissions_wallet):
    a_member = member(bootstrap_region)
    app.state.settings = settings.model_copy(update={"auto_admit": False})
    applicant = wallet().mint(CAPITAL_SHARE)
    application_id = applicant.apply(bootstrap_region).json()["id"]
    for outsider in (applicant, a_member):
        assert outsider.get("/members/applications").status_code == 403
        denied = outsider.post(f"/members/applications/{application_id}/admit")
        assert denied.status_code == 403 and "admissions role" in denied.json()["detail"]
        assert outsider.post(f"/members/applications/{application_id}/refuse", json={"reason": "no"}).status_code == 403
    assert not chain_client.is_member(applicant.address)
    assert applicant.get("/members/applications/me").json()["status"] == "pending"
    assert admissions_wallet.post(f"/members/applications/{application_id}/admit").status_code == 200
    assert chain_client.is_member(applicant.address)


def test_a_refused_application_says_why_and_touches_nothing_on_chain(manual_admissions, wallet, bootstrap_region,
                                                                      chain_client, admissions_wallet):
    applicant = wallet().mint(CAPITAL_SHARE)
    application_id = applicant.apply(bootstrap_region).json()["id"]
    block = chain_client.block_number()
    refused = admissions_wallet.post(f"/members/applications/{application_id}/refuse",
                                     json={"reason": "not a resident of the region"})
    assert refused.status_code == 200, refused.text
    assert refused.json()["status"] == "refused" and refused.json()["reason"] == "not a resident of the region"
    assert chain_client.block_number() == block and not chain_client.is_member(applicant.address)
    mine = applicant.get("/members/applications/me").json()
    assert (mine["status"], mine["reason"]) == ("refused", "not a resident of the region")
    assert admissions_wallet.post(f"/members/applications/{application_id}/admit").status_code == 409
    assert admissions_wallet.post(f"/members/applications/{application_id}/refuse",
                                  json={"reason": "again"}).status_code == 409
    assert admissions_wallet.post(f"/members/applications/{application_id}/refuse",
                                  json={"reason": ""}).status_code == 422
    # A refused applicant may apply again.
    assert applicant.apply(bootstrap_region).json()["status"] == "pending"


def test_unknown_applications_are_not_found(admissions_wallet):
    assert admissions_wallet.post("/members/applications/424242/admit").status_code == 404
    assert admissions_wallet.post("/members/applications/424242/refuse", json={"reason": "x"}).status_code == 404
    assert admissions_wallet.post("/members/applications/0/admit").status_code == 422
    assert admissions_wallet.get("/members/applications", params={"status": "maybe"}).status_code == 422


def test_an_application_past_its_deadline_expires_and_may_be_made_again(manual_admissions, wallet, bootstrap_region,
                                                                         chain, chain_client, admissions_wallet):
    applicant = wallet().mint(CAPITAL_SHARE)
    application_id = applicant.apply(bootstrap_region).json()["id"]
    chain.sleep(4000)
    chain.mine()
    expired = applicant.get("/members/applications/me").json()
    assert expired["status"] == "expired" and "deadline passed" in expired["reason"]
    assert admissions_wallet.get("/members/applications", params={"status": "pending"}).json() == []
    late = admissions_wallet.post(f"/members/applications/{application_id}/admit")
    assert late.status_code == 409 and "expired" in late.json()["detail"]
    assert not chain_client.is_member(applicant.address)
    again = applicant.apply(bootstrap_region)
    assert again.status_code == 201 and again.json()["id"] != application_id
    assert admissions_wallet.post(f"/members/applications/{again.json()['id']}/admit").status_code == 200
    assert chain_client.is_member(applicant.address)


def test_an_admission_the_chain_refuses_leaves_the_application_pending(manual_admissions, wallet, bootstrap_region,
                                                                        chain_client, admissions_wallet,
                                                                        mint_fare_tokens):
    """The applicant spent the capital share between applying and admission: the permit goes through, the
    transfer does not, and the answer says why."""
    applicant = wallet().mint(CAPITAL_SHARE)
    application_id = applicant.apply(bootstrap_region).json()["id"]
    from brownie import Contract, accounts

    token = Contract.from_abi("FareToken", chain_client.fare_token.address, chain_client.fare_token.abi)
    spender = accounts.add(applicant.account.key)
    accounts[0].transfer(spender, "1 ether")
    token.transfer(accounts[0], CAPITAL_SHARE, {"from": spender})
    response = admissions_wallet.post(f"/members/applications/{application_id}/admit")
    assert 400 <= response.status_code < 500 and response.json()["chain_error"], response.text
    assert not chain_client.is_member(applicant.address)
    assert applicant.get("/members/applications/me").json()["status"] == "pending"


# ------------------------------------------------------------------------------ deposits, withdrawals
def test_a_permit_deposit_moves_tokens_into_escrow(member, bootstrap_region, chain_client, mint_fare_tokens):
    me = member(bootstrap_region)
    mint_fare_tokens(me.address, 10_000_000)
    typed = me.get("/members/me/deposit/typed-data", params={"amount": 4_000_000})
    assert typed.status_code == 200, typed.text
    data = typed.json()["typed_data"]
    response = me.post("/members/me/deposits", json={"amount": "4000000", "deadline": data["message"]["deadline"],
                                                     "signature": me.sign_typed(data)})
    assert response.status_code == 201, response.text
    assert chain_client.escrow_of(me.address) == 4_000_000
    assert chain_client.fare_token_balance(me.address) == 6_000_000
    assert response.json()["amount"] == "4000000"


def test_a_deposit_above_the_wallet_balance_is_refused(member, bootstrap_region, chain_client, mint_fare_tokens):
    me = member(bootstrap_region)
    mint_fare_tokens(me.address, 1_000)
    data = me.get("/members/me/deposit/typed-data", params={"amount": 5_000}).json()["typed_data"]
    response = me.post("/members/me/deposits", json={"amount": "5000", "deadline": data["message"]["deadline"],
                                                     "signature": me.sign_typed(data)})
    assert response.status_code == 422
    assert "holds 1000" in response.json()["detail"]
    assert chain_client.escrow_of(me.address) == 0


def test_a_permit_signed_for_another_amount_is_refused(member, bootstrap_region, chain_client, mint_fare_tokens):
    me = member(bootstrap_region)
    mint_fare_tokens(me.address, 10_000)
    data = me.get("/members/me/deposit/typed-data", params={"amount": 1_000}).json()["typed_data"]
    response = me.post("/members/me/deposits", json={"amount": "9000", "deadline": data["message"]["deadline"],
                                                     "signature": me.sign_typed(data)})
    assert response.status_code == 403
    assert chain_client.escrow_of(me.address) == 0


def test_deposits_need_membership_and_a_positive_amount(wallet, member, bootstrap_region):
    assert wallet().get("/members/me/deposit/typed-data", params={"amount": 5}).status_code == 403
    response = member(bootstrap_region).get("/members/me/deposit/typed-data", params={"amount": 0})
    assert response.status_code == 422
    response = member(bootstrap_region).get("/members/me/deposit/typed-data", params={"amount": "five"})
    assert response.status_code == 422


def _deposit(me, amount: int) -> None:
    me.mint(amount)
    data = me.get("/members/me/deposit/typed-data", params={"amount": amount}).json()["typed_data"]
    response = me.post("/members/me/deposits", json={"amount": str(amount), "deadline": data["message"]["deadline"],
                                                     "signature": me.sign_typed(data)})
    assert response.status_code == 201, response.text


def _withdrawal_data(me, amount: int, from_earnings: bool = False):
    return me.get("/members/me/withdrawal/typed-data", params={"amount": amount, "from_earnings": from_earnings})


def test_a_signed_withdrawal_returns_escrow_to_the_wallet_without_ether(member, bootstrap_region, chain_client,
                                                                        manifest):
    me = member(bootstrap_region)
    _deposit(me, 3_000_000)
    typed = _withdrawal_data(me, 1_000_000)
    assert typed.status_code == 200, typed.text
    data = typed.json()["typed_data"]
    assert data["primaryType"] == "Withdrawal" and data["domain"]["verifyingContract"] == manifest.address("RideLedger")
    assert data["message"] == {"account": me.address, "fromEarnings": False, "amount": 1_000_000,
                               "nonce": chain_client.ledger_nonce(me.address), "deadline": data["message"]["deadline"]}
    response = me.post("/members/me/withdrawals", json={"amount": "1000000", "from_earnings": False,
                                                        "deadline": data["message"]["deadline"],
                                                        "signature": me.sign_typed(data)})
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "withdraw" and response.json()["amount"] == "1000000"
    assert chain_client.escrow_of(me.address) == 2_000_000
    assert chain_client.fare_token_balance(me.address) == 1_000_000
    assert chain_client.w3.eth.get_balance(me.address) == 0


def test_withdrawals_beyond_the_balance_or_signed_by_another_are_refused(member, wallet, bootstrap_region,
                                                                          chain_client):
    me = member(bootstrap_region)
    _deposit(me, 1_000)
    too_much = _withdrawal_data(me, 1_001)
    assert too_much.status_code == 422 and "escrow holds 1000" in too_much.json()["detail"]
    earnings = _withdrawal_data(me, 1, from_earnings=True)
    assert earnings.status_code == 422 and "earnings holds 0" in earnings.json()["detail"]
    data = _withdrawal_data(me, 500).json()["typed_data"]
    forged = me.post("/members/me/withdrawals", json={"amount": "500", "from_earnings": False,
                                                      "deadline": data["message"]["deadline"],
                                                      "signature": wallet().sign_typed(data)})
    assert forged.status_code == 403
    other_amount = me.post("/members/me/withdrawals", json={"amount": "400", "from_earnings": False,
                                                            "deadline": data["message"]["deadline"],
                                                            "signature": me.sign_typed(data)})
    assert other_amount.status_code == 403
    assert chain_client.escrow_of(me.address) == 1_000
    stranger = wallet().get("/members/me/withdrawal/typed-data", params={"amount": 1, "from_earnings": False})
    assert stranger.status_code == 422 and "escrow holds 0" in stranger.json()["detail"]
    assert _withdrawal_data(me, 0).status_code == 422


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


def test_the_operating_region_fixture_made_a_region_operating_by_activity(operating_region, chain_client, member):
    region = chain_client.region(operating_region)
    assert region.operating and region.phase_changed_at > 0
    assert region.members >= region.critical_mass
    assert len(chain_client.active_drivers(operating_region)) >= region.critical_mass
    me = member(operating_region)
    assert chain_client.region_of(me.address) == operating_region


def test_a_fresh_account_key_is_not_the_admissions_role(chain_client):
    assert chain_client.admissions_address() != Account.create().address


def test_the_demos_members_join_through_the_application_api(client, chain_client, mint_fare_tokens,
                                                           bootstrap_region):
    from coopride.demo.actors import Api, Member

    api = Api.__new__(Api)
    api.http = client  # the TestClient is an httpx.Client on the app
    newcomer = Member("driver-01", "driver", Account.create())
    newcomer.sign_in(api)
    application = newcomer.join(api, bootstrap_region, mint_fare_tokens)
    assert application["status"] == "admitted" and chain_client.is_member(newcomer.address)
    assert chain_client.capital_paid(newcomer.address) == CAPITAL_SHARE


def test_admitting_an_applicant_who_became_a_member_meanwhile_is_a_conflict(manual_admissions, wallet,
                                                                             bootstrap_region, direct_admission,
                                                                             admissions_wallet):
    applicant = wallet().mint(CAPITAL_SHARE)
    application_id = applicant.apply(bootstrap_region).json()["id"]
    direct_admission(applicant.account, bootstrap_region)  # by another way (governance's, say)
    response = admissions_wallet.post(f"/members/applications/{application_id}/admit")
    assert response.status_code == 409 and "already a member" in response.json()["detail"]
    refused = admissions_wallet.post(f"/members/applications/{application_id}/refuse", json={"reason": "duplicate"})
    assert refused.status_code == 200


def test_the_database_holds_at_most_one_pending_application_per_wallet(app):
    """Two applications arriving at the same moment both pass the service's check; the database keeps one."""
    from sqlalchemy.exc import IntegrityError

    def row(status="pending"):
        return Application(applicant="0x" + "ab" * 20, region_id=2, max_capital_share="1", deadline=1, nonce="0",
                           signature="0x", permit_value="1", permit_nonce="0", permit_signature="0x", status=status)

    with Session(app.state.engine) as session:
        session.add_all([row("refused"), row("expired"), row("pending")])
        session.commit()
        session.add(row())
        with pytest.raises(IntegrityError):
            session.commit()


def test_a_member_removed_by_governance_cannot_apply_again(member, bootstrap_region, manifest, accounts, chain_client):
    from brownie import Contract

    me = member(bootstrap_region)
    membership = Contract.from_abi("Membership", manifest.address("Membership"), manifest.contract("Membership").abi)
    membership.remove(me.address, {"from": accounts.at(manifest.address("TimelockController"), force=True)})
    assert not chain_client.is_member(me.address) and chain_client.is_revoked(me.address)
    response = me.get("/members/application/typed-data", params={"region_id": bootstrap_region})
    assert response.status_code == 403 and "removed by governance" in response.json()["detail"]
