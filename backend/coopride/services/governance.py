"""Governance, gas-free: parameter-change proposals a member signs and the backend relays to the Governor
(`proposeBySig`), ballots (`castVoteBySig`), queueing and execution, and the Governor's view of proposals."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from sqlmodel import Session, select

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import ballot_typed_data as ballot_message
from coopride.chain.eip712 import proposal_typed_data
from coopride.chain.errors import ChainRevert
from coopride.chain.types import ProposalInfo, ProposalState
from coopride.config import Settings
from coopride.models import Proposal, RelayedTransaction
from coopride.models.enums import ProposalKind, RelayKind
from coopride.schemas.governance import ProposalDraft, ProposalPublic, proposal_parameters
from coopride.services.errors import Conflict, Forbidden, Invalid, NotFound
from coopride.services.relays import record_relayed, require_live_deadline, signature_deadline
from coopride.services.signatures import require_typed_signer

# Each kind of change: the RideLedger function (governance-only) that makes it, and its arguments by name.
LEDGER_CALLS: dict[ProposalKind, tuple[str, tuple[str, ...]]] = {
    ProposalKind.REGION_FARE: ("setRegionFare", ("region_id", "fare_per_km")),
    ProposalKind.FEE: ("setFeeBps", ("fee_bps",)),
    ProposalKind.REWARDS: ("setRewards", ("bootstrap_reward_per_km", "operating_reward_per_km")),
    ProposalKind.CRITICAL_MASS: ("setCriticalMass", ("region_id", "critical_mass")),
    ProposalKind.DISTRIBUTE_SURPLUS: ("distributeSurplus", ("amount",)),
    ProposalKind.SPEND_TREASURY: ("spendTreasury", ("to", "amount")),
}


@dataclass(frozen=True)
class ParameterChange:
    """A change a member asks for: its kind, its arguments by name (`LEDGER_CALLS`), and why."""

    kind: ProposalKind
    parameters: dict[str, Any]
    description: str


@dataclass(frozen=True)
class OnChainProposal:
    """The Governor's arguments for a change; the same change from the same member always gives the same id."""

    targets: list[str]
    values: list[int]
    calldatas: list[str]
    description: str


@dataclass(frozen=True)
class Prepared:
    """A change made into the Governor's arguments, and the `Proposal` typed data its member signs."""

    proposal: OnChainProposal
    proposal_id: int
    deadline: int
    typed_data: dict[str, Any]


def ledger_call(change: ParameterChange) -> tuple[str, list[Any]]:
    """The RideLedger function and arguments that make the change."""
    function, names = LEDGER_CALLS[change.kind]
    return function, [change.parameters[name] for name in names]


def on_chain_description(change: ParameterChange, member: str) -> str:
    # OpenZeppelin's `#proposer=` suffix: the Governor accepts this description from `member` only, so nobody
    # can front-run the member's proposal with the same actions and text.
    return f"{change.description}\n\n#proposer={to_checksum_address(member)}"


def build(chain: ChainClient, member: str, change: ParameterChange) -> OnChainProposal:
    region_id = change.parameters.get("region_id")
    if region_id is not None and not chain.region(region_id).exists:
        raise Invalid(f"unknown region {region_id}")
    amount = change.parameters.get("amount")
    if amount is not None and amount > (treasury := chain.treasury_balance()):
        raise Invalid(f"the treasury holds {treasury} fare-token units, less than the {amount} proposed")
    function, args = ledger_call(change)
    calldata = chain.ledger.encode_abi(function, args=args)
    return OnChainProposal([chain.ledger.address], [0], [calldata], on_chain_description(change, member))


def require_vote_at(chain: ChainClient, member: str, timepoint: int, what: str) -> None:
    """The Governor's rule (`CoopGovernor._getVotes`): a membership votes at `timepoint` only if it was admitted at
    least `votingMaturity` seconds before. Refuses (403) with when the member's vote starts to count."""
    admitted = chain.admitted_at(member)
    maturity = chain.voting_maturity()
    if admitted == 0:
        raise Forbidden(f"{member} is not a member")
    if admitted + maturity > timepoint:
        raise Forbidden(
            f"{member} was admitted at {admitted}: a membership votes only {maturity} s after admission, so it "
            f"cannot {what} (it counts from {admitted + maturity}, the Governor looks at {timepoint})"
        )


