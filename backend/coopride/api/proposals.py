"""Parameter-change proposals relayed to the Governor for a member, and the Governor's view of them."""

from __future__ import annotations

from sqlmodel import Session, select

from coopride.api.errors import Invalid
from coopride.chain.client import ChainClient, ProposalInfo
from coopride.models import CriticalMassChange, FeeChange, Proposal, ProposalPublic, RegionFareChange, RewardsChange


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
    raise Invalid(f"unknown proposal kind {change.kind!r}")


def on_chain_description(change, member: str) -> str:
    return f"{change.description}\n\nRequested by {member} through CoopRide."


def propose(session: Session, chain: ChainClient, member: str, change) -> Proposal:
    region_id = getattr(change, "region_id", None)
    if region_id is not None and not chain.region(region_id).exists:
        raise Invalid(f"unknown region {region_id}")
    function, args = ledger_call(change)
    calldata = chain.ledger.encode_abi(function, args=args)
    description = on_chain_description(change, member)
    targets, values, calldatas = [chain.ledger.address], [0], [calldata]
    proposal_id, outcome = chain.propose(targets, values, calldatas, description)
    proposal = Proposal(
        proposal_id=str(proposal_id), proposer=member, kind=change.kind,
        parameters=change.model_dump(exclude={"kind", "description"}), description=description,
        targets=targets, values=[str(v) for v in values], calldatas=[calldata],
        tx_hash=outcome.tx_hash, block_number=outcome.block_number,
    )
    session.add(proposal)
    return proposal


def public(info: ProposalInfo, recorded: Proposal | None) -> ProposalPublic:
    return ProposalPublic(
        proposal_id=str(info.proposal_id), state=info.state.name.capitalize(), description=info.description,
        votes_for=info.votes_for, votes_against=info.votes_against, votes_abstain=info.votes_abstain,
        vote_start=info.vote_start, vote_end=info.vote_end, targets=info.targets,
        values=[str(v) for v in info.values], calldatas=info.calldatas,
        requested_by=recorded.proposer if recorded else None, kind=recorded.kind if recorded else None,
        parameters=recorded.parameters if recorded else None, tx_hash=recorded.tx_hash if recorded else None,
        block_number=recorded.block_number if recorded else None,
    )


def all_proposals(session: Session, chain: ChainClient) -> list[ProposalPublic]:
    recorded = {p.proposal_id: p for p in session.exec(select(Proposal)).all()}
    return [public(info, recorded.get(str(info.proposal_id))) for info in chain.proposals()]
