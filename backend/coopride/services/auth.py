"""Sign-in with a wallet signature (EIP-4361 "Sign-In with Ethereum" messages) and bearer sessions; no passwords.

The server writes the whole message and stores it with its nonce, so login compares the signed text
byte for byte with what was issued instead of parsing what the client sends back.
"""

from __future__ import annotations

import hashlib
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


def sign_in_message(
    settings: Settings, address: str, chain_id: int, nonce: str, issued_at: datetime, expires_at: datetime
) -> str:
    """An EIP-4361 message."""
    return (
        f"{settings.sign_in_domain} wants you to sign in with your Ethereum account:\n"
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


def nonce_of(message: str) -> str:
    for line in message.splitlines():
        if line.startswith("Nonce: "):
            return line.removeprefix("Nonce: ").strip()
    raise SignInRefused("the message has no `Nonce:` line; ask POST /auth/nonce for one")


def log_in(session: Session, settings: Settings, message: str, signature: bytes) -> IssuedSession:
    """Checks the signed challenge, spends its nonce and opens a session. Raises `SignInRefused`."""
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
