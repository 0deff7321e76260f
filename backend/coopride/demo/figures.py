"""The report's figures, and the same figures recomputed from the chain alone.

`build`-side figures come from what the API said (trips, statements, proposals, claims, disputes). The check
reads only the chain: `TripSettled` / `BatchSettled` / `TripDisputed` / `DisputeResolved` / `VoteCast` /
`SurplusDistributed` / `SurplusClaimed` / `EscrowWithdrawn` logs, the `settle` calldata (driver, rider,
distance and the rider's confirmation of each receipt), the transactions' gas, and the contracts' views (at the
block of an event when it matters). Any difference is a DemoMismatch.

A disputed trip's money moves when the mediator decides (`DisputeResolved`: the award, its fee, the refund);
its receipt settles later without moving money. A trip's figures count both: `fare`/`fee` from `TripSettled`,
`award`/`award_fee` from the decision.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from eth_typing import HexStr
from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3.exceptions import ContractLogicError
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
    award: int = 0  # paid by a mediator's decision (fee included), before the receipt settled
    award_fee: int = 0


def trips_from_api(api_trips: list[dict], fee_bps: int) -> list[SettledTrip]:
    """The settled trips as the API shows them; a decided dispute's fee is the award at `fee_bps`."""
    found = []
    for t in api_trips:
        award = int((t.get("dispute") or {}).get("award") or 0)
        found.append(
            SettledTrip(
                t["id"],
                to_checksum_address(t["driver"]),
                to_checksum_address(t["rider"]) if t["rider"] else None,
                t["distance_metres"],
                int(t["fare_paid"]),
                int(t["fee_paid"]),
                int(t["shares_minted"]),
                t["tx_hash"],
                award,
                award * fee_bps // 10_000,
            )
        )
    return found


def phase_figures(trips: list[SettledTrip]) -> dict:
    fares = sum(t.fare + t.award for t in trips)
    fees = sum(t.fee + t.award_fee for t in trips)
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
    """Every settled trip since deployment: its log, its receipt decoded from the `settle` calldata, and the
    mediator's decision if it was disputed."""
    logs = chain.ledger.events.TripSettled.get_logs(from_block=manifest.block_number)
    decisions = {int(d["args"]["tripId"]): d["args"] for d in decisions_from_chain(chain, manifest)}
    receipts_by_tx: dict[str, dict[int, tuple]] = {}
    trips = {}
    for log in logs:
        tx_hash = HexBytes(log["transactionHash"]).to_0x_hex()
        if tx_hash not in receipts_by_tx:
            receipts_by_tx[tx_hash] = _receipts_in(chain, tx_hash)
        args = log["args"]
        trip_id = int(args["tripId"])
        driver, rider, distance, _confirmed = receipts_by_tx[tx_hash][trip_id]
        decision = decisions.get(trip_id)
        trips[trip_id] = SettledTrip(
            trip_id,
            driver,
            None if rider == ZERO_ADDRESS else rider,
            distance,
            int(args["fare"]),
            int(args["fee"]),
            int(args["shares"]),
            tx_hash,
            int(decision["award"]) if decision else 0,
            int(decision["fee"]) if decision else 0,
        )
    return trips


def decisions_from_chain(chain: ChainClient, manifest: Manifest) -> list[Any]:
    """Every `DisputeResolved` log since deployment."""
    return list(chain.ledger.events.DisputeResolved.get_logs(from_block=manifest.block_number))


def _receipts_in(chain: ChainClient, tx_hash: str) -> dict[int, tuple]:
    tx = chain.w3.eth.get_transaction(HexStr(tx_hash))
    _function, params = chain.ledger.decode_function_input(tx["input"])
    found = {}
    for signed in params["receipts"]:
        receipt = signed["receipt"] if isinstance(signed, dict) else signed[0]
        rider_r = signed["riderR"] if isinstance(signed, dict) else signed[3]
        rider_vs = signed["riderVS"] if isinstance(signed, dict) else signed[4]
        confirmed = any(bytes(rider_r)) or any(bytes(rider_vs))
        if isinstance(receipt, dict):
            trip_id, driver, rider, distance = (
                receipt["tripId"],
                receipt["driver"],
                receipt["rider"],
                receipt["distanceMetres"],
            )
        else:
            trip_id, driver, rider, _region, distance = receipt[:5]
        found[int(trip_id)] = (to_checksum_address(driver), to_checksum_address(rider), int(distance), confirmed)
    return found


