from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query, status

from coopride.api.deps import ChainDep, CurrentMember, SessionDep, SettingsDep
from coopride.models import RelayedTransaction
from coopride.models.enums import ProposalKind
from coopride.schemas.common import RelayedTransactionPublic, TypedDataResponse
from coopride.schemas.governance import BallotRequest, ProposalCreate, ProposalDraft, ProposalPublic, ProposalSubmit
from coopride.schemas.types import Uint256Text, signature_bytes
from coopride.services import governance
from coopride.services.governance import ParameterChange

router = APIRouter(prefix="/governance", tags=["governance"])

ProposalId = Annotated[Uint256Text, Path(description="the Governor's proposal id (a uint256), in decimal digits")]
Support = Annotated[int, Query(ge=0, le=2, description="0 against, 1 for, 2 abstain")]


def _change(change: ProposalCreate) -> ParameterChange:
    return ParameterChange(
        kind=ProposalKind(change.kind),
        parameters=change.model_dump(exclude={"kind", "description"}),
        description=change.description,
    )


@router.get(
    "/proposals",
    summary="Every proposal, with its state and tallies from the chain",
    response_model=list[ProposalPublic],
)
def list_proposals(session: SessionDep, chain: ChainDep) -> list[ProposalPublic]:
    return governance.all_proposals(session, chain)


@router.post(
    "/proposals/typed-data",
    summary="The proposal the Governor will receive for a change, and the EIP-712 Proposal to sign for it",
    response_model=ProposalDraft,
)
def proposal_data(
    change: Annotated[ProposalCreate, Body()], member: CurrentMember, chain: ChainDep, settings: SettingsDep
) -> ProposalDraft:
    """Kinds: `region_fare`, `fee`, `rewards`, `critical_mass`, `distribute_surplus`, `spend_treasury`. Nothing is
    sent or stored: sign `typed_data` and
    post it with the same change to `POST /governance/proposals` before `deadline`."""
    return governance.draft(chain, settings, member, _change(change))


@router.post(
    "/proposals",
    summary="Propose a change with your signature (relayed; you pay no gas)",
    response_model=ProposalPublic,
    status_code=status.HTTP_201_CREATED,
)
def create_proposal(
    body: ProposalSubmit, member: CurrentMember, session: SessionDep, chain: ChainDep
) -> ProposalPublic:
    """The backend rebuilds the draft from `change`, checks that you signed exactly it, and relays
    `CoopGovernor.proposeBySig`: the Governor records you as the proposer."""
    proposal = governance.propose(
        session, chain, member, _change(body.change), body.deadline, signature_bytes(body.signature)
    )
    session.commit()
    return governance.proposal_public(session, chain, proposal.proposal_id)


@router.get("/proposals/{proposal_id}", summary="One proposal", response_model=ProposalPublic)
def read_proposal(proposal_id: ProposalId, session: SessionDep, chain: ChainDep) -> ProposalPublic:
    return governance.proposal_public(session, chain, proposal_id)


@router.get("/proposals/{proposal_id}/ballot", summary="The EIP-712 ballot to sign", response_model=TypedDataResponse)
def ballot_data(
    proposal_id: ProposalId, support: Support, member: CurrentMember, session: SessionDep, chain: ChainDep
) -> TypedDataResponse:
    return TypedDataResponse(typed_data=governance.ballot_typed_data(session, chain, member, proposal_id, support))


@router.post(
    "/ballots",
    summary="Cast a signed ballot (relayed; voting costs you nothing)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def cast_ballot(body: BallotRequest, member: CurrentMember, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    row = governance.cast_ballot(
        session, chain, member, body.proposal_id, body.support, signature_bytes(body.signature)
    )
    session.commit()
    return row


@router.post(
    "/proposals/{proposal_id}/queue",
    summary="Queue a succeeded proposal in the Timelock (relayed)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def queue_proposal(
    proposal_id: ProposalId, member: CurrentMember, session: SessionDep, chain: ChainDep
) -> RelayedTransaction:
    row = governance.queue(session, chain, member, proposal_id)
    session.commit()
    return row


@router.post(
    "/proposals/{proposal_id}/execute",
    summary="Execute a queued proposal once the Timelock delay has passed (relayed)",
    response_model=RelayedTransactionPublic,
    status_code=status.HTTP_201_CREATED,
)
def execute_proposal(
    proposal_id: ProposalId, member: CurrentMember, session: SessionDep, chain: ChainDep
) -> RelayedTransaction:
    row = governance.execute(session, chain, member, proposal_id)
    session.commit()
    return row
