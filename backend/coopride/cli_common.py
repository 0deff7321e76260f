"""What the `coopride` commands share: the console, the `--state-dir` option, failing with a message, the settings,
chain and database of a running `coopride run`, and number formats."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from coopride.config import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from coopride.chain.client import ChainClient

console = Console(width=max(Console().width, 120))

StateDir = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        help="Where `coopride run` keeps its SQLite database, manifest and logs "
        "[env COOPRIDE_STATE_DIR; default: .coopride/].",
    ),
]


def fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code=1)


def operator_settings(state_dir: Path | None = None) -> Settings:
    """Settings of a running `coopride run`: its chain, manifest and database (the environment and
    `--state-dir` say where, as they did for `coopride run`)."""
    from web3 import Web3

    settings = Settings.from_env(state_dir=state_dir)
    rpc_url = settings.chain_rpc_url
    try:
        chain_id = int(Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 3})).eth.chain_id)
    except Exception:
        fail(f"no chain answers at {rpc_url}: start one with `coopride run` (or set COOPRIDE_RPC_URL)")
    return settings.for_chain(chain_id)


def chain_and_engine(settings):
    from coopride.chain.client import ChainClient
    from coopride.chain.manifest import ManifestError, load_manifest
    from coopride.db import init_db, make_engine

    try:
        manifest = load_manifest(settings.manifest_path)
    except ManifestError as exc:
        fail(str(exc))
    chain = ChainClient(settings.rpc_url, manifest, settings.settler_key)
    engine = make_engine(settings.database_url)
    init_db(engine)
    return chain, engine


def admissions_session(state_dir: Path | None) -> tuple[Settings, ChainClient, Engine, Session]:
    from sqlmodel import Session

    settings = operator_settings(state_dir)
    chain, engine = chain_and_engine(settings)
    return settings, chain, engine, Session(engine, expire_on_commit=False)


def format_tokens(units: int, decimals: int = 6) -> str:
    return f"{Decimal(units) / 10**decimals:,.2f}"


def format_shares(units: int) -> str:
    return f"{Decimal(units) / 10**18:,.3f}"


def format_time(timestamp: int) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
