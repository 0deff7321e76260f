"""Gas of `RideLedger.settle` against batch size, and of the booking-side calls, on a private anvil with the real
contracts.

Run with `make bench-gas`. It deploys with scripts/deploy.py (its own attester key and one mediator), switches
Lyon to operating the way a real region does (five pioneer drivers settle attested solo trips, then
`activateRegion` names them), and measures, for each batch size, a first batch for fresh members (first-time
accounts) and a second batch for the same people (warm accounts), in three scenarios:

- **shared, after the window** (the main case): each rider authorised the fare at booking (one hold per trip, maxFare
  = the fare, as a fixed-price booking), the receipt carries no rider confirmation, and the batch is posted once the
  dispute window has passed; the fare is paid from the hold and the hold is cleared;
- **shared, confirmed**: the same, with the rider's confirmation signature, posted at once;
- **solo, bootstrap**: attested solo trips in a bootstrap region (shares only).

One driver per four trips, one rider per trip, 5 km each, batches sorted by driver. It also measures the booking
(`authoriseFare`), a dispute, a mediator's decision and a release, the naive baseline (one trip per transaction,
warm accounts) and where the gas of a warm 100-trip main-case batch goes (the mined transaction re-executed with
`debug_traceTransaction`). Prints tables, writes benchmarks/results/gas.json and the "Latest results" section of
benchmarks/README.md.
"""

from __future__ import annotations

import json
import os
import random
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

# COOPRIDE_BENCH_SIZES (for example "10,100") measures fewer sizes, for a quick look; it needs 100 and a size >= 10.
BATCH_SIZES = tuple(int(size) for size in os.environ.get("COOPRIDE_BENCH_SIZES", "1,10,50,100,200").split(","))
SCENARIOS = ("shared_after_window", "shared_confirmed", "solo_bootstrap")
SCENARIO_TITLES = {
    "shared_after_window": "shared trip paid from its hold after the dispute window, no rider confirmation",
    "shared_confirmed": "shared trip with the rider's confirmation, posted at once",
    "solo_bootstrap": "solo trip in a bootstrap region (shares only)",
}
TRIPS_PER_DRIVER = 4
NAIVE_TRIPS = 10
BREAKDOWN_TRIPS = 100
TRIP_METRES = 5_000
TRIP_SECONDS = 900
PIONEERS = 5
OPERATING_REGION, BOOTSTRAP_REGION = 1, 2
BLOCK_GAS_LIMIT = 16_777_216
BASELINE_GAS_PER_TRIP = 24_629  # v1, warm, batch 100 (commit dcae42f): the ceiling
GOAL_GAS_PER_TRIP = 20_000
BENCH_REGIONS = [  # caps high enough that no reward is clipped: the benchmark measures the unclipped path
    {"id": OPERATING_REGION, "name": "Lyon 3e arrondissement", "criticalMass": PIONEERS, "farePerKm": 500_000,
     "dailyRewardedKm": 1_000_000},
    {"id": BOOTSTRAP_REGION, "name": "Villeurbanne", "criticalMass": 8, "farePerKm": 450_000,
     "dailyRewardedKm": 1_000_000},
]

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


class BackendTripIds:
    """Trip ids drawn as the backend draws them (`coopride.services.rides.allocate_trip_id`): at random among the
    free ids of a random 256-id word of the ledger's settled bitmap, a new random word when it is full."""

    def __init__(self, seed: int):
        from coopride.services.rides import TRIP_ID_BITS, WORD_BITS, WORD_IDS

        self.random = random.Random(seed)
        self.bits, self.word_bits, self.word_ids = TRIP_ID_BITS, WORD_BITS, WORD_IDS
        self.free: list[int] = []

    def next(self) -> int:
        if not self.free:
            first = self.random.getrandbits(self.bits - self.word_bits) << self.word_bits
            self.free = list(range(first or 1, first + self.word_ids))
            self.random.shuffle(self.free)
        return self.free.pop()


