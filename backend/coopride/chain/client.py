"""web3.py client for the CoopRide contracts: reads, relayed writes paid by the settler key, and the
low-level pieces (signed raw transactions with explicit nonces, receipts, events) that the settlement
worker needs for exactly-once delivery.

Custom errors are decoded from the manifest's ABIs, so a failed relay says *why* (`ChainRevert`).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Iterable, Iterator, Sequence

import requests
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import function_signature_to_4byte_selector, keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    TransactionNotFound,
    Web3RPCError,
)
from web3.logs import DISCARD

from coopride.chain.eip712 import split_signature
from coopride.chain.manifest import Manifest

RECEIPT_TIMEOUT_SECONDS = 30.0
GAS_MARGIN_PERCENT = 20
# Nodes replace a pending transaction only for at least 10% more on both fees (geth's default); bump by 12.5%.
FEE_BUMP_NUMERATOR, FEE_BUMP_DENOMINATOR = 9, 8

# Errors that mean "the node is not reachable right now", as opposed to "the chain said no".
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    ProviderConnectionError,
    TimeExhausted,
    ConnectionError,
)


class RejectReason(IntEnum):
    """`RideLedger.RejectReason` (docs/design.md)."""

    NONE = 0
    ALREADY_SETTLED = 1
    BAD_DRIVER_SIGNATURE = 2
    BAD_RIDER_SIGNATURE = 3
    NOT_MEMBER = 4
    UNKNOWN_REGION = 5
    REGION_NOT_OPERATING = 6
    FARE_EXCEEDS_SIGNED = 7
    RIDER_UNDERFUNDED = 8
    INVALID_TRIP = 9

    @property
    def label(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


class ProposalState(IntEnum):
    """OpenZeppelin `IGovernor.ProposalState`."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


class ChainError(RuntimeError):
    """Base of every error this client raises on purpose."""


class ChainUnavailable(ChainError):
    """The node did not answer (down, unreachable, or too slow)."""


class ChainRevert(ChainError):
    """The chain refused a call; `error_name` and `args` come from the contracts' custom errors."""

    def __init__(self, error_name: str, args: tuple = (), message: str | None = None):
        self.error_name = error_name
        self.message = message or (f"{error_name}({', '.join(map(str, args))})" if args else error_name)
        super().__init__(self.message)
        self.args = tuple(args)  # the decoded error arguments, as the design names them

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ChainRevert({self.error_name!r}, {self.args!r})"


@dataclass(frozen=True)
class TxOutcome:
    tx_hash: str
    block_number: int
    gas_used: int


@dataclass(frozen=True)
class SignedTx:
    """A signed transaction that can be stored and broadcast again byte for byte."""

    raw: str
    tx_hash: str
    nonce: int


@dataclass(frozen=True)
class RegionState:
    fare_per_km: int
    critical_mass: int
    members: int
    operating: bool
    exists: bool


@dataclass(frozen=True)
class LedgerParameters:
    fee_bps: int
    bootstrap_reward_per_km: int
    operating_reward_per_km: int
    halving_interval: int
    daily_rewarded_metres: int


@dataclass(frozen=True)
class TripSettlement:
    """One `TripSettled` event."""

    trip_id: int
    fare: int
    fee: int
    shares: int
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class TripRejection:
    trip_id: int
    reason: RejectReason
    tx_hash: str
    block_number: int


@dataclass(frozen=True)
class BatchEvents:
    settled: dict[int, TripSettlement]
    rejected: dict[int, TripRejection]


@dataclass(frozen=True)
class ProposalInfo:
    proposal_id: int
    proposer: str
    targets: list[str]
    values: list[int]
    calldatas: list[str]
    description: str
    vote_start: int
    vote_end: int
    state: ProposalState
    votes_against: int
    votes_for: int
    votes_abstain: int
    eta: int  # unix seconds from which a queued proposal may be executed; 0 until queued


