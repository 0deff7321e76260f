from __future__ import annotations

from fastapi import APIRouter

from coopride.api.deps import ChainDep, SessionDep, SettingsDep
from coopride.api.errors import Problem
from coopride.schemas.auth import LoginRequest, LoginResponse, NonceRequest, NonceResponse
from coopride.schemas.types import signature_bytes
from coopride.services import auth

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post("/nonce", summary="Get a sign-in message to sign", response_model=NonceResponse)
def nonce(body: NonceRequest, session: SessionDep, settings: SettingsDep, chain: ChainDep) -> NonceResponse:
    """Returns an EIP-4361 message for `address`. Sign it with `personal_sign` and post it to
    `/auth/login` before it expires; its nonce works once."""
    challenge = auth.issue_nonce(session, settings, body.address, chain.chain_id)
    session.commit()
    return NonceResponse(nonce=challenge.nonce, message=challenge.message, expires_at=challenge.expires_at)


@router.post(
    "/login",
    summary="Exchange a signed sign-in message for a session token",
    response_model=LoginResponse,
    responses={401: {"model": Problem, "description": "unknown, used or expired nonce; bad signature; wrong signer"}},
)
def login(body: LoginRequest, session: SessionDep, settings: SettingsDep) -> LoginResponse:
    issued = auth.log_in(session, settings, body.message, signature_bytes(body.signature))
    session.commit()
    return LoginResponse(access_token=issued.token, address=issued.address, expires_at=issued.expires_at)
