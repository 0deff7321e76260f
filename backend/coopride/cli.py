"""`coopride`: the operator's command line.

    coopride run                  the cooperative, running: chain + contracts + API + settlement worker
    coopride demo                 a seeded day in a small cooperative, checked against the chain
    coopride status               chain, regions (phase, members vs critical mass), settlement queue
    coopride settle [--once]      the settlement worker as its own process
    coopride proposals            governance proposals, their state and tallies
    coopride statement ADDRESS    one member's statement, with the chain's balances
    coopride admissions list|admit ID|refuse ID --reason TEXT
                                  membership applications, decided with the admissions key
    coopride disputes | decide TRIP --award N --reason TEXT | release-stale
                                  open disputes, a mediator's decision, stale bookings' holds released

Every command but `run` and `demo` talks to a running `coopride run` (or your own chain and database:
COOPRIDE_RPC_URL, DATABASE_URL, COOPRIDE_MANIFEST, COOPRIDE_SETTLER_KEY, COOPRIDE_ADMISSIONS_KEY; see docs/demo.md).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from coopride.cli_common import (
    StateDir,
    admissions_session,
    chain_and_engine,
    console,
    fail,
    format_shares,
    format_time,
    format_tokens,
    operator_settings,
)
from coopride.cli_disputes import disputes_app
from coopride.config import Settings
from coopride.runner import Stack, StackError, StackInfo, run_until_stopped

if TYPE_CHECKING:
    from coopride.models import Application

app = typer.Typer(
    name="coopride",
    help="CoopRide, the ride-sharing cooperative owned by its members: run it, watch it, settle its trips.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


# ------------------------------------------------------------------------ run
@app.command()
def run(
    anvil_port: Annotated[
        int | None, typer.Option(help="Port of the local chain [env COOPRIDE_ANVIL_PORT; default 8545].")
    ] = None,
    api_port: Annotated[int | None, typer.Option(help="Port of the API [env COOPRIDE_API_PORT; default 8000].")] = None,
    state_dir: StateDir = None,
    postgres: Annotated[
        bool,
        typer.Option(
            "--postgres",
            help="Start a private PostgreSQL server for this run and serve the API from several processes on it "
            "(as many as cores, unless --workers or COOPRIDE_API_WORKERS); the database goes when the run stops.",
        ),
    ] = False,
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="API processes [env COOPRIDE_API_WORKERS; default 1, cores with --postgres]; "
            "more than one needs PostgreSQL.",
        ),
    ] = None,
) -> None:
    """Run the cooperative: a local chain (anvil), the contracts, the API and its settlement worker.

    Starts anvil (unless COOPRIDE_RPC_URL names your own node), deploys the contracts with
    scripts/deploy.py (unless the manifest's contracts already exist on that chain), then serves the
    API with its settlement worker on SQLite (or DATABASE_URL). Ctrl-C stops everything it started.

    Modes: SQLite, one process (the default); PostgreSQL with N API processes (DATABASE_URL=postgresql+psycopg://...
    and COOPRIDE_API_WORKERS=N, or --postgres), where settlement workers run in processes of their own
    (COOPRIDE_SETTLEMENT_WORKERS, default 1; they coordinate through the database).
    """
    settings = Settings.from_env(anvil_port=anvil_port, api_port=api_port, state_dir=state_dir, api_workers=workers)
    if postgres and not settings.configured("api_workers"):
        settings = settings.model_copy(update={"api_workers": os.cpu_count() or 2})
    stack = Stack(settings, log=lambda text: console.print(f"[dim]{text}[/]"), private_postgres=postgres)

    def ready(info: StackInfo) -> None:
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_row("mode", f"[bold]{info.mode}[/]")
        table.add_row(
            "web app", f"[bold cyan]{info.api_url}/[/] (open it on this machine: wallet, join, drive, ride, vote)"
        )
        table.add_row("API docs", f"[bold cyan]{info.docs_url}[/]")
        table.add_row("health", f"{info.api_url}/health")
        table.add_row("chain", f"{info.rpc_url} (chain id {info.chain_id}{', anvil' if settings.local_chain else ''})")
        table.add_row(
            "manifest", str(info.manifest_path) + (" (reused)" if info.reused_deployment else " (fresh deployment)")
        )
        table.add_row("settler", info.settler)
        mode = (
            "auto-admit: each valid application is admitted as it arrives"
            if info.auto_admit
            else "by hand: `coopride admissions list`, then `admit ID` or `refuse ID --reason ...`"
        )
        table.add_row("admissions", f"{info.admissions} ({mode})")
        table.add_row("attester", info.attester)
        table.add_row("database", info.database_url)
        table.add_row("logs", str(info.log_dir))
        console.print(f"[bold green]CoopRide is running[/] ({info.mode}). Press Ctrl-C to stop everything.")
        console.print(table)

    try:
        code = run_until_stopped(stack, ready)
    except StackError as exc:
        fail(str(exc))
    if code == 0:
        console.print("[green]stopped cleanly.[/]")
    raise typer.Exit(code=code)


# ----------------------------------------------------------------------- demo
@app.command()
def demo(
    seed: Annotated[int, typer.Option(help="Seed of every random choice: the same seed gives the same day.")] = 7,
    members: Annotated[int, typer.Option(min=4, max=200, help="Members of the cooperative.")] = 12,
    trips: Annotated[int, typer.Option(min=6, max=2000, help="Trips driven over the day (solo and shared).")] = 60,
    out: Annotated[Path, typer.Option(help="Where the report (JSON, Markdown) and charts (PNG) go.")] = Path(
        "demo-output"
    ),
) -> None:
    """Simulate a day in a small cooperative (Lyon 3e) against the real contracts, over the real API.

    Members join without ether, drivers earn shares in the bootstrap phase, the region reaches critical
    mass, riders pay fares, members vote a fare change and share the treasury's surplus. Every figure
    in the report is checked against the chain; a mismatch fails the command.
    """
    from coopride.demo.simulation import DemoMismatch, DemoOptions, run_demo

    try:
        run_demo(DemoOptions(seed=seed, members=members, trips=trips, out=out), console=console)
    except (StackError, DemoMismatch, ValueError) as exc:
        fail(str(exc))


# ---------------------------------------------------------- reading commands
@app.command()
def status(state_dir: StateDir = None) -> None:
    """Show the chain, every region (phase, members, active drivers against critical mass, fare) and the settlement
    queue."""
    from sqlmodel import Session, select

    from coopride.models import SettlementBatch, Trip
    from coopride.models.enums import BatchStatus

    settings = operator_settings(state_dir)
    chain, engine = chain_and_engine(settings)
    parameters = chain.parameters()
    console.print(
        f"[bold]chain[/] {settings.rpc_url}  id {chain.chain_id}  block {chain.block_number()}  "
        f"manifest {settings.manifest_path}"
    )
    console.print(
        f"[bold]ledger[/] fee {parameters.fee_bps / 100:g} %  treasury {format_tokens(chain.treasury_balance())} tEUR  "
        f"shares issued {format_shares(chain.total_shares())}  settler {chain.settler}"
    )

    regions = Table(title="Regions", title_justify="left")
    for column in ("id", "name", "phase", "members", "active drivers / critical mass", "fare per km"):
        regions.add_column(column)
    for region in chain.manifest.regions:
        state = chain.region(region.id)
        phase = "[green]operating[/]" if state.operating else "[yellow]bootstrap[/]"
        active = len(chain.active_drivers(region.id))
        ready = " (ready: anyone may activate it)" if not state.operating and active >= state.critical_mass else ""
        regions.add_row(
            str(region.id),
            region.name,
            phase,
            str(state.members),
            f"{active} / {state.critical_mass}{ready}",
            f"{format_tokens(state.fare_per_km)} tEUR",
        )
    console.print(regions)

    with Session(engine) as session:
        counts = Counter(session.exec(select(Trip.status)).all())
        open_batches = session.exec(
            select(SettlementBatch).where(SettlementBatch.status == BatchStatus.SUBMITTED)
        ).all()
    queue = Table(title="Settlement queue", title_justify="left")
    for column in ("awaiting signatures", "queued", "submitted", "settled", "rejected", "void", "batches in flight"):
        queue.add_column(column, justify="right")
    queue.add_row(
        *(str(counts.get(s, 0)) for s in ("awaiting_signatures", "queued", "submitted", "settled", "rejected", "void")),
        str(len(open_batches)),
    )
    console.print(queue)
    engine.dispose()


@app.command()
def settle(
    once: Annotated[bool, typer.Option("--once", help="Settle every queued trip now, then exit.")] = False,
    poll_interval: Annotated[
        float | None,
        typer.Option(min=0.05, help="Seconds between passes (default: COOPRIDE_SETTLEMENT_POLL_SECONDS, 0.25)."),
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Run the settlement worker as its own process: post co-signed trips to the chain in batches.

    Without --once it runs until Ctrl-C. It is safe beside the API's embedded worker: a batch is stored
    before it is sent and every trip settles exactly once.
    """
    from coopride.settlement.worker import worker_from_settings

    settings = operator_settings(state_dir)
    chain, engine = chain_and_engine(settings)
    worker = worker_from_settings(settings, engine=engine, chain=chain)
    if once:
        report = worker.run_once(force=True)
        console.print(
            f"batches sent {len(report.batches_sent)}, settled {len(report.settled)}, "
            f"rejected {len(report.rejected)}, retry later {len(report.retry_later)}, gas {report.gas_used}"
        )
        for trip_id, reason in sorted(report.rejected.items()):
            console.print(f"  trip {trip_id} rejected: {reason}")
        for error in report.errors:
            console.print(f"[red]  {error}[/]")
        engine.dispose()
        raise typer.Exit(code=1 if report.errors or report.unfinished_batches else 0)

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"settling from {settings.database_url} to {settings.rpc_url}; Ctrl-C stops")
    worker.run_forever(stop, poll_interval)
    engine.dispose()


