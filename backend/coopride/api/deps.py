"""Request dependencies, as `Annotated` aliases: `SessionDep`, `ChainDep`, `SettingsDep`, `RegionMapDep`,
`SignedIn` (any wallet with a session) and `CurrentMember` (signed in and a member on chain)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from coopride.chain.client import ChainClient
from coopride.config import Settings
from coopride.domain.regions import RegionMap
from coopride.models import MemberSession, as_utc, utcnow


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_chain(request: Request) -> ChainClient:
    return request.app.state.chain


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: handlers commit once, after any chain relay succeeded; anything
    not committed is rolled back when the request ends."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ChainDep = Annotated[ChainClient, Depends(get_chain)]
SessionDep = Annotated[Session, Depends(get_session)]

bearer = HTTPBearer(auto_error=False, description="The token `POST /auth/login` returns.")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def get_signed_in_address(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str:
    """The wallet address of the caller's session (401 without a live session)."""
    if credentials is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first: send `Authorization: Bearer <token>`",
                            headers={"WWW-Authenticate": "Bearer"})
    stored = session.get(MemberSession, hash_token(credentials.credentials))
    if stored is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown session token", headers={"WWW-Authenticate": "Bearer"})
    if as_utc(stored.expires_at) <= utcnow():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "session expired: sign in again", headers={"WWW-Authenticate": "Bearer"})
    return stored.address


SignedIn = Annotated[str, Depends(get_signed_in_address)]


def get_current_member(address: SignedIn, chain: ChainDep) -> str:
    """The caller's address, if it holds a CoopRide membership on chain (403 otherwise)."""
    if not chain.is_member(address):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{address} is not a member: join first (POST /members/join)")
    return address


CurrentMember = Annotated[str, Depends(get_current_member)]



def get_region_map(request: Request) -> RegionMap:
    return request.app.state.region_map


RegionMapDep = Annotated[RegionMap, Depends(get_region_map)]
