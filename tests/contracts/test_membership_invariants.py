"""Stateful property test of membership and governance: random sequences of signed applications (some for less
than the capital share, some expired, some replayed), admissions by the admissions key or governance, leaving
(direct or relayed), removals, capital-share changes, proposals and ballots, with time passing, checked after every
step against a Python model:

- votes = mature admitted members: the Governor counts one vote for exactly the members admitted at least
  `votingMaturity` before the timepoint, none for applicants, former or removed members;
- capital held = the sum of the capital shares paid by the current members; the ledger holds exactly that, the
  treasury (forfeited shares) and the members' escrow;
- one membership per address; region member counts match the members;
- nobody votes on a proposal whose snapshot came before their maturity, and the tallies are the model's.

Refused operations are checked with `eth_call` (see test_invariants.py for why). Outcomes that depend on the time
of the next block are predicted only when no boundary (a snapshot, a deadline, a maturity) is within
`TIME_MARGIN` seconds of the latest block: otherwise the step first lets `TIME_MARGIN` seconds pass.
"""

import copy
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import brownie
import pytest
import requests
from brownie import accounts, chain, web3
from brownie.test import stateful
from contract_helpers import REGION_LYON, REGION_VILLEURBANNE, TOKEN, keyed_account
from fuzz_budget import examples
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector
from hypothesis import HealthCheck
from hypothesis import strategies as st

from coopride.chain.eip712 import application_typed_data, leave_typed_data, sign_typed_data


