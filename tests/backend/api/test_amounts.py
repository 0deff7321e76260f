"""The API's one rule for amounts (`coopride.schemas.types`): every amount of a token, in every answer and every
request, is a decimal string of integer base units; `GET /chain` gives each token's decimals."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from coopride.models import RelayedTransaction

AMOUNT_WORDS = {
    "amount", "award", "balance", "capital", "claimable", "deposit", "deposits", "earnings", "escrow", "fare",
    "fares", "fee", "fees", "paid", "received", "reward", "shares", "surplus", "treasury", "withdrawal", "withdrawn",
}
# Named like an amount but counted in another unit (the rule is about token amounts).
NOT_AN_AMOUNT = {"bps"}  # basis points: fee_bps
TOKEN_NAMED = re.compile(r"\b(fare|share)[ -]token\b")
BAD_AMOUNTS = [5, "-1", "1e3", " 5", "", "+5", "5.0", str(2**256)]


def _looks_like_an_amount(name: str) -> bool:
    words = set(name.lower().split("_"))
    return bool(words & AMOUNT_WORDS) and not words & NOT_AN_AMOUNT


def _scalars(schema: dict) -> list[dict]:
    """The scalar schemas a property may take (null, objects and references to models left out)."""
    if "anyOf" in schema or "oneOf" in schema:
        return [leaf for branch in schema.get("anyOf", schema.get("oneOf")) for leaf in _scalars(branch)]
    if schema.get("type") == "array":
        return _scalars(schema.get("items", {}))
    if "$ref" in schema or schema.get("type") in ("null", "object", "boolean"):
        return []
    return [schema]


def _amount_fields(document: dict) -> list[tuple[str, dict, dict]]:
    """(where, the property's or parameter's schema, its scalar schema) of every amount-like name in the document."""
    found = []
    for model, schema in document["components"]["schemas"].items():
        for name, prop in schema.get("properties", {}).items():
            if _looks_like_an_amount(name):
                found += [(f"{model}.{name}", prop, leaf) for leaf in _scalars(prop)]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if _looks_like_an_amount(parameter["name"]):
                    where = f"{method.upper()} {path} ?{parameter['name']}"
                    found += [(where, parameter, leaf) for leaf in _scalars(parameter["schema"])]
    return found


def test_every_amount_in_the_openapi_document_is_a_decimal_string_naming_its_token(client):
    """Holds for fields added later too: a new field named like an amount and typed integer fails here."""
    fields = _amount_fields(client.get("/openapi.json").json())
    names = {where for where, _, _ in fields}
    # the walk sees the amounts of answers, bodies and queries alike
    assert {"TripPublic.fare", "ChainBalances.escrow", "DepositRequest.amount", "RegionFareParameters.fare_per_km",
            "GET /trips/{trip_id}/resolution/typed-data ?award", "StatementTrip.shares_minted"} <= names
    wrong = [
        where
        for where, holder, leaf in fields
        if leaf.get("type") != "string"
        or leaf.get("pattern") != "^[0-9]+$"
        or not TOKEN_NAMED.search(holder.get("description", "") + " " + leaf.get("description", ""))
    ]
    assert wrong == [], "amounts must be decimal strings of base units whose description names the token"


def test_the_rule_is_told_once_in_the_description_and_the_decimals_are_on_the_chain_route(client):
    document = client.get("/openapi.json").json()
    assert "decimal string of integer base units" in document["info"]["description"]
    info = client.get("/chain").json()
    assert info["fare_token"]["decimals"] == 6 and info["share_token"]["decimals"] == 18


@pytest.mark.parametrize("bad", BAD_AMOUNTS)
def test_a_malformed_deposit_amount_is_refused_and_changes_nothing(member, bootstrap_region, chain_client, app, bad):
    me = member(bootstrap_region)
    me.mint(1_000)
    typed = me.get("/members/me/deposit/typed-data", params={"amount": "1000"}).json()["typed_data"]
    signed = {"deadline": typed["message"]["deadline"], "signature": me.sign_typed(typed)}

    refused = me.post("/members/me/deposits", json={"amount": bad, **signed})
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["detail"]
    assert problem["loc"] == ["body", "amount"] and "decimal string of fare-token base units" in problem["msg"]
    if isinstance(bad, str):
        assert me.get("/members/me/deposit/typed-data", params={"amount": bad}).status_code == 422
    assert chain_client.escrow_of(me.address) == 0 and chain_client.fare_token_balance(me.address) == 1_000
    with Session(app.state.engine) as session:
        assert [r.kind for r in session.exec(select(RelayedTransaction)).all()] == ["join"]

    # the same signed permit with the amount written as the rule asks goes through
    accepted = me.post("/members/me/deposits", json={"amount": "1000", **signed})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["amount"] == "1000" and chain_client.escrow_of(me.address) == 1_000


def test_answers_write_every_amount_as_a_decimal_string(member, bootstrap_region, chain_client):
    me = member(bootstrap_region)
    statement = me.get(f"/members/{me.address}/statement").json()
    balances = statement["chain"]
    assert balances["escrow"] == balances["earnings"] == balances["claimable_surplus"] == "0"
    assert balances["shares"] == str(chain_client.shares_of(me.address))
    assert statement["driving"]["fares_received"] == statement["riding"]["fares_paid"] == "0"
    [region] = [r for r in me.get("/regions").json() if r["region_id"] == bootstrap_region]
    assert region["fare_per_km"] == str(chain_client.region(bootstrap_region).fare_per_km)
    assert region["treasury_balance"] == str(chain_client.treasury_balance())