class Bench:
    """Members, bookings, receipts and settlements on the deployment, through a plain web3 client on Brownie's anvil.

    Brownie deploys; the many set-up transactions and the measured ones go through web3 directly, which is several
    times faster than Brownie's per-transaction bookkeeping and reports the same `gasUsed`.
    """

    def __init__(self, contracts: dict, relayer: str, settler: str, attester, rpc_url: str):
        from web3 import HTTPProvider, Web3

        from coopride.chain.eip712 import Domain

        self.web3 = Web3(HTTPProvider(rpc_url))
        handle = {name: self.web3.eth.contract(c.address, abi=c.abi) for name, c in contracts.items() if hasattr(c, "abi")}
        self.ledger, self.membership, self.fare_token = handle["RideLedger"], handle["Membership"], handle["FareToken"]
        self.relay = {"from": relayer, "gasPrice": 0, "gas": 1_000_000}
        self.admissions = Admissions(self.web3, contracts, relayer)
        self.settler = settler
        self.attester = attester
        chain_id = self.web3.eth.chain_id
        self.domain = Domain("CoopRide", "1", chain_id, self.ledger.address)
        self.membership_domain = Domain("CoopRide Membership", "1", chain_id, self.membership.address)
        self.token_domain = Domain(self.fare_token.functions.name().call(), "1", chain_id, self.fare_token.address)
        self.window = self.ledger.functions.disputeWindow().call()
        self.next_key = 1
        self.trip_ids = BackendTripIds(seed=2026)
        self.next_batch = 1

    # ------------------------------------------------------------ plumbing

    def _confirm(self, sent: list) -> list:
        receipts = [self.web3.eth.wait_for_transaction_receipt(tx, poll_latency=0.01) for tx in sent]
        failed = [r["transactionHash"].hex() for r in receipts if r["status"] != 1]
        if failed:
            raise RuntimeError(f"{len(failed)} transactions failed, first {failed[0]}")
        return receipts

    def now(self) -> int:
        return self.web3.eth.get_block("latest")["timestamp"]

    def advance(self, seconds: int) -> None:
        self.web3.provider.make_request("evm_increaseTime", [seconds])
        self.web3.provider.make_request("evm_mine", [])

    def new_members(self, count: int, region_id: int, deposit: int = 0) -> list:
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
            for call in self.admissions.admission_calls(key, region_id):
                sent.append(call.transact({**self.relay, "from": self.admissions.admissions}))
            if deposit:
                sent.append(self.fare_token.functions.mint(account.address, deposit).transact(self.relay))
                permit = permit_typed_data(self.token_domain, account.address, self.ledger.address, deposit, 1, deadline)
                v, r, s = split_signature(sign_typed_data(key, permit))
                sent.append(self.ledger.functions.depositWithPermit(account.address, deposit, deadline, v, r, s).transact(self.relay))
            members.append(account)
        self._confirm(sent)
        return members

    # ------------------------------------------------------------ bookings and receipts

    def receipts(self, drivers: list, riders: list | None, count: int, region_id: int) -> list:
        """`count` receipts, TRIPS_PER_DRIVER consecutive ones per driver; one rider each if `riders`."""
        from coopride.chain.eip712 import ZERO_ADDRESS, TripReceipt

        end = self.now() - 60
        fare = self.ledger.functions.quoteFare(region_id, TRIP_METRES).call() if riders else 0
        made = []
        for index in range(count):
            trip_id = self.trip_ids.next()
            made.append(TripReceipt(
                tripId=trip_id,
                driver=drivers[index // TRIPS_PER_DRIVER].address,
                rider=riders[index].address if riders else ZERO_ADDRESS,
                regionId=region_id,
                distanceMetres=TRIP_METRES,
                fare=fare,
                startTime=end - TRIP_SECONDS,
                endTime=end,
                traceHash=keccak(b"trace-%d" % trip_id),
            ))
        return made

    def book(self, receipts: list, riders: dict) -> list[int]:
        """Each rider authorises their receipt's fare (maxFare = fare) for its trip id; returns each booking's gas."""
        from coopride.chain.eip712 import FareAuthorisation, fare_authorisation_typed_data, sign_typed_data

        now, sent = self.now(), []
        for receipt in receipts:
            authorisation = FareAuthorisation(
                tripId=receipt.tripId, rider=receipt.rider, driver=receipt.driver, regionId=receipt.regionId,
                pickupLatE6=45_760_000, pickupLonE6=4_840_000, dropoffLatE6=45_750_000, dropoffLonE6=4_870_000,
                maxFare=receipt.fare, cancelBy=now + 600, expiry=now + 86_400,
            )
            signature = sign_typed_data(riders[receipt.rider].key, fare_authorisation_typed_data(self.domain, authorisation))
            sent.append(self.ledger.functions.authoriseFare(authorisation.as_tuple(), signature).transact(self.relay))
        return [r["gasUsed"] for r in self._confirm(sent)]

    def sign(self, receipts: list, keys: dict, confirm: bool) -> list:
        from coopride.chain.eip712 import receipt_typed_data, sign_typed_data, signed_receipt_tuple

        signed = []
        for receipt in receipts:
            typed = receipt_typed_data(self.domain, receipt)
            rider = keys.get(receipt.rider) if confirm else None
            signed.append(signed_receipt_tuple(receipt, sign_typed_data(keys[receipt.driver].key, typed),
                                               sign_typed_data(rider.key, typed) if rider else None))
        return signed

    def settle_call(self, receipts: list, signed: list):
        from coopride.chain.eip712 import sign_attestation

        batch_id = self.next_batch.to_bytes(32, "big")
        self.next_batch += 1
        r, vs = sign_attestation(self.attester.key, self.domain, batch_id, receipts)
        return self.ledger.functions.settle(batch_id, signed, r, vs)

    def settle(self, receipts: list, signed: list):
        """Settles one batch; returns its transaction receipt, after checking that every trip settled."""
        sent = self.settle_call(receipts, signed).transact({"from": self.settler, "gasPrice": 0, "gas": 29_000_000})
        (receipt,) = self._confirm([sent])
        (batch,) = self.ledger.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
        if batch["args"]["settled"] != len(receipts):
            rejected = [e["args"]["reason"] for e in self.ledger.events.TripRejected().process_receipt(receipt, errors=DISCARD)]
            raise RuntimeError(f"{batch['args']['settled']} of {len(receipts)} trips settled; rejections: {rejected}")
        return receipt

    def trips(self, scenario: str, drivers: list, riders: list | None, count: int, trace: bool = False):
        """Books (shared scenarios), waits out the window (after-window scenario), settles; returns (tx receipt,
        booking gas list, the opcode breakdown if `trace`)."""
        keys = {a.address: a for a in drivers + (riders or [])}
        region = BOOTSTRAP_REGION if scenario == "solo_bootstrap" else OPERATING_REGION
        made = self.receipts(drivers, riders, count, region)
        booking = self.book(made, keys) if riders else []
        if scenario == "shared_after_window":
            self.advance(self.window + 1)
        signed = self.sign(made, keys, confirm=scenario == "shared_confirmed")
        traced = self.trace(made, signed) if trace else None
        receipt = self.settle(made, signed)
        if traced is not None:
            traced["parts"]["refund (holds cleared)"] = receipt["gasUsed"] - traced.pop("execution_total")
            traced["gas_used"] = receipt["gasUsed"]
        return receipt, booking, traced

    # ------------------------------------------------------------ where the gas goes

    def trace(self, receipts: list, signed: list) -> dict:
        """Where the gas of settling this batch goes, by top-level opcode, from a `debug_traceCall` re-execution on
        the state it will be sent on (anvil keeps no step traces of mined transactions). A CALL or STATICCALL counts
        the whole call it makes (ecrecover, CoopShare.mintBatch). `trips` adds the refund from the mined
        transaction: clearing a hold refunds 4,800 gas, capped at a fifth of the transaction."""
        call = self.settle_call(receipts, signed)
        self.next_batch -= 1  # the same batch id is sent next
        data = bytes.fromhex(self.ledger.encode_abi("settle", args=call.args)[2:])
        request = {"from": self.settler, "to": self.ledger.address, "gas": hex(29_000_000), "gasPrice": "0x0",
                   "data": "0x" + data.hex()}
        steps = self.web3.provider.make_request(
            "debug_traceCall", [request, "latest", {"disableStorage": True, "disableMemory": True}]
        )["result"]["structLogs"]
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
        # Intrinsic gas and calldata (EIP-2028 prices; execution is far above EIP-7623's floor).
        intrinsic = 21_000 + sum(16 if byte else 4 for byte in data)
        named = ("ecrecover", "SSTORE", "SLOAD", "KECCAK256", "CALL (mintBatch)", "LOG2")
        parts = {"intrinsic + calldata": intrinsic, **{name: by_opcode[name] for name in named}}
        parts["everything else (stack, jumps, memory, ABI decoding)"] = sum(by_opcode.values()) - sum(
            by_opcode[name] for name in named
        )
        return {"trips": len(receipts), "parts": parts, "execution_total": intrinsic + sum(by_opcode.values())}


def run() -> dict:
    rpc_url = _connect()
    from brownie import accounts

    from scripts.deploy import deploy

    relayer, settler = accounts[0], accounts[1]
    attester = Account.from_key(keccak(b"coopride-bench-attester"))
    mediator = Account.from_key(keccak(b"coopride-bench-mediator"))
    params = {"attester": attester.address, "mediators": [mediator.address]}
    with tempfile.TemporaryDirectory() as manifest_dir:
        contracts = deploy(relayer, settler, params=params, regions=BENCH_REGIONS,
                           manifest_path=Path(manifest_dir) / "manifest.json")
    bench = Bench(contracts, relayer.address, settler.address, attester, rpc_url)
    fare = bench.ledger.functions.quoteFare(OPERATING_REGION, TRIP_METRES).call()
    per_rider = fare * (4 + NAIVE_TRIPS)

    # Lyon reaches critical mass on activity: five pioneers settle attested solo trips, then anyone names them.
    pioneers = bench.new_members(PIONEERS, OPERATING_REGION)
    pioneer_receipts = []
    for pioneer in pioneers:
        pioneer_receipts += bench.receipts([pioneer], None, 1, OPERATING_REGION)
    bench.settle(pioneer_receipts, bench.sign(pioneer_receipts, {p.address: p for p in pioneers}, confirm=False))
    ordered = sorted((p.address for p in pioneers), key=lambda address: int(address, 16))
    bench._confirm([bench.ledger.functions.activateRegion(OPERATING_REGION, ordered).transact(bench.relay)])
    bench.advance(120)  # trips from now on end after the switch

    groups = {}
    hold_group = (bench.new_members(1, OPERATING_REGION), bench.new_members(2, OPERATING_REGION, deposit=per_rider))
    operations = hold_operations(bench, hold_group, mediator)
    for scenario in SCENARIOS:
        region = BOOTSTRAP_REGION if scenario == "solo_bootstrap" else OPERATING_REGION
        for trips in BATCH_SIZES:
            drivers = bench.new_members(-(-trips // TRIPS_PER_DRIVER), region)
            riders = None if scenario == "solo_bootstrap" else bench.new_members(trips, region, deposit=per_rider)
            groups[scenario, trips] = (drivers, riders)

    results, booking_gas, breakdown = {scenario: [] for scenario in SCENARIOS}, {"first_time": [], "warm": []}, None
    for scenario in SCENARIOS:
        for trips in BATCH_SIZES:
            drivers, riders = groups[scenario, trips]
            for first_time in (True, False):
                trace = scenario == "shared_after_window" and trips == BREAKDOWN_TRIPS and not first_time
                receipt, booking, traced = bench.trips(scenario, drivers, riders, trips, trace=trace)
                breakdown = traced or breakdown
                booking_gas["first_time" if first_time else "warm"] += booking
                gas = receipt["gasUsed"]
                results[scenario].append({"trips": trips, "drivers": len(drivers), "first_time": first_time,
                                          "gas_total": gas, "gas_per_trip": round(gas / trips)})
        results[scenario].sort(key=lambda row: (row["first_time"], row["trips"]))

    # Naive baseline: one transaction per trip, main case, for drivers and riders who already settled before.
    drivers, riders = groups["shared_after_window", BATCH_SIZES[-1]]
    naive = [bench.trips("shared_after_window", [drivers[i % len(drivers)]], [riders[i]], 1)[0]["gasUsed"]
             for i in range(NAIVE_TRIPS)]

    return {
        "scenarios": results,
        "booking_gas": {kind: round(sum(gas) / len(gas)) for kind, gas in booking_gas.items()},
        "hold_operations": operations,
        "naive_gas_per_trip": round(sum(naive) / len(naive)),
        "baseline_v1_gas_per_trip": BASELINE_GAS_PER_TRIP,
        "breakdown": breakdown,
        "admission": gas_admission.measure(rpc_url, contracts),
    }


def hold_operations(bench: Bench, group, mediator) -> dict:
    """Gas of a dispute, a mediator's decision (half the fare), the settlement of a decided trip, and a release, for
    warm accounts. Members hold no ether: the backend relays their signed requests, so these are the `...BySig`
    calls."""
    from coopride.chain.eip712 import (
        dispute_typed_data,
        hold_release_typed_data,
        resolution_typed_data,
        sign_typed_data,
    )

    drivers, riders = group
    keys = {a.address: a for a in drivers + riders}
    deadline = 2**40
    capital = bench.membership.functions.capitalShare().call()
    admission = [bench.fare_token.functions.mint(mediator.address, capital).transact(bench.relay)]
    for call in bench.admissions.admission_calls(mediator.key, OPERATING_REGION):
        admission.append(call.transact({**bench.relay, "from": bench.admissions.admissions}))
    bench._confirm(admission)

    def nonce(account: str) -> int:
        return bench.ledger.functions.nonces(account).call()

    disputed, released = bench.receipts(drivers, riders, 2, OPERATING_REGION)
    bench.book([disputed, released], keys)
    reason = "driver took a detour"
    typed = dispute_typed_data(bench.domain, disputed.tripId, disputed.driver, disputed.rider, reason, disputed.rider,
                               nonce(disputed.rider), deadline)
    call = bench.ledger.functions.disputeBySig(disputed.tripId, disputed.driver, disputed.rider, reason, disputed.rider,
                                               deadline, sign_typed_data(keys[disputed.rider].key, typed))
    (dispute,) = bench._confirm([call.transact(bench.relay)])

    award, decision = disputed.fare // 2, "half: the detour was the driver's"
    typed = resolution_typed_data(bench.domain, disputed.tripId, disputed.driver, disputed.rider, award, decision,
                                  mediator.address, nonce(mediator.address), deadline)
    call = bench.ledger.functions.resolveDisputeBySig(disputed.tripId, disputed.driver, disputed.rider, award, decision,
                                                      mediator.address, deadline, sign_typed_data(mediator.key, typed))
    (resolve,) = bench._confirm([call.transact(bench.relay)])
    settled = bench.settle([disputed], bench.sign([disputed], keys, confirm=False))

    typed = hold_release_typed_data(bench.domain, released.tripId, released.driver, released.rider, released.rider,
                                    nonce(released.rider), deadline)
    call = bench.ledger.functions.releaseHoldBySig(released.tripId, released.driver, released.rider, released.rider,
                                                   deadline, sign_typed_data(keys[released.rider].key, typed))
    (release,) = bench._confirm([call.transact(bench.relay)])
    return {
        "dispute_by_sig": dispute["gasUsed"],
        "resolve_dispute_by_sig": resolve["gasUsed"],
        "settle_decided_trip": settled["gasUsed"],
        "release_hold_by_sig": release["gasUsed"],
    }


def _rows(results: dict):
    for scenario in SCENARIOS:
        for row in results["scenarios"][scenario]:
            yield scenario, row


def report(results: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    naive = results["naive_gas_per_trip"]
    for scenario in SCENARIOS:
        table = Table(title=f"settle: {SCENARIO_TITLES[scenario]}")
        for column in ("trips", "drivers", "accounts", "gas total", "gas / trip", "vs naive"):
            table.add_column(column, justify="right")
        for row in results["scenarios"][scenario]:
            table.add_row(
                str(row["trips"]), str(row["drivers"]), "first-time" if row["first_time"] else "warm",
                f"{row['gas_total']:,}", f"{row['gas_per_trip']:,}", f"{row['gas_per_trip'] / naive:.0%}",
            )
        console.print(table)
    console.print(f"naive baseline (one main-case trip per transaction, warm accounts): {naive:,} gas per trip")
    console.print(f"booking (authoriseFare): {results['booking_gas']['first_time']:,} first-time rider, "
                  f"{results['booking_gas']['warm']:,} warm")
    console.print("hold operations: " + ", ".join(f"{k} {v:,}" for k, v in results["hold_operations"].items()))
    main = {row["trips"]: row["gas_per_trip"] for row in results["scenarios"]["shared_after_window"] if not row["first_time"]}
    worst = max(row["gas_per_trip"] for _, row in _rows(results) if row["trips"] >= 100 and not row["first_time"])
    biggest = max(row["gas_total"] for _, row in _rows(results))
    console.print(
        f"main case, warm, batch 100: {main[100]:,} gas/trip (v1 {BASELINE_GAS_PER_TRIP:,}; goal {GOAL_GAS_PER_TRIP:,}: "
        f"{'met' if main[100] <= GOAL_GAS_PER_TRIP else 'MISSED'}); worst warm scenario at batch >= 100: {worst:,}; "
        f"largest batch {biggest:,} gas ({'under' if biggest < BLOCK_GAS_LIMIT else 'OVER'} {BLOCK_GAS_LIMIT:,})"
    )
    breakdown = results["breakdown"]
    table = Table(title=f"Where the gas goes: one warm {breakdown['trips']}-trip main-case batch")
    for column in ("part", "gas", "gas / trip"):
        table.add_column(column, justify="right")
    for name, gas in breakdown["parts"].items():
        table.add_row(name, f"{gas:,}", f"{gas / breakdown['trips']:,.0f}")
    table.add_row("gas used", f"{breakdown['gas_used']:,}", f"{breakdown['gas_used'] / breakdown['trips']:,.0f}")
    console.print(table)


def markdown(results: dict) -> str:
    """The results as Markdown, for benchmarks/README.md."""
    naive = results["naive_gas_per_trip"]
    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {_contracts_version()}.", ""]
    for scenario in SCENARIOS:
        lines += [f"**{SCENARIO_TITLES[scenario].capitalize()}**", ""]
        lines += ["| trips | drivers | accounts | gas total | gas / trip | vs naive |", "|---:|---:|---|---:|---:|---:|"]
        for row in results["scenarios"][scenario]:
            accounts = "first-time" if row["first_time"] else "warm"
            lines.append(
                f"| {row['trips']} | {row['drivers']} | {accounts} | {row['gas_total']:,} | {row['gas_per_trip']:,} "
                f"| {row['gas_per_trip'] / naive:.0%} |"
            )
        lines.append("")
    lines += [
        f"Naive baseline (one main-case trip per transaction, warm accounts): {naive:,} gas per trip. "
        f"v1 (co-signed receipts, no holds, no attestation), warm, batch 100: {BASELINE_GAS_PER_TRIP:,} gas per trip.",
        "",
        "| other calls | gas |",
        "|---|---:|",
        f"| `authoriseFare` (booking), first-time rider | {results['booking_gas']['first_time']:,} |",
        f"| `authoriseFare` (booking), warm | {results['booking_gas']['warm']:,} |",
    ]
    names = {"dispute_by_sig": "`disputeBySig` (the rider's, relayed)",
             "resolve_dispute_by_sig": "`resolveDisputeBySig` (a mediator awards half, relayed)",
             "settle_decided_trip": "`settle` of one decided trip (batch of one)",
             "release_hold_by_sig": "`releaseHoldBySig` (the rider cancels, relayed)"}
    lines += [f"| {names[k]} | {v:,} |" for k, v in results["hold_operations"].items()]
    breakdown = results["breakdown"]
    trips = breakdown["trips"]
    lines += ["", f"One warm {trips}-trip main-case batch, gas per trip by part:", "", "| part | gas / trip |", "|---|---:|"]
    lines += [f"| {name} | {gas / trips:,.0f} |" for name, gas in breakdown["parts"].items()]
    lines.append(f"| **gas used** | **{breakdown['gas_used'] / trips:,.0f}** |")
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
    results = run()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    update_readme(markdown(results))
    report(results)
    gas_admission.report(results["admission"])
    print(f"wrote {RESULTS.relative_to(ROOT)} and the table in {README.relative_to(ROOT)} in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
