"""Settings from the environment (a plain pydantic model: pydantic-settings cannot install beside Brownie)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, Field

REPO_ROOT = Path(__file__).resolve().parents[2]

# Anvil's well-known development account #1. It only ever holds value on a local chain.
ANVIL_DEV_SETTLER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"


class Settings(BaseModel):
    database_url: str = Field(default_factory=lambda: f"sqlite:///{REPO_ROOT / '.coopride' / 'coopride.db'}")
    rpc_url: str = "http://127.0.0.1:8545"
    manifest_path: Path = Field(default_factory=lambda: REPO_ROOT / "deployments" / "31337" / "manifest.json")
    settler_key: str = ANVIL_DEV_SETTLER_KEY

    # Sign-in (EIP-4361): what the message names, and how long its nonce and the session live.
    sign_in_domain: str = "coopride.local"
    sign_in_uri: str = "http://coopride.local"
    sign_in_statement: str = "Sign in to CoopRide. This costs nothing and moves no funds."
    nonce_ttl_seconds: int = 300
    session_ttl_seconds: int = 12 * 3600

    # How long the typed data the backend builds for join, permit and ballot signatures stays valid.
    signature_deadline_seconds: int = 3600

    # Settlement worker: post a batch once it holds this many trips, or its oldest trip waited this long.
    settlement_batch_size: int = 50
    settlement_max_age_seconds: int = 60
    # A batch still unmined this long after it was signed is signed again with 12.5% higher fees (same nonce).
    settlement_bump_after_seconds: int = 180
    # ... but never past this max fee per gas: a batch at the ceiling waits for the chain's fees to fall.
    settlement_max_fee_gwei: float = 500.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        names = {
            "DATABASE_URL": "database_url",
            "COOPRIDE_RPC_URL": "rpc_url",
            "COOPRIDE_MANIFEST": "manifest_path",
            "COOPRIDE_SETTLER_KEY": "settler_key",
            "COOPRIDE_SIGN_IN_DOMAIN": "sign_in_domain",
            "COOPRIDE_SIGN_IN_URI": "sign_in_uri",
            "COOPRIDE_NONCE_TTL_SECONDS": "nonce_ttl_seconds",
            "COOPRIDE_SESSION_TTL_SECONDS": "session_ttl_seconds",
            "COOPRIDE_SIGNATURE_DEADLINE_SECONDS": "signature_deadline_seconds",
            "COOPRIDE_SETTLEMENT_BATCH_SIZE": "settlement_batch_size",
            "COOPRIDE_SETTLEMENT_MAX_AGE_SECONDS": "settlement_max_age_seconds",
            "COOPRIDE_SETTLEMENT_BUMP_AFTER_SECONDS": "settlement_bump_after_seconds",
            "COOPRIDE_SETTLEMENT_MAX_FEE_GWEI": "settlement_max_fee_gwei",
        }
        return cls(**{field: env[var] for var, field in names.items() if env.get(var)})


@lru_cache
def get_settings() -> Settings:
    return Settings.from_env()