def prepare(chain: ChainClient, member: str, change: ParameterChange, deadline: int) -> Prepared:
    """Refuses a passed deadline, a member whose vote does not count yet (403; the Governor needs the proposer's
    vote one second before the proposal) and a proposal the Governor already has (409), then builds the typed data
    with the member's current Governor nonce."""
    require_live_deadline(chain, deadline)
    require_vote_at(chain, member, chain.latest_timestamp() - 1, "propose yet")
    proposal = build(chain, member, change)
    proposal_id = chain.hash_proposal(proposal.targets, proposal.values, proposal.calldatas, proposal.description)
    if chain.proposal_exists(proposal_id):
        raise Conflict(f"proposal {proposal_id} already exists: reword the description to propose the change again")
    typed = proposal_typed_data(
        chain.manifest.domains["governor"], member, proposal_id, chain.governor_nonce(member), deadline
    )
    return Prepared(proposal, proposal_id, deadline, typed)


def draft(chain: ChainClient, settings: Settings, member: str, change: ParameterChange) -> ProposalDraft:
    """What the Governor will receive for `change`, and the `Proposal` typed data `member` signs for it.
    Nothing is sent or stored."""
    prepared = prepare(chain, member, change, signature_deadline(chain, settings))
    typed = copy.deepcopy(prepared.typed_data)
    typed["message"]["proposalHash"] = "0x" + typed["message"]["proposalHash"].hex()
    proposal = prepared.proposal
    return ProposalDraft(
        proposal_id=str(prepared.proposal_id),
        targets=proposal.targets,
        values=[str(v) for v in proposal.values],
        calldatas=proposal.calldatas,
        description=proposal.description,
        deadline=prepared.deadline,
        typed_data=typed,
    )


def propose(
    session: Session, chain: ChainClient, member: str, change: ParameterChange, deadline: int, signature: bytes
) -> Proposal:
    """Rebuilds the draft, checks that `member` signed exactly it, relays `proposeBySig` (the settler key pays)
    and records the proposal once the chain accepted; the caller commits."""
    prepared = prepare(chain, member, change, deadline)
    require_typed_signer(prepared.typed_data, signature, member, "proposal")
    proposal = prepared.proposal
    proposal_id, outcome = chain.relay_proposal(
        proposal.targets,
        proposal.values,
        proposal.calldatas,
        proposal.description,
        member,
        prepared.deadline,
        signature,
    )
    row = Proposal(
        proposal_id=str(proposal_id),
        proposer=member,
        kind=change.kind,
        parameters=change.parameters,
        description=proposal.description,
        targets=proposal.targets,
        values=[str(v) for v in proposal.values],
        calldatas=proposal.calldatas,
        tx_hash=outcome.tx_hash,
        block_number=outcome.block_number,
    )
    session.add(row)
    record_relayed(session, member, RelayKind.PROPOSE, outcome, proposal_id=str(proposal_id))
    return row


def proposal_info(chain: ChainClient, proposal_id: str) -> ProposalInfo:
    """The Governor's view of a proposal (404 when it has none)."""
    try:
        return chain.proposal(int(proposal_id))
    except ChainRevert:
        raise NotFound(f"no proposal {proposal_id}") from None


def quorum_of(chain: ChainClient, info: ProposalInfo) -> int | None:
    """Votes (for + abstain) the proposal needs: `quorumPercent` of the members at its snapshot, never below the
    quorum floor. None while the snapshot is in the future (the Governor cannot count it yet)."""
    if info.vote_start >= chain.latest_timestamp():
        return None
    return chain.quorum(info.vote_start)


def public(info: ProposalInfo, recorded: Proposal | None, quorum: int | None = None) -> ProposalPublic:
    return ProposalPublic(
        snapshot=info.vote_start,
        quorum=quorum,
        proposal_id=str(info.proposal_id),
        state=info.state.label,
        proposer=info.proposer,
        description=info.description,
        votes_for=info.votes_for,
        votes_against=info.votes_against,
        votes_abstain=info.votes_abstain,
        vote_start=info.vote_start,
        vote_end=info.vote_end,
        eta=info.eta or None,
        targets=info.targets,
        values=[str(v) for v in info.values],
        calldatas=info.calldatas,
        requested_by=recorded.proposer if recorded else None,
        kind=recorded.kind if recorded else None,
        parameters=proposal_parameters(recorded.parameters) if recorded else None,
        tx_hash=recorded.tx_hash if recorded else None,
        block_number=recorded.block_number if recorded else None,
    )


