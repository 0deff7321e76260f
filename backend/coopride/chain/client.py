"""web3.py client for the CoopRide contracts: reads, relayed writes paid by the settler key (through
`SettlerTransactions`), governance calls, and the settlement logs the worker reconciles from.

Custom errors are decoded from the manifest's ABIs, so a failed relay says *why* (`ChainRevert`); a node
that does not answer raises `ChainUnavailable`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import requests
import requests.adapters
import requests.utils
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types, get_abi_output_types
from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, Web3RPCError
from web3.logs import DISCARD
from web3.types import BlockIdentifier, EventData, TxReceipt

from coopride.chain.cache import ChainIdOnce, ReadCache
from coopride.chain.eip712 import FareAuthorisation, split_signature
from coopride.chain.errors import TRANSIENT_ERRORS, ChainRevert, ErrorDecoder, UnavailableNode
from coopride.chain.manifest import Manifest
from coopride.chain.transactions import RECEIPT_TIMEOUT_SECONDS, SettlerTransactions
from coopride.chain.types import (
    BatchEvents,
    Hold,
    HoldState,
    LedgerParameters,
    ProposalInfo,
    ProposalState,
    RegionState,
    RejectReason,
    TripRejection,
    TripSettlement,
    TxOutcome,
)

# `find_settlements` asks the node for this many trip ids' logs at a time.
LOG_QUERY_CHUNK = 200


# Keep-alive connections to the node kept per process: as many as threads that may call it at once (the API's
# thread pool has 40); beyond them a call opens a connection of its own and closes it after.
RPC_CONNECTIONS = 40


def rpc_session(rpc_url: str) -> requests.Session:
    """One HTTP session for every thread's calls to the node, with what `requests` would read from the environment
    on each call (proxies, .netrc credentials, CA bundle) read once here: per call, that reading (the environment's
    every variable, a stat of ~/.netrc) cost more than a local node takes to answer."""
    session = requests.Session()
    from_environment = session.merge_environment_settings(rpc_url, {}, None, None, None)
    session.proxies, session.verify = from_environment["proxies"], from_environment["verify"]
    session.auth = requests.utils.get_netrc_auth(rpc_url)
    session.trust_env = False
    adapter = requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=RPC_CONNECTIONS)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def connect(rpc_url: str, request_timeout: float) -> Web3:
    """A web3 on `rpc_url` whose every unanswered request raises `ChainUnavailable`."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": request_timeout}, session=rpc_session(rpc_url)))
    w3.middleware_onion.add(UnavailableNode, name="coopride_unavailable_node")
    w3.middleware_onion.add(ChainIdOnce, name="coopride_chain_id_once")
    return w3