@app.command()
def proposals(state_dir: StateDir = None) -> None:
    """List governance proposals with their state and tallies, as the Governor reports them."""
    settings = operator_settings(state_dir)
    chain, engine = chain_and_engine(settings)
    table = Table(title="Proposals", title_justify="left")
    for column in ("id", "state", "for", "against", "abstain", "voting ends", "description"):
        table.add_column(column)
    for info in chain.proposals():
        pid = str(info.proposal_id)
        table.add_row(
            f"{pid[:8]}…{pid[-4:]}",
            info.state.name.capitalize(),
            str(info.votes_for),
            str(info.votes_against),
            str(info.votes_abstain),
            format_time(info.vote_end),
            info.description.splitlines()[0][:60],
        )
    console.print(table if table.row_count else "no proposals yet")
    engine.dispose()


@app.command()
def statement(
    address: Annotated[str, typer.Argument(help="The member's address (0x…).")], state_dir: StateDir = None
) -> None:
    """Show a member's statement: km driven and shared, shares, fares, votes, and the chain's balances."""
    from eth_utils import is_address, to_checksum_address
    from sqlmodel import Session

    from coopride.services.statements import member_statement

    if not is_address(address):
        fail(f"{address!r} is not an address")
    settings = operator_settings(state_dir)
    chain, engine = chain_and_engine(settings)
    with Session(engine) as session:
        found = member_statement(session, chain, to_checksum_address(address), full=True)
    engine.dispose()
    d, r, c = found.driving, found.riding, found.chain
    assert r is not None and c is not None and found.pending_trip_ids is not None and found.settled_trip_ids is not None
    table = Table(show_header=False, title=f"Statement of {found.address}", title_justify="left")
    rows = [
        ("member", "yes" if c.is_member else "no"),
        (
            "km driven / shared / settled",
            f"{d.metres_driven / 1000:.2f} / {d.metres_shared / 1000:.2f} / {d.metres_settled / 1000:.2f}",
        ),
        ("shares earned (trips)", format_shares(int(d.shares_earned))),
        ("fares received (after fee)", f"{format_tokens(d.fares_received)} tEUR"),
        ("fee paid to the treasury", f"{format_tokens(d.fees_paid_to_treasury)} tEUR"),
        ("km ridden", f"{r.metres_ridden / 1000:.2f}"),
        ("fares paid", f"{format_tokens(r.fares_paid)} tEUR"),
        ("chain: shares", format_shares(int(c.shares))),
        ("chain: escrow / earnings", f"{format_tokens(c.escrow)} / {format_tokens(c.earnings)} tEUR"),
        ("chain: surplus to claim", f"{format_tokens(c.claimable_surplus)} tEUR"),
        ("trips pending / settled", f"{len(found.pending_trip_ids)} / {len(found.settled_trip_ids)}"),
        (
            "votes",
            ", ".join(f"{v.proposal_id[:8]}…: {('against', 'for', 'abstain')[v.support]}" for v in found.votes)
            or "none",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    console.print(f"[dim]{found.how_to_check}[/]")


# ----------------------------------------------------------------- admissions
admissions_app = typer.Typer(
    help="Membership applications: list them, admit one on chain (admissions key), or refuse one with a reason.",
    no_args_is_help=True,
)
app.add_typer(admissions_app, name="admissions")


def _print_applications(rows: Sequence[Application]) -> None:
    """One line per application (addresses and hashes whole, whatever the terminal's width)."""
    if not rows:
        console.print("no applications")
    for a in rows:
        line = (
            f"#{a.id}  {a.applicant}  region {a.region_id}  max {format_tokens(int(a.max_capital_share))} tEUR  "
            f"deadline {format_time(a.deadline)}  [bold]{a.status}[/]"
        )
        if a.reason:
            line += f"  reason: {a.reason}"
        if a.tx_hash:
            line += f"  tx {a.tx_hash}"
        console.print(line, soft_wrap=True)


@admissions_app.command("list")
def admissions_list(
    status_: Annotated[str, typer.Option("--status", help="pending, admitted, refused, expired, or all.")] = "pending",
    state_dir: StateDir = None,
) -> None:
    """List membership applications (pending ones by default), oldest first; stale ones are marked expired."""
    from coopride.models.enums import ApplicationStatus
    from coopride.services import membership

    if status_ != "all" and status_ not in {s.value for s in ApplicationStatus}:
        fail(f"--status must be one of {', '.join(s.value for s in ApplicationStatus)} or all, not {status_!r}")
    _settings, chain, engine, session = admissions_session(state_dir)
    with session:
        rows = membership.applications(session, chain, None if status_ == "all" else ApplicationStatus(status_))
        session.commit()
        _print_applications(rows)
    engine.dispose()


@admissions_app.command("admit")
def admissions_admit(
    application_id: Annotated[int, typer.Argument(help="The application's id (`coopride admissions list`).")],
    state_dir: StateDir = None,
) -> None:
    """Admit a pending application: relays its permit for the capital share, then `Membership.admit`, from the
    admissions key (COOPRIDE_ADMISSIONS_KEY; anvil's account #2 on the local chain)."""
    from coopride.chain.errors import ChainRevert, ChainUnavailable
    from coopride.services import membership
    from coopride.services.errors import DomainError

    settings, chain, engine, session = admissions_session(state_dir)
    with session:
        try:
            application = membership.admit_by_id(session, chain, settings, application_id)
        except DomainError as exc:
            session.commit()  # applications found expired on the way
            fail(exc.detail)
        except (ChainRevert, ChainUnavailable) as exc:
            fail(f"the chain refused the admission: {exc}")
        session.commit()
        console.print(
            f"[green]admitted[/] {application.applicant} to region {application.region_id}: {application.tx_hash}"
        )
    engine.dispose()


@admissions_app.command("refuse")
def admissions_refuse(
    application_id: Annotated[int, typer.Argument(help="The application's id (`coopride admissions list`).")],
    reason: Annotated[str, typer.Option("--reason", help="Why; the applicant sees it.")],
    state_dir: StateDir = None,
) -> None:
    """Refuse a pending application with a reason (nothing happens on chain)."""
    from coopride.models.applications import REASON_LENGTH
    from coopride.services import membership
    from coopride.services.errors import DomainError

    if not reason.strip() or len(reason) > REASON_LENGTH:
        fail(f"--reason must say why, in 1 to {REASON_LENGTH} characters")
    _settings, chain, engine, session = admissions_session(state_dir)
    with session:
        try:
            application = membership.refuse_by_id(session, chain, application_id, reason)
        except DomainError as exc:
            session.commit()
            fail(exc.detail)
        session.commit()
        console.print(f"[yellow]refused[/] application {application.id} of {application.applicant}: {reason}")
    engine.dispose()


# `coopride disputes`, `decide`, `release-stale`.

app.add_typer(disputes_app)

if __name__ == "__main__":
    sys.exit(app())
