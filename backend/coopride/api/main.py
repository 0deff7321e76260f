"""The app factory: `create_app(settings=None, chain=None, ...)`; serve with
`uvicorn coopride.api.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

from fastapi import Depends, FastAPI

from coopride.api import metrics
from coopride.api.errors import ERROR_RESPONSES, install_error_handlers
from coopride.api.routes import auth, governance, health, members, regions, rides, trips
from coopride.api.validation import read_requests_read_only, require_encodable_text
from coopride.api.write_gate import SQLiteWriteGate
from coopride.chain.client import ChainClient
from coopride.chain.manifest import load_manifest
from coopride.config import Settings, get_settings
from coopride.db import init_db, lock_engine, make_engine, nonce_lock
from coopride.domain.regions import DEFAULT_REGION_MAP, RegionMap
from coopride.web import mount_web

DESCRIPTION = """
CoopRide is a ride-sharing cooperative owned by its members. This API signs members in with their
wallet (EIP-4361), relays their signed messages to the chain so that joining, depositing and voting
cost them no gas, matches riders to drivers, checks GPS traces, and collects both parties'
signatures on every trip receipt before the settlement worker posts it on chain.

Start with **auth** (get a nonce, sign it, log in), then **members** (join a region).

**Amounts**: every amount, in answers and requests alike, is a decimal string of integer base units of its
token (`"2500000"` is 2.5 tokens of a 6-decimal token); `GET /chain` gives each token's decimals (the fare
token: fares, deposits, escrow, earnings, fees, treasury, capital shares, awards; the share token: shares and
rewards). A JSON number, a sign, spaces, an exponent or an out-of-range value for an amount is a 422. Only
EIP-712 `typed_data` (a wallet's payload for `eth_signTypedData_v4`) writes its integers as JSON numbers.
Every error is a JSON body `{"detail": "<reason>", "code": "<kind>"}` (`Problem`) with a 4xx status (503 when
the chain is down); a request that does not validate lists its problems in `detail`.
"""

TAGS = [
    {"name": "auth", "description": "Sign in with a wallet signature; no passwords."},
    {"name": "members", "description": "Join, deposit fare tokens, claim surplus (relayed, gas-free), statements."},
    {
        "name": "rides",
        "description": "Drivers offer seats, riders request rides; matching, booking, pickup, cancellation.",
    },
    {"name": "trips", "description": "Driven trips with their GPS traces, and the EIP-712 receipts both parties sign."},
    {"name": "regions", "description": "Regions, their phase and figures, read from the chain and the database."},
    {"name": "governance", "description": "Parameter-change proposals and gas-free ballots (one member, one vote)."},
    {"name": "health", "description": "Is the service up? `GET /chain`: the tokens' decimals, to show amounts."},
]

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def create_app(
    settings: Settings | None = None,
    chain: ChainClient | None = None,
    region_map: RegionMap | None = None,
    lifespan: Lifespan | None = None,
) -> FastAPI:
    """`lifespan` runs beside the app, e.g. `coopride.settlement.worker.embedded_worker`."""
    settings = settings or get_settings()
    if chain is None:
        chain = ChainClient(settings.rpc_url, load_manifest(settings.manifest_path), settings.settler_key)
    engine = make_engine(settings.database_url)
    init_db(engine)
    if engine.dialect.name == "postgresql":  # other API processes and the settlement workers send from these keys
        chain.share_nonce_locks(partial(nonce_lock, lock_engine(engine)))

    app = FastAPI(
        title="CoopRide",
        version="0.1.0",
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        dependencies=[Depends(read_requests_read_only), Depends(require_encodable_text)],
    )
    app.state.settings = settings
    app.state.chain = chain
    app.state.engine = engine
    app.state.region_map = region_map or DEFAULT_REGION_MAP

    for module in (auth, members, rides, trips, regions, governance, health):
        app.include_router(module.router, responses=ERROR_RESPONSES)
    install_error_handlers(app)
    mount_web(app)  # the web app at / (coopride.web); the API's paths are unchanged
    if engine.dialect.name == "sqlite":
        app.add_middleware(SQLiteWriteGate)
    metrics.install(app)  # outermost: its latencies include the wait at the gate
    return app
