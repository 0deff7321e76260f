"""Sign-in with a wallet signature: nonces are single-use and expire, only the right signer gets a session."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from eth_account.messages import encode_defunct
from sqlmodel import Session

from coopride.api.main import create_app
from coopride.models import MemberSession, SignInNonce, utcnow

from api_helpers import offer_body

# Sign-in writes and reads text a client sent: on both databases (PostgreSQL refuses NUL characters in text).
DATABASES = ["sqlite", "postgresql"]


def _challenge(client, address: str) -> str:
    response = client.post("/auth/nonce", json={"address": address})
    assert response.status_code == 200, response.text
    return response.json()["message"]


def _sign(account, message: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


def test_nonce_message_is_an_eip4361_message_for_the_address(client, chain_client):
    account = Account.create()
    message = _challenge(client, account.address.lower())
    lines = message.splitlines()
    assert lines[0] == "127.0.0.1:8000 wants you to sign in with your Ethereum account:"  # the listening address
    assert lines[1] == account.address  # checksummed
    for expected in ("URI: http://127.0.0.1:8000", "Version: 1", f"Chain ID: {chain_client.chain_id}"):
        assert expected in lines
    assert any(line.startswith("Nonce: ") for line in lines)
    assert any(line.startswith("Issued At: ") for line in lines)
    assert any(line.startswith("Expiration Time: ") for line in lines)


def test_login_with_the_right_signature_opens_a_session(client):
    account = Account.create()
    message = _challenge(client, account.address)
    response = client.post("/auth/login", json={"message": message, "signature": _sign(account, message)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["address"] == account.address and body["token_type"] == "bearer"
    trips = client.get("/trips", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert trips.status_code == 200 and trips.json() == []


def test_session_tokens_are_stored_hashed(client, app):
    account = Account.create()
    message = _challenge(client, account.address)
    token = client.post("/auth/login", json={"message": message, "signature": _sign(account, message)}).json()["access_token"]
    with Session(app.state.engine) as session:
        stored = session.query(MemberSession).all()
    assert len(stored) == 1 and stored[0].token_hash != token and token not in stored[0].token_hash


def test_a_nonce_works_only_once(client):
    account = Account.create()
    message = _challenge(client, account.address)
    signature = _sign(account, message)
    assert client.post("/auth/login", json={"message": message, "signature": signature}).status_code == 200
    again = client.post("/auth/login", json={"message": message, "signature": signature})
    assert again.status_code == 401
    assert "already used" in again.json()["detail"]


def test_an_expired_nonce_is_refused(client, app):
    account = Account.create()
    message = _challenge(client, account.address)
    with Session(app.state.engine) as session:
        challenge = session.query(SignInNonce).one()
        challenge.expires_at = utcnow() - timedelta(seconds=1)
        session.add(challenge)
        session.commit()
    response = client.post("/auth/login", json={"message": message, "signature": _sign(account, message)})
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_signature_by_another_wallet_is_refused_and_leaves_the_nonce_usable(client):
    account, intruder = Account.create(), Account.create()
    message = _challenge(client, account.address)
    response = client.post("/auth/login", json={"message": message, "signature": _sign(intruder, message)})
    assert response.status_code == 401
    assert f"by {intruder.address}, not by {account.address}" in response.json()["detail"]
    assert client.post("/auth/login", json={"message": message, "signature": _sign(account, message)}).status_code == 200


def test_a_garbage_signature_is_refused(client):
    account = Account.create()
    message = _challenge(client, account.address)
    response = client.post("/auth/login", json={"message": message, "signature": "0x" + "00" * 65})
    assert response.status_code == 401
    assert "cannot be verified" in response.json()["detail"]


def test_a_signature_of_the_wrong_length_is_a_validation_error(client):
    account = Account.create()
    message = _challenge(client, account.address)
    response = client.post("/auth/login", json={"message": message, "signature": "0x1234"})
    assert response.status_code == 422
    assert "65 bytes" in response.text


def test_an_edited_message_is_refused(client):
    account = Account.create()
    message = _challenge(client, account.address)
    edited = message.replace("Version: 1", "Version: 2")
    response = client.post("/auth/login", json={"message": edited, "signature": _sign(account, edited)})
    assert response.status_code == 401
    assert "differs" in response.json()["detail"]


def test_a_message_with_an_unknown_nonce_is_refused(client):
    account = Account.create()
    message = _challenge(client, account.address)
    forged = "\n".join("Nonce: deadbeefdeadbeef" if line.startswith("Nonce: ") else line for line in message.splitlines())
    response = client.post("/auth/login", json={"message": forged, "signature": _sign(account, forged)})
    assert response.status_code == 401
    assert "unknown nonce" in response.json()["detail"]


def test_a_malformed_address_is_a_validation_error(client):
    response = client.post("/auth/nonce", json={"address": "0x1234"})
    assert response.status_code == 422
    assert "not an Ethereum address" in response.text


def test_requests_without_or_with_a_bad_token_are_unauthorised(client):
    assert client.get("/trips").status_code == 401
    response = client.get("/trips", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown session token"


def test_an_expired_session_is_unauthorised(wallet, app):
    me = wallet()
    with Session(app.state.engine) as session:
        stored = session.query(MemberSession).one()
        stored.expires_at = utcnow() - timedelta(seconds=1)
        session.add(stored)
        session.commit()
    response = me.get("/trips")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]


def test_a_signed_in_wallet_that_is_not_a_member_cannot_offer_rides(wallet):
    response = wallet().post("/offers", json=offer_body())
    assert response.status_code == 403
    assert "not a member" in response.json()["detail"]


@pytest.fixture
def served_at(settings, chain_client):
    """A client of an app served at `origin` (`public_origin`), on this test's database and chain."""
    apps = []

    def serve(origin: str | None = None, **more) -> TestClient:
        app = create_app(settings.model_copy(update={"public_origin": origin, **more}), chain_client)
        apps.append(app)
        return TestClient(app)

    yield serve
    for app in apps:
        app.state.engine.dispose()


