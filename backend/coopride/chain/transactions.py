"""The settler key's transactions: the process-wide nonce lock, signing with explicit nonces, fee bumps,
broadcasting, receipts. Relays use `transact`; the settlement worker uses the pieces to store each
signed batch before it is broadcast (see `coopride.settlement.worker`)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, cast

from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_typing import ChecksumAddress, HexStr
from hexbytes import HexBytes
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.types import TxParams, TxReceipt

from coopride.chain.errors import ChainRevert, ChainUnavailable, ErrorDecoder, NonceConsumed, NonceInUse
from coopride.chain.types import SignedTx, TxOutcome

RECEIPT_TIMEOUT_SECONDS = 30.0
GAS_MARGIN_PERCENT = 20
# Plus a fixed headroom: the Membership's vote checkpoints are keyed by block timestamp, so a call estimated in one
# second and mined in the next writes fresh checkpoint slots (about 20,000 gas each) where the estimate updated
# existing ones. Unused gas is not paid for.
GAS_HEADROOM = 60_000
# A relay whose nonce another process took re-signs with the next one, this many times in all.
NONCE_ATTEMPTS = 10
# Nodes replace a pending transaction only for at least 10% more on both fees (geth's default); bump by 12.5%.
FEE_BUMP_NUMERATOR, FEE_BUMP_DENOMINATOR = 9, 8


class SettlerTransactions:
    """Everything sent from the settler key. Thread-safe: one lock serialises nonces within the process."""

    def __init__(
        self,
        w3: Web3,
        settler_key: str,
        chain_id: int,
        errors: ErrorDecoder,
        *,
        receipt_timeout: float = RECEIPT_TIMEOUT_SECONDS,
    ):
        self.w3 = w3
        self.chain_id = chain_id
        self.errors = errors
        self.receipt_timeout = receipt_timeout
        self._account = Account.from_key(settler_key)
        self.settler: ChecksumAddress = self._account.address
        self._send_lock = threading.RLock()
        # Taken inside the send lock when processes share this key (`ChainClient.share_nonce_locks`).
        self.shared_lock: Callable[[str], AbstractContextManager[object]] | None = None

    # ---------------------------------------------------------------- nonces
    @contextmanager
    def exclusive_nonce(self) -> Iterator[int]:
        """Holds the settler's send lock and yields the next nonce the node will accept.

        The settlement worker signs, persists and broadcasts inside this block so that no relay in this
        process can take the nonce in between.
        """
        with self._send_lock, self.shared_lock(self.settler) if self.shared_lock else nullcontext():
            yield self.pending_nonce()

    def pending_nonce(self) -> int:
        return int(self.w3.eth.get_transaction_count(self.settler, "pending"))

    def confirmed_nonce(self) -> int:
        """How many of the settler's transactions are mined: every nonce below this one is consumed."""
        return int(self.w3.eth.get_transaction_count(self.settler, "latest"))

    # --------------------------------------------------------------- signing
    def sign_call(self, call: ContractFunction, nonce: int, gas: int | None = None) -> SignedTx:
        """Estimates gas (raising `ChainRevert` if the call would revert) and signs with an explicit nonce."""
        if gas is None:
            try:
                gas = int(call.estimate_gas({"from": self.settler}))
            except ContractLogicError as exc:
                raise self.errors.of_call(exc) from exc
            except Web3RPCError as exc:
                raise self.errors.of_rpc_error(exc) from exc
            gas = gas * (100 + GAS_MARGIN_PERCENT) // 100 + GAS_HEADROOM
        params = {"from": self.settler, "nonce": nonce, "gas": gas, "chainId": self.chain_id, **self._fees()}
        tx = call.build_transaction(cast(TxParams, params))
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

    # ------------------------------------------------------ sending, receipts
    def broadcast(self, signed: SignedTx) -> str:
        """Sends a signed transaction. Sending the same bytes again is harmless (the node knows it)."""
        try:
            return self.w3.eth.send_raw_transaction(HexStr(signed.raw)).to_0x_hex()
        except Web3RPCError as exc:
            text = str(exc).lower()
            if "already known" in text or "already imported" in text:
                return signed.tx_hash
            if "nonce too low" in text:
                raise NonceConsumed(signed.nonce) from exc
            if "underpriced" in text:  # another transaction with this nonce waits in the pool
                raise NonceInUse(signed.nonce) from exc
            raise

    def receipt_of(self, tx_hash: str) -> TxReceipt | None:
        """The mined receipt, or None if the transaction is pending or unknown."""
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def wait_for_receipt(self, tx_hash: str, timeout: float | None = None) -> TxReceipt:
        """Raises `TimeExhausted` when the transaction is not mined within `timeout` (default `receipt_timeout`)."""
        return self.w3.eth.wait_for_transaction_receipt(
            tx_hash,  # type: ignore[arg-type]
            timeout=timeout or self.receipt_timeout,
            poll_latency=0.05,
        )

    def transact(self, call: ContractFunction) -> TxOutcome:
        """Signs `call` with the settler key, sends it and waits for the receipt. Raises `ChainRevert` with the
        decoded error, or `ChainUnavailable` when the node does not answer or mine it in time."""
        for attempt in range(1, NONCE_ATTEMPTS + 1):
            with self.exclusive_nonce() as nonce:
                signed = self.sign_call(call, nonce)
                try:
                    tx_hash = self.broadcast(signed)
                    break
                except (NonceConsumed, NonceInUse):
                    # Another process sending from this key (the API's worker processes share it) took the nonce
                    # between our read and our send. The node refused ours, so signing again with the next nonce
                    # cannot send the call twice.
                    if attempt == NONCE_ATTEMPTS:
                        raise ChainUnavailable(f"no free nonce for {self.settler} after {attempt} attempts") from None
            time.sleep(random.uniform(0.0, 0.02 * attempt))  # racing processes retry at different moments
        try:
            receipt = self.wait_for_receipt(tx_hash)
        except TimeExhausted as exc:
            raise ChainUnavailable(f"transaction {tx_hash} was not mined within {self.receipt_timeout:g} s") from exc
        if receipt["status"] != 1:
            raise self._replay_revert(call, receipt)
        return TxOutcome(tx_hash, int(receipt["blockNumber"]), int(receipt["gasUsed"]))

    # --------------------------------------------------------------- helpers
    def _fees(self) -> dict[str, int]:
        base_fee = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
        tip = int(self.w3.eth.max_priority_fee) if base_fee else 0
        return {"maxFeePerGas": 2 * base_fee + tip, "maxPriorityFeePerGas": tip}

    def _replay_revert(self, call: ContractFunction, receipt: TxReceipt) -> ChainRevert:
        """Finds out why a mined transaction reverted by replaying it at its block."""
        try:
            call.call({"from": self.settler}, block_identifier=int(receipt["blockNumber"]) - 1)
        except ContractLogicError as exc:
            return self.errors.of_call(exc)
        except Web3RPCError as exc:
            return self.errors.of_rpc_error(exc)
        return ChainRevert("Reverted", (), f"transaction {HexBytes(receipt['transactionHash']).to_0x_hex()} reverted")


def _bumped(fee: Any) -> int:
    return int(fee) * FEE_BUMP_NUMERATOR // FEE_BUMP_DENOMINATOR + 1
