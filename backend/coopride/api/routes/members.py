from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, status

from coopride.api.deps import ChainDep, CurrentMember, SessionDep, SettingsDep, SignedIn
from coopride.api.idempotency import IdempotencyKey, idempotent
from coopride.models import Application, RelayedTransaction
from coopride.models.enums import ApplicationStatus
from coopride.schemas.common import RelayedTransactionPublic, TypedDataResponse
from coopride.schemas.members import (
    ApplicationCreate,
    ApplicationPublic,
    ApplicationTypedData,
    DepositRequest,
    LeaveRequest,
    RefusalRequest,
    WithdrawalRequest,
)
from coopride.schemas.statements import Statement
from coopride.schemas.types import Address, PositiveFareAmountIn, signature_bytes
from coopride.services import membership, statements

router = APIRouter(prefix="/members", tags=["members"])

RegionId = Annotated[int, Query(ge=1, lt=2**32, description="the region to join")]
ApplicationId = Annotated[int, Path(ge=1, lt=2**63)]


@router.get(
    "/application/typed-data",
    summary="The Application and the capital-share permit to sign to apply for membership",
    response_model=ApplicationTypedData,
)
def application_data(
    region_id: RegionId, address: SignedIn, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> ApplicationTypedData:
    data = membership.application_typed_data(session, chain, settings, address, region_id)
    session.commit()  # applications found expired on the way
    return ApplicationTypedData(**data)


@router.post(
    "/applications",
    summary="Apply for membership with your signed Application and permit (nothing happens on chain until admitted)",
    response_model=ApplicationPublic,
    status_code=status.HTTP_201_CREATED,
)
def apply(
    body: ApplicationCreate, address: SignedIn, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> Application:
    """The signatures are checked at once, as `Membership.admit` will check them. Where the backend admits
    automatically (the local chain), the answer is already `admitted`."""
    application = membership.submit_application(
        session,
        chain,
        settings,
        address,
        body.region_id,
        body.max_capital_share,
        body.deadline,
        signature_bytes(body.signature),
        signature_bytes(body.permit_signature),
    )
    session.commit()
    return application


@router.get("/applications/me", summary="Your latest application", response_model=ApplicationPublic)
def my_application(address: SignedIn, session: SessionDep, chain: ChainDep) -> Application:
    application = membership.latest_application(session, chain, address)
    session.commit()
    return application


@router.get(
    "/applications",
    summary="Applications, oldest first (the admissions role only)",
    response_model=list[ApplicationPublic],
)
def list_applications(
    address: SignedIn,
    session: SessionDep,
    chain: ChainDep,
    status_: Annotated[ApplicationStatus | None, Query(alias="status")] = None,
) -> list[Application]:
    membership.require_admissions(chain, address)
    found = list(membership.applications(session, chain, status_))
    session.commit()
    return found


@router.post(
    "/applications/{application_id}/admit",
    summary="Admit a pending application on chain (the admissions role only)",
    response_model=ApplicationPublic,
)
def admit_application(
    application_id: ApplicationId, address: SignedIn, session: SessionDep, chain: ChainDep, settings: SettingsDep
) -> Application:
    membership.require_admissions(chain, address)
    application = membership.admit_by_id(session, chain, settings, application_id)
    session.commit()
    return application


@router.post(
    "/applications/{application_id}/refuse",
    summary="Refuse a pending application, with a reason (the admissions role only)",
    response_model=ApplicationPublic,
)
def refuse_application(
    application_id: ApplicationId, body: RefusalRequest, address: SignedIn, session: SessionDep, chain: ChainDep
) -> Application:
    membership.require_admissions(chain, address)
    application = membership.refuse_by_id(session, chain, application_id, body.reason)
    session.commit()
    return application


@router.get(
    "/me/deposit/typed-data", summary="ERC-2612 permit to sign for an escrow deposit", response_model=TypedDataResponse
)
def deposit_data(
    amount: Annotated[PositiveFareAmountIn, Query()], member: CurrentMember, chain: ChainDep, settings: SettingsDep
) -> TypedDataResponse:
    return TypedDataResponse(typed_data=membership.deposit_typed_data(chain, settings, member, amount))


@router.post(
    "/me/deposits",
    summary="Deposit fare tokens into escrow with a signed permit (gas-free)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def deposit(
    body: DepositRequest,
    member: CurrentMember,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Relays your ERC-2612 permit and the deposit. A repeat of a relayed permit is refused (its nonce is spent);
    with the same `Idempotency-Key` it gets the first answer and moves nothing."""

    def work() -> RelayedTransaction:
        return membership.deposit(session, chain, member, body.amount, body.deadline, signature_bytes(body.signature))

    return idempotent(
        session, request, member, idempotency_key, body, RelayedTransactionPublic, status.HTTP_201_CREATED, work
    )


@router.get(
    "/me/withdrawal/typed-data",
    summary="The EIP-712 Withdrawal to sign to take escrow or earnings back to your wallet",
    response_model=TypedDataResponse,
)
def withdrawal_data(
    amount: Annotated[PositiveFareAmountIn, Query()],
    member: SignedIn,
    chain: ChainDep,
    settings: SettingsDep,
    from_earnings: Annotated[bool, Query(description="true: driving earnings; false: escrow")] = False,
) -> TypedDataResponse:
    return TypedDataResponse(
        typed_data=membership.withdrawal_typed_data(chain, settings, member, amount, from_earnings)
    )


@router.post(
    "/me/withdrawals",
    summary="Withdraw escrow or earnings to your wallet with a signed Withdrawal (gas-free)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def withdraw(
    body: WithdrawalRequest,
    member: SignedIn,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Relays your signed Withdrawal. Membership is not needed: a member who left takes their money back the same
    way. A repeat is refused (its nonce is spent); with the same `Idempotency-Key` it gets the first answer and
    moves nothing."""

    def work() -> RelayedTransaction:
        return membership.withdraw(
            session, chain, member, body.amount, body.from_earnings, body.deadline, signature_bytes(body.signature)
        )

    return idempotent(
        session, request, member, idempotency_key, body, RelayedTransactionPublic, status.HTTP_201_CREATED, work
    )


@router.post(
    "/me/claim",
    summary="Claim your share of distributed surplus (relayed, paid to you)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def claim(
    member: CurrentMember,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Relays `claimSurplus` for you. 409 when there is nothing to claim (with the same `Idempotency-Key`: the
    first answer)."""
    return idempotent(
        session,
        request,
        member,
        idempotency_key,
        None,
        RelayedTransactionPublic,
        status.HTTP_201_CREATED,
        lambda: membership.claim(session, chain, member),
    )


@router.get(
    "/me/leave/typed-data",
    summary="The EIP-712 Leave to sign to leave the cooperative (your capital share comes back)",
    response_model=TypedDataResponse,
)
def leave_data(member: CurrentMember, chain: ChainDep, settings: SettingsDep) -> TypedDataResponse:
    return TypedDataResponse(typed_data=membership.leave_typed_data(chain, settings, member))


@router.post(
    "/me/leave",
    summary="Leave the cooperative with a signed Leave (gas-free): membership burnt, capital share returned",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def leave(
    body: LeaveRequest,
    member: CurrentMember,
    session: SessionDep,
    chain: ChainDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Relays `Membership.leaveBySig`: your vote and membership end, the capital share you paid at admission goes
    back to your wallet (`amount`), and your escrow and earnings stay yours to withdraw. You may apply again."""

    def work() -> RelayedTransaction:
        return membership.leave(session, chain, member, body.deadline, signature_bytes(body.signature))

    return idempotent(
        session, request, member, idempotency_key, body, RelayedTransactionPublic, status.HTTP_201_CREATED, work
    )


@router.get(
    "/{address}/statement", summary="A member's statement, checkable against the chain", response_model=Statement
)
def statement(address: Annotated[Address, Path()], caller: SignedIn, session: SessionDep, chain: ChainDep) -> Statement:
    """Your own statement in full. Another member's statement shows only its public part: totals of
    km and shares, and votes (all of which the chain already shows)."""
    return statements.member_statement(session, chain, address, full=(caller == address))