def check_against_chain(report: dict[str, Any], log: DayLog, chain: ChainClient, manifest: Manifest) -> None:
    """Recomputes every figure of `report` from the chain; raises DemoMismatch listing every difference."""
    problems: list[str] = []

    def same(what: str, reported: object, on_chain: object) -> None:
        if reported != on_chain:
            problems.append(f"{what}: report says {reported!r}, chain says {on_chain!r}")

    region_id = report["region"]["id"]
    fee_bps = chain.parameters().fee_bps
    chain_trips = trips_from_chain(chain, manifest)
    reported_ids = {t["id"] for phase in log.trips.values() for t in phase}
    same("settled trip ids", sorted(reported_ids), sorted(chain_trips))
    for phase, api_trips in log.trips.items():
        for trip in trips_from_api(api_trips, fee_bps):
            same(
                f"trip {trip.trip_id}",
                asdict(trip),
                asdict(chain_trips[trip.trip_id]) if trip.trip_id in chain_trips else None,
            )
        on_chain = [chain_trips[t["id"]] for t in api_trips if t["id"] in chain_trips]
        for name, value in phase_figures(on_chain).items():
            same(f"{phase}: {name}", report["phases"][phase][name], value)

    # Fares: the region's fare per km at the time, and the fee at the chain's rate; a decided dispute's award.
    genesis_fare = next(r.fare_per_km for r in manifest.regions if r.id == region_id)
    fare_now = chain.region(region_id).fare_per_km
    # The most each rider authorised when booking (FareAuthorised): a fare is the km verified at the fare per km, and
    # never more than that.
    authorised = {
        int(e["args"]["tripId"]): int(e["args"]["maxFare"])
        for e in chain.ledger.events.FareAuthorised.get_logs(from_block=manifest.block_number)
    }
    decided = {int(d["args"]["tripId"]) for d in decisions_from_chain(chain, manifest)}
    for phase, fare_per_km in (("bootstrap", 0), ("operating", genesis_fare), ("new_fare", fare_now)):
        same(f"{phase}: fare per km", report["phases"][phase]["fare_per_km"], fare_per_km)
        for t in log.trips[phase]:
            settled = chain_trips.get(t["id"])
            if settled is not None:
                expected = settled.distance_metres * fare_per_km // 1000
                if settled.rider is not None:
                    expected = min(expected, authorised.get(settled.trip_id, 0))
                if settled.award or settled.trip_id in decided:  # the decision paid: the receipt moves nothing
                    same(f"trip {settled.trip_id} fare after the decision", settled.fare, 0)
                    if settled.award > authorised.get(settled.trip_id, 0):
                        problems.append(f"trip {settled.trip_id}: award {settled.award} above the authorised fare")
                    same(f"trip {settled.trip_id} award fee", settled.award_fee, settled.award * fee_bps // 10_000)
                else:
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
    expected_fare = int(fare_change["change"]["fare_per_km"]) if fare_change["state"] == "Executed" else genesis_fare
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
        same(
            f"{which} member earnings (statement)",
            int(statement["driving"]["fares_received"]),
            chain.earnings_of(address),
        )
        ridden = [t for t in chain_trips.values() if t.rider == address]
        paid = sum(t.fare + t.award for t in ridden)
        same(f"{which} member fares paid (statement)", int(statement["riding"]["fares_paid"]), paid)
        same(f"{which} member escrow", int(statement["chain"]["escrow"]), log.deposits.get(address, 0) - paid)

    _check_special_rides(report, log, chain, manifest, chain_trips, same, problems)

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


def _check_special_rides(
    report: dict[str, Any],
    log: DayLog,
    chain: ChainClient,
    manifest: Manifest,
    chain_trips: dict[int, SettledTrip],
    same: Any,
    problems: list[str],
) -> None:
    """The day's rides that went otherwise, from the chain: the unconfirmed ride settled without the rider's
    signature and no earlier than the dispute window allows; each dispute and decision is in the ledger's logs as
    reported, by a mediator the ledger knows; the refused withdrawal was more than the rider's free escrow while
    the booking held its fare, the ledger refuses it at that block, and no withdrawal ever left the ledger."""
    window = chain.dispute_window()
    receipts_by_tx: dict[str, dict[int, tuple]] = {}
    for ride in report["events"]["unconfirmed"]:
        settled = chain_trips.get(ride["trip_id"])
        if settled is None:
            problems.append(f"unconfirmed trip {ride['trip_id']} did not settle")
            continue
        if settled.tx_hash not in receipts_by_tx:
            receipts_by_tx[settled.tx_hash] = _receipts_in(chain, settled.tx_hash)
        confirmed = receipts_by_tx[settled.tx_hash][ride["trip_id"]][3]
        same(f"unconfirmed trip {ride['trip_id']} rider's signature in the settlement", False, confirmed)
        same(f"unconfirmed trip {ride['trip_id']} fare paid", ride["fare_paid"], settled.fare)
        tx = chain.w3.eth.get_transaction_receipt(HexStr(settled.tx_hash))
        settled_at = int(chain.w3.eth.get_block(tx["blockNumber"])["timestamp"])
        same(f"unconfirmed trip {ride['trip_id']} settled at", ride["settled_at"], settled_at)
        if settled_at < ride["end_time"] + window:
            problems.append(f"unconfirmed trip {ride['trip_id']} settled before its dispute window closed")

    disputed = {
        int(e["args"]["tripId"]): e["args"]
        for e in chain.ledger.events.TripDisputed.get_logs(from_block=manifest.block_number)
    }
    resolved = {int(d["args"]["tripId"]): d["args"] for d in decisions_from_chain(chain, manifest)}
    mediator_role = chain.ledger.functions.MEDIATOR_ROLE().call()
    reported_disputes = {d["trip_id"]: d for d in report["events"]["disputes"]}
    same("disputed trip ids", sorted(reported_disputes), sorted(disputed))
    for trip_id, d in reported_disputes.items():
        opened, decision = disputed.get(trip_id), resolved.get(trip_id)
        same(
            f"dispute of trip {trip_id} (by, reason)",
            (d["by"], d["reason"]),
            (to_checksum_address(opened["by"]), opened["reason"]) if opened else None,
        )
        same(
            f"decision of trip {trip_id} (mediator, award, fee, refund, reason)",
            (d["mediator"], d["award"], d["award_fee"], d["refund"], d["resolution_reason"]),
            (
                to_checksum_address(decision["mediator"]),
                int(decision["award"]),
                int(decision["fee"]),
                int(decision["refund"]),
                decision["reason"],
            )
            if decision
            else None,
        )
        if not chain.ledger.functions.hasRole(mediator_role, d["mediator"]).call():
            problems.append(f"trip {trip_id} was decided by {d['mediator']}, who holds no MEDIATOR_ROLE")

    refused = report["events"]["withdrawal_refused"]
    if refused:
        rider, block, amount = refused["rider"], refused["block_number"], refused["amount"]
        free = int(chain.ledger.functions.escrowOf(rider).call(block_identifier=block))
        same("refused withdrawal: the rider's free escrow then", refused["free_escrow"], free)
        booking = next(t for phase in log.trips.values() for t in phase if t["id"] == refused["trip_id"])
        hold = chain.ledger.functions.holdOf(refused["trip_id"], booking["driver"], rider).call(block_identifier=block)
        same(
            "refused withdrawal: the booking's hold then (maxFare, active)",
            (refused["held"], True),
            (hold[0], hold[3] == 1),
        )
        try:
            chain.ledger.functions.withdrawBySig(
                rider, False, amount, refused["deadline"], bytes.fromhex(refused["signature"][2:])
            ).call(block_identifier=block)
        except ContractLogicError as exc:
            same("refused withdrawal: the ledger's refusal", refused["chain_error"], str(chain.errors.of_call(exc)))
        else:
            problems.append("refused withdrawal: the ledger accepts it at that block")
    withdrawn = chain.ledger.events.EscrowWithdrawn.get_logs(from_block=manifest.block_number)
    same("escrow withdrawals", [], [to_checksum_address(w["args"]["rider"]) for w in withdrawn])


def vote_counts(supports: dict[str, int]) -> dict[str, int]:
    counts = Counter(supports.values())
    return {"for": counts.get(1, 0), "against": counts.get(0, 0), "abstain": counts.get(2, 0)}
