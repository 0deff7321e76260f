"""Is the service up, and which chain and tokens it speaks for (so that amounts can be shown)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Health(BaseModel):
    database: bool = Field(description="the database answered")
    chain: bool = Field(description="the chain node answered")
    block_number: int | None = Field(default=None, description="the node's latest block number; null when it is down")


class TokenInfo(BaseModel):
    """An ERC-20 token the API counts amounts in. Every amount of it in the API is an integer number of base
    units written as a decimal string; one whole token is `10 ** decimals` base units ("2500000" with 6 decimals
    shows as 2.5)."""

    address: str = Field(description="the token contract, checksummed")
    symbol: str = Field(description="the token's ERC-20 symbol")
    decimals: int = Field(description="base units per whole token, as a power of ten")


class ChainInfo(BaseModel):
    """The chain and the contracts this API speaks for, read from its deployment manifest and the chain."""

    chain_id: int = Field(description="EIP-155 chain id (the `chainId` of every EIP-712 domain)")
    block_number: int = Field(description="the node's latest block number")
    fare_token: TokenInfo = Field(
        description="fares, deposits, escrow, earnings, fees, treasury, capital shares and awards"
    )
    share_token: TokenInfo = Field(description="CoopShare: co-op shares earned per verified kilometre, rewards")
    contracts: dict[str, str] = Field(description="every deployed contract's address, checksummed, by name")
