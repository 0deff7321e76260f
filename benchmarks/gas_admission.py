"""Gas of joining and leaving the cooperative, on a private anvil with the real contracts.

`benchmarks/gas.py` (`make bench-gas`) calls `measure()` on its deployment after the settlement figures and writes
the result under the key "admission" of benchmarks/results/gas.json; `python benchmarks/gas_admission.py` runs it
alone on a fresh deployment and prints it.

What it measures, for `MEMBERS` fresh wallets admitted to the last genesis region (local parameters: a 10 tEUR
capital share), after one warm-up admission (a deployment's first admission also writes the ledger's `capitalHeld`
slot from zero):
- `permit`: the applicant's ERC-2612 permit for the capital share, relayed by the admissions key;
- `admit`: `Membership.admit` (signature check, soulbound mint, self-delegation, the ledger's member flag, region
  count and capital-share transfer);
- `leave` (the member's own transaction) for half of them, `leaveBySig` (relayed) for the other half;
- `remove`: governance's removal (sent by the Timelock, impersonated), which forfeits the capital share.
Every figure is the transaction's `gasUsed` (intrinsic and calldata included), averaged over its wallets.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from eth_account import Account
from eth_utils import keccak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MEMBERS = 10
DEADLINE = 2**40


class Admissions:
    """Applications signed by fresh keys, relayed through a plain web3 client (as the backend would)."""

    def __init__(self, web3, contracts: dict, relayer: str):
        from coopride.chain.eip712 import Domain

        self.web3 = web3
        handle = {name: web3.eth.contract(c.address, abi=c.abi) for name, c in contracts.items() if hasattr(c, "abi")}
        self.ledger, self.membership, self.fare_token = handle["RideLedger"], handle["Membership"], handle["FareToken"]
        self.timelock = handle["TimelockController"].address
        self.admissions = contracts["manifest"]["roles"]["admissions"]
        self.relayer = relayer
        chain_id = web3.eth.chain_id
        self.membership_domain = Domain("CoopRide Membership", "1", chain_id, self.membership.address)
        self.token_domain = Domain(self.fare_token.functions.name().call(), "1", chain_id, self.fare_token.address)
        self.next_key = 1

    def _next_block_later(self) -> None:
        """The next transaction lands in a later second than the last one, as on a live chain (12 s blocks): a
        membership change in the same second as the previous one updates the vote checkpoints in place instead of
        writing new ones, and would look cheaper than it is."""
        self.web3.provider.make_request("evm_increaseTime", [12])

    def _send(self, call, sender: str) -> dict:
        self._next_block_later()
        sent = call.transact({"from": sender, "gasPrice": 0, "gas": 1_000_000})
        receipt = self.web3.eth.wait_for_transaction_receipt(sent, poll_latency=0.01)
        if receipt["status"] != 1:
            raise RuntimeError(f"{call.fn_name} reverted: {receipt['transactionHash'].hex()}")
        return receipt

    def fresh_key(self, label: bytes) -> bytes:
        key = keccak(b"coopride-bench-" + label + b"-%d" % self.next_key)
        self.next_key += 1
        return key

    def admission_calls(self, key: bytes, region_id: int) -> list:
        """The two calls that admit the key's owner: the relayed permit for the capital share, then `admit` with
        the signed application (both sent by the admissions key)."""
        from coopride.chain.eip712 import application_typed_data, permit_typed_data, sign_typed_data, split_signature

        applicant = Account.from_key(key).address
        share = self.membership.functions.capitalShare().call()
        nonce = self.membership.functions.nonces(applicant).call()
        application = application_typed_data(self.membership_domain, applicant, region_id, share, nonce, DEADLINE)
        calls = []
        if share:
            token_nonce = self.fare_token.functions.nonces(applicant).call()
            permit = permit_typed_data(self.token_domain, applicant, self.ledger.address, share, token_nonce, DEADLINE)
            v, r, s = split_signature(sign_typed_data(key, permit))
            calls.append(self.fare_token.functions.permit(applicant, self.ledger.address, share, DEADLINE, v, r, s))
        calls.append(self.membership.functions.admit(applicant, region_id, share, DEADLINE,
                                                     sign_typed_data(key, application)))
        return calls

    def admit(self, key: bytes, region_id: int) -> tuple[int, int]:
        """Funds the applicant with the capital share and admits them; returns (permit gas, admit gas)."""
        applicant = Account.from_key(key).address
        share = self.membership.functions.capitalShare().call()
        if share:
            self._send(self.fare_token.functions.mint(applicant, share), self.relayer)
        gas = [self._send(call, self.admissions)["gasUsed"] for call in self.admission_calls(key, region_id)]
        return (0, gas[0]) if len(gas) == 1 else (gas[0], gas[1])

    def leave(self, key: bytes) -> int:
        """The member sends `leave()` from their own key (gas price 0 on the local chain)."""
        member = Account.from_key(key)
        transaction = self.membership.functions.leave().build_transaction({
            "from": member.address, "gasPrice": 0, "gas": 500_000, "nonce": self.web3.eth.get_transaction_count(member.address),
        })
        self._next_block_later()
        sent = self.web3.eth.send_raw_transaction(member.sign_transaction(transaction).raw_transaction)
        return self.web3.eth.wait_for_transaction_receipt(sent, poll_latency=0.01)["gasUsed"]

    def leave_by_sig(self, key: bytes) -> int:
        from coopride.chain.eip712 import leave_typed_data, sign_typed_data

        member = Account.from_key(key).address
        nonce = self.membership.functions.nonces(member).call()
        signature = sign_typed_data(key, leave_typed_data(self.membership_domain, member, nonce, DEADLINE))
        return self._send(self.membership.functions.leaveBySig(member, DEADLINE, signature), self.relayer)["gasUsed"]

    def remove(self, key: bytes) -> int:
        member = Account.from_key(key).address
        self.web3.provider.make_request("anvil_impersonateAccount", [self.timelock])
        try:
            return self._send(self.membership.functions.remove(member), self.timelock)["gasUsed"]
        finally:
            self.web3.provider.make_request("anvil_stopImpersonatingAccount", [self.timelock])


def measure(rpc_url: str, contracts: dict | None = None) -> dict:
    """The mean gas of each step (see the module docstring) on `contracts` (the deployment's handles and manifest,
    as `scripts/deploy.py` returns them), or on a fresh deployment on the connected chain."""
    from brownie import accounts
    from web3 import HTTPProvider, Web3

    from scripts.deploy import DEFAULT_REGIONS, deploy

    if contracts is None:
        with tempfile.TemporaryDirectory() as manifest_dir:
            contracts = deploy(accounts[0], accounts[1], manifest_path=Path(manifest_dir) / "manifest.json")
    bench = Admissions(Web3(HTTPProvider(rpc_url)), contracts, accounts[0].address)
    region_id = DEFAULT_REGIONS[-1]["id"]

    bench.admit(bench.fresh_key(b"warm-up"), region_id)  # the ledger's capitalHeld slot is non-zero from here on
    keys = [bench.fresh_key(b"member") for _ in range(MEMBERS)]
    permits, admits = zip(*(bench.admit(key, region_id) for key in keys))
    half = MEMBERS // 2
    leaves = [bench.leave(key) for key in keys[:half]]
    relayed_leaves = [bench.leave_by_sig(key) for key in keys[half:]]
    removed = [bench.fresh_key(b"removed") for _ in range(half)]
    for key in removed:
        bench.admit(key, region_id)
    removals = [bench.remove(key) for key in removed]

    def mean(values) -> int:
        return round(statistics.mean(values))

    return {
        "members": MEMBERS,
        "capital_share": bench.membership.functions.capitalShare().call(),
        "permit_gas": mean(permits),
        "admit_gas": mean(admits),
        "admission_gas": mean(permits) + mean(admits),
        "leave_gas": mean(leaves),
        "leave_by_sig_gas": mean(relayed_leaves),
        "remove_gas": mean(removals),
    }


def report(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Joining and leaving (capital share {results['capital_share']:,} token units)")
    for column in ("step", "gas"):
        table.add_column(column, justify="right")
    for label, key in (
        ("permit for the capital share (relayed)", "permit_gas"),
        ("admit", "admit_gas"),
        ("admission = permit + admit", "admission_gas"),
        ("leave (member's own transaction)", "leave_gas"),
        ("leaveBySig (relayed)", "leave_by_sig_gas"),
        ("remove (governance)", "remove_gas"),
    ):
        table.add_row(label, f"{results[key]:,}")
    Console().print(table)


def main() -> None:
    from gas import _connect  # benchmarks/, the script's own folder

    report(measure(_connect()))


if __name__ == "__main__":
    main()
