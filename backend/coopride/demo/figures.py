"""The report's figures, and the same figures recomputed from the chain alone.

`build`-side figures come from what the API said (trips, statements, proposals, claims). The check
reads only the chain: `TripSettled` / `BatchSettled` / `VoteCast` / `SurplusDistributed` /
`SurplusClaimed` logs, the `settle` calldata (driver, rider and distance of each receipt), the
transactions' gas, and the contracts' views. Any difference is a DemoMismatch.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from eth_typing import HexStr
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.logs import DISCARD

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import ZERO_ADDRESS
from coopride.chain.manifest import Manifest

if TYPE_CHECKING:
    from coopride.demo.simulation import DayLog


class DemoMismatch(RuntimeError):
    """A figure of the report differs from what the chain says."""


@dataclass(frozen=True)
class SettledTrip:
    trip_id: int
    driver: str
    rider: str | None
    distance_metres: int
    fare: int
    fee: int
    shares: int
    tx_hash: str


def trips_from_api(api_trips: list[dict]) -> list[SettledTrip]:
    return [
        SettledTrip(
            t["id"],
            to_checksum_address(t["driver"]),
            to_checksum_address(t["rider"]) if t["rider"] else None,
            t["distance_metres"],
            t["fare_paid"],
            t["fee_paid"],
            int(t["shares_minted"]),
            t["tx_hash"],
        )
        for t in api_trips
    ]


def phase_figures(trips: list[SettledTrip]) -> dict:
    fares = sum(t.fare for t in trips)
    fees = sum(t.fee for t in trips)
    return {
        "trips": len(trips),
        "km_solo": sum(t.distance_metres for t in trips if t.rider is None) / 1000,
        "km_shared": sum(t.distance_metres for t in trips if t.rider is not None) / 1000,
        "shares_minted": sum(t.shares for t in trips),
        "fares_paid": fares,
        "fee_to_treasury": fees,
        "driver_take_rate": round((fares - fees) / fares, 6) if fares else None,
    }


def batch_figures(chain: ChainClient, tx_hashes: set[str]) -> list[dict]:
    """Gas and settled-trip count of each settlement transaction, in chain order."""
    batches = []
    for tx_hash in tx_hashes:
        receipt = chain.w3.eth.get_transaction_receipt(HexStr(tx_hash))
        settled = len(chain.ledger.events.TripSettled().process_receipt(receipt, errors=DISCARD))
        batches.append(
            {
                "tx_hash": tx_hash,
                "block_number": int(receipt["blockNumber"]),
                "trips": settled,
                "gas_used": int(receipt["gasUsed"]),
                "gas_per_trip": int(receipt["gasUsed"]) // max(settled, 1),
            }
        )
    return sorted(batches, key=lambda b: (b["block_number"], b["tx_hash"]))


# ----------------------------------------------------------- from the chain
def trips_from_chain(chain: ChainClient, manifest: Manifest) -> dict[int, SettledTrip]:
    """Every settled trip since deployment: its log, and its receipt decoded from the `settle` calldata."""
    logs = chain.ledger.events.TripSettled.get_logs(from_block=manifest.block_number)
    receipts_by_tx: dict[str, dict[int, tuple]] = {}
    trips = {}
    for log in logs:
        tx_hash = HexBytes(log["transactionHash"]).to_0x_hex()
        if tx_hash not in receipts_by_tx:
            receipts_by_tx[tx_hash] = _receipts_in(chain, tx_hash)
        args = log["args"]
        trip_id = int(args["tripId"])
        driver, rider, distance = receipts_by_tx[tx_hash][trip_id]
        trips[trip_id] = SettledTrip(
            trip_id,
            driver,
            None if rider == ZERO_ADDRESS else rider,
            distance,
            int(args["fare"]),
            int(args["fee"]),
            int(args["shares"]),
            tx_hash,
        )
    return trips


def _receipts_in(chain: ChainClient, tx_hash: str) -> dict[int, tuple]:
    tx = chain.w3.eth.get_transaction(HexStr(tx_hash))
    _function, params = chain.ledger.decode_function_input(tx["input"])
    found = {}
    for signed in params["receipts"]:
        receipt = signed["receipt"] if isinstance(signed, dict) else signed[0]
        if isinstance(receipt, dict):
            trip_id, driver, rider, distance = (
                receipt["tripId"],
                receipt["driver"],
                receipt["rider"],
                receipt["distanceMetres"],
            )
        else:
            trip_id, driver, rider, _region, distance = receipt[:5]
        found[int(trip_id)] = (to_checksum_address(driver), to_checksum_address(rider), int(distance))
    return found


def check_against_chain(report: dict[str, Any], log: DayLog, chain: ChainClient, manifest: Manifest) -> None:
    """Recomputes every figure of `report` from the chain; raises DemoMismatch listing every difference."""
    problems: list[str] = []

    def same(what: str, reported: object, on_chain: object) -> None:
        if reported != on_chain:
            problems.append(f"{what}: report says {reported!r}, chain says {on_chain!r}")

    region_id = report["region"]["id"]
    chain_trips = trips_from_chain(chain, manifest)
    reported_ids = {t["id"] for phase in log.trips.values() for t in phase}
    same("settled trip ids", sorted(reported_ids), sorted(chain_trips))
    for phase, api_trips in log.trips.items():
        for trip in trips_from_api(api_trips):
            same(
                f"trip {trip.trip_id}",
                asdict(trip),
                asdict(chain_trips[trip.trip_id]) if trip.trip_id in chain_trips else None,
            )
        on_chain = [chain_trips[t["id"]] for t in api_trips if t["id"] in chain_trips]
        for name, value in phase_figures(on_chain).items():
            same(f"{phase}: {name}", report["phases"][phase][name], value)

    # Fares: the region's fare per km at the time, and the fee at the chain's rate.
    fee_bps = chain.parameters().fee_bps
    genesis_fare = next(r.fare_per_km for r in manifest.regions if r.id == region_id)
    fare_now = chain.region(region_id).fare_per_km
    # The most each rider authorised when booking (FareAuthorised): a fare is the km verified at the fare per km, and
    # never more than that.
    authorised = {
        int(e["args"]["tripId"]): int(e["args"]["maxFare"])
        for e in chain.ledger.events.FareAuthorised.get_logs(from_block=manifest.block_number)
    }
    for phase, fare_per_km in (("bootstrap", 0), ("operating", genesis_fare), ("new_fare", fare_now)):
        same(f"{phase}: fare per km", report["phases"][phase]["fare_per_km"], fare_per_km)
        for t in log.trips[phase]:
            settled = chain_trips.get(t["id"])
            if settled is not None:
                expected = settled.distance_metres * fare_per_km // 1000
                if settled.rider is not None:
                    expected = min(expected, authorised.get(settled.trip_id, 0))
                same(f"trip {settled.trip_id} fare", settled.fare, expected)
                same(f"trip {settled.trip_id} fee", settled.fee, settled.fare * fee_bps // 10_000)

    # Batches and gas.
    batch_logs = chain.ledger.events.BatchSettled.get_logs(from_block=manifest.block_number)
    chain_batches = batch_figures(chain, {HexBytes(b["transactionHash"]).to_0x_hex() for b in batch_logs})
    same("settlement batches", report["batches"], chain_batches)
    for b in batch_logs:
        same(
            f"batch {HexBytes(b['transactionHash']).to_0x_hex()} settled count",
            int(b["args"]["settled"]),
            next(
                (x["trips"] for x in report["batches"] if x["tx_hash"] == HexBytes(b["transactionHash"]).to_0x_hex()),
                None,
            ),
        )
    total_gas = sum(b["gas_used"] for b in chain_batches)
    same("gas per settled trip", report["gas_per_settled_trip"], total_gas // max(len(chain_trips), 1))

    # Shares: every member's balance is what their settled trips minted; the total is the supply.
    minted_to: defaultdict[str, int] = defaultdict(int)
    for trip in chain_trips.values():
        minted_to[trip.driver] += trip.shares
    for address, shares in report["member_shares"].items():
        same(f"shares of {address}", shares, chain.shares_of(address))
        same(f"shares minted to {address} by trips", shares, minted_to.get(address, 0))
    same("total shares", report["totals"]["shares_minted"], chain.total_shares())

    # Governance: state and tallies from the Governor, ballots from VoteCast logs, the fare really changed.
    vote_logs = chain.governor.events.VoteCast.get_logs(from_block=manifest.block_number)
    for key, proposal in report["proposals"].items():
        pid = int(proposal["proposal_id"])
        against, for_, abstain = chain.governor.functions.proposalVotes(pid).call()
        state = chain.governor.functions.state(pid).call()
        same(
            f"proposal {key} state",
            proposal["state"],
            ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")[state],
        )
        same(
            f"proposal {key} votes (for, against, abstain)",
            (proposal["votes_for"], proposal["votes_against"], proposal["votes_abstain"]),
            (for_, against, abstain),
        )
        ballots = {
            to_checksum_address(v["args"]["voter"]): int(v["args"]["support"])
            for v in vote_logs
            if int(v["args"]["proposalId"]) == pid
        }
        same(f"proposal {key} ballots", log.ballots[key], ballots)
    fare_change = report["proposals"]["fare_change"]
    expected_fare = fare_change["change"]["fare_per_km"] if fare_change["state"] == "Executed" else genesis_fare
    same("Lyon 3e fare per km after the vote", expected_fare, fare_now)

    # Surplus: one distribution of the voted amount, each claim pro rata to shares.
    distribution = report["distribution"]
    distributed = chain.share.events.SurplusDistributed.get_logs(from_block=manifest.block_number)
    same("surplus distributed", distribution["amount"], sum(int(d["args"]["amount"]) for d in distributed))
    claims = {
        to_checksum_address(c["args"]["member"]): int(c["args"]["amount"])
        for c in chain.share.events.SurplusClaimed.get_logs(from_block=manifest.block_number)
    }
    same("surplus claims", distribution["claims"], claims)
    supply = chain.total_shares()
    for address, amount in claims.items():
        pro_rata = distribution["amount"] * chain.shares_of(address) // supply if supply else 0
        if abs(amount - pro_rata) > 1:
            problems.append(f"claim of {address}: {amount}, pro rata to shares {pro_rata}")
    same("treasury", report["treasury_balance"], chain.treasury_balance())
    same(
        "treasury = fees - distributed",
        report["totals"]["fee_to_treasury"] - distribution["amount"],
        chain.treasury_balance(),
    )

    # Statements: the top and median members' figures are the chain's.
    for which, statement in report["statements"].items():
        address = statement["address"]
        same(f"{which} member shares (statement)", int(statement["driving"]["shares_earned"]), chain.shares_of(address))
        same(f"{which} member earnings (statement)", statement["driving"]["fares_received"], chain.earnings_of(address))
        ridden = [t for t in chain_trips.values() if t.rider == address]
        same(f"{which} member fares paid (statement)", statement["riding"]["fares_paid"], sum(t.fare for t in ridden))
        same(
            f"{which} member escrow",
            statement["chain"]["escrow"],
            log.deposits.get(address, 0) - sum(t.fare for t in ridden),
        )

    # Money is never lost: every fare token minted is in a wallet, in escrow, earned, in the treasury, held as a
    # member's capital share or unclaimed.
    token = chain.fare_token.functions
    members = [m.address for m in log.members]
    in_wallets = sum(token.balanceOf(a).call() for a in members)
    ledger_holds = token.balanceOf(chain.ledger.address).call()
    share_holds = token.balanceOf(chain.share.address).call()
    same("fare tokens minted", report["money"]["minted"], token.totalSupply().call())
    same("fare tokens accounted for", report["money"]["minted"], in_wallets + ledger_holds + share_holds)
    capital_held = int(chain.ledger.functions.capitalHeld().call())
    same("capital shares held", report["money"]["capital_shares"], capital_held)
    same(
        "ledger holds escrow + earnings + treasury + capital shares",
        ledger_holds,
        sum(chain.escrow_of(a) + chain.earnings_of(a) for a in members) + chain.treasury_balance() + capital_held,
    )
    same("unclaimed surplus", share_holds, distribution["amount"] - sum(claims.values()))

    if problems:
        raise DemoMismatch("the report differs from the chain:\n  " + "\n  ".join(problems))


def vote_counts(supports: dict[str, int]) -> dict[str, int]:
    counts = Counter(supports.values())
    return {"for": counts.get(1, 0), "against": counts.get(0, 0), "abstain": counts.get(2, 0)}
