"""Sign-in with a wallet signature (EIP-4361 "Sign-In with Ethereum" messages) and bearer sessions; no passwords.

The server writes the whole message and stores it with its nonce, so login compares the signed text
byte for byte with what was issued instead of parsing what the client sends back.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from eth_account.messages import encode_defunct
from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from coopride.config import Settings
from coopride.models import MemberSession, SignInNonce, as_utc, utcnow
from coopride.services.errors import NotSignedIn, SignInRefused
from coopride.services.signatures import recover_signer


@dataclass(frozen=True)
class IssuedSession:
    token: str
    address: str
    expires_at: datetime


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


SIGN_IN_REQUEST = " wants you to sign in with your Ethereum account:"


def sign_in_message(
    settings: Settings, address: str, chain_id: int, nonce: str, issued_at: datetime, expires_at: datetime
) -> str:
    """An EIP-4361 message whose domain and URI are the origin the API is served from (`Settings.origin`)."""
    return (
        f"{settings.sign_in_domain}{SIGN_IN_REQUEST}\n"
        f"{address}\n"
        f"\n"
        f"{settings.sign_in_statement}\n"
        f"\n"
        f"URI: {settings.sign_in_uri}\n"
        f"Version: 1\n"
        f"Chain ID: {chain_id}\n"
        f"Nonce: {nonce}\n"
        f"Issued At: {_iso(issued_at)}\n"
        f"Expiration Time: {_iso(expires_at)}"
    )


def issue_nonce(session: Session, settings: Settings, address: str, chain_id: int) -> SignInNonce:
    issued_at = utcnow().replace(microsecond=0)
    session.execute(delete(SignInNonce).where(col(SignInNonce.expires_at) < issued_at))
    expires_at = issued_at + timedelta(seconds=settings.nonce_ttl_seconds)
    nonce = secrets.token_hex(16)
    challenge = SignInNonce(
        nonce=nonce,
        address=address,
        message=sign_in_message(settings, address, chain_id, nonce, issued_at, expires_at),
        issued_at=issued_at,
        expires_at=expires_at,
    )
    session.add(challenge)
    return challenge


NONCE = re.compile(r"[0-9a-f]{32}")  # what `issue_nonce` writes: secrets.token_hex(16)


def nonce_of(message: str) -> str:
    """The message's nonce. Raises `SignInRefused` when it has none, or one this API never writes (so that no text
    of any shape, a NUL character say, reaches the database)."""
    for line in message.splitlines():
        if line.startswith("Nonce: "):
            nonce = line.removeprefix("Nonce: ").strip()
            if not NONCE.fullmatch(nonce):
                raise SignInRefused("unknown nonce: ask POST /auth/nonce for one")
            return nonce
    raise SignInRefused("the message has no `Nonce:` line; ask POST /auth/nonce for one")


def require_this_origin(settings: Settings, message: str) -> None:
    """Refuses a message whose EIP-4361 domain or URI is not the origin this API is served from: signed for
    another site (or under another `public_origin`), it must not open a session here."""
    lines = message.splitlines()
    first = lines[0] if lines else ""
    if not first.endswith(SIGN_IN_REQUEST):
        raise SignInRefused(f"not an EIP-4361 message: the first line must end with {SIGN_IN_REQUEST.strip()!r}")
    domain = first.removesuffix(SIGN_IN_REQUEST)
    if domain != settings.sign_in_domain:
        raise SignInRefused(
            f"the message is for the domain {domain!r}, but this API is served from {settings.sign_in_domain!r}: "
            "ask POST /auth/nonce for a new message"
        )
    uris = [line.removeprefix("URI: ") for line in lines if line.startswith("URI: ")]
    if uris != [settings.sign_in_uri]:
        found = repr(uris[0]) if len(uris) == 1 else f"{len(uris)} URI lines"
        raise SignInRefused(
            f"the message's URI is {found}, but this API is served from {settings.sign_in_uri!r}: "
            "ask POST /auth/nonce for a new message"
        )


def log_in(session: Session, settings: Settings, message: str, signature: bytes) -> IssuedSession:
    """Checks that the message names this API's origin, that it is the challenge issued with its nonce and that its
    address signed it; spends the nonce and opens a session. Raises `SignInRefused`."""
    require_this_origin(settings, message)
    challenge = session.exec(select(SignInNonce).where(SignInNonce.nonce == nonce_of(message))).first()
    now = utcnow()
    if challenge is None:
        raise SignInRefused("unknown nonce: ask POST /auth/nonce for one")
    if challenge.message != message:
        raise SignInRefused("the message differs from the one issued with this nonce")
    if challenge.used_at is not None:
        raise SignInRefused("this nonce was already used: ask POST /auth/nonce for a new one")
    if as_utc(challenge.expires_at) <= now:
        raise SignInRefused("this nonce expired: ask POST /auth/nonce for a new one")
    signer = recover_signer(encode_defunct(text=message), signature, "the signature", refusal=SignInRefused)
    if signer != challenge.address:
        raise SignInRefused(f"the signature is by {signer}, not by {challenge.address}")

    # Spend the nonce with a conditional update, so two concurrent logins cannot both use it.
    spent = session.execute(
        update(SignInNonce)
        .where(col(SignInNonce.nonce) == challenge.nonce, col(SignInNonce.used_at).is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise SignInRefused("this nonce was already used: ask POST /auth/nonce for a new one")
    session.execute(delete(MemberSession).where(col(MemberSession.expires_at) < now))
    token = secrets.token_urlsafe(32)
    expires_at = now + timedelta(seconds=settings.session_ttl_seconds)
    session.add(MemberSession(token_hash=hash_token(token), address=signer, created_at=now, expires_at=expires_at))
    return IssuedSession(token, signer, expires_at)


def signed_in_address(session: Session, token: str | None) -> str:
    """The wallet address of the live session `token` opens. Raises `NotSignedIn`."""
    if token is None:
        raise NotSignedIn("sign in first: send `Authorization: Bearer <token>`")
    stored = session.get(MemberSession, hash_token(token))
    if stored is None:
        raise NotSignedIn("unknown session token")
    if as_utc(stored.expires_at) <= utcnow():
        raise NotSignedIn("session expired: sign in again")
    return stored.address
