from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from coopride.api.deps import ChainDep, CurrentMember, SessionDep, SettingsDep, SignedIn
from coopride.models import RelayedTransaction
from coopride.schemas.common import RelayedTransactionPublic, TypedDataResponse
from coopride.schemas.members import DepositRequest, JoinRequest
from coopride.schemas.statements import Statement
from coopride.schemas.types import Address, TokenAmount, signature_bytes
from coopride.services import membership, statements

router = APIRouter(prefix="/members", tags=["members"])

RegionId = Annotated[int, Query(ge=1, lt=2**32, description="the region to join")]


@router.get("/join/typed-data", summary="Typed data to sign to join a region", response_model=TypedDataResponse)
def join_data(region_id: RegionId, address: SignedIn, chain: ChainDep, settings: SettingsDep) -> TypedDataResponse:
    return TypedDataResponse(typed_data=membership.join_typed_data(chain, settings, address, region_id))


@router.post(
    "/join",
    summary="Join (the backend relays your signed Join and pays the gas)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def join(body: JoinRequest, address: SignedIn, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    row = membership.join(session, chain, address, body.region_id, body.deadline, signature_bytes(body.signature))
    session.commit()
    return row


@router.get(
    "/me/deposit/typed-data", summary="ERC-2612 permit to sign for an escrow deposit", response_model=TypedDataResponse
)
def deposit_data(
    amount: Annotated[TokenAmount, Query()], member: CurrentMember, chain: ChainDep, settings: SettingsDep
) -> TypedDataResponse:
    return TypedDataResponse(typed_data=membership.deposit_typed_data(chain, settings, member, amount))


@router.post(
    "/me/deposits",
    summary="Deposit fare tokens into escrow with a signed permit (gas-free)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def deposit(body: DepositRequest, member: CurrentMember, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    row = membership.deposit(session, chain, member, body.amount, body.deadline, signature_bytes(body.signature))
    session.commit()
    return row


@router.post(
    "/me/claim",
    summary="Claim your share of distributed surplus (relayed, paid to you)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def claim(member: CurrentMember, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    row = membership.claim(session, chain, member)
    session.commit()
    return row


@router.get(
    "/{address}/statement", summary="A member's statement, checkable against the chain", response_model=Statement
)
def statement(address: Annotated[Address, Path()], caller: SignedIn, session: SessionDep, chain: ChainDep) -> Statement:
    """Your own statement in full. Another member's statement shows only its public part: totals of
    km and shares, and votes (all of which the chain already shows)."""
    return statements.member_statement(session, chain, address, full=(caller == address))
