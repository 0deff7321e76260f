"""Membership, gas-free. Joining is an application (v2): the applicant signs an EIP-712 `Application` and an
ERC-2612 permit for the capital share; nothing happens on chain until the admissions role admits it (the
backend relays the permit, then `Membership.admit`, from the admissions key) or refuses it. With
`settings.auto_admit` the backend admits each valid application as it arrives. Depositing, withdrawing and
claiming surplus are a member's signature (or request) relayed from the settler key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_account import Account
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import application_typed_data as application_message
from coopride.chain.eip712 import leave_typed_data as leave_message
from coopride.chain.eip712 import permit_typed_data
from coopride.chain.eip712 import withdrawal_typed_data as withdrawal_message
from coopride.config import Settings
from coopride.models import Application, RelayedTransaction, stored_id, utcnow
from coopride.models.enums import ApplicationStatus, RelayKind
from coopride.services.errors import Conflict, Forbidden, Invalid, NotFound
from coopride.services.relays import record_relayed, require_live_deadline, signature_deadline
from coopride.services.signatures import require_typed_signer

EXPIRED_REASON = "the signed deadline passed before the application was decided"


def require_member(chain: ChainClient, address: str) -> None:
    """Refuses (403) an address that holds no CoopRide membership on chain."""
    if not chain.is_member(address):
        raise Forbidden(f"{address} is not a member: apply first (POST /members/applications)")


def require_region(chain: ChainClient, region_id: int) -> None:
    if not chain.region(region_id).exists:
        raise Invalid(f"unknown region {region_id}")


# ------------------------------------------------------------------------------------------- applications
def expire_stale(session: Session, chain: ChainClient) -> int:
    """Marks every pending application whose signed deadline has passed on chain as expired; the caller commits.
    Returns how many."""
    now = chain.latest_timestamp()
    stale = session.exec(
        select(Application).where(Application.status == ApplicationStatus.PENDING, col(Application.deadline) < now)
    ).all()
    for application in stale:
        application.status = ApplicationStatus.EXPIRED
        application.reason = EXPIRED_REASON
        application.decided_at = utcnow()
        session.add(application)
    return len(stale)


def _pending_of(session: Session, address: str) -> Application | None:
    return session.exec(
        select(Application).where(Application.applicant == address, Application.status == ApplicationStatus.PENDING)
    ).first()


def _require_newcomer(session: Session, chain: ChainClient, address: str) -> None:
    """409 for a member or an applicant with a live pending application; 403 for a removed member."""
    if chain.is_member(address):
        raise Conflict(f"{address} is already a member")
    expire_stale(session, chain)
    pending = _pending_of(session, address)
    if pending is not None:
        raise Conflict(f"{address} already has a pending application (id {pending.id}): wait for its decision")
    if chain.is_revoked(address):
        raise Forbidden(f"{address} was removed by governance and cannot be admitted again")


def _application(chain: ChainClient, address: str, region_id: int, max_capital_share: int, deadline: int) -> dict:
    return application_message(
        chain.manifest.domains["membership"],
        address,
        region_id,
        max_capital_share,
        chain.membership_nonce(address),
        deadline,
    )


def _permit(chain: ChainClient, owner: str, value: int, deadline: int, nonce: int | None = None) -> dict[str, Any]:
    """The ERC-2612 permit letting the RideLedger pull `value` fare tokens from `owner`."""
    return permit_typed_data(
        chain.manifest.domains["fareToken"],
        owner,
        chain.ledger.address,
        value,
        chain.permit_nonce(owner) if nonce is None else nonce,
        deadline,
    )


def application_typed_data(
    session: Session, chain: ChainClient, settings: Settings, address: str, region_id: int
) -> dict[str, Any]:
    """What an applicant signs: the `Application` (most capital share = the current one) and the permit for it,
    both with the same deadline."""
    require_region(chain, region_id)
    _require_newcomer(session, chain, address)
    share = chain.capital_share()
    deadline = signature_deadline(chain, settings)
    return {
        "typed_data": _application(chain, address, region_id, share, deadline),
        "permit_typed_data": _permit(chain, address, share, deadline),
        "capital_share": share,
    }


def submit_application(
    session: Session,
    chain: ChainClient,
    settings: Settings,
    address: str,
    region_id: int,
    max_capital_share: int,
    deadline: int,
    signature: bytes,
    permit_signature: bytes,
) -> Application:
    """Checks the application as `Membership.admit` will (deadline, capital share within the signed maximum,
    the applicant's signature) and the permit and balance for the capital share, stores it, and admits it at
    once with `settings.auto_admit`. The caller commits."""
    require_region(chain, region_id)
    _require_newcomer(session, chain, address)
    require_live_deadline(chain, deadline)
    nonce = chain.membership_nonce(address)
    require_typed_signer(
        _application(chain, address, region_id, max_capital_share, deadline), signature, address, "application"
    )
    share = chain.capital_share()
    if share > max_capital_share:
        raise Invalid(
            f"the capital share is now {share} fare-token units, above the most you signed for ({max_capital_share}):"
            " fetch fresh typed data"
        )
    permit_nonce = chain.permit_nonce(address)
    require_typed_signer(
        _permit(chain, address, max_capital_share, deadline, permit_nonce), permit_signature, address, "permit"
    )
    balance = chain.fare_token_balance(address)
    if balance < share:
        raise Invalid(
            f"the wallet holds {balance} fare-token units, less than the capital share of {share} collected at"
            " admission"
        )
    application = Application(
        applicant=address,
        region_id=region_id,
        max_capital_share=str(max_capital_share),
        deadline=deadline,
        nonce=str(nonce),
        signature="0x" + bytes(signature).hex(),
        permit_value=str(max_capital_share),
        permit_nonce=str(permit_nonce),
        permit_signature="0x" + bytes(permit_signature).hex(),
    )
    if settings.auto_admit_for(chain.chain_id):
        # Admitted before anything is written: no database lock is held while the chain mines.
        return admit(session, chain, settings, application)
    session.add(application)
    try:
        session.flush()
    except IntegrityError:  # another application of the same wallet arrived at the same moment
        session.rollback()
        raise Conflict(f"{address} already has a pending application: wait for its decision") from None
    return application


def admissions_key(chain: ChainClient, settings: Settings) -> str:
    """The admissions key, which must be the chain's admissions role (409 with the fix otherwise)."""
    key = settings.admissions_key_for(chain.chain_id)
    if not key:
        raise Conflict(
            "this backend holds no admissions key: the operator sets COOPRIDE_ADMISSIONS_KEY to admit applicants"
        )
    address = Account.from_key(key).address
    role = chain.admissions_address()
    if address != role:
        raise Conflict(
            f"the configured admissions key ({address}) is not the chain's admissions role ({role}): "
            "the operator fixes COOPRIDE_ADMISSIONS_KEY"
        )
    return key


def require_admissions(chain: ChainClient, address: str) -> None:
    """403 unless `address` is the chain's admissions role."""
    role = chain.admissions_address()
    if address != role:
        raise Forbidden(f"only the admissions role ({role}) decides applications")


def _pending(session: Session, chain: ChainClient, application_id: int) -> Application:
    expire_stale(session, chain)
    application = session.get(Application, application_id)
    if application is None:
        raise NotFound(f"no application {application_id}")
    if application.status != ApplicationStatus.PENDING:
        raise Conflict(f"application {application_id} is {application.status}, not pending")
    return application


def admit(session: Session, chain: ChainClient, settings: Settings, application: Application) -> Application:
    """Relays the applicant's permit, then `Membership.admit`, from the admissions key; records the admission.
    A refusal by the chain (`ChainRevert`) leaves the application pending. The caller commits."""
    key = admissions_key(chain, settings)
    if chain.is_member(application.applicant):
        raise Conflict(f"{application.applicant} is already a member: refuse the application")
    outcome = chain.admit(
        key,
        application.applicant,
        application.region_id,
        int(application.max_capital_share),
        application.deadline,
        bytes.fromhex(application.signature.removeprefix("0x")),
        (int(application.permit_value), application.deadline, bytes.fromhex(application.permit_signature[2:])),
    )
    application.status = ApplicationStatus.ADMITTED
    application.tx_hash = outcome.tx_hash
    application.decided_at = utcnow()
    session.add(application)
    record_relayed(session, application.applicant, RelayKind.JOIN, outcome, region_id=application.region_id)
    return application


def admit_by_id(session: Session, chain: ChainClient, settings: Settings, application_id: int) -> Application:
    return admit(session, chain, settings, _pending(session, chain, application_id))


def refuse_by_id(session: Session, chain: ChainClient, application_id: int, reason: str) -> Application:
    """Refuses a pending application with `reason` (nothing happens on chain); the caller commits."""
    application = _pending(session, chain, application_id)
    application.status = ApplicationStatus.REFUSED
    application.reason = reason
    application.decided_at = utcnow()
    session.add(application)
    return application


def applications(
    session: Session, chain: ChainClient, status: ApplicationStatus | None = None
) -> Sequence[Application]:
    """Applications, oldest first (only those in `status` if given), after expiring the stale ones."""
    expire_stale(session, chain)
    query = select(Application).order_by(col(Application.id))
    if status is not None:
        query = query.where(Application.status == status)
    return session.exec(query).all()


def latest_application(session: Session, chain: ChainClient, address: str) -> Application:
    expire_stale(session, chain)
    application = session.exec(
        select(Application).where(Application.applicant == address).order_by(col(Application.id).desc())
    ).first()
    if application is None:
        raise NotFound(f"{address} has not applied")
    return application


def application_id(application: Application) -> int:
    return stored_id(application)


# ------------------------------------------------------------------------------ escrow, earnings, surplus
def deposit_typed_data(chain: ChainClient, settings: Settings, member: str, amount: int) -> dict[str, Any]:
    """The ERC-2612 `Permit` (spender: the RideLedger) for `member` to sign."""
    return _permit(chain, member, amount, signature_deadline(chain, settings))


def deposit(
    session: Session, chain: ChainClient, member: str, amount: int, deadline: int, signature: bytes
) -> RelayedTransaction:
    """Relays `member`'s signed permit into an escrow deposit (`RideLedger.depositWithPermit`)."""
    require_live_deadline(chain, deadline)
    balance = chain.fare_token_balance(member)
    if balance < amount:
        raise Invalid(f"the wallet holds {balance} fare-token units, less than the {amount} to deposit")
    require_typed_signer(_permit(chain, member, amount, deadline), signature, member, "permit")
    outcome = chain.relay_permit_deposit(member, amount, deadline, signature)
    return record_relayed(session, member, RelayKind.DEPOSIT, outcome, amount=str(amount))


def _withdrawal(chain: ChainClient, member: str, amount: int, from_earnings: bool, deadline: int) -> dict[str, Any]:
    return withdrawal_message(
        chain.manifest.domains["receipt"], member, from_earnings, amount, chain.ledger_nonce(member), deadline
    )


def _require_available(chain: ChainClient, member: str, amount: int, from_earnings: bool) -> None:
    available = chain.earnings_of(member) if from_earnings else chain.escrow_of(member)
    if available < amount:
        where = "earnings" if from_earnings else "escrow"
        raise Invalid(f"your {where} holds {available} fare-token units, less than the {amount} to withdraw")


def withdrawal_typed_data(
    chain: ChainClient, settings: Settings, member: str, amount: int, from_earnings: bool
) -> dict[str, Any]:
    """The EIP-712 `Withdrawal` (RideLedger domain) for `member` to sign."""
    _require_available(chain, member, amount, from_earnings)
    return _withdrawal(chain, member, amount, from_earnings, signature_deadline(chain, settings))


def withdraw(
    session: Session,
    chain: ChainClient,
    member: str,
    amount: int,
    from_earnings: bool,
    deadline: int,
    signature: bytes,
) -> RelayedTransaction:
    """Relays `member`'s signed `Withdrawal` (`RideLedger.withdrawBySig`): the tokens go to the member's wallet."""
    require_live_deadline(chain, deadline)
    _require_available(chain, member, amount, from_earnings)
    require_typed_signer(_withdrawal(chain, member, amount, from_earnings, deadline), signature, member, "withdrawal")
    outcome = chain.relay_withdrawal(member, from_earnings, amount, deadline, signature)
    return record_relayed(session, member, RelayKind.WITHDRAW, outcome, amount=str(amount))


def claim(session: Session, chain: ChainClient, member: str) -> RelayedTransaction:
    """Relays `CoopShare.claimFor(member)`: the member's share of distributed surplus, paid to the member."""
    amount = chain.claimable(member)
    if amount == 0:
        raise Conflict("nothing to claim")
    outcome = chain.relay_claim(member)
    return record_relayed(session, member, RelayKind.CLAIM, outcome, amount=str(amount))


def _leave(chain: ChainClient, member: str, deadline: int) -> dict[str, Any]:
    return leave_message(chain.manifest.domains["membership"], member, chain.membership_nonce(member), deadline)


def leave_typed_data(chain: ChainClient, settings: Settings, member: str) -> dict[str, Any]:
    """The EIP-712 `Leave` (Membership domain) for `member` to sign."""
    return _leave(chain, member, signature_deadline(chain, settings))


def leave(session: Session, chain: ChainClient, member: str, deadline: int, signature: bytes) -> RelayedTransaction:
    """Relays `member`'s signed `Leave` (`Membership.leaveBySig`): the membership is burnt and the capital share paid
    at admission goes back to the member's wallet. Escrow and earnings stay the member's to withdraw."""
    require_live_deadline(chain, deadline)
    capital_share = chain.capital_paid(member)
    require_typed_signer(_leave(chain, member, deadline), signature, member, "leave")
    outcome = chain.relay_leave(member, deadline, signature)
    return record_relayed(session, member, RelayKind.LEAVE, outcome, amount=str(capital_share))
