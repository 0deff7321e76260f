"""Parameter-change proposals a member signs and the backend relays to the Governor (`proposeBySig`), their
queueing and execution, and the Governor's view of them."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from eth_utils import to_checksum_address
from sqlmodel import Session, select

from coopride.api.errors import Conflict, Invalid
from coopride.chain.client import ChainClient
from coopride.chain.types import ProposalInfo, ProposalState, TxOutcome
from coopride.chain.eip712 import proposal_typed_data
from coopride.models import Proposal, RelayedTransaction
from coopride.models.enums import RelayKind
from coopride.schemas.governance import (
    CriticalMassChange,
    FeeChange,
    ProposalDraft,
    ProposalPublic,
    RegionFareChange,
    RewardsChange,
    SurplusDistribution,
    TreasurySpend,
)


@dataclass(frozen=True)
class OnChainProposal:
    """The Governor's arguments for a change; the same change from the same member always gives the same id."""

    targets: list[str]
    values: list[int]
    calldatas: list[str]
    description: str


def ledger_call(change) -> tuple[str, list]:
    """The RideLedger function (governance-only) and arguments that make the change."""
    match change:
        case RegionFareChange():
            return "setRegionFare", [change.region_id, change.fare_per_km]
        case FeeChange():
            return "setFeeBps", [change.fee_bps]
        case RewardsChange():
            return "setRewards", [change.bootstrap_reward_per_km, change.operating_reward_per_km]
        case CriticalMassChange():
            return "setCriticalMass", [change.region_id, change.critical_mass]
        case SurplusDistribution():
            return "distributeSurplus", [change.amount]
        case TreasurySpend():
            return "spendTreasury", [change.to, change.amount]
    raise Invalid(f"unknown proposal kind {change.kind!r}")


def on_chain_description(change, member: str) -> str:
    # OpenZeppelin's `#proposer=` suffix: the Governor accepts this description from `member` only, so nobody
    # can front-run the member's proposal with the same actions and text.
    return f"{change.description}\n\n#proposer={to_checksum_address(member)}"


def build(chain: ChainClient, member: str, change) -> OnChainProposal:
    region_id = getattr(change, "region_id", None)
    if region_id is not None and not chain.region(region_id).exists:
        raise Invalid(f"unknown region {region_id}")
    amount = getattr(change, "amount", None)
    if amount is not None and amount > (treasury := chain.treasury_balance()):
        raise Invalid(f"the treasury holds {treasury} fare-token units, less than the {amount} proposed")
    function, args = ledger_call(change)
    calldata = chain.ledger.encode_abi(function, args=args)
    return OnChainProposal([chain.ledger.address], [0], [calldata], on_chain_description(change, member))


@dataclass(frozen=True)
class Prepared:
    """A change made into the Governor's arguments, and the `Proposal` typed data its member signs."""

    proposal: OnChainProposal
    proposal_id: int
    deadline: int
    typed_data: dict


def prepare(chain: ChainClient, member: str, change, deadline: int) -> Prepared:
    """Refuses a passed deadline and a proposal the Governor already has (409), then builds the typed data with
    the member's current Governor nonce."""
    if deadline < chain.latest_timestamp():
        raise Invalid("the signed deadline has passed: fetch fresh typed data")
    proposal = build(chain, member, change)
    proposal_id = chain.hash_proposal(proposal.targets, proposal.values, proposal.calldatas, proposal.description)
    if chain.proposal_exists(proposal_id):
        raise Conflict(f"proposal {proposal_id} already exists: reword the description to propose the change again")
    typed = proposal_typed_data(chain.manifest.domains["governor"], member, proposal_id, chain.governor_nonce(member),
                                deadline)
    return Prepared(proposal, proposal_id, deadline, typed)


