"""Deposits and withdrawals sent several times at once (issue 12), on SQLite and PostgreSQL: money moves once.
A repeat of a relayed permit or Withdrawal is refused (its nonce is spent); with one `Idempotency-Key` every
repeat gets the first answer."""

from __future__ import annotations

from collections import Counter

from race_helpers import race

DATABASES = ("sqlite", "postgresql")
RACERS = 8
AMOUNT = 3_000_000


def _codes(answers) -> Counter:
    return Counter(answer.status_code for answer in answers)


def _explain(answers) -> list:
    return [(answer.status_code, answer.text[:200]) for answer in answers]


def _signed_deposit(me, amount: int) -> dict:
    me.mint(amount)
    typed = me.get("/members/me/deposit/typed-data", params={"amount": amount}).json()["typed_data"]
    return {"amount": str(amount), "deadline": typed["message"]["deadline"], "signature": me.sign_typed(typed)}


def _signed_withdrawal(me, amount: int) -> dict:
    typed = me.get("/members/me/withdrawal/typed-data", params={"amount": amount, "from_earnings": False}).json()
    message = typed["typed_data"]["message"]
    return {"amount": str(amount), "from_earnings": False, "deadline": message["deadline"],
            "signature": me.sign_typed(typed["typed_data"])}


def test_one_permit_sent_at_once_deposits_once(member, bootstrap_region, live_url, chain_client):
    me = member(bootstrap_region)
    body = _signed_deposit(me, AMOUNT)

    answers = race(RACERS, lambda client: client.post("/members/me/deposits", json=body, headers=me.headers),
                   live_url)

    codes = _codes(answers)
    assert codes[201] == 1 and sum(codes.values()) == RACERS and max(codes) < 500, _explain(answers)
    assert chain_client.escrow_of(me.address) == AMOUNT


def test_one_permit_sent_at_once_with_one_idempotency_key_answers_the_first_deposit(member, bootstrap_region,
                                                                                    live_url, chain_client):
    me = member(bootstrap_region)
    body = _signed_deposit(me, AMOUNT)
    headers = {**me.headers, "Idempotency-Key": "deposit-1"}

    answers = race(RACERS, lambda client: client.post("/members/me/deposits", json=body, headers=headers), live_url)

    assert _codes(answers) == {201: RACERS}, _explain(answers)
    assert len({answer.json()["tx_hash"] for answer in answers}) == 1
    assert chain_client.escrow_of(me.address) == AMOUNT
    statement = me.get(f"/members/{me.address}/statement").json()
    assert [t["kind"] for t in statement["transactions"]].count("deposit") == 1


def test_one_withdrawal_sent_at_once_with_or_without_a_key_pays_once(member, bootstrap_region, live_url,
                                                                       chain_client):
    me = member(bootstrap_region)
    assert me.post("/members/me/deposits", json=_signed_deposit(me, AMOUNT)).status_code == 201
    body = _signed_withdrawal(me, 1_000_000)
    keyed = {**me.headers, "Idempotency-Key": "withdraw-1"}

    answers = race(RACERS, lambda client: client.post("/members/me/withdrawals", json=body, headers=keyed), live_url)

    assert _codes(answers) == {201: RACERS}, _explain(answers)
    assert chain_client.escrow_of(me.address) == AMOUNT - 1_000_000
    again = race(RACERS, lambda client: client.post("/members/me/withdrawals", json=body, headers=me.headers),
                 live_url)
    assert 201 not in _codes(again) and max(_codes(again)) < 500, _explain(again)
    assert chain_client.escrow_of(me.address) == AMOUNT - 1_000_000
    assert chain_client.fare_token_balance(me.address) == 1_000_000