def _brownie_state_machine():
    """Brownie's `state_machine` from its pure-Python source (the mypyc build rejects its own generated class)."""
    source = Path(stateful.__file__).with_name("stateful.py")
    spec = importlib.util.spec_from_file_location("brownie_stateful_source_membership", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.state_machine


state_machine = _brownie_state_machine()

PARAMS = {"votingDelay": 30, "votingMaturity": 120, "votingPeriod": 600, "timelockDelay": 30, "quorumFloor": 3}
FOUNDERS = 3  # mature members at the start of every run
CANDIDATES = 5  # keyed accounts that apply during a run
TIME_MARGIN = 30
FAR_FUTURE = 1_000 * 86_400
CAPITAL_SHARES = (0, 5 * TOKEN, 10 * TOKEN, 25 * TOKEN)
FOR = 1
SETTINGS = {
    "max_examples": examples(25),
    "stateful_step_count": 40,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@dataclass
class Member:
    admitted_at: int
    capital: int
    region: int


@dataclass
class Proposal:
    proposal_id: int
    snapshot: int
    deadline: int
    tally: list = field(default_factory=lambda: [0, 0, 0])
    voters: dict = field(default_factory=dict)  # voter -> their admission time when they voted


@dataclass
class Model:
    capital_share: int
    maturity: int
    wallet: dict
    escrow: dict
    nonces: dict
    members: dict  # address -> Member
    region_members: dict
    revoked: set = field(default_factory=set)
    treasury: int = 0
    applications: list = field(default_factory=list)
    proposals: list = field(default_factory=list)

    @property
    def capital(self) -> int:
        return sum(member.capital for member in self.members.values())

    def votes(self, address, timepoint: int) -> int:
        member = self.members.get(address)
        return int(member is not None and member.admitted_at + self.maturity <= timepoint)


def read_model(coop, actors) -> Model:
    membership, ledger = coop.membership, coop.ledger
    members = {
        a.address: Member(membership.admittedAt(a), membership.capitalPaid(a), membership.regionOf(a))
        for a in actors if membership.isMember(a)
    }
    return Model(
        capital_share=membership.capitalShare(),
        maturity=coop.governor.votingMaturity(),
        wallet={a.address: coop.fare_token.balanceOf(a) for a in actors},
        escrow={a.address: ledger.escrowOf(a) for a in actors},
        nonces={a.address: membership.nonces(a) for a in actors},
        members=members,
        region_members={r: ledger.region(r)[2] for r in (REGION_LYON, REGION_VILLEURBANNE)},
        treasury=ledger.treasuryBalance(),
    )


class BatchedReads:
    """View calls sent as one JSON-RPC batch (an invariant check reads ~80 values after every step)."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()

    def read(self, calls) -> list:
        """`calls`: (contract, "name(type,...)", args, output types); returns the decoded outputs (one value per
        call when it has one output)."""
        payload = []
        for index, (contract, signature, args, _outputs) in enumerate(calls):
            argument_types = signature[signature.index("(") + 1 : -1]
            data = function_signature_to_4byte_selector(signature) + encode(
                [t for t in argument_types.split(",") if t], list(args))
            payload.append({"jsonrpc": "2.0", "id": index, "method": "eth_call",
                            "params": [{"to": contract.address, "data": "0x" + data.hex()}, "latest"]})
        answers = sorted(self.session.post(self.url, json=payload, timeout=30).json(), key=lambda a: a["id"])
        results = []
        for (_contract, _signature, _args, outputs), answer in zip(calls, answers):
            values = decode(outputs, bytes.fromhex(answer["result"][2:]))
            results.append(values[0] if len(values) == 1 else list(values))
        return results


def latest_timestamp() -> int:
    return web3.eth.get_block("latest")["timestamp"]


class MembershipMachine:
    st_actor = st.integers(0, FOUNDERS + CANDIDATES - 1)
    st_candidate = st.integers(FOUNDERS, FOUNDERS + CANDIDATES - 1)
    st_region = st.sampled_from([REGION_LYON, REGION_VILLEURBANNE])
    st_terms = st.sampled_from(["current", "current", "current", "generous", "below", "expired"])
    st_founder = st.integers(0, FOUNDERS - 1)
    st_admitted = st.integers(0, 2)
    st_pick = st.one_of(st.just(0), st.integers(0, 50))
    st_flag = st.booleans()
    st_share = st.sampled_from(CAPITAL_SHARES)
    st_support = st.integers(0, 2)
    st_seconds = st.integers(1, 700)

    def __init__(cls, coop, actors, timelock):
        cls.coop = coop
        cls.actors = actors
        cls.timelock = timelock
        cls.relayer = coop.settler
        cls.rpc = BatchedReads(os.environ["COOPRIDE_TEST_RPC_URL"])
        cls.initial_model = read_model(coop, actors)

    def setup(self):
        self.model = copy.deepcopy(self.initial_model)
        self.descriptions = 0

    # ---------------------------------------------------------------- time

    def _now_beyond(self, boundaries) -> int:
        """The latest block's timestamp, once no boundary lies within TIME_MARGIN of it: a transaction sent now
        lands in [latest, latest + TIME_MARGIN), on the same side of every boundary."""
        latest = latest_timestamp()
        if any(latest - 1 <= boundary <= latest + TIME_MARGIN for boundary in boundaries):
            chain.sleep(TIME_MARGIN + 2)
            chain.mine()
            latest = latest_timestamp()
        return latest

    def rule_pass_time(self, seconds="st_seconds"):
        chain.sleep(seconds)
        chain.mine()

    # ---------------------------------------------------------------- applications and admission

    def initialize_run(self, terms="st_terms", admitted="st_admitted", mature="st_flag", proposal_first="st_flag",
                       founder="st_founder", seconds="st_seconds"):
        """Every run starts with each candidate's signed application pending, the last `admitted` of them admitted
        by the admissions key and, if `mature`, past their maturity, and a founder's proposal made before or after
        those admissions (one the newcomers never vote on, or one they do), open for ballots after `seconds`."""
        if proposal_first:
            self.rule_propose(founder)
        for candidate in range(FOUNDERS, FOUNDERS + CANDIDATES):
            self.rule_apply(candidate, REGION_LYON if candidate % 2 else REGION_VILLEURBANNE, terms)
        for _ in range(admitted):
            self.rule_admit(0, False)
            self.model.applications.pop()
        if mature:
            self.rule_pass_time(self.model.maturity + 1)
        if not proposal_first:
            self.rule_propose(founder)
        self.rule_pass_time(seconds)

    def rule_apply(self, actor="st_actor", region="st_region", terms="st_terms"):
        """Off chain: the actor signs an application; nothing reaches the chain."""
        account = self.actors[actor]
        share = self.model.capital_share
        max_share = {"below": share - 1 if share else 0, "generous": share + 5 * TOKEN}.get(terms, share)
        now = latest_timestamp()
        deadline = now - 1 if terms == "expired" else now + FAR_FUTURE
        nonce = self.model.nonces[account.address]
        typed = application_typed_data(self.coop.membership_domain, account.address, region, max_share, nonce, deadline)
        self.model.applications.append({
            "account": account, "region": region, "max_share": max_share, "nonce": nonce, "deadline": deadline,
            "signature": sign_typed_data(account.private_key, typed),
        })
        del self.model.applications[:-12]

    def _admission_error(self, application) -> str | None:
        address = application["account"].address
        if application["deadline"] < latest_timestamp():
            return f"ApplicationExpired: {application['deadline']}"
        if self.model.capital_share > application["max_share"]:
            return f"CapitalShareExceedsSigned: {self.model.capital_share}, {application['max_share']}"
        if application["nonce"] != self.model.nonces[address]:
            return f"InvalidApplicationSignature: {address.lower()}"
        if address in self.model.revoked:
            return f"MembershipRevoked: {address.lower()}"
        if address in self.model.members:
            return f"AlreadyMember: {address.lower()}"
        return None

    def rule_admit(self, pick="st_pick", by_governance="st_flag"):
        """Admits a pending application: the latest one (`pick` 0), or an older, maybe stale, one."""
        if not self.model.applications:
            return
        application = self.model.applications[-1 - pick % len(self.model.applications)]
        account, share = application["account"], self.model.capital_share
        sender = self.timelock if by_governance else self.coop.admissions
        args = (account, application["region"], application["max_share"], application["deadline"], application["signature"])
        error = self._admission_error(application)
        if error:
            with brownie.reverts(error):
                self.coop.membership.admit.call(*args, {"from": sender})
            return
        if share and self.coop.fare_token.allowance(account, self.coop.ledger) < share:
            deadline = latest_timestamp() + 3_600
            v, r, s = self.coop.permit_signature(account, self.coop.ledger.address, share, deadline)
            self.coop.fare_token.permit(account, self.coop.ledger, share, deadline, v, r, s, {"from": sender})
        tx = self.coop.membership.admit(*args, {"from": sender})
        self.model.members[account.address] = Member(tx.timestamp, share, application["region"])
        self.model.nonces[account.address] += 1
        self.model.wallet[account.address] -= share
        self.model.region_members[application["region"]] += 1

    def rule_admit_more(self, pick="st_pick", by_governance="st_flag"):
        """Admissions drive everything else (votes, departures): a second rule gives them twice the share of steps."""
        self.rule_admit(pick, by_governance)

    # ---------------------------------------------------------------- leaving and removal

    def rule_leave(self, actor="st_actor", relayed="st_flag"):
        account = self.actors[actor]
        membership = self.coop.membership
        if relayed:
            deadline = latest_timestamp() + 3_600
            nonce = self.model.nonces[account.address]
            typed = leave_typed_data(self.coop.membership_domain, account.address, nonce, deadline)
            call, args = membership.leaveBySig, (account, deadline, sign_typed_data(account.private_key, typed),
                                                 {"from": self.relayer})
        else:
            call, args = membership.leave, ({"from": account},)
        member = self.model.members.get(account.address)
        if member is None:
            with brownie.reverts(f"NotAMember: {account.address.lower()}"):
                call.call(*args)
            return
        call(*args)
        del self.model.members[account.address]
        self.model.nonces[account.address] += int(relayed)
        self.model.wallet[account.address] += member.capital
        self.model.region_members[member.region] -= 1

    def rule_remove(self, candidate="st_candidate"):
        account = self.actors[candidate]
        member = self.model.members.get(account.address)
        if member is None:
            with brownie.reverts(f"NotAMember: {account.address.lower()}"):
                self.coop.membership.remove.call(account, {"from": self.timelock})
            return
        self.coop.membership.remove(account, {"from": self.timelock})
        del self.model.members[account.address]
        self.model.revoked.add(account.address)
        self.model.treasury += member.capital
        self.model.region_members[member.region] -= 1

    def rule_set_capital_share(self, share="st_share"):
        self.coop.membership.setCapitalShare(share, {"from": self.timelock})
        self.model.capital_share = share

    # ---------------------------------------------------------------- proposals and ballots

    def rule_propose(self, actor="st_actor"):
        account = self.actors[actor]
        member = self.model.members.get(account.address)
        # propose checks the proposer's votes at clock() - 1: mature from admitted_at + maturity + 1 on.
        now = self._now_beyond([member.admitted_at + self.model.maturity + 1] if member else [])
        self.descriptions += 1
        ledger = self.coop.ledger
        args = ([ledger], [0], [ledger.setFeeBps.encode_input(1500)], f"keep the fee, #{self.descriptions}",
                {"from": account})
        if not self.model.votes(account.address, now - 1):
            with brownie.reverts(revert_pattern=f"GovernorInsufficientProposerVotes: {account.address.lower()}, 0, 1"):
                self.coop.governor.propose.call(*args)
            return
        proposal_id = self.coop.governor.propose(*args).return_value
        governor = self.coop.governor
        self.model.proposals.append(
            Proposal(proposal_id, governor.proposalSnapshot(proposal_id), governor.proposalDeadline(proposal_id))
        )

    def rule_vote(self, voter="st_pick", pick="st_pick", support="st_support"):
        """A ballot on a proposal (the latest, `pick` 0, or an older one) by a member (the latest admitted, `voter`
        0, or an earlier one) or a non-member."""
        if not self.model.proposals:
            return
        by_admission = list(reversed(self.model.members)) + [a.address for a in self.actors if a.address not in self.model.members]
        account = accounts.at(by_admission[voter % len(by_admission)])
        proposal = self.model.proposals[-1 - pick % len(self.model.proposals)]
        now = self._now_beyond([proposal.snapshot + 1, proposal.deadline + 1])
        error = None
        if not proposal.snapshot < now <= proposal.deadline:
            error = "GovernorUnexpectedProposalState: .*"
        elif not self.model.votes(account.address, proposal.snapshot):  # checked before a second ballot
            error = f"NoVotingPower: {account.address.lower()}"
        elif account.address in proposal.voters:
            error = f"GovernorAlreadyCastVote: {account.address.lower()}"
        if error:
            with brownie.reverts(revert_pattern=error):
                self.coop.governor.castVote.call(proposal.proposal_id, support, {"from": account})
            return
        self.coop.governor.castVote(proposal.proposal_id, support, {"from": account})
        proposal.tally[support] += 1
        proposal.voters[account.address] = self.model.members[account.address].admitted_at

    def rule_vote_more(self, voter="st_pick", pick="st_pick", support="st_support"):
        """Ballots are most of a cooperative's governance: a second rule gives them twice the share of steps."""
        self.rule_vote(voter, pick, support)

    # ---------------------------------------------------------------- invariants

    def invariant_members_votes_capital_and_ballots(self):
        coop, model = self.coop, self.model
        membership, ledger, governor, token = coop.membership, coop.ledger, coop.governor, coop.fare_token
        timepoint = latest_timestamp() - 1
        per_actor = [
            (membership, "isMember(address)", ("bool",)), (ledger, "isMember(address)", ("bool",)),
            (membership, "balanceOf(address)", ("uint256",)), (membership, "admittedAt(address)", ("uint48",)),
            (membership, "capitalPaid(address)", ("uint256",)), (membership, "isRevoked(address)", ("bool",)),
            (membership, "nonces(address)", ("uint256",)), (token, "balanceOf(address)", ("uint256",)),
        ]
        calls = []
        for account in self.actors:
            calls += [(contract, signature, (account.address,), outputs) for contract, signature, outputs in per_actor]
            calls.append((governor, "getVotes(address,uint256)", (account.address, timepoint), ("uint256",)))
        calls += [
            (ledger, "capitalHeld()", (), ("uint256",)),
            (ledger, "treasuryBalance()", (), ("uint256",)),
            (token, "balanceOf(address)", (ledger.address,), ("uint256",)),
        ]
        calls += [(ledger, "region(uint32)", (region,), ("(uint96,uint32,uint32,bool,bool)",))
                  for region in model.region_members]
        calls += [(governor, "proposalVotes(uint256)", (p.proposal_id,), ("uint256", "uint256", "uint256"))
                  for p in model.proposals]
        results = self.rpc.read(calls)

        width = len(per_actor) + 1
        for index, account in enumerate(self.actors):
            address = account.address
            member = model.members.get(address)
            expected = [
                member is not None, member is not None, int(member is not None),  # one membership per address
                member.admitted_at if member else 0, member.capital if member else 0, address in model.revoked,
                model.nonces[address], model.wallet[address], model.votes(address, timepoint),
            ]
            assert results[index * width : (index + 1) * width] == expected, address
        capital, treasury, ledger_holds, *rest = results[len(self.actors) * width :]
        assert capital == model.capital  # the capital shares paid by the current members
        assert treasury == model.treasury
        assert ledger_holds == model.capital + model.treasury + sum(model.escrow.values())
        regions, tallies = rest[: len(model.region_members)], rest[len(model.region_members) :]
        for (region, count), on_chain in zip(model.region_members.items(), regions):
            assert on_chain[2] == count == sum(m.region == region for m in model.members.values())
        for proposal, tally in zip(model.proposals, tallies):
            assert tally == proposal.tally
            for admitted_at in proposal.voters.values():
                assert admitted_at + model.maturity <= proposal.snapshot  # nobody voted before maturity


@pytest.fixture(scope="module")
def membership_coop(coop, deploy_coop):
    return deploy_coop(PARAMS, members=FOUNDERS)


def test_votes_capital_and_memberships_hold_over_random_admissions_departures_and_ballots(membership_coop):
    coop = membership_coop
    candidates = [keyed_account(f"membership-candidate-{i}") for i in range(CANDIDATES)]
    for account in candidates:
        coop.fund(account)
    actors = coop.members + candidates
    timelock = accounts.at(coop.timelock.address, force=True)
    state_machine(MembershipMachine, coop, actors, timelock, settings=SETTINGS)
