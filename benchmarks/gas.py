"""Gas of `RideLedger.settle` against batch size, on a private anvil with the real contracts.

Run with `make bench-gas`. For each batch size it registers fresh members in an operating region
(one driver per four trips, one rider per trip, batch sorted by driver), settles one batch for them
(first-time accounts: no earnings, shares or reward counters yet) and then a second batch for the
same people (warm accounts). The naive baseline settles trips one transaction each, for warm accounts.
Prints tables, writes benchmarks/results/gas.json and the "Latest results" section of benchmarks/README.md.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from web3.logs import DISCARD

import gas_admission  # benchmarks/, the script's own folder
from gas_admission import Admissions

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "gas.json"
README = ROOT / "benchmarks" / "README.md"
TABLE_START, TABLE_END = "<!-- gas-table:start -->", "<!-- gas-table:end -->"
sys.path.insert(0, str(ROOT))

BATCH_SIZES = (1, 10, 50, 100, 200)
TRIPS_PER_DRIVER = 4
NAIVE_TRIPS = 10
BREAKDOWN_TRIPS = 100
TRIP_METRES = 5_000
TRIP_SECONDS = 900
BLOCK_GAS_LIMIT = 16_777_216
GOAL_GAS_PER_TRIP = 20_000

warnings.filterwarnings("ignore", message=".*should not be called directly.*", category=FutureWarning)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect():
    """Loads the Brownie project and starts a private anvil on a free port, as tests/conftest.py does;
    returns its RPC URL."""
    from brownie import network, project
    from brownie._config import CONFIG

    project.load(ROOT, name="CoopRideBench").load_config()
    port = _free_port()
    CONFIG.networks["anvil"]["cmd_settings"]["port"] = port
    CONFIG.networks["anvil"]["host"] = "http://127.0.0.1"
    network.connect("anvil")
    return f"http://127.0.0.1:{port}"


class Bench:
    """Members, receipts and settlements on the deployment, through a plain web3 client on Brownie's anvil.

    Brownie deploys; the many setup transactions and the measured ones go through web3 directly, which is
    several times faster than Brownie's per-transaction bookkeeping and reports the same `gasUsed`.
    """

    def __init__(self, contracts: dict, relayer: str, settler: str, region_id: int, rpc_url: str):
        from web3 import HTTPProvider, Web3

        from coopride.chain.eip712 import Domain

        self.web3 = Web3(HTTPProvider(rpc_url))
        handle = {name: self.web3.eth.contract(c.address, abi=c.abi) for name, c in contracts.items() if hasattr(c, "abi")}
        self.ledger, self.membership, self.fare_token = handle["RideLedger"], handle["Membership"], handle["FareToken"]
        self.relay = {"from": relayer, "gasPrice": 0, "gas": 500_000}
        self.admissions = Admissions(self.web3, contracts, relayer)
        self.settler = settler
        self.region_id = region_id
        chain_id = self.web3.eth.chain_id
        self.domain = Domain("CoopRide", "1", chain_id, self.ledger.address)
        self.membership_domain = Domain("CoopRide Membership", "1", chain_id, self.membership.address)
        self.token_domain = Domain(self.fare_token.functions.name().call(), "1", chain_id, self.fare_token.address)
        self.next_key = 1
        self.next_trip_id = 1
        self.next_batch = 1

    def _confirm(self, sent: list) -> list:
        receipts = [self.web3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01) for tx in sent]
        failed = [r["transactionHash"].hex() for r in receipts if r["status"] != 1]
        if failed:
            raise RuntimeError(f"{len(failed)} transactions failed, first {failed[0]}")
        return receipts

    def new_members(self, count: int, deposit: int = 0) -> list:
        """Fresh keys admitted to the region (signed application and capital-share permit, relayed by the admissions
        key) and, if `deposit`, with their escrow funded by permit."""
        from coopride.chain.eip712 import permit_typed_data, sign_typed_data, split_signature

        members, sent = [], []
        deadline = 2**40
        capital = self.membership.functions.capitalShare().call()
        for _ in range(count):
            key = keccak(b"coopride-bench-%d" % self.next_key)
            self.next_key += 1
            account = Account.from_key(key)
            sent.append(self.fare_token.functions.mint(account.address, capital).transact(self.relay))
            for call in self.admissions.admission_calls(key, self.region_id):
                sent.append(call.transact({**self.relay, "from": self.admissions.admissions}))
            if deposit:
                sent.append(self.fare_token.functions.mint(account.address, deposit).transact(self.relay))
                permit = permit_typed_data(self.token_domain, account.address, self.ledger.address, deposit, 1, deadline)
                v, r, s = split_signature(sign_typed_data(key, permit))
                sent.append(self.ledger.functions.depositWithPermit(account.address, deposit, deadline, v, r, s).transact(self.relay))
            members.append(account)
        self._confirm(sent)
        return members

    def activate_region(self) -> None:
        if not self.ledger.functions.region(self.region_id).call()[3]:
            self._confirm([self.ledger.functions.activateRegion(self.region_id).transact(self.relay)])

    def batch(self, drivers: list, riders: list) -> list:
        """One co-signed receipt per rider, TRIPS_PER_DRIVER consecutive receipts per driver."""
        from coopride.chain.eip712 import TripReceipt, receipt_typed_data, sign_typed_data, signed_receipt_tuple

        now = self.web3.eth.get_block("latest")["timestamp"]
        fare = self.ledger.functions.quoteFare(self.region_id, TRIP_METRES).call()
        receipts = []
        for index, rider in enumerate(riders):
            driver = drivers[index // TRIPS_PER_DRIVER]
            receipt = TripReceipt(
                tripId=self.next_trip_id,
                driver=driver.address,
                rider=rider.address,
                regionId=self.region_id,
                distanceMetres=TRIP_METRES,
                fare=fare,
                startTime=now - TRIP_SECONDS - 60,
                endTime=now - 60,
                traceHash=keccak(b"trace-%d" % self.next_trip_id),
            )
            self.next_trip_id += 1
            typed = receipt_typed_data(self.domain, receipt)
            receipts.append(
                signed_receipt_tuple(receipt, sign_typed_data(driver.key, typed), sign_typed_data(rider.key, typed))
            )
        return receipts

    def breakdown(self, receipts: list) -> tuple[int, Counter]:
        """Gas of settling `receipts` by top-level opcode, from a `debug_traceCall` re-execution.

        Returns (intrinsic + calldata gas, gas per opcode at the ledger's depth); a CALL or STATICCALL counts
        the whole call it makes (the ecrecover precompile, CoopShare.mintBatch).
        """
        call = {"from": self.settler, "to": self.ledger.address, "gas": hex(29_000_000), "gasPrice": "0x0",
                "data": self.ledger.encode_abi("settle", args=[b"\xff" * 32, receipts])}
        total = self.web3.eth.estimate_gas({**call, "gas": 29_000_000, "gasPrice": 0})
        steps = self.web3.provider.make_request("debug_traceCall", [call, "latest", {"disableStorage": True, "disableMemory": True}])["result"]["structLogs"]
        by_opcode, depth = Counter(), steps[0]["depth"]
        top = [step for step in steps if step["depth"] == depth]  # the ledger's own steps, in order
        for step, following in zip(top, top[1:] + [None]):
            # The gas left at the next top-level step includes whatever a call in between consumed.
            cost = step["gas"] - following["gas"] if following is not None else step["gasCost"]
            name = step["op"]
            if name == "STATICCALL" and int(step["stack"][-2], 16) == 1:
                name = "ecrecover"
            elif name == "CALL":
                name = "CALL (mintBatch)"
            by_opcode[name] += cost
        return total - sum(by_opcode.values()), by_opcode

    def settle(self, receipts: list) -> int:
        """Settles one batch; returns its gas, after checking that every trip settled."""
        batch_id = self.next_batch.to_bytes(32, "big")
        self.next_batch += 1
        sent = self.ledger.functions.settle(batch_id, receipts).transact({"from": self.settler, "gasPrice": 0, "gas": 29_000_000})
        (receipt,) = self._confirm([sent])
        (batch,) = self.ledger.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
        if batch["args"]["settled"] != len(receipts):
            rejected = [e["args"]["reason"] for e in self.ledger.events.TripRejected().process_receipt(receipt, errors=DISCARD)]
            raise RuntimeError(f"{batch['args']['settled']} of {len(receipts)} trips settled; rejections: {rejected}")
        return receipt["gasUsed"]


def run() -> tuple[dict, tuple[int, Counter]]:
    rpc_url = _connect()
    from brownie import accounts

    from scripts.deploy import DEFAULT_REGIONS, deploy

    relayer, settler = accounts[0], accounts[1]
    with tempfile.TemporaryDirectory() as manifest_dir:
        contracts = deploy(relayer, settler, manifest_path=Path(manifest_dir) / "manifest.json")
    bench = Bench(contracts, relayer.address, settler.address, DEFAULT_REGIONS[0]["id"], rpc_url)
    fare = bench.ledger.functions.quoteFare(bench.region_id, TRIP_METRES).call()
    per_rider = fare * (2 + NAIVE_TRIPS)

    # Reach critical mass with the first batch's members, then switch the region to operating.
    groups = []
    for trips in BATCH_SIZES:
        drivers = bench.new_members(-(-trips // TRIPS_PER_DRIVER))
        riders = bench.new_members(trips, deposit=per_rider)
        groups.append((trips, drivers, riders))
    bench.activate_region()

    rows = []
    for trips, drivers, riders in groups:
        for first_time in (True, False):
            gas = bench.settle(bench.batch(drivers, riders))
            rows.append(
                {"trips": trips, "drivers": len(drivers), "first_time": first_time, "gas_total": gas,
                 "gas_per_trip": round(gas / trips)}
            )

    # Naive baseline: one transaction per trip, for drivers and riders who already settled before.
    _, drivers, riders = groups[-1]
    naive = [bench.settle(bench.batch([drivers[i % len(drivers)]], [riders[i]])) for i in range(NAIVE_TRIPS)]
    rows.sort(key=lambda row: (row["first_time"], row["trips"]))

    # Where the gas of a warm 100-trip batch goes (re-executed by debug_traceCall, not sent).
    trips, drivers, riders = next(group for group in groups if group[0] == BREAKDOWN_TRIPS)
    breakdown = bench.breakdown(bench.batch(drivers, riders))
    admission = gas_admission.measure(rpc_url, contracts)
    return {"batches": rows, "naive_gas_per_trip": round(sum(naive) / len(naive)), "admission": admission}, breakdown


def report_breakdown(breakdown: tuple[int, Counter]) -> None:
    from rich.console import Console
    from rich.table import Table

    intrinsic, by_opcode = breakdown
    parts = [("intrinsic + calldata", intrinsic)] + [
        (name, gas) for name, gas in by_opcode.most_common() if name in ("ecrecover", "SSTORE", "SLOAD", "CALL (mintBatch)", "LOG2", "KECCAK256")
    ]
    parts.append(("everything else (stack, jumps, memory, decoding)", intrinsic + sum(by_opcode.values()) - sum(gas for _, gas in parts)))
    table = Table(title=f"Where the gas goes: one warm {BREAKDOWN_TRIPS}-trip batch")
    for column in ("part", "gas", "gas / trip"):
        table.add_column(column, justify="right")
    for name, gas in parts:
        table.add_row(name, f"{gas:,}", f"{gas / BREAKDOWN_TRIPS:,.0f}")
    Console().print(table)


def report(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    naive = results["naive_gas_per_trip"]
    table = Table(title="RideLedger.settle gas (anvil, Prague, optimizer 200 runs)")
    for column in ("trips", "drivers", "accounts", "gas total", "gas / trip", "vs naive"):
        table.add_column(column, justify="right")
    for row in results["batches"]:
        table.add_row(
            str(row["trips"]), str(row["drivers"]), "first-time" if row["first_time"] else "warm",
            f"{row['gas_total']:,}", f"{row['gas_per_trip']:,}", f"{row['gas_per_trip'] / naive:.0%}",
        )
    console = Console()
    console.print(table)
    console.print(f"naive baseline (one transaction per trip, warm accounts): {naive:,} gas per trip")
    large = [row for row in results["batches"] if row["trips"] >= 100]
    worst = max(row["gas_per_trip"] for row in large)
    biggest = max(row["gas_total"] for row in results["batches"])
    console.print(
        f"goal <= {GOAL_GAS_PER_TRIP:,} gas/trip at batch >= 100: worst {worst:,} "
        f"({'met' if worst <= GOAL_GAS_PER_TRIP else 'MISSED'}); largest batch {biggest:,} gas "
        f"({'under' if biggest < BLOCK_GAS_LIMIT else 'OVER'} {BLOCK_GAS_LIMIT:,})"
    )


def markdown(results: dict, breakdown: tuple[int, Counter]) -> str:
    """The results as Markdown, for benchmarks/README.md."""
    naive = results["naive_gas_per_trip"]
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {_contracts_version()}.", ""]
    lines += ["| trips | drivers | accounts | gas total | gas / trip | vs naive |", "|---:|---:|---|---:|---:|---:|"]
    for row in results["batches"]:
        accounts = "first-time" if row["first_time"] else "warm"
        lines.append(
            f"| {row['trips']} | {row['drivers']} | {accounts} | {row['gas_total']:,} | {row['gas_per_trip']:,} "
            f"| {row['gas_per_trip'] / naive:.0%} |"
        )
    lines += ["", f"Naive baseline (one transaction per trip, warm accounts): {naive:,} gas per trip.", ""]
    intrinsic, by_opcode = breakdown
    total = intrinsic + sum(by_opcode.values())
    lines += [f"One warm {BREAKDOWN_TRIPS}-trip batch, gas per trip by part:", "", "| part | gas / trip |", "|---|---:|"]
    shown = 0
    for name, gas in [("intrinsic + calldata", intrinsic)] + [
        (name, by_opcode[name]) for name in ("ecrecover", "SSTORE", "SLOAD", "CALL (mintBatch)", "LOG2")
    ]:
        lines.append(f"| {name} | {gas / BREAKDOWN_TRIPS:,.0f} |")
        shown += gas
    lines.append(f"| everything else (stack, jumps, memory, ABI decoding) | {(total - shown) / BREAKDOWN_TRIPS:,.0f} |")
    return "\n".join(lines)


def _contracts_version() -> str:
    """The commit the contracts were measured at, and whether contracts/ had uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "an unknown commit"
    dirty = " with uncommitted changes in contracts/" if git("status", "--porcelain", "--", "contracts") else ""
    return f"commit {commit}{dirty}"


def update_readme(table: str) -> None:
    text = README.read_text()
    head, rest = text.split(TABLE_START, 1)
    _, tail = rest.split(TABLE_END, 1)
    README.write_text(f"{head}{TABLE_START}\n{table}\n{TABLE_END}{tail}")


def main() -> None:
    started = time.perf_counter()
    results, breakdown = run()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    update_readme(markdown(results, breakdown))
    report(results)
    report_breakdown(breakdown)
    gas_admission.report(results["admission"])
    print(f"wrote {RESULTS.relative_to(ROOT)} and the table in {README.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
