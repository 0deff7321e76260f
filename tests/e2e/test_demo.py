"""`coopride demo` at a small size: the whole day runs against its own anvil and API, every figure of
the report equals the chain's, the report and charts are written, and the chain check catches a
report that differs from the chain."""

from __future__ import annotations

import copy
import io
import json

import pytest
from rich.console import Console

from coopride.demo.figures import DemoMismatch, check_against_chain
from coopride.demo.simulation import DemoOptions, run_demo

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def small_day(tmp_path_factory):
    """One small day (6 members, 12 trips); the chain check is also run on tampered copies while the chain is up."""
    out = tmp_path_factory.mktemp("demo-output")
    tampered_checks = {}

    def tamper(report, log, chain, manifest):
        for name, edit in TAMPERINGS.items():
            forged = copy.deepcopy(report)
            edit(forged)
            try:
                check_against_chain(forged, log, chain, manifest)
            except DemoMismatch as exc:
                tampered_checks[name] = str(exc)
            else:
                tampered_checks[name] = None

    report = run_demo(DemoOptions(seed=11, members=6, trips=12, out=out, batch_size=4),
                      console=Console(file=io.StringIO()), inspect=tamper)
    return report, out, tampered_checks


TAMPERINGS = {
    "fares": lambda r: r["phases"]["operating"].__setitem__("fares_paid", r["phases"]["operating"]["fares_paid"] + 1),
    "shares": lambda r: r["member_shares"].__setitem__(next(iter(r["member_shares"])), 1),
    "gas": lambda r: r.__setitem__("gas_per_settled_trip", r["gas_per_settled_trip"] - 1),
    "votes": lambda r: r["proposals"]["fare_change"].__setitem__("votes_for", r["proposals"]["fare_change"]["votes_for"] + 1),
    "treasury": lambda r: r.__setitem__("treasury_balance", r["treasury_balance"] + 1),
    "award": lambda r: r["events"]["disputes"][0].__setitem__("award", r["events"]["disputes"][0]["award"] + 1),
    "unconfirmed": lambda r: r["events"]["unconfirmed"][0].__setitem__("fare_paid", 1),
    "withdrawal": lambda r: r["events"]["withdrawal_refused"].__setitem__("held", 0),
}


def test_the_day_runs_every_phase_and_its_report_equals_the_chain(small_day):
    report, _out, _ = small_day
    phases = report["phases"]
    assert sum(p["trips"] for p in phases.values()) == 12
    assert phases["bootstrap"]["fares_paid"] == 0 and phases["bootstrap"]["shares_minted"] > 0
    assert phases["operating"]["km_solo"] == 0 and phases["operating"]["fares_paid"] > 0
    assert phases["operating"]["driver_take_rate"] == pytest.approx(0.85, abs=1e-4)
    assert report["proposals"]["fare_change"]["state"] == "Executed"
    assert phases["new_fare"]["fare_per_km"] == phases["operating"]["fare_per_km"] * 110 // 100
    assert report["proposals"]["surplus"]["state"] == "Executed"
    assert report["distribution"]["claimed_total"] > 0
    assert report["distribution"]["amount"] - report["distribution"]["claimed_total"] < len(report["distribution"]["claims"]) + 1
    assert report["gas_per_settled_trip"] > 0 and all(b["trips"] > 0 for b in report["batches"])


def test_a_rider_who_never_confirms_still_pays_the_driver_after_the_dispute_window(small_day):
    report, _out, _ = small_day
    [ride] = report["events"]["unconfirmed"]
    assert not ride["rider_signed"] and ride["fare_paid"] > 0
    assert ride["paid_after_seconds"] >= ride["dispute_window"] > 0


def test_a_dispute_is_decided_by_a_mediator_for_part_of_the_fare(small_day):
    report, _out, _ = small_day
    [dispute] = report["events"]["disputes"]
    assert dispute["by"] == dispute["rider"] and dispute["reason"]
    assert dispute["mediator"] == report["events"]["mediator"] not in (dispute["driver"], dispute["rider"])
    assert 0 < dispute["award"] < dispute["fare"] and dispute["status"] == "resolved_paid"
    assert dispute["refund"] == dispute["max_fare"] - dispute["award"] and dispute["resolution_reason"]
    assert dispute["award_fee"] == dispute["award"] * 1500 // 10_000


def test_a_rider_cannot_withdraw_what_a_booking_holds(small_day):
    report, _out, _ = small_day
    refused = report["events"]["withdrawal_refused"]
    assert refused["held"] > 0 and refused["amount"] == refused["free_escrow"] + refused["held"]
    assert refused["api_status"] == 422 and "less than" in refused["api_detail"]
    assert refused["chain_error"].startswith("InsufficientBalance")


def test_the_report_and_charts_are_written(small_day):
    report, out, _ = small_day
    assert json.loads((out / "report.json").read_text())["totals"] == report["totals"]
    markdown = (out / "report.md").read_text()
    assert "Every figure below was recomputed from the chain" in markdown
    assert "refused" in markdown and "never confirmed" in markdown and "decided by a mediator" in markdown
    for chart in ("km_and_shares_over_the_day.png", "shares_by_member.png", "gas_per_trip_by_batch.png"):
        data = (out / chart).read_bytes()
        assert data.startswith(PNG_SIGNATURE) and len(data) > 5_000


@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_the_chain_check_refuses_a_report_that_differs_from_the_chain(small_day, tampering):
    _report, _out, tampered_checks = small_day
    assert tampered_checks[tampering] is not None, f"a report with forged {tampering} passed the chain check"
    assert "report says" in tampered_checks[tampering]
