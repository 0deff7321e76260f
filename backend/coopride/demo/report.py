"""The demo's report: built from what the API said, written as JSON + Markdown, drawn as PNG charts."""

from __future__ import annotations

import json
import statistics
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.console import Console
from rich.table import Table

from coopride.chain.client import ChainClient
from coopride.chain.manifest import Manifest
from coopride.demo.figures import batch_figures, phase_figures, trips_from_api, vote_counts

if TYPE_CHECKING:
    from coopride.demo.simulation import DayLog

PHASE_TITLES = {"bootstrap": "Bootstrap", "operating": "Operating", "new_fare": "Operating, new fare"}
CHARTS = ("km_and_shares_over_the_day.png", "shares_by_member.png", "gas_per_trip_by_batch.png")


def build(log: DayLog, chain: ChainClient, manifest: Manifest) -> dict[str, Any]:
    """The report, from the API's answers (the settlement transactions' gas comes from their receipts)."""
    all_trips = [t for phase in log.trips.values() for t in phase]
    fee_bps = chain.parameters().fee_bps
    phases = {
        phase: {
            "title": PHASE_TITLES[phase],
            "fare_per_km": log.fare_per_km[phase],
            **phase_figures(trips_from_api(trips, fee_bps)),
        }
        for phase, trips in log.trips.items()
    }
    batches = batch_figures(chain, {t["tx_hash"] for t in all_trips})
    statements = dict(log.statements)
    member_shares = {address: int(s["driving"]["shares_earned"]) for address, s in statements.items()}
    ranked = sorted(member_shares, key=lambda a: (-member_shares[a], a))
    drivers = [m.address for m in log.members if m.role == "driver"]
    median_driver = sorted(drivers, key=lambda a: (member_shares[a], a))[(len(drivers) - 1) // 2]
    names = {m.address: m.name for m in log.members}
    region_now = chain.region(1)
    return {
        "seed": log.seed,
        "region": {"id": 1, "name": "Lyon 3e arrondissement", "critical_mass": log.critical_mass},
        "members": {
            "total": len(log.members),
            "drivers": len(drivers),
            "riders": len(log.members) - len(drivers),
            "names": names,
        },
        "chain": {
            "chain_id": manifest.chain_id,
            "ledger": manifest.address("RideLedger"),
            "governor": manifest.address("CoopGovernor"),
            "share": manifest.address("CoopShare"),
        },
        "day_start": log.day_start,
        "activation": log.activation,
        "phases": phases,
        "totals": phase_figures(trips_from_api(all_trips, fee_bps)),
        "events": special_rides(log, chain, all_trips, fee_bps),
        "unmatched_requests": log.unmatched_requests,
        "batches": batches,
        "gas_per_settled_trip": sum(b["gas_used"] for b in batches) // max(len(all_trips), 1),
        "proposals": {
            key: {
                "proposal_id": p["proposal_id"],
                "state": p["state"],
                "votes_for": p["votes_for"],
                "votes_against": p["votes_against"],
                "votes_abstain": p["votes_abstain"],
                "proposer": p["proposer"],
                "change": p["change"],
                "ballots": vote_counts(log.ballots[key]),
            }
            for key, p in log.proposals.items()
        },
        "distribution": {
            "treasury_before": log.treasury_before_distribution,
            "amount": int(log.proposals["surplus"]["change"]["amount"])
            if log.proposals["surplus"]["state"] == "Executed"
            else 0,
            "claims": dict(log.claims),
            "claimed_total": sum(log.claims.values()),
        },
        "treasury_balance": log.treasury_after,
        "fare_per_km_now": region_now.fare_per_km,
        "member_shares": member_shares,
        "statements": {"top": statements[ranked[0]], "median": statements[median_driver]},
        "money": {
            "minted": sum(log.deposits.values()) + sum(log.capital_shares.values()),
            "deposited": sum(log.deposits.values()),
            "capital_shares": sum(log.capital_shares.values()),
        },
        "timeline": [
            {
                "hour": round((t["end_time"] - log.day_start) / 3600, 4),
                "phase": phase,
                "km": t["distance_metres"] / 1000,
                "shared": t["rider"] is not None,
                "shares": int(t["shares_minted"]),
            }
            for phase, trips in log.trips.items()
            for t in sorted(trips, key=lambda t: t["end_time"])
        ],
    }


def special_rides(log: DayLog, chain: ChainClient, all_trips: list[dict], fee_bps: int) -> dict[str, Any]:
    """The rides that went otherwise: never confirmed (paid after the dispute window), disputed and decided by a
    mediator, and the refused withdrawal of what a booking held."""
    by_id = {t["id"]: t for t in all_trips}
    window = chain.dispute_window()
    unconfirmed = []
    for ride in log.unconfirmed:
        trip = by_id[ride["trip_id"]]
        settled_at = int(chain.w3.eth.get_block(trip["block_number"])["timestamp"])
        unconfirmed.append(
            {
                **ride,
                "fare_paid": int(trip["fare_paid"]),
                "rider_signed": trip["rider_signed"],
                "dispute_window": window,
                "settled_at": settled_at,
                "paid_after_seconds": settled_at - ride["end_time"],
                "tx_hash": trip["tx_hash"],
            }
        )
    disputes = [
        {
            **d,
            "award_fee": d["award"] * fee_bps // 10_000,
            "refund": d["max_fare"] - d["award"],
            "settled_tx_hash": by_id[d["trip_id"]]["tx_hash"],
        }
        for d in log.disputes
    ]
    return {
        "mediator": log.mediator,
        "unconfirmed": unconfirmed,
        "disputes": disputes,
        "withdrawal_refused": dict(log.withdrawal_refused),
    }


def event_lines(report: dict) -> list[str]:
    """One sentence per ride that went otherwise (Markdown; the console strips the emphasis)."""
    names = report["members"]["names"]
    events = report["events"]
    lines = []
    refused = events["withdrawal_refused"]
    if refused:
        lines.append(
            f"A rider's withdrawal of what a booking holds, **refused**: {names[refused['rider']]} asked for "
            f"{tokens(refused['amount'])} tEUR ({tokens(refused['free_escrow'])} free escrow + "
            f"{tokens(refused['held'])} held by booking {refused['trip_id']}); the API answered "
            f"{refused['api_status']} ({refused['api_detail']}) and the ledger refuses the signed withdrawal "
            f"`{refused['chain_error']}` at block {refused['block_number']}."
        )
    for ride in events["unconfirmed"]:
        lines.append(
            f"A rider who never confirmed: trip {ride['trip_id']} ({names[ride['driver']]} driving "
            f"{names[ride['rider']]}) **paid {tokens(ride['fare_paid'])} tEUR to the driver** "
            f"{ride['paid_after_seconds']} s after it ended, without the rider's signature, once the "
            f"{ride['dispute_window']} s dispute window had passed."
        )
    for d in events["disputes"]:
        lines.append(
            f"A dispute decided by a mediator: trip {d['trip_id']} ({names[d['driver']]} driving "
            f'{names[d["rider"]]}), fare {tokens(d["fare"])} tEUR, disputed by {names[d["by"]]} ("{d["reason"]}"); '
            f"the mediator {names[d['mediator']]} **awarded {tokens(d['award'])} tEUR** (fee "
            f'{tokens(d["award_fee"])}), {tokens(d["refund"])} tEUR back to the rider: "{d["resolution_reason"]}".'
        )
    return lines


def write(report: dict, out: Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    json_path = out / "report.json"
    json_path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    md_path = out / "report.md"
    md_path.write_text(markdown(report))
    return [json_path, md_path, *charts(report, out)]


def tokens(units: int) -> str:
    return f"{Decimal(units) / 10**6:,.2f}"


def shares(units: int) -> str:
    return f"{Decimal(units) / 10**18:,.3f}"


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f} %"


def phase_rows(report: dict) -> list[list[str]]:
    rows = []
    for _key, p in [
        *report["phases"].items(),
        ("total", {"title": "Whole day", **report["totals"], "fare_per_km": None}),
    ]:
        rows.append(
            [
                p["title"],
                str(p["trips"]),
                f"{p['km_solo']:.2f}",
                f"{p['km_shared']:.2f}",
                shares(p["shares_minted"]),
                "-" if p["fare_per_km"] is None else tokens(p["fare_per_km"]),
                tokens(p["fares_paid"]),
                tokens(p["fee_to_treasury"]),
                _percent(p["driver_take_rate"]),
            ]
        )
    return rows


PHASE_HEADER = [
    "phase",
    "trips",
    "km solo",
    "km shared",
    "shares minted",
    "fare/km (tEUR)",
    "fares paid (tEUR)",
    "fee to treasury (tEUR)",
    "driver take",
]


CONSOLE_HEADER = ["phase", "trips", "km solo", "km shared", "shares", "fare/km", "fares", "fee", "take"]


def _statement_line(which: str, report: dict) -> str:
    s = report["statements"][which]
    name = report["members"]["names"][s["address"]]
    d = s["driving"]
    return (
        f"{which} member {name} ({s['address']}): {d['metres_driven'] / 1000:.2f} km driven, "
        f"{d['metres_shared'] / 1000:.2f} km shared, {shares(int(d['shares_earned']))} shares, "
        f"{tokens(int(d['fares_received']))} tEUR fares received, {tokens(int(s['chain']['earnings']))} tEUR to "
        "withdraw, "
        f"{len(s['votes'])} votes"
    )


def _proposal_line(key: str, report: dict) -> str:
    p = report["proposals"][key]
    return (
        f"{p['change']['description']}: **{p['state']}** ({p['votes_for']} for, {p['votes_against']} against, "
        f"{p['votes_abstain']} abstain)"
    )


def markdown(report: dict) -> str:
    lines = [
        f"# A day in a small cooperative: Lyon 3e (seed {report['seed']})",
        "",
        (
            f"{report['members']['total']} members ({report['members']['drivers']} drivers, "
            f"{report['members']['riders']} riders); critical mass {report['region']['critical_mass']} active drivers. "
            f"Chain {report['chain']['chain_id']}, RideLedger `{report['chain']['ledger']}`. Every figure below was "
            "recomputed from the chain's events, calldata and views and found equal."
        ),
        "",
        "| " + " | ".join(PHASE_HEADER) + " |",
        "|" + "---|" * len(PHASE_HEADER),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in phase_rows(report)]
    batches = report["batches"]
    lines += [
        "",
        (
            f"Settlement: {len(batches)} batches, **{report['gas_per_settled_trip']:,} gas per settled trip** "
            f"(batch sizes {', '.join(str(b['trips']) for b in batches)}). Unmatched ride requests: "
            f"{report['unmatched_requests']}."
        ),
        "",
        "## Holds, confirmations and disputes",
        "",
        *[f"- {line}" for line in event_lines(report)],
        "",
        "## Governance",
        "",
        (
            f"- Fare change: {_proposal_line('fare_change', report)}; "
            f"fare per km now {tokens(report['fare_per_km_now'])} tEUR."
        ),
        (
            f"- Surplus: {_proposal_line('surplus', report)}; {tokens(report['distribution']['amount'])} tEUR of "
            f"{tokens(report['distribution']['treasury_before'])} tEUR distributed, "
            f"{tokens(report['distribution']['claimed_total'])} tEUR claimed by "
            f"{len(report['distribution']['claims'])} members; treasury now {tokens(report['treasury_balance'])} tEUR."
        ),
        "",
        "## Statements",
        "",
        f"- {_statement_line('top', report)}",
        f"- {_statement_line('median', report)}",
        "",
        "Charts: " + ", ".join(f"![{c}]({c})" for c in CHARTS),
        "",
    ]
    return "\n".join(lines)


def charts(report: dict, out: Path) -> list[Path]:
    paths = [out / name for name in CHARTS]
    timeline = report["timeline"]

    fig, km_axis = plt.subplots(figsize=(9, 4.5))
    hours = [e["hour"] for e in timeline]
    solo = _cumulative([e["km"] if not e["shared"] else 0 for e in timeline])
    shared = _cumulative([e["km"] if e["shared"] else 0 for e in timeline])
    km_axis.step(hours, solo, where="post", label="km solo")
    km_axis.step(hours, shared, where="post", label="km shared")
    km_axis.set_xlabel("hour of the day")
    km_axis.set_ylabel("cumulative km")
    shares_axis = km_axis.twinx()
    shares_axis.step(
        hours,
        [s / 1e18 for s in _cumulative([e["shares"] for e in timeline])],
        where="post",
        color="tab:green",
        label="shares minted",
    )
    shares_axis.set_ylabel("cumulative shares")
    handles = km_axis.get_legend_handles_labels()[0] + shares_axis.get_legend_handles_labels()[0]
    km_axis.legend(handles, [str(h.get_label()) for h in handles], loc="upper left")
    km_axis.set_title("Kilometres and shares over the day")
    fig.tight_layout()
    fig.savefig(paths[0], dpi=110)
    plt.close(fig)

    fig, axis = plt.subplots(figsize=(9, 4.5))
    ranked = sorted(report["member_shares"].items(), key=lambda item: -item[1])
    names = report["members"]["names"]
    axis.bar([names[a] for a, _ in ranked], [s / 1e18 for _, s in ranked], color="tab:blue")
    axis.set_ylabel("shares")
    axis.set_title("Shares across members (surplus is shared pro rata)")
    axis.tick_params(axis="x", rotation=60)
    fig.tight_layout()
    fig.savefig(paths[1], dpi=110)
    plt.close(fig)

    fig, axis = plt.subplots(figsize=(9, 4.5))
    batches = report["batches"]
    axis.bar(range(1, len(batches) + 1), [b["gas_per_trip"] for b in batches], color="tab:orange")
    for i, b in enumerate(batches, start=1):
        axis.annotate(f"{b['trips']}", (i, b["gas_per_trip"]), ha="center", va="bottom", fontsize=8)
    axis.set_xlabel("settlement batch (label: trips in it)")
    axis.set_ylabel("gas per settled trip")
    axis.set_title("Gas per trip by batch")
    fig.tight_layout()
    fig.savefig(paths[2], dpi=110)
    plt.close(fig)
    return paths


def _cumulative(values: list) -> list:
    total, out = 0, []
    for value in values:
        total += value
        out.append(total)
    return out


def print_summary(report: dict, console: Console) -> None:
    table = Table(
        title=f"A day in Lyon 3e (seed {report['seed']})",
        title_justify="left",
        caption="amounts in tEUR; shares in whole shares",
        caption_justify="left",
    )
    for column in CONSOLE_HEADER:
        table.add_column(column, justify="left" if column == "phase" else "right", no_wrap=column == "phase")
    for row in phase_rows(report):
        table.add_row(*row)
    console.print(table)
    batches = report["batches"]
    console.print(
        f"settlement: {len(batches)} batches, [bold]{report['gas_per_settled_trip']:,} gas per settled trip[/]; "
        f"median batch {statistics.median(b['trips'] for b in batches) if batches else 0} trips"
    )
    console.print(
        f"critical mass: {report['activation']['members']} active drivers "
        f"(needed {report['activation']['critical_mass']}), "
        "Lyon 3e switched to operating"
    )
    for line in event_lines(report):
        console.print(line.replace("**", "").replace("`", ""), markup=False, highlight=False)
    for key in ("fare_change", "surplus"):
        console.print(f"proposal: {_proposal_line(key, report).replace('**', '')}")
    console.print(
        f"surplus: {tokens(report['distribution']['amount'])} tEUR distributed, "
        f"{tokens(report['distribution']['claimed_total'])} tEUR claimed; "
        f"treasury {tokens(report['treasury_balance'])} tEUR"
    )
    console.print(_statement_line("top", report))
    console.print(_statement_line("median", report))
