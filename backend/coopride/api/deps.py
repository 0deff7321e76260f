"""Request dependencies, as `Annotated` aliases: `SessionDep`, `ChainDep`, `SettingsDep`, `RegionMapDep`,
`SignedIn` (any wallet with a session) and `CurrentMember` (signed in and a member on chain)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from coopride.chain.client import ChainClient
from coopride.config import Settings
from coopride.domain.regions import RegionMap
from coopride.services import auth, membership


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_chain(request: Request) -> ChainClient:
    chain: ChainClient = request.app.state.chain
    return chain


def get_region_map(request: Request) -> RegionMap:
    region_map: RegionMap = request.app.state.region_map
    return region_map


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: handlers commit once, after any chain relay succeeded; anything
    not committed is rolled back when the request ends."""
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
ChainDep = Annotated[ChainClient, Depends(get_chain)]
SessionDep = Annotated[Session, Depends(get_session)]
RegionMapDep = Annotated[RegionMap, Depends(get_region_map)]

bearer = HTTPBearer(auto_error=False, description="The token `POST /auth/login` returns.")


def get_signed_in_address(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str:
    """The wallet address of the caller's session (401 without a live session)."""
    return auth.signed_in_address(session, credentials.credentials if credentials is not None else None)


SignedIn = Annotated[str, Depends(get_signed_in_address)]


def get_current_member(address: SignedIn, chain: ChainDep) -> str:
    """The caller's address, if it holds a CoopRide membership on chain (403 otherwise)."""
    membership.require_member(chain, address)
    return address


CurrentMember = Annotated[str, Depends(get_current_member)]