def test_the_sign_in_domain_and_uri_are_the_public_origin(served_at):
    account = Account.create()
    with served_at("HTTPS://Coop.Example:443/") as client:
        lines = _challenge(client, account.address).splitlines()
        assert lines[0] == "coop.example wants you to sign in with your Ethereum account:"
        assert "URI: https://coop.example" in lines
    with served_at("http://coop.example:8080") as client:
        lines = _challenge(client, account.address).splitlines()
        assert lines[0] == "coop.example:8080 wants you to sign in with your Ethereum account:"
        assert "URI: http://coop.example:8080" in lines


def test_without_a_public_origin_the_domain_is_the_listening_address(served_at):
    with served_at(None, host="10.1.2.3", api_port=9001) as client:
        message = _challenge(client, Account.create().address)
    assert message.startswith("10.1.2.3:9001 wants you to sign in") and "\nURI: http://10.1.2.3:9001\n" in message


def test_a_message_issued_for_another_origin_is_refused(served_at):
    """A message signed for another site (here: the same service before its public origin changed) opens no
    session, even with its nonce unspent and a valid signature."""
    account = Account.create()
    with served_at("https://old.example") as old:
        message = _challenge(old, account.address)
    with served_at("https://coop.example") as new:
        response = new.post("/auth/login", json={"message": message, "signature": _sign(account, message)})
    assert response.status_code == 401
    assert "for the domain 'old.example', but this API is served from 'coop.example'" in response.json()["detail"]


def test_a_message_whose_uri_was_changed_is_refused_for_its_uri(client):
    account = Account.create()
    message = _challenge(client, account.address)
    edited = message.replace("URI: http://127.0.0.1:8000", "URI: https://phishing.example")
    response = client.post("/auth/login", json={"message": edited, "signature": _sign(account, edited)})
    assert response.status_code == 401
    assert "URI is 'https://phishing.example'" in response.json()["detail"]


# ------------------------------------------------------------------------------------------- hostile input
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)


@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(message=any_text, nonce=any_text, signature=st.one_of(any_text, st.just("0x" + "11" * 65)))
def test_any_login_body_is_refused_with_a_4xx_never_a_5xx(client, message, nonce, signature):
    """Text with NUL characters, a forged first line or a `Nonce:` line of any text: 401 or 422."""
    for text in (message, f"127.0.0.1:8000 wants you to sign in with your Ethereum account:\nURI: http://127.0.0.1:8000"
                          f"\nNonce: {nonce}\n{message}"):
        response = client.post("/auth/login", json={"message": text, "signature": signature})
        assert response.status_code in (401, 422), response.text


def test_a_huge_sign_in_message_is_a_validation_error(client):
    response = client.post("/auth/login", json={"message": "x" * 100_000, "signature": "0x" + "11" * 65})
    assert response.status_code == 422


def test_a_nonce_of_any_shape_is_unknown_and_a_nul_character_is_refused_at_the_edge(client):
    for nonce in ("\x00", "ab\x00cd", "é" * 32, "A" * 32, "0" * 33):
        message = ("127.0.0.1:8000 wants you to sign in with your Ethereum account:\nURI: http://127.0.0.1:8000\n"
                   f"Nonce: {nonce}")
        response = client.post("/auth/login", json={"message": message, "signature": "0x" + "11" * 65})
        if "\x00" in nonce:
            assert response.status_code == 422 and "NUL" in response.json()["detail"]
        else:
            assert response.status_code == 401 and "unknown nonce" in response.json()["detail"]
