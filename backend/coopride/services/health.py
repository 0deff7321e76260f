"""Is the service up: does the database answer, and the chain node? Which chain and tokens it speaks for."""

from __future__ import annotations

import threading

from eth_utils import to_checksum_address
from sqlalchemy import text
from sqlmodel import Session
from web3.contract import Contract

from coopride.chain.client import ChainClient
from coopride.chain.errors import ChainUnavailable
from coopride.schemas.health import ChainInfo, Health, TokenInfo

# A token's symbol and decimals never change: read once per chain and address.
_tokens: dict[tuple[int, str], TokenInfo] = {}
_tokens_lock = threading.Lock()


def check(session: Session, chain: ChainClient) -> Health:
    try:
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
        database = True
    except Exception:  # any failure of the database counts as down
        database = False
    try:
        block_number: int | None = chain.block_number()
    except ChainUnavailable:
        block_number = None
    return Health(database=database, chain=block_number is not None, block_number=block_number)


def token_info(chain: ChainClient, token: Contract) -> TokenInfo:
    """The token's address, symbol and decimals (read from the chain once, then remembered)."""
    key = (chain.chain_id, token.address)
    with _tokens_lock:
        known = _tokens.get(key)
    if known is None:
        known = TokenInfo(
            address=to_checksum_address(token.address),
            symbol=str(token.functions.symbol().call()),
            decimals=int(token.functions.decimals().call()),
        )
        with _tokens_lock:
            _tokens[key] = known
    return known


def chain_info(chain: ChainClient) -> ChainInfo:
    """The chain id, its latest block, the fare and share tokens and every contract (raises `ChainUnavailable`)."""
    return ChainInfo(
        chain_id=chain.chain_id,
        block_number=chain.block_number(),
        fare_token=token_info(chain, chain.fare_token),
        share_token=token_info(chain, chain.share),
        contracts={
            name: to_checksum_address(chain.manifest.address(name)) for name in sorted(chain.manifest.contracts)
        },
    )
