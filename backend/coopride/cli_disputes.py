"""`coopride disputes`, `coopride decide` and `coopride release-stale`: the operator's and mediators' commands for
disputed trips and bookings' holds (registered on the main `coopride` app by `coopride.cli`).

    coopride disputes                             open disputes: trip, parties, reason, maxFare, since
    coopride decide TRIP --award N --reason TEXT  a mediator's decision, signed with the mediator's key
                                                  (--mediator-key or COOPRIDE_MEDIATOR_KEY), relayed
    coopride release-stale [--dry-run]            release the holds of bookings past expiry + maxReceiptAge
"""

from __future__ import annotations

from typing import Annotated

import typer

from coopride.cli_common import StateDir, admissions_session, console, fail, format_time, format_tokens

disputes_app = typer.Typer(help="Disputed trips and bookings' holds.")


@disputes_app.command("disputes")
def list_disputes(state_dir: StateDir = None) -> None:
    """List the open disputes, oldest first: trip, driver, rider, who disputed and why, the most the rider
    authorised (maxFare, the most a mediator may award) and since when."""
    from coopride.services.disputes import open_disputes

    _settings, chain, engine, session = admissions_session(state_dir)
    with session:
        found = open_disputes(session, chain)
    engine.dispose()
    if not found:
        console.print("no open disputes")
    for d in found:
        who = "rider" if d.by == d.rider else "driver"
        console.print(
            f"trip {d.trip_id}  driver {d.driver}  rider {d.rider}  disputed by the {who}  "
            f"fare {format_tokens(d.fare)}  maxFare {format_tokens(d.max_fare)} tEUR  since {format_time(d.since)}\n"
            f"  reason: {d.reason}",
            soft_wrap=True,
        )


@disputes_app.command("decide")
def decide(
    trip_id: Annotated[int, typer.Argument(help="The disputed trip's id (`coopride disputes`).")],
    award: Annotated[
        int, typer.Option("--award", min=0, help="Fare-token units paid to the driver (0 .. maxFare); 1 tEUR = 10**6.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why; both parties' statements show it, and the chain.")],
    mediator_key: Annotated[
        str | None,
        typer.Option(
            "--mediator-key",
            help="The mediator's private key [env COOPRIDE_MEDIATOR_KEY]: a member holding MEDIATOR_ROLE.",
        ),
    ] = None,
    state_dir: StateDir = None,
) -> None:
    """Decide a disputed trip as a mediator: the award goes to the driver (less the fee), the rest of the hold back
    to the rider, at once; the receipt then settles without moving money. Signed with the mediator's key and
    relayed (`resolveDisputeBySig`) by the settler key."""
    from coopride.chain.errors import ChainRevert, ChainUnavailable
    from coopride.services.disputes import decide as decide_dispute
    from coopride.services.errors import DomainError

    if not reason.strip() or len(reason) > 500:
        fail("--reason must say why, in 1 to 500 characters")
    settings, chain, engine, session = admissions_session(state_dir)
    key = mediator_key or settings.mediator_key
    if not key:
        fail("no mediator key: pass --mediator-key or set COOPRIDE_MEDIATOR_KEY")
    assert key is not None
    with session:
        try:
            trip = decide_dispute(session, chain, settings, trip_id, key, award, reason)
        except DomainError as exc:
            fail(exc.detail)
        except (ChainRevert, ChainUnavailable) as exc:
            fail(f"the chain refused the decision: {exc}")
        except ValueError as exc:  # not a private key
            fail(f"--mediator-key: {exc}")
        session.commit()
        console.print(
            f"[green]decided[/] trip {trip.id}: {format_tokens(award)} tEUR to the driver {trip.driver}, "
            f"the rest to the rider {trip.rider} ({trip.dispute_status}); tx {trip.resolution_tx_hash}",
            soft_wrap=True,
        )
    engine.dispose()


@disputes_app.command("release-stale")
def release_stale(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the stale holds, release nothing.")] = False,
    state_dir: StateDir = None,
) -> None:
    """Release the holds of bookings that were never settled once their authorisation's expiry plus the ledger's
    maxReceiptAge has passed (no receipt can use them any more, and anyone may release them then): each held
    fare returns to its rider's free escrow. Needs no running worker; safe to run at any time, e.g. from cron."""
    from coopride.chain.errors import ChainRevert, ChainUnavailable
    from coopride.services.disputes import release_stale_holds, stale_holds

    _settings, chain, engine, session = admissions_session(state_dir)
    with session:
        try:
            if dry_run:
                found = stale_holds(session, chain)
                for hold in found:
                    console.print(
                        f"trip {hold.trip_id} (request {hold.request_id})  rider {hold.rider}  "
                        f"{format_tokens(hold.amount)} tEUR held, "
                        f"releasable since {format_time(hold.releasable_since)}",
                        soft_wrap=True,
                    )
                console.print(f"{len(found)} stale holds")
            else:
                released = release_stale_holds(session, chain)
                for item in released:
                    console.print(
                        f"[green]released[/] trip {item.hold.trip_id}: {format_tokens(item.hold.amount)} tEUR back to "
                        f"{item.hold.rider}; tx {item.tx_hash}",
                        soft_wrap=True,
                    )
                console.print(f"{len(released)} stale holds released")
        except (ChainRevert, ChainUnavailable) as exc:
            fail(f"the chain refused a release: {exc}")
    engine.dispose()