def proposal_public(session: Session, chain: ChainClient, proposal_id: str) -> ProposalPublic:
    info = proposal_info(chain, proposal_id)
    return public(info, session.get(Proposal, proposal_id), quorum_of(chain, info))


def all_proposals(session: Session, chain: ChainClient) -> list[ProposalPublic]:
    recorded = {p.proposal_id: p for p in session.exec(select(Proposal)).all()}
    return [public(info, recorded.get(str(info.proposal_id)), quorum_of(chain, info)) for info in chain.proposals()]


def require_ballot_allowed(chain: ChainClient, member: str, info: ProposalInfo) -> None:
    """The member has not voted on the proposal yet (409 otherwise: the Governor's `hasVoted`, which makes it revert
    `GovernorAlreadyCastVote`) and the member's vote counts at its snapshot (403 otherwise, as `NoVotingPower`)."""
    if chain.has_voted(info.proposal_id, member):
        raise Conflict(
            f"{member} already voted on proposal {info.proposal_id}: the Governor counts one ballot per member "
            "and a ballot cannot be changed"
        )
    require_vote_at(chain, member, info.vote_start, f"vote on proposal {info.proposal_id}")


def ballot_typed_data(
    session: Session, chain: ChainClient, member: str, proposal_id: str, support: int
) -> dict[str, Any]:
    """The EIP-712 `Ballot` for `member` to sign (404 for an unknown proposal; 409 when the member already voted on it;
    403 when the member's vote does not count on it)."""
    require_ballot_allowed(chain, member, proposal_info(chain, proposal_id))
    return ballot_message(
        chain.manifest.domains["governor"], int(proposal_id), support, member, chain.governor_nonce(member)
    )


def cast_ballot(
    session: Session, chain: ChainClient, member: str, proposal_id: str, support: int, signature: bytes
) -> RelayedTransaction:
    """Relays `member`'s signed ballot (`castVoteBySig`) on an Active proposal, if the member has not voted on it yet
    (409, before the signature is looked at: a second ballot is a conflict whoever signed it) and the member's vote
    counts at its snapshot (vote maturity, the Governor's rule); the caller commits."""
    info = proposal_info(chain, proposal_id)
    require_ballot_allowed(chain, member, info)
    if info.state != ProposalState.ACTIVE:
        raise Conflict(f"proposal {proposal_id} is {info.state.label}, not open for votes")
    typed = ballot_message(
        chain.manifest.domains["governor"], int(proposal_id), support, member, chain.governor_nonce(member)
    )
    require_typed_signer(typed, signature, member, "ballot")
    outcome = chain.relay_ballot(int(proposal_id), support, member, signature)
    return record_relayed(session, member, RelayKind.BALLOT, outcome, proposal_id=proposal_id, support=support)


def queue(session: Session, chain: ChainClient, member: str, proposal_id: str) -> RelayedTransaction:
    """Queues a succeeded proposal in the Timelock (the settler key pays); the caller commits."""
    info = proposal_info(chain, proposal_id)
    if info.state != ProposalState.SUCCEEDED:
        raise Conflict(f"proposal {info.proposal_id} is {info.state.label}: only a Succeeded proposal is queued")
    outcome = chain.queue(info.targets, info.values, info.calldatas, info.description)
    return record_relayed(session, member, RelayKind.QUEUE, outcome, proposal_id=str(info.proposal_id))


def execute(session: Session, chain: ChainClient, member: str, proposal_id: str) -> RelayedTransaction:
    """Executes a queued proposal once the Timelock's delay has passed (the settler key pays); the caller commits."""
    info = proposal_info(chain, proposal_id)
    if info.state != ProposalState.QUEUED:
        raise Conflict(f"proposal {info.proposal_id} is {info.state.label}: only a Queued proposal is executed")
    now = chain.latest_timestamp()
    if now < info.eta:
        raise Conflict(f"proposal {info.proposal_id} may be executed from {info.eta} ({info.eta - now} s from now)")
    outcome = chain.execute(info.targets, info.values, info.calldatas, info.description)
    return record_relayed(session, member, RelayKind.EXECUTE, outcome, proposal_id=str(info.proposal_id))
