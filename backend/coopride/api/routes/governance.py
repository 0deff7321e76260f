from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, HTTPException, Path, Query, status

from coopride.api import proposals
from coopride.api.deps import ChainDep, CurrentMember, SessionDep
from coopride.api.signatures import require_signer
from coopride.chain.client import ChainRevert, ProposalState
from coopride.chain.eip712 import ballot_typed_data
from coopride.models import (
    RELAY_BALLOT,
    BallotRequest,
    Proposal,
    ProposalCreate,
    ProposalPublic,
    RelayedTransaction,
    RelayedTransactionPublic,
    TypedDataResponse,
)

router = APIRouter(prefix="/governance", tags=["governance"])

ProposalId = Annotated[str, Path(pattern=r"^[0-9]{1,78}$", description="decimal proposal id")]
Support = Annotated[int, Query(ge=0, le=2, description="0 against, 1 for, 2 abstain")]


def _proposal(chain: ChainDep, session: SessionDep, proposal_id: str) -> ProposalPublic:
    try:
        info = chain.proposal(int(proposal_id))
    except ChainRevert:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no proposal {proposal_id}") from None
    return proposals.public(info, session.get(Proposal, proposal_id))


@router.get("/proposals", summary="Every proposal, with its state and tallies from the chain",
            response_model=list[ProposalPublic])
def list_proposals(session: SessionDep, chain: ChainDep) -> list[ProposalPublic]:
    return proposals.all_proposals(session, chain)


@router.post("/proposals", summary="Propose a parameter change (relayed; you pay no gas)",
             response_model=ProposalPublic, status_code=status.HTTP_201_CREATED)
def create_proposal(change: Annotated[ProposalCreate, Body()], member: CurrentMember, session: SessionDep,
                    chain: ChainDep) -> ProposalPublic:
    """Kinds: `region_fare`, `fee`, `rewards`, `critical_mass`. The Governor records the backend's
    key as proposer; the description names you, and so does `requested_by`."""
    proposal = proposals.propose(session, chain, member, change)
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
    row = RelayedTransaction(member=member, kind=RELAY_BALLOT, proposal_id=body.proposal_id, support=body.support,
                             tx_hash=outcome.tx_hash, block_number=outcome.block_number, gas_used=outcome.gas_used)
    session.add(row)
    session.commit()
    return row
