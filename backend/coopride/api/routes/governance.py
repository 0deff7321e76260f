from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, status

from coopride.api import proposals
from coopride.api.deps import ChainDep, CurrentMember, SessionDep, SettingsDep
from coopride.api.signatures import require_signer
from coopride.chain.errors import ChainRevert
from coopride.chain.types import ProposalInfo, ProposalState
from coopride.chain.eip712 import ballot_typed_data
from coopride.models import Proposal, RelayedTransaction
from coopride.models.enums import RelayKind
from coopride.schemas.common import RelayedTransactionPublic, TypedDataResponse
from coopride.schemas.governance import BallotRequest, ProposalCreate, ProposalDraft, ProposalPublic, ProposalSubmit

router = APIRouter(prefix="/governance", tags=["governance"])

ProposalId = Annotated[str, Path(pattern=r"^[0-9]{1,78}$", description="decimal proposal id")]
Support = Annotated[int, Query(ge=0, le=2, description="0 against, 1 for, 2 abstain")]


def _proposal_info(chain: ChainDep, proposal_id: str) -> ProposalInfo:
    try:
        return chain.proposal(int(proposal_id))
    except ChainRevert:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no proposal {proposal_id}") from None


def _proposal(chain: ChainDep, session: SessionDep, proposal_id: str) -> ProposalPublic:
    return proposals.public(_proposal_info(chain, proposal_id), session.get(Proposal, proposal_id))


@router.get("/proposals", summary="Every proposal, with its state and tallies from the chain",
            response_model=list[ProposalPublic])
def list_proposals(session: SessionDep, chain: ChainDep) -> list[ProposalPublic]:
    return proposals.all_proposals(session, chain)


@router.post("/proposals/typed-data", summary="The proposal the Governor will receive for a change, and the "
             "EIP-712 Proposal to sign for it", response_model=ProposalDraft)
def proposal_data(change: Annotated[ProposalCreate, Body()], member: CurrentMember, chain: ChainDep,
                  settings: SettingsDep) -> ProposalDraft:
    """Kinds: `region_fare`, `fee`, `rewards`, `critical_mass`, `distribute_surplus`, `spend_treasury`. Nothing is
    sent or stored: sign `typed_data` and
    post it with the same change to `POST /governance/proposals` before `deadline`."""
    deadline = chain.latest_timestamp() + settings.signature_deadline_seconds
    return proposals.draft(proposals.prepare(chain, member, change, deadline))


@router.post("/proposals", summary="Propose a change with your signature (relayed; you pay no gas)",
             response_model=ProposalPublic, status_code=status.HTTP_201_CREATED)
def create_proposal(body: ProposalSubmit, member: CurrentMember, session: SessionDep, chain: ChainDep) -> ProposalPublic:
    """The backend rebuilds the draft from `change`, checks that you signed exactly it, and relays
    `CoopGovernor.proposeBySig`: the Governor records you as the proposer."""
    prepared = proposals.prepare(chain, member, body.change, body.deadline)
    signature = require_signer(prepared.typed_data, body.signature, member, "proposal")
    proposal = proposals.relay(session, chain, member, body.change, prepared, signature)
    session.commit()
    return _proposal(chain, session, proposal.proposal_id)


@router.get("/proposals/{proposal_id}", summary="One proposal", response_model=ProposalPublic)
def read_proposal(proposal_id: ProposalId, session: SessionDep, chain: ChainDep) -> ProposalPublic:
    return _proposal(chain, session, proposal_id)


@router.get("/proposals/{proposal_id}/ballot", summary="The EIP-712 ballot to sign", response_model=TypedDataResponse)
def ballot_data(proposal_id: ProposalId, support: Support, member: CurrentMember, session: SessionDep,
                chain: ChainDep) -> TypedDataResponse:
    _proposal(chain, session, proposal_id)
    typed = ballot_typed_data(chain.manifest.domains["governor"], int(proposal_id), support, member,
                              chain.governor_nonce(member))
    return TypedDataResponse(typed_data=typed)


@router.post("/ballots", summary="Cast a signed ballot (relayed; voting costs you nothing)",
             response_model=RelayedTransactionPublic, status_code=status.HTTP_201_CREATED)
def cast_ballot(body: BallotRequest, member: CurrentMember, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    proposal = _proposal(chain, session, body.proposal_id)
    if proposal.state != ProposalState.ACTIVE.name.capitalize():
        raise HTTPException(status.HTTP_409_CONFLICT, f"proposal {body.proposal_id} is {proposal.state}, not open for votes")
    typed = ballot_typed_data(chain.manifest.domains["governor"], int(body.proposal_id), body.support, member,
                              chain.governor_nonce(member))
    signature = require_signer(typed, body.signature, member, "ballot")
    outcome = chain.relay_ballot(int(body.proposal_id), body.support, member, signature)
    row = RelayedTransaction(member=member, kind=RelayKind.BALLOT, tx_hash=outcome.tx_hash, block_number=outcome.block_number,
                             gas_used=outcome.gas_used, proposal_id=body.proposal_id, support=body.support)
    session.add(row)
    session.commit()
    return row


@router.post("/proposals/{proposal_id}/queue", summary="Queue a succeeded proposal in the Timelock (relayed)",
             response_model=RelayedTransactionPublic, status_code=status.HTTP_201_CREATED)
def queue_proposal(proposal_id: ProposalId, member: CurrentMember, session: SessionDep, chain: ChainDep) -> RelayedTransaction:
    row = proposals.queue(session, chain, member, _proposal_info(chain, proposal_id))
    session.commit()
    return row


@router.post("/proposals/{proposal_id}/execute", summary="Execute a queued proposal once the Timelock delay has "
             "passed (relayed)", response_model=RelayedTransactionPublic, status_code=status.HTTP_201_CREATED)
def execute_proposal(proposal_id: ProposalId, member: CurrentMember, session: SessionDep,
                     chain: ChainDep) -> RelayedTransaction:
    row = proposals.execute(session, chain, member, _proposal_info(chain, proposal_id))
    session.commit()
    return row