class ChainClient:
    """Everything the backend reads on chain and relays to it. Thread-safe: the settler's writes are
    serialised by `transactions`."""

    def __init__(
        self,
        rpc_url: str,
        manifest: Manifest,
        settler_key: str,
        *,
        request_timeout: float = 10.0,
        receipt_timeout: float = RECEIPT_TIMEOUT_SECONDS,
    ):
        self.rpc_url = rpc_url
        self.manifest = manifest
        self.w3 = connect(rpc_url, request_timeout)
        self.errors = ErrorDecoder(c.abi for c in manifest.contracts.values())
        self.transactions = SettlerTransactions(
            self.w3, settler_key, manifest.chain_id, self.errors, receipt_timeout=receipt_timeout
        )
        self.settler = self.transactions.settler
        self._senders: dict[str, SettlerTransactions] = {}
        self._senders_lock = threading.Lock()
        self._shared_lock: Callable[[str], AbstractContextManager[object]] | None = None
        self._view_abis: dict[tuple[str, str], _ViewAbi] = {}

        def handle(name: str) -> Contract:
            deployed = manifest.contract(name)
            return self.w3.eth.contract(address=to_checksum_address(deployed.address), abi=deployed.abi)

        self.ledger = handle("RideLedger")
        self.membership = handle("Membership")
        self.share = handle("CoopShare")
        self.governor = handle("CoopGovernor")
        self.timelock = handle("TimelockController")
        self.fare_token = handle("FareToken")
        # Reads inside `with client.reads.pinned():` are made at one block and cached per block.
        self.reads = ReadCache(self.block_number)

    @property
    def chain_id(self) -> int:
        return self.manifest.chain_id

    # ------------------------------------------------------------------ reads
    def is_connected(self) -> bool:
        try:
            return self.w3.is_connected()
        except TRANSIENT_ERRORS:
            return False

    def region(self, region_id: int) -> RegionState:
        result = self._view(self.ledger, "region", region_id)
        fields = result[0] if len(result) == 1 and isinstance(result[0], (list, tuple)) else result
        fare_per_km, critical_mass, members, operating, exists, phase_changed_at, daily_rewarded_km = fields
        return RegionState(
            int(fare_per_km),
            int(critical_mass),
            int(members),
            bool(operating),
            bool(exists),
            int(phase_changed_at),
            int(daily_rewarded_km),
        )

    def parameters(self) -> LedgerParameters:
        return LedgerParameters(
            fee_bps=self._view(self.ledger, "feeBps"),
            bootstrap_reward_per_km=self._view(self.ledger, "bootstrapRewardPerKm"),
            operating_reward_per_km=self._view(self.ledger, "operatingRewardPerKm"),
            halving_interval=self._view(self.ledger, "halvingInterval"),
            daily_rewarded_metres=self._view(self.ledger, "dailyRewardedMetres"),
        )

    def is_member(self, account: str) -> bool:
        return bool(self._view(self.membership, "isMember", to_checksum_address(account)))

    def region_of(self, account: str) -> int:
        return int(self._view(self.membership, "regionOf", to_checksum_address(account)))

    def admitted_at(self, account: str) -> int:
        """When `account` was admitted (unix seconds); 0 if not a member."""
        return int(self._view(self.membership, "admittedAt", to_checksum_address(account)))

    def is_revoked(self, account: str) -> bool:
        return bool(self._view(self.membership, "isRevoked", to_checksum_address(account)))

    def capital_share(self) -> int:
        """Fare-token units collected from each applicant at admission (`Membership.capitalShare`)."""
        return int(self._view(self.membership, "capitalShare"))

    def capital_paid(self, account: str) -> int:
        return int(self._view(self.membership, "capitalPaid", to_checksum_address(account)))

    def admissions_address(self) -> str:
        """The admissions role (`Membership.admissions`): the address, besides governance, that admits."""
        return str(to_checksum_address(self._call(self.membership.functions.admissions())))

    def fare_token_allowance(self, owner: str, spender: str) -> int:
        return int(
            self._call(self.fare_token.functions.allowance(to_checksum_address(owner), to_checksum_address(spender)))
        )

    def ledger_nonce(self, account: str) -> int:
        """`RideLedger.nonces(account)`: consumed by the account's signed withdrawals, releases and disputes."""
        return int(self._view(self.ledger, "nonces", to_checksum_address(account)))

    def is_active_driver(self, driver: str, region_id: int) -> bool:
        return bool(self._view(self.ledger, "isActiveDriver", to_checksum_address(driver), region_id))

    def region_member_addresses(self, region_id: int) -> list[str]:
        """The members of `region_id` now, from the ledger's `RegionMembersChanged` logs since deployment."""
        logs = self.ledger.events.RegionMembersChanged.get_logs(
            from_block=self.manifest.block_number, argument_filters={"regionId": region_id}
        )
        members: dict[str, bool] = {}
        for log in logs:
            members[str(log["args"]["member"])] = bool(log["args"]["joined"])
        return [member for member, present in members.items() if present]

    def active_drivers(self, region_id: int) -> list[str]:
        """The region's active drivers (`isActiveDriver`), strictly ascending: what `activateRegion` takes."""
        found = [m for m in self.region_member_addresses(region_id) if self.is_active_driver(m, region_id)]
        return sorted(found, key=lambda address: int(address, 16))

    def voting_maturity(self) -> int:
        return int(self._call(self.governor.functions.votingMaturity()))

    def quorum_floor(self) -> int:
        return int(self._call(self.governor.functions.quorumFloor()))

    def quorum(self, timepoint: int) -> int:
        return int(self._call(self.governor.functions.quorum(timepoint)))

    def proposal_snapshot(self, proposal_id: int) -> int:
        return int(self._call(self.governor.functions.proposalSnapshot(proposal_id)))

    def has_voted(self, proposal_id: int, account: str) -> bool:
        return bool(self._call(self.governor.functions.hasVoted(proposal_id, to_checksum_address(account))))

    def membership_nonce(self, account: str) -> int:
        return int(self._view(self.membership, "nonces", to_checksum_address(account)))

    def permit_nonce(self, account: str) -> int:
        return int(self._call(self.fare_token.functions.nonces(to_checksum_address(account))))

    def governor_nonce(self, account: str) -> int:
        return int(self._call(self.governor.functions.nonces(to_checksum_address(account))))

    def fare_token_balance(self, account: str) -> int:
        return int(self._call(self.fare_token.functions.balanceOf(to_checksum_address(account))))

    def escrow_of(self, account: str) -> int:
        return int(self._view(self.ledger, "escrowOf", to_checksum_address(account)))

    def earnings_of(self, account: str) -> int:
        return int(self._view(self.ledger, "earningsOf", to_checksum_address(account)))

    def shares_of(self, account: str) -> int:
        return int(self._call(self.share.functions.balanceOf(to_checksum_address(account))))

    def total_shares(self) -> int:
        return int(self._call(self.share.functions.totalSupply()))

    def claimable(self, account: str) -> int:
        return int(self._call(self.share.functions.claimable(to_checksum_address(account))))

    def treasury_balance(self) -> int:
        return int(self._view(self.ledger, "treasuryBalance"))

    def is_settled(self, trip_id: int) -> bool:
        return bool(self._view(self.ledger, "isSettled", trip_id))

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    # --------------------------------------------------------- relayed writes
    def share_nonce_locks(self, lock: Callable[[str], AbstractContextManager[object]]) -> None:
        """Every sender of this client takes `lock(address)` while it holds a nonce: for processes sending from the
        same keys (several API processes and the settlement workers on one PostgreSQL database, `db.nonce_lock`)."""
        with self._senders_lock:
            self._shared_lock = lock
            for sender in [self.transactions, *self._senders.values()]:
                sender.shared_lock = lock

    def sender(self, private_key: str) -> SettlerTransactions:
        """The transaction sender of `private_key` (one per key and process, so its nonces are serialised); the
        settler key's is `transactions`."""
        address = Account.from_key(private_key).address
        if address == self.settler:
            return self.transactions
        with self._senders_lock:
            sender = self._senders.get(address)
            if sender is None:
                sender = SettlerTransactions(
                    self.w3,
                    private_key,
                    self.manifest.chain_id,
                    self.errors,
                    receipt_timeout=self.transactions.receipt_timeout,
                )
                sender.shared_lock = self._shared_lock
                self._senders[address] = sender
            return sender

    def admit(
        self,
        admissions_key: str,
        applicant: str,
        region_id: int,
        max_capital_share: int,
        deadline: int,
        signature: bytes,
        permit: tuple[int, int, bytes] | None,
    ) -> TxOutcome:
        """From the admissions key: relays the applicant's ERC-2612 `permit` (value, deadline, signature; spender
        the RideLedger) unless the allowance already covers the capital share, then `Membership.admit`."""
        sender = self.sender(admissions_key)
        applicant = to_checksum_address(applicant)
        share = self.capital_share()
        if permit is not None and share and self.fare_token_allowance(applicant, self.ledger.address) < share:
            value, permit_deadline, permit_signature = permit
            v, r, s = split_signature(bytes(permit_signature))
            sender.transact(
                self.fare_token.functions.permit(applicant, self.ledger.address, value, permit_deadline, v, r, s)
            )
        return sender.transact(
            self.membership.functions.admit(applicant, region_id, max_capital_share, deadline, bytes(signature))
        )

    def relay_withdrawal(
        self, account: str, from_earnings: bool, amount: int, deadline: int, signature: bytes
    ) -> TxOutcome:
        return self.transactions.transact(
            self.ledger.functions.withdrawBySig(
                to_checksum_address(account), from_earnings, amount, deadline, bytes(signature)
            )
        )

    def relay_leave(self, member: str, deadline: int, signature: bytes) -> TxOutcome:
        return self.transactions.transact(
            self.membership.functions.leaveBySig(to_checksum_address(member), deadline, bytes(signature))
        )

    def relay_permit_deposit(self, rider: str, amount: int, deadline: int, signature: bytes) -> TxOutcome:
        v, r, s = split_signature(bytes(signature))
        return self.transactions.transact(
            self.ledger.functions.depositWithPermit(to_checksum_address(rider), amount, deadline, v, r, s)
        )

    def relay_ballot(self, proposal_id: int, support: int, voter: str, signature: bytes) -> TxOutcome:
        return self.transactions.transact(
            self.governor.functions.castVoteBySig(proposal_id, support, to_checksum_address(voter), bytes(signature))
        )

    def relay_claim(self, member: str) -> TxOutcome:
        return self.transactions.transact(self.share.functions.claimFor(to_checksum_address(member)))

    def activate_region(self, region_id: int, active_drivers: Sequence[str] | None = None) -> TxOutcome:
        """`activateRegion(regionId, activeDrivers)`: `active_drivers` default to every active driver of the
        region (`active_drivers`); the ledger checks each and counts them against the critical mass."""
        drivers = self.active_drivers(region_id) if active_drivers is None else list(active_drivers)
        ordered = sorted({to_checksum_address(d) for d in drivers}, key=lambda address: int(address, 16))
        return self.transactions.transact(self.ledger.functions.activateRegion(region_id, ordered))

    # ------------------------------------------------------------- governance
    def hash_proposal(
        self, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str], description: str
    ) -> int:
        """The Governor's id for this proposal (what a member signs in `Proposal.proposalHash`)."""
        return int(
            self._call(
                self.governor.functions.hashProposal(
                    *_proposal_args(targets, values, calldatas), keccak(text=description)
                )
            )
        )

    def proposal_exists(self, proposal_id: int) -> bool:
        return bool(self._call(self.governor.functions.proposalSnapshot(proposal_id)) != 0)

    def relay_proposal(
        self,
        targets: Sequence[str],
        values: Sequence[int],
        calldatas: Sequence[bytes | str],
        description: str,
        proposer: str,
        deadline: int,
        signature: bytes,
    ) -> tuple[int, TxOutcome]:
        """Relays a member's signed `Proposal` (`CoopGovernor.proposeBySig`); the member is the recorded proposer."""
        targets_, values_, calldatas_ = _proposal_args(targets, values, calldatas)
        proposal_id = self.hash_proposal(targets_, values_, calldatas_, description)
        outcome = self.transactions.transact(
            self.governor.functions.proposeBySig(
                targets_, values_, calldatas_, description, to_checksum_address(proposer), deadline, bytes(signature)
            )
        )
        return proposal_id, outcome

    def queue(
        self, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str], description: str
    ) -> TxOutcome:
        fn = self.governor.get_function_by_signature("queue(address[],uint256[],bytes[],bytes32)")
        return self.transactions.transact(fn(*_proposal_args(targets, values, calldatas), keccak(text=description)))

    def execute(
        self, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str], description: str
    ) -> TxOutcome:
        fn = self.governor.get_function_by_signature("execute(address[],uint256[],bytes[],bytes32)")
        return self.transactions.transact(fn(*_proposal_args(targets, values, calldatas), keccak(text=description)))

    def proposal(self, proposal_id: int) -> ProposalInfo:
        # Reads state, votes and eta of this proposal only, not of every proposal since deployment.
        for log in self._proposal_logs():
            if int(log["args"]["proposalId"]) == proposal_id:
                return self._proposal_from_event(log["args"])
        raise ChainRevert("GovernorNonexistentProposal", (proposal_id,))

    def proposals(self) -> list[ProposalInfo]:
        return [self._proposal_from_event(log["args"]) for log in self._proposal_logs()]

    def _proposal_logs(self) -> Iterable[EventData]:
        logs: Iterable[EventData] = self.governor.events.ProposalCreated.get_logs(from_block=self.manifest.block_number)
        return logs

    def _proposal_from_event(self, args: Any) -> ProposalInfo:
        proposal_id = int(args["proposalId"])
        against, for_, abstain = self._call(self.governor.functions.proposalVotes(proposal_id))
        return ProposalInfo(
            proposal_id=proposal_id,
            proposer=args["proposer"],
            targets=list(args["targets"]),
            values=[int(v) for v in args["values"]],
            calldatas=["0x" + bytes(c).hex() for c in args["calldatas"]],
            description=args["description"],
            vote_start=int(args["voteStart"]),
            vote_end=int(args["voteEnd"]),
            state=ProposalState(self._call(self.governor.functions.state(proposal_id))),
            votes_against=int(against),
            votes_for=int(for_),
            votes_abstain=int(abstain),
            eta=int(self._call(self.governor.functions.proposalEta(proposal_id))),
        )

    # ------------------------------------------------------ settlement logs
    def settle_call(
        self, batch_id: bytes, signed_receipts: Sequence[tuple[Any, ...]], attester_r: bytes, attester_vs: bytes
    ) -> ContractFunction:
        """`RideLedger.settle(batchId, receipts, attesterR, attesterVS)`: the attester's EIP-2098 signature over
        `Attestation(batchId, receiptsHash)` (`coopride.services.attestation`)."""
        return self.ledger.functions.settle(batch_id, list(signed_receipts), bytes(attester_r), bytes(attester_vs))

    def batch_events(self, receipt: TxReceipt) -> BatchEvents:
        """The per-trip outcomes a `settle` transaction's receipt reports."""
        tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
        block = int(receipt["blockNumber"])
        settled = {
            int(e["args"]["tripId"]): TripSettlement(
                int(e["args"]["tripId"]),
                int(e["args"]["fare"]),
                int(e["args"]["fee"]),
                int(e["args"]["shares"]),
                tx_hash,
                block,
            )
            for e in self.ledger.events.TripSettled().process_receipt(receipt, errors=DISCARD)
        }
        rejected = {
            int(e["args"]["tripId"]): TripRejection(
                int(e["args"]["tripId"]), RejectReason(int(e["args"]["reason"])), tx_hash, block
            )
            for e in self.ledger.events.TripRejected().process_receipt(receipt, errors=DISCARD)
        }
        return BatchEvents(settled, rejected)

    def find_settlements(self, trip_ids: Iterable[int]) -> dict[int, TripSettlement]:
        """`TripSettled` logs for these trip ids since deployment (a trip id settles at most once)."""
        ids = sorted({int(t) for t in trip_ids})
        found: dict[int, TripSettlement] = {}
        for start in range(0, len(ids), LOG_QUERY_CHUNK):
            chunk = ids[start : start + LOG_QUERY_CHUNK]
            logs = self.ledger.events.TripSettled.get_logs(
                from_block=self.manifest.block_number, argument_filters={"tripId": chunk}
            )
            for log in logs:
                a = log["args"]
                found[int(a["tripId"])] = TripSettlement(
                    int(a["tripId"]),
                    int(a["fare"]),
                    int(a["fee"]),
                    int(a["shares"]),
                    HexBytes(log["transactionHash"]).to_0x_hex(),
                    int(log["blockNumber"]),
                )
        return found

    # ------------------------------------------------- bookings: holds, disputes
    def next_block_timestamp(self) -> int:
        """A lower bound of the timestamp of the next block: the node's pending block (which follows the chain's
        own clock, also on an idle anvil whose latest block is old), never below the latest block's."""
        latest = int(self.w3.eth.get_block("latest")["timestamp"])
        try:
            pending = self.w3.eth.get_block("pending")
        except (ValueError, Web3RPCError):  # a node without a pending block
            return latest
        return max(latest, int(pending["timestamp"])) if pending else latest

    def dispute_window(self) -> int:
        return int(self._view(self.ledger, "disputeWindow"))

    def max_trip_seconds(self) -> int:
        return int(self._view(self.ledger, "maxTripSeconds"))

    def max_receipt_age(self) -> int:
        return int(self._view(self.ledger, "maxReceiptAge"))

    def quote_fare(self, region_id: int, distance_metres: int) -> int:
        return int(self._view(self.ledger, "quoteFare", region_id, distance_metres))

    def is_mediator(self, account: str) -> bool:
        """Holds MEDIATOR_ROLE (a mediator must also be a member to decide)."""
        role = self._call(self.ledger.functions.MEDIATOR_ROLE())
        return bool(self._view(self.ledger, "hasRole", role, to_checksum_address(account)))

    def hold_of(self, trip_id: int, driver: str, rider: str) -> Hold:
        args = (trip_id, to_checksum_address(driver), to_checksum_address(rider))
        max_fare, cancel_by, expiry, state = self._call(self.ledger.functions.holdOf(*args))
        released = bool(self._view(self.ledger, "isHoldReleased", *args))
        return Hold(int(max_fare), int(cancel_by), int(expiry), HoldState(int(state)), released)

    def relay_authorise_fare(self, authorisation: FareAuthorisation, signature: bytes) -> TxOutcome:
        return self.transactions.transact(
            self.ledger.functions.authoriseFare(authorisation.as_tuple(), bytes(signature))
        )

    def relay_release_hold(
        self, trip_id: int, driver: str, rider: str, signer: str, deadline: int, signature: bytes
    ) -> TxOutcome:
        return self.transactions.transact(
            self.ledger.functions.releaseHoldBySig(
                trip_id,
                to_checksum_address(driver),
                to_checksum_address(rider),
                to_checksum_address(signer),
                deadline,
                bytes(signature),
            )
        )

    def relay_dispute(
        self, trip_id: int, driver: str, rider: str, reason: str, by: str, deadline: int, signature: bytes
    ) -> TxOutcome:
        return self.transactions.transact(
            self.ledger.functions.disputeBySig(
                trip_id,
                to_checksum_address(driver),
                to_checksum_address(rider),
                reason,
                to_checksum_address(by),
                deadline,
                bytes(signature),
            )
        )

    def relay_resolution(
        self,
        trip_id: int,
        driver: str,
        rider: str,
        award: int,
        reason: str,
        mediator: str,
        deadline: int,
        signature: bytes,
    ) -> TxOutcome:
        return self.transactions.transact(
            self.ledger.functions.resolveDisputeBySig(
                trip_id,
                to_checksum_address(driver),
                to_checksum_address(rider),
                award,
                reason,
                to_checksum_address(mediator),
                deadline,
                bytes(signature),
            )
        )

    # ---------------------------------------------------------------- helpers
    def _view(self, contract: Contract, name: str, *args: Any) -> Any:
        """`self._call(contract.functions.<name>(*args))` for a function whose answer holds no address, without
        web3's contract-function machinery: building a `ContractFunction` and encoding its call looks the function
        up in the ABI twice and validates the whole ABI each time (a keccak of every function's signature), which
        cost more CPU than the node's answer. The selector and the types are worked out once per function here."""
        abi = self._view_abis.get((contract.address, name))
        if abi is None:
            abi = _ViewAbi.of(contract, name)
            self._view_abis[(contract.address, name)] = abi

        def read(block: BlockIdentifier) -> Any:
            data = abi.selector + self.w3.codec.encode(abi.inputs, args)
            try:
                raw = self.w3.eth.call({"to": contract.address, "data": HexBytes(data)}, block)
            except ContractLogicError as exc:
                raise self.errors.of_call(exc) from exc
            values = self.w3.codec.decode(abi.outputs, raw)
            return values[0] if len(values) == 1 else list(values)

        block = self.reads.block
        if block is None:
            return read("latest")
        return self.reads.get((contract.address, name, repr(args), "{}"), block, lambda: read(block))

    def _call(self, call: ContractFunction) -> Any:
        """`call.call()`, with its revert decoded; inside `reads.pinned()`, at the pinned block and cached."""
        block = self.reads.block
        if block is None:
            return self._read(call, "latest")
        key = (call.address, call.fn_name, repr(call.args), repr(call.kwargs))
        return self.reads.get(key, block, lambda: self._read(call, block))

    def _read(self, call: ContractFunction, block: BlockIdentifier) -> Any:
        try:
            return call.call(block_identifier=block)
        except ContractLogicError as exc:
            raise self.errors.of_call(exc) from exc


@dataclass(frozen=True)
class _ViewAbi:
    """What `ChainClient._view` needs of one contract function: its selector, input and output types."""

    selector: bytes
    inputs: list[str]
    outputs: list[str]

    @classmethod
    def of(cls, contract: Contract, name: str) -> _ViewAbi:
        [function] = [e for e in contract.abi if e.get("type") == "function" and e.get("name") == name]
        outputs = get_abi_output_types(function)
        if any("address" in kind for kind in outputs):  # web3 checksums addresses in answers; these are left to it
            raise ValueError(f"{name} answers an address: read it with _call")
        return cls(function_abi_to_4byte_selector(function), get_abi_input_types(function), outputs)


def _proposal_args(
    targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str]
) -> tuple[list[str], list[int], list[bytes]]:
    return (
        [to_checksum_address(t) for t in targets],
        [int(v) for v in values],
        [bytes(HexBytes(c)) for c in calldatas],
    )
