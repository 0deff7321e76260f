"""`/app/...`: what the web pages need beside the API.

- `GET /app/config.json`: chain id, local-chain flag, tile server, contract addresses, the fare token's
  symbol and decimals, the admissions role's address, and the region outlines from the region map
  (`coopride.domain.regions`);
- `GET /app/wallet/{address}`: public chain facts about a wallet (fare tokens held, membership, mediator role);
- `POST /app/faucet {address}`: on the local chain only, mints 100 test tEUR (TestFareToken) to an address
  from anvil's development account #0 (the deployer); refused (403) on any other chain.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any, cast
from urllib.parse import urlparse

from eth_account import Account
from fastapi import APIRouter, HTTPException, Path, Request, status
from pydantic import BaseModel
from web3 import Web3

from coopride.chain.client import TRANSIENT_ERRORS, ChainClient
from coopride.config import ANVIL_DEV_DEPLOYER_KEY, Settings
from coopride.schemas.types import Address, FareAmount

router = APIRouter(prefix="/app", tags=["web app"], include_in_schema=False)

LOCAL_CHAIN_IDS = frozenset({31337, 1337})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
FAUCET_WHOLE_TOKENS = 100
_faucet_lock = threading.Lock()


@dataclass(frozen=True)
class WebSettings:
    """The web app's part of `Settings`: COOPRIDE_TILE_URL (e.g. https://tile.example.org/{z}/{x}/{y}.png; none by
    default: the maps then draw on a plain background) and COOPRIDE_TILE_ATTRIBUTION."""

    tile_url: str | None = None
    tile_attribution: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> WebSettings:
        return cls(tile_url=settings.tile_url or None, tile_attribution=settings.tile_attribution)


def web_settings(request: Request) -> WebSettings:
    settings = getattr(request.app.state, "web_settings", None)
    if settings is None:
        settings = request.app.state.web_settings = WebSettings.from_settings(request.app.state.settings)
    return cast(WebSettings, settings)


def is_local_chain(chain_id: int, rpc_url: str) -> bool:
    """Anvil's or Hardhat's chain id on a node of this machine: only there do test tokens come for free."""
    return chain_id in LOCAL_CHAIN_IDS and urlparse(rpc_url).hostname in LOOPBACK_HOSTS


def _can_mint(chain: ChainClient) -> bool:
    abi = chain.manifest.contract("FareToken").abi
    return any(item.get("type") == "function" and item.get("name") == "mint" for item in abi)


def faucet_available(chain: ChainClient) -> bool:
    return is_local_chain(chain.chain_id, chain.rpc_url) and _can_mint(chain)


def token_info(request: Request) -> dict[str, Any] | None:
    """The fare token's symbol and decimals, read once from the chain (None while the node is unreachable)."""
    cached = getattr(request.app.state, "web_token", None)
    if cached is not None:
        return cast(dict[str, Any], cached)
    token = request.app.state.chain.fare_token
    try:
        info = {"symbol": token.functions.symbol().call(), "decimals": int(token.functions.decimals().call())}
    except TRANSIENT_ERRORS:
        return None
    request.app.state.web_token = info
    return info


def admissions_address(request: Request) -> str | None:
    """The admissions role's address (the home page shows it the applications to decide), read once."""
    cached = getattr(request.app.state, "web_admissions", None)
    if cached is not None:
        return cast(str, cached)
    try:
        address = request.app.state.chain.admissions_address()
    except TRANSIENT_ERRORS:
        return None
    request.app.state.web_admissions = address
    return cast(str, address)


def page_config(request: Request) -> dict[str, Any]:
    chain = request.app.state.chain
    settings = web_settings(request)
    return {
        "chainId": chain.chain_id,
        "local": faucet_available(chain),
        "tileUrl": settings.tile_url,
        "tileAttribution": settings.tile_attribution,
        "contracts": {name: contract.address for name, contract in chain.manifest.contracts.items()},
        "token": token_info(request),
        "admissions": admissions_address(request),
        "regions": [
            {
                "id": area.region_id,
                "name": area.name,
                "center": {"lat": area.center.lat, "lon": area.center.lon},
                "radius_m": area.radius_m,
            }
            for area in request.app.state.region_map.areas
        ],
    }


@router.get("/config.json")
def config(request: Request) -> dict[str, Any]:
    return page_config(request)


class WalletFacts(BaseModel):
    address: str
    fare_token_balance: FareAmount
    is_member: bool
    region_id: int | None
    capital_share_paid: FareAmount
    is_mediator: bool


@router.get("/wallet/{address}", response_model=WalletFacts)
def wallet(address: Annotated[Address, Path()], request: Request) -> WalletFacts:
    chain = request.app.state.chain
    member = chain.is_member(address)
    return WalletFacts(
        address=address,
        fare_token_balance=chain.fare_token_balance(address),
        is_member=member,
        region_id=chain.region_of(address) if member else None,
        capital_share_paid=chain.capital_paid(address) if member else 0,
        is_mediator=chain.is_mediator(address),
    )


class FaucetRequest(BaseModel):
    address: Address


class FaucetMint(BaseModel):
    address: str
    amount: FareAmount
    tx_hash: str
    block_number: int


@router.post("/faucet", response_model=FaucetMint, status_code=status.HTTP_201_CREATED)
def faucet(body: FaucetRequest, request: Request) -> FaucetMint:
    chain = request.app.state.chain
    if not faucet_available(chain):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "test tokens are only given on the local development chain; on this chain, buy fare tokens",
        )
    info = token_info(request)
    if info is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the chain node is unreachable")
    amount = FAUCET_WHOLE_TOKENS * 10 ** info["decimals"]
    deployer = Account.from_key(ANVIL_DEV_DEPLOYER_KEY)
    w3 = chain.w3
    with _faucet_lock:
        call = chain.fare_token.functions.mint(body.address, amount)
        transaction = call.build_transaction(
            {"from": deployer.address, "nonce": w3.eth.get_transaction_count(deployer.address, "pending")}
        )
        tx_hash = w3.eth.send_raw_transaction(deployer.sign_transaction(transaction).raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt["status"] != 1:
        raise HTTPException(status.HTTP_409_CONFLICT, "the chain refused to mint test tokens")
    return FaucetMint(
        address=body.address, amount=amount, tx_hash=Web3.to_hex(tx_hash), block_number=receipt["blockNumber"]
    )