def draft(prepared: Prepared) -> ProposalDraft:
    typed = copy.deepcopy(prepared.typed_data)
    typed["message"]["proposalHash"] = "0x" + typed["message"]["proposalHash"].hex()
    proposal = prepared.proposal
    return ProposalDraft(
        proposal_id=str(prepared.proposal_id), targets=proposal.targets, values=[str(v) for v in proposal.values],
        calldatas=proposal.calldatas, description=proposal.description, deadline=prepared.deadline, typed_data=typed,
    )


def relay(session: Session, chain: ChainClient, member: str, change, prepared: Prepared, signature: bytes) -> Proposal:
    """Relays the member's signed `Proposal` (`proposeBySig`, the settler key pays) and records it once the chain
    accepted; the caller commits."""
    proposal = prepared.proposal
    proposal_id, outcome = chain.relay_proposal(proposal.targets, proposal.values, proposal.calldatas,
                                                proposal.description, member, prepared.deadline, signature)
    row = Proposal(
        proposal_id=str(proposal_id), proposer=member, kind=change.kind,
        parameters=change.model_dump(exclude={"kind", "description"}), description=proposal.description,
        targets=proposal.targets, values=[str(v) for v in proposal.values], calldatas=proposal.calldatas,
        tx_hash=outcome.tx_hash, block_number=outcome.block_number,
    )
    session.add(row)
    _record(session, member, RelayKind.PROPOSE, proposal_id, outcome)
    return row


def queue(session: Session, chain: ChainClient, member: str, info: ProposalInfo) -> RelayedTransaction:
    """Queues a succeeded proposal in the Timelock (the settler key pays); the caller commits."""
    if info.state != ProposalState.SUCCEEDED:
        raise Conflict(f"proposal {info.proposal_id} is {label(info.state)}: only a Succeeded proposal is queued")
    outcome = chain.queue(info.targets, info.values, info.calldatas, info.description)
    return _record(session, member, RelayKind.QUEUE, info.proposal_id, outcome)


def execute(session: Session, chain: ChainClient, member: str, info: ProposalInfo) -> RelayedTransaction:
    """Executes a queued proposal once the Timelock's delay has passed (the settler key pays); the caller commits."""
    if info.state != ProposalState.QUEUED:
        raise Conflict(f"proposal {info.proposal_id} is {label(info.state)}: only a Queued proposal is executed")
    now = chain.latest_timestamp()
    if now < info.eta:
        raise Conflict(f"proposal {info.proposal_id} may be executed from {info.eta} ({info.eta - now} s from now)")
    outcome = chain.execute(info.targets, info.values, info.calldatas, info.description)
    return _record(session, member, RelayKind.EXECUTE, info.proposal_id, outcome)


def _record(session: Session, member: str, kind: str, proposal_id: int, outcome: TxOutcome) -> RelayedTransaction:
    row = RelayedTransaction(member=member, kind=kind, tx_hash=outcome.tx_hash, block_number=outcome.block_number,
                             gas_used=outcome.gas_used, proposal_id=str(proposal_id))
    session.add(row)
    return row


def label(state: ProposalState) -> str:
    return state.name.capitalize()


def public(info: ProposalInfo, recorded: Proposal | None) -> ProposalPublic:
    return ProposalPublic(
        proposal_id=str(info.proposal_id), state=label(info.state), proposer=info.proposer,
        description=info.description, votes_for=info.votes_for, votes_against=info.votes_against,
        votes_abstain=info.votes_abstain, vote_start=info.vote_start, vote_end=info.vote_end,
        eta=info.eta or None, targets=info.targets, values=[str(v) for v in info.values], calldatas=info.calldatas,
        requested_by=recorded.proposer if recorded else None, kind=recorded.kind if recorded else None,
        parameters=recorded.parameters if recorded else None, tx_hash=recorded.tx_hash if recorded else None,
        block_number=recorded.block_number if recorded else None,
    )


def all_proposals(session: Session, chain: ChainClient) -> list[ProposalPublic]:
    recorded = {p.proposal_id: p for p in session.exec(select(Proposal)).all()}
    return [public(info, recorded.get(str(info.proposal_id))) for info in chain.proposals()]
