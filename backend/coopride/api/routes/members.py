from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status

from coopride import statements
from coopride.api.deps import ChainDep, CurrentMember, SessionDep, SettingsDep, SignedIn
from coopride.api.signatures import require_signer
from coopride.chain.eip712 import join_typed_data, permit_typed_data
from coopride.models import RelayedTransaction
from coopride.models.enums import RelayKind
from coopride.schemas.common import RelayedTransactionPublic, TypedDataResponse
from coopride.schemas.members import DepositRequest, JoinRequest
from coopride.schemas.statements import Statement
from coopride.schemas.types import Address, TokenAmount

router = APIRouter(prefix="/members", tags=["members"])

RegionId = Annotated[int, Query(ge=1, lt=2**32, description="the region to join")]


def _require_region(chain: ChainDep, region_id: int) -> None:
    if not chain.region(region_id).exists:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"unknown region {region_id}")


def _require_live_deadline(chain: ChainDep, deadline: int) -> None:
    if deadline < chain.latest_timestamp():
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the signed deadline has passed: fetch fresh typed data")


def _record(session: SessionDep, member: str, kind: str, outcome, **fields) -> RelayedTransaction:
    row = RelayedTransaction(member=member, kind=kind, tx_hash=outcome.tx_hash, block_number=outcome.block_number,
                             gas_used=outcome.gas_used, **fields)
    session.add(row)
    session.commit()
    return row


@router.get("/join/typed-data", summary="Typed data to sign to join a region", response_model=TypedDataResponse)
def join_data(region_id: RegionId, address: SignedIn, chain: ChainDep, settings: SettingsDep) -> TypedDataResponse:
    if chain.is_member(address):
        raise HTTPException(status.HTTP_409_CONFLICT, f"{address} is already a member")
    _require_region(chain, region_id)
    deadline = chain.latest_timestamp() + settings.signature_deadline_seconds
    domain = chain.manifest.domains["membership"]
    return TypedDataResponse(typed_data=join_typed_data(domain, address, region_id, chain.membership_nonce(address), deadline))


@router.post("/join", summary="Join (the backend relays your signed Join and pays the gas)",
             response_model=RelayedTransactionPublic, status_code=status.HTTP_201_CREATED)
def join(body: JoinRequest, address: SignedIn, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    if chain.is_member(address):
        raise HTTPException(status.HTTP_409_CONFLICT, f"{address} is already a member")
    _require_region(chain, body.region_id)
    _require_live_deadline(chain, body.deadline)
    typed = join_typed_data(chain.manifest.domains["membership"], address, body.region_id,
                            chain.membership_nonce(address), body.deadline)
    signature = require_signer(typed, body.signature, address, "Join")
    outcome = chain.relay_join(address, body.region_id, body.deadline, signature)
    return _record(session, address, RelayKind.JOIN, outcome, region_id=body.region_id)


@router.get("/me/deposit/typed-data", summary="ERC-2612 permit to sign for an escrow deposit",
            response_model=TypedDataResponse)
def deposit_data(amount: Annotated[TokenAmount, Query()], member: CurrentMember, chain: ChainDep,
                 settings: SettingsDep) -> TypedDataResponse:
    deadline = chain.latest_timestamp() + settings.signature_deadline_seconds
    typed = permit_typed_data(chain.manifest.domains["fareToken"], member, chain.ledger.address, amount,
                              chain.permit_nonce(member), deadline)
    return TypedDataResponse(typed_data=typed)


@router.post("/me/deposits", summary="Deposit fare tokens into escrow with a signed permit (gas-free)",
             response_model=RelayedTransactionPublic, status_code=status.HTTP_201_CREATED)
def deposit(body: DepositRequest, member: CurrentMember, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    _require_live_deadline(chain, body.deadline)
    balance = chain.fare_token_balance(member)
    if balance < body.amount:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            f"the wallet holds {balance} fare-token units, less than the {body.amount} to deposit")
    typed = permit_typed_data(chain.manifest.domains["fareToken"], member, chain.ledger.address, body.amount,
                              chain.permit_nonce(member), body.deadline)
    signature = require_signer(typed, body.signature, member, "permit")
    outcome = chain.relay_permit_deposit(member, body.amount, body.deadline, signature)
    return _record(session, member, RelayKind.DEPOSIT, outcome, amount=str(body.amount))


@router.post("/me/claim", summary="Claim your share of distributed surplus (relayed, paid to you)",
             response_model=RelayedTransactionPublic, status_code=status.HTTP_201_CREATED)
def claim(member: CurrentMember, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    amount = chain.claimable(member)
    if amount == 0:
        raise HTTPException(status.HTTP_409_CONFLICT, "nothing to claim")
    outcome = chain.relay_claim(member)
    return _record(session, member, RelayKind.CLAIM, outcome, amount=str(amount))


@router.get("/{address}/statement", summary="A member's statement, checkable against the chain",
            response_model=Statement)
def statement(address: Annotated[Address, Path()], caller: SignedIn, session: SessionDep,
              chain: ChainDep) -> Statement:
    """Your own statement in full. Another member's statement shows only its public part: totals of
    km and shares, and votes (all of which the chain already shows)."""
    return statements.member_statement(session, chain, address, full=(caller == address))