class ErrorDecoder:
    """Maps 4-byte selectors to the custom errors declared in a set of ABIs."""

    def __init__(self, abis: Iterable[list[dict]]):
        self._errors: dict[bytes, tuple[str, list[str], list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_abi_type(i) for i in item.get("inputs", [])]
                names = [i.get("name", "") for i in item.get("inputs", [])]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                self._errors[selector] = (item["name"], types, names)
        self._errors[function_signature_to_4byte_selector("Error(string)")] = ("Error", ["string"], ["message"])
        self._errors[function_signature_to_4byte_selector("Panic(uint256)")] = ("Panic", ["uint256"], ["code"])

    def decode(self, data: str | bytes | None) -> ChainRevert:
        raw = HexBytes(data or b"")
        if len(raw) < 4:
            return ChainRevert("Reverted", (), "reverted without a reason")
        known = self._errors.get(bytes(raw[:4]))
        if known is None:
            return ChainRevert("UnknownError", (raw.to_0x_hex(),), f"reverted with unknown error data {raw.to_0x_hex()}")
        name, types, names = known
        try:
            values = tuple(_readable(v) for v in abi_decode(types, bytes(raw[4:])))
        except Exception:  # malformed error payload: still name the error
            return ChainRevert(name, (), f"{name} (undecodable arguments)")
        if name == "Error":
            return ChainRevert("Error", values, f"reverted: {values[0]}")
        args_text = ", ".join(f"{n}={v}" if n else str(v) for n, v in zip(names, values))
        return ChainRevert(name, values, f"{name}({args_text})")


def _bumped(fee: int) -> int:
    return fee * FEE_BUMP_NUMERATOR // FEE_BUMP_DENOMINATOR + 1


def _abi_type(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


def _readable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
        return to_checksum_address(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_readable(v) for v in value)
    return value


def _revert_data(exc: BaseException) -> str | None:
    data = getattr(exc, "data", None)
    if isinstance(data, dict):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return data
    return None


class ChainClient:
    """Everything the backend does on chain. Thread-safe: writes from the settler key are serialised."""

    def __init__(self, rpc_url: str, manifest: Manifest, settler_key: str, *, request_timeout: float = 10.0,
                 receipt_timeout: float = RECEIPT_TIMEOUT_SECONDS):
        self.rpc_url = rpc_url
        self.manifest = manifest
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": request_timeout}))
        self._account = Account.from_key(settler_key)
        self.settler = self._account.address
        self.receipt_timeout = receipt_timeout
        self._send_lock = threading.RLock()
        self._decoder = ErrorDecoder(c.abi for c in manifest.contracts.values())

        def handle(name: str):
            deployed = manifest.contract(name)
            return self.w3.eth.contract(address=deployed.address, abi=deployed.abi)

        self.ledger = handle("RideLedger")
        self.membership = handle("Membership")
        self.share = handle("CoopShare")
        self.governor = handle("CoopGovernor")
        self.timelock = handle("TimelockController")
        self.fare_token = handle("FareToken")

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
        result = self._call(self.ledger.functions.region(region_id))
        fields = result[0] if len(result) == 1 and isinstance(result[0], (list, tuple)) else result
        fare_per_km, critical_mass, members, operating, exists = fields
        return RegionState(int(fare_per_km), int(critical_mass), int(members), bool(operating), bool(exists))

    def parameters(self) -> LedgerParameters:
        f = self.ledger.functions
        return LedgerParameters(
            fee_bps=self._call(f.feeBps()),
            bootstrap_reward_per_km=self._call(f.bootstrapRewardPerKm()),
            operating_reward_per_km=self._call(f.operatingRewardPerKm()),
            halving_interval=self._call(f.halvingInterval()),
            daily_rewarded_metres=self._call(f.dailyRewardedMetres()),
        )

    def is_member(self, account: str) -> bool:
        return self._call(self.membership.functions.isMember(to_checksum_address(account)))

    def region_of(self, account: str) -> int:
        return self._call(self.membership.functions.regionOf(to_checksum_address(account)))

    def membership_nonce(self, account: str) -> int:
        return self._call(self.membership.functions.nonces(to_checksum_address(account)))

    def permit_nonce(self, account: str) -> int:
        return self._call(self.fare_token.functions.nonces(to_checksum_address(account)))

    def governor_nonce(self, account: str) -> int:
        return self._call(self.governor.functions.nonces(to_checksum_address(account)))

    def fare_token_balance(self, account: str) -> int:
        return self._call(self.fare_token.functions.balanceOf(to_checksum_address(account)))

    def escrow_of(self, account: str) -> int:
        return self._call(self.ledger.functions.escrowOf(to_checksum_address(account)))

    def earnings_of(self, account: str) -> int:
        return self._call(self.ledger.functions.earningsOf(to_checksum_address(account)))

    def shares_of(self, account: str) -> int:
        return self._call(self.share.functions.balanceOf(to_checksum_address(account)))

    def total_shares(self) -> int:
        return self._call(self.share.functions.totalSupply())

    def claimable(self, account: str) -> int:
        return self._call(self.share.functions.claimable(to_checksum_address(account)))

    def treasury_balance(self) -> int:
        return self._call(self.ledger.functions.treasuryBalance())

    def is_settled(self, trip_id: int) -> bool:
        return self._call(self.ledger.functions.isSettled(trip_id))

    def latest_timestamp(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    # --------------------------------------------------------- relayed writes
    def relay_join(self, member: str, region_id: int, deadline: int, signature: bytes) -> TxOutcome:
        return self.transact(self.membership.functions.joinBySig(to_checksum_address(member), region_id, deadline, bytes(signature)))

    def relay_permit_deposit(self, rider: str, amount: int, deadline: int, signature: bytes) -> TxOutcome:
        v, r, s = split_signature(bytes(signature))
        return self.transact(self.ledger.functions.depositWithPermit(to_checksum_address(rider), amount, deadline, v, r, s))

    def relay_ballot(self, proposal_id: int, support: int, voter: str, signature: bytes) -> TxOutcome:
        return self.transact(self.governor.functions.castVoteBySig(proposal_id, support, to_checksum_address(voter), bytes(signature)))

    def relay_claim(self, member: str) -> TxOutcome:
        return self.transact(self.share.functions.claimFor(to_checksum_address(member)))

    def activate_region(self, region_id: int) -> TxOutcome:
        return self.transact(self.ledger.functions.activateRegion(region_id))

    # ------------------------------------------------------------- governance
    def hash_proposal(self, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str],
                      description: str) -> int:
        """The Governor's id for this proposal (what a member signs in `Proposal.proposalHash`)."""
        return self._call(self.governor.functions.hashProposal(*_proposal_args(targets, values, calldatas),
                                                               keccak(text=description)))

    def proposal_exists(self, proposal_id: int) -> bool:
        return self._call(self.governor.functions.proposalSnapshot(proposal_id)) != 0

    def relay_proposal(self, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str],
                       description: str, proposer: str, deadline: int, signature: bytes) -> tuple[int, TxOutcome]:
        """Relays a member's signed `Proposal` (`CoopGovernor.proposeBySig`); the member is the recorded proposer."""
        targets_, values_, calldatas_ = _proposal_args(targets, values, calldatas)
        proposal_id = self.hash_proposal(targets_, values_, calldatas_, description)
        outcome = self.transact(self.governor.functions.proposeBySig(
            targets_, values_, calldatas_, description, to_checksum_address(proposer), deadline, bytes(signature)))
        return proposal_id, outcome

    def queue(self, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str], description: str) -> TxOutcome:
        fn = self.governor.get_function_by_signature("queue(address[],uint256[],bytes[],bytes32)")
        return self.transact(fn(*_proposal_args(targets, values, calldatas), keccak(text=description)))

    def execute(self, targets: Sequence[str], values: Sequence[int], calldatas: Sequence[bytes | str], description: str) -> TxOutcome:
        fn = self.governor.get_function_by_signature("execute(address[],uint256[],bytes[],bytes32)")
        return self.transact(fn(*_proposal_args(targets, values, calldatas), keccak(text=description)))

    def proposal(self, proposal_id: int) -> ProposalInfo:
        # Reads state, votes and eta of this proposal only, not of every proposal since deployment.
        for log in self._proposal_logs():
            if int(log["args"]["proposalId"]) == proposal_id:
                return self._proposal_from_event(log["args"])
        raise ChainRevert("GovernorNonexistentProposal", (proposal_id,))

    def proposals(self) -> list[ProposalInfo]:
        return [self._proposal_from_event(log["args"]) for log in self._proposal_logs()]

    def _proposal_logs(self):
        return self.governor.events.ProposalCreated.get_logs(from_block=self.manifest.block_number)

    def _proposal_from_event(self, args) -> ProposalInfo:
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

    # ------------------------------------------------- transactions, nonces
    @contextmanager
    def exclusive_nonce(self) -> Iterator[int]:
        """Holds the settler's send lock and yields the next nonce the node will accept.

        The settlement worker signs, persists and broadcasts inside this block so that no relay in this
        process can take the nonce in between.
        """
        with self._send_lock:
            yield self.pending_nonce()

    def pending_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.settler, "pending"))

    def confirmed_nonce(self) -> int:
        """How many of the settler's transactions are mined: every nonce below this one is consumed."""
        return int(self.w3.eth.get_transaction_count(self.settler, "latest"))

    def sign_call(self, call, nonce: int, gas: int | None = None) -> SignedTx:
        """Estimates gas (raising `ChainRevert` if the call would revert) and signs with an explicit nonce."""
        if gas is None:
            try:
                gas = int(call.estimate_gas({"from": self.settler}))
            except ContractLogicError as exc:
                raise self._decoder.decode(_revert_data(exc)) from exc
            except Web3RPCError as exc:
                raise self._revert_from_rpc_error(exc) from exc
            gas = gas * (100 + GAS_MARGIN_PERCENT) // 100
        tx = call.build_transaction({"from": self.settler, "nonce": nonce, "gas": gas, "chainId": self.chain_id, **self._fees()})
        signed = self._account.sign_transaction(tx)
        return SignedTx(raw=signed.raw_transaction.to_0x_hex(), tx_hash=signed.hash.to_0x_hex(), nonce=nonce)

    def bump_fees(self, signed: SignedTx, max_fee_ceiling: int | None = None) -> SignedTx | None:
        """The same transaction (nonce, gas, calldata) re-signed with both fees raised past the nodes' replacement
        rule, and at least to what the chain asks now; whichever of the two is mined, only one can be.
        None when the new max fee per gas would pass `max_fee_ceiling` (wei): the settler never pays more."""
        tx = TypedTransaction.from_bytes(HexBytes(signed.raw)).as_dict()
        market = self._fees()
        tip = max(_bumped(tx["maxPriorityFeePerGas"]), market["maxPriorityFeePerGas"])
        max_fee = max(_bumped(tx["maxFeePerGas"]), market["maxFeePerGas"], tip)
        if max_fee_ceiling is not None and max_fee > max_fee_ceiling:
            return None
        replacement = {key: tx[key] for key in ("chainId", "nonce", "gas", "to", "value", "data", "accessList")}
        replacement.update(type=2, maxFeePerGas=max_fee, maxPriorityFeePerGas=tip)
        resigned = self._account.sign_transaction(replacement)
        return SignedTx(raw=resigned.raw_transaction.to_0x_hex(), tx_hash=resigned.hash.to_0x_hex(), nonce=signed.nonce)

    def broadcast(self, signed: SignedTx) -> str:
        """Sends a signed transaction. Sending the same bytes again is harmless (the node knows it)."""
        try:
            return self.w3.eth.send_raw_transaction(signed.raw).to_0x_hex()
        except Web3RPCError as exc:
            text = str(exc).lower()
            if "already known" in text or "already imported" in text:
                return signed.tx_hash
            if "nonce too low" in text:
                raise NonceConsumed(signed.nonce) from exc
            if "underpriced" in text:  # another transaction with this nonce waits in the pool
                raise NonceInUse(signed.nonce) from exc
            raise

    def receipt_of(self, tx_hash: str):
        """The mined receipt, or None if the transaction is pending or unknown."""
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def is_pending(self, tx_hash: str) -> bool:
        try:
            tx = self.w3.eth.get_transaction(tx_hash)
        except TransactionNotFound:
            return False
        return tx.get("blockNumber") is None

    def wait_for_receipt(self, tx_hash: str, timeout: float | None = None):
        return self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout or self.receipt_timeout, poll_latency=0.05)

    def transact(self, call) -> TxOutcome:
        """Signs `call` with the settler key, sends it, waits for the receipt; raises `ChainRevert` with the decoded error."""
        with self.exclusive_nonce() as nonce:
            signed = self.sign_call(call, nonce)
            tx_hash = self.broadcast(signed)
        receipt = self.wait_for_receipt(tx_hash)
        if receipt["status"] != 1:
            raise self._replay_revert(call, receipt)
        return TxOutcome(tx_hash, int(receipt["blockNumber"]), int(receipt["gasUsed"]))

    def decode_error(self, data: str | bytes | None) -> ChainRevert:
        return self._decoder.decode(data)

    # ------------------------------------------------------ settlement logs
    def settle_call(self, batch_id: bytes, signed_receipts: Sequence[tuple]):
        return self.ledger.functions.settle(batch_id, list(signed_receipts))

    def batch_events(self, receipt) -> BatchEvents:
        """The per-trip outcomes a `settle` transaction's receipt reports."""
        tx_hash = HexBytes(receipt["transactionHash"]).to_0x_hex()
        block = int(receipt["blockNumber"])
        settled = {
            int(e["args"]["tripId"]): TripSettlement(int(e["args"]["tripId"]), int(e["args"]["fare"]), int(e["args"]["fee"]),
                                                      int(e["args"]["shares"]), tx_hash, block)
            for e in self.ledger.events.TripSettled().process_receipt(receipt, errors=DISCARD)
        }
        rejected = {
            int(e["args"]["tripId"]): TripRejection(int(e["args"]["tripId"]), RejectReason(int(e["args"]["reason"])), tx_hash, block)
            for e in self.ledger.events.TripRejected().process_receipt(receipt, errors=DISCARD)
        }
        return BatchEvents(settled, rejected)

    def find_settlements(self, trip_ids: Iterable[int]) -> dict[int, TripSettlement]:
        """`TripSettled` logs for these trip ids since deployment (a trip id settles at most once)."""
        ids = sorted(set(int(t) for t in trip_ids))
        found: dict[int, TripSettlement] = {}
        for start in range(0, len(ids), 200):
            chunk = ids[start:start + 200]
            logs = self.ledger.events.TripSettled.get_logs(from_block=self.manifest.block_number, argument_filters={"tripId": chunk})
            for log in logs:
                a = log["args"]
                found[int(a["tripId"])] = TripSettlement(int(a["tripId"]), int(a["fare"]), int(a["fee"]), int(a["shares"]),
                                                         HexBytes(log["transactionHash"]).to_0x_hex(), int(log["blockNumber"]))
        return found

    # ---------------------------------------------------------------- helpers
    def _call(self, call):
        try:
            return call.call()
        except ContractLogicError as exc:
            raise self._decoder.decode(_revert_data(exc)) from exc

    def _fees(self) -> dict[str, int]:
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
        tip = int(self.w3.eth.max_priority_fee) if base_fee else 0
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}

    def _revert_from_rpc_error(self, exc: Web3RPCError) -> ChainRevert:
        response = getattr(exc, "rpc_response", None) or {}
        error = response.get("error", {}) if isinstance(response, dict) else {}
        data = error.get("data") if isinstance(error, dict) else None
        if isinstance(data, str) and data.startswith("0x"):
            return self._decoder.decode(data)
        return ChainRevert("Rejected", (), str(exc))

    def _replay_revert(self, call, receipt) -> ChainRevert:
        """Finds out why a mined transaction reverted by replaying it at its block."""
        try:
            call.call({"from": self.settler}, block_identifier=int(receipt["blockNumber"]) - 1)
        except ContractLogicError as exc:
            return self._decoder.decode(_revert_data(exc))
        except Web3RPCError as exc:
            return self._revert_from_rpc_error(exc)
        return ChainRevert("Reverted", (), f"transaction {HexBytes(receipt['transactionHash']).to_0x_hex()} reverted")


class NonceConsumed(ChainError):
    """The node already mined another transaction with this nonce."""

    def __init__(self, nonce: int):
        self.nonce = nonce
        super().__init__(f"nonce {nonce} is already used")


class NonceInUse(ChainError):
    """Another pending transaction holds this nonce; it may yet be mined, or dropped."""

    def __init__(self, nonce: int):
        self.nonce = nonce
        super().__init__(f"nonce {nonce} is held by another pending transaction")


def _proposal_args(targets, values, calldatas) -> tuple[list[str], list[int], list[bytes]]:
    return (
        [to_checksum_address(t) for t in targets],
        [int(v) for v in values],
        [bytes(HexBytes(c)) for c in calldatas],
    )
