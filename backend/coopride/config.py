"""Every setting of CoopRide, in one object; the only module that reads the environment.

Which value wins: a command-line flag, then the environment variable, then the default.
(A plain pydantic model: pydantic-settings cannot install beside Brownie.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

REPO_ROOT = Path(__file__).resolve().parents[2]
# Where `coopride run` keeps its databases, manifests and logs.
DEFAULT_STATE_DIR = REPO_ROOT / ".coopride"
# Where `brownie run scripts/deploy.py` writes the manifest of a deployment on anvil.
DEFAULT_MANIFEST_PATH = REPO_ROOT / "deployments" / "31337" / "manifest.json"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_STATE_DIR / 'coopride.db'}"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_ANVIL_PORT = 8545
DEFAULT_API_PORT = 8000
DEFAULT_RPC_URL = f"http://{DEFAULT_HOST}:{DEFAULT_ANVIL_PORT}"
ANVIL_CHAIN_ID = 31337
# Where py-solc-x finds the solc bridge `make setup` links (scripts/deploy.py compiles with it).
DEFAULT_SOLCX_BINARY_PATH = REPO_ROOT / ".venv" / "solcx"

# Anvil's well-known development accounts. They only ever hold value on a local chain.
ANVIL_DEV_DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # account #0
ANVIL_DEV_SETTLER_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"  # account #1
# scripts/deploy.py gives the local chain's admissions and attester roles to anvil's accounts #2 and #3.
ANVIL_DEV_ADMISSIONS_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"  # account #2
ANVIL_DEV_ATTESTER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"  # account #3
# Chain ids of a local development chain (anvil, ganache): the only chains where the dev keys above are defaults.
LOCAL_CHAIN_IDS = frozenset({ANVIL_CHAIN_ID, 1337})

# Each setting's environment variable.
ENVIRONMENT_VARIABLES = {
    "DATABASE_URL": "database_url",
    "COOPRIDE_RPC_URL": "rpc_url",
    "COOPRIDE_MANIFEST": "manifest_path",
    "COOPRIDE_SETTLER_KEY": "settler_key",
    "COOPRIDE_DEPLOYER_KEY": "deployer_key",
    "COOPRIDE_ADMISSIONS_KEY": "admissions_key",
    "COOPRIDE_ATTESTER_KEY": "attester_key",
    "COOPRIDE_MEDIATOR_KEY": "mediator_key",
    "COOPRIDE_AUTO_ADMIT": "auto_admit",
    "COOPRIDE_STATE_DIR": "state_dir",
    "COOPRIDE_HOST": "host",
    "COOPRIDE_ANVIL_PORT": "anvil_port",
    "COOPRIDE_API_PORT": "api_port",
    "COOPRIDE_PUBLIC_ORIGIN": "public_origin",
    "COOPRIDE_TILE_URL": "tile_url",
    "COOPRIDE_TILE_ATTRIBUTION": "tile_attribution",
    "COOPRIDE_API_WORKERS": "api_workers",
    "COOPRIDE_METRICS_DIR": "metrics_dir",
    "COOPRIDE_NONCE_TTL_SECONDS": "nonce_ttl_seconds",
    "COOPRIDE_SESSION_TTL_SECONDS": "session_ttl_seconds",
    "COOPRIDE_SIGNATURE_DEADLINE_SECONDS": "signature_deadline_seconds",
    "COOPRIDE_SETTLEMENT_BATCH_SIZE": "settlement_batch_size",
    "COOPRIDE_SETTLEMENT_WORKERS": "settlement_workers",
    "COOPRIDE_SETTLEMENT_MAX_AGE_SECONDS": "settlement_max_age_seconds",
    "COOPRIDE_SETTLEMENT_POLL_SECONDS": "settlement_poll_seconds",
    "COOPRIDE_SETTLEMENT_BUMP_AFTER_SECONDS": "settlement_bump_after_seconds",
    "COOPRIDE_SETTLEMENT_MAX_FEE_GWEI": "settlement_max_fee_gwei",
}


class MissingRoleKey(ValueError):
    """A role key the chain in use needs is not configured (an operator error)."""


class Settings(BaseModel):
    """The chain, key, manifest and database default to a service started by hand beside a local chain.
    `coopride run` and the operator commands find what was left unconfigured from the chain they reach
    (`chain_rpc_url`, `for_chain`): one manifest and one SQLite database per chain, in `state_dir`."""

    database_url: str = DEFAULT_DATABASE_URL
    rpc_url: str = DEFAULT_RPC_URL
    manifest_path: Path = DEFAULT_MANIFEST_PATH
    settler_key: str = ANVIL_DEV_SETTLER_KEY
    # Deploys the contracts when `coopride run` finds no deployment; None on anvil: its unlocked account #0.
    deployer_key: str | None = None
    # The admissions role's key (admits applicants) and the attester's key (signs each settlement batch's
    # attestation). None: anvil's dev accounts #2 and #3 on a local chain; required on any other chain.
    admissions_key: str | None = None
    attester_key: str | None = None
    # A mediator's key for `coopride decide` (a member holding MEDIATOR_ROLE); the API never uses it.
    mediator_key: str | None = None
    # Admit each valid application in the request that submits it. None: on a local chain only.
    auto_admit: bool | None = None

    # Where `coopride run` serves (anvil, unless `rpc_url` names a node; the API) and keeps its state.
    state_dir: Path = DEFAULT_STATE_DIR
    host: str = DEFAULT_HOST
    anvil_port: int = DEFAULT_ANVIL_PORT
    api_port: int = DEFAULT_API_PORT
    # API processes `coopride run` starts (uvicorn workers). More than one needs PostgreSQL (DATABASE_URL=
    # postgresql+psycopg://..., or `coopride run --postgres`); the settlement worker then runs in a process of its own.
    api_workers: int = Field(default=1, ge=1, le=64)
    # Where several API processes leave their metrics for each other (`coopride.api.metrics`); None: one process.
    metrics_dir: Path | None = None

    # The origin users reach the API at (`scheme://host[:port]`, as a browser's address bar shows it): the domain
    # and URI of every sign-in message (EIP-4361), which a wallet compares with the page asking for the signature.
    # None: the address the API listens on, `http://host:api_port`.
    public_origin: str | None = None

    # The web app's map tiles (e.g. https://tile.example.org/{z}/{x}/{y}.png) and their attribution; None: the maps
    # draw regions, routes and traces on a plain background (nothing is fetched from elsewhere).
    tile_url: str | None = None
    tile_attribution: str = ""

    # Sign-in (EIP-4361): the statement the message carries, and how long its nonce and the session live.
    sign_in_statement: str = "Sign in to CoopRide. This costs nothing and moves no funds."
    nonce_ttl_seconds: int = 300
    session_ttl_seconds: int = 12 * 3600

    # How long the typed data the backend builds for join, permit and ballot signatures stays valid.
    signature_deadline_seconds: int = 3600

    # Settlement worker: post a batch once it holds this many trips, or its oldest trip waited this long. The wait
    # is short (issue 12: last signature to settled on chain within 5 s at p99): a lone trip goes out alone after
    # it; under load batches fill up before it (and while the previous batch is being mined).
    settlement_batch_size: int = 50
    # Settlement worker processes `coopride run` starts beside the API processes (PostgreSQL only: they claim trips
    # and batches through the database, `coopride.settlement.worker`); 1 with SQLite (embedded in the API process).
    settlement_workers: int = Field(default=1, ge=1, le=16)
    settlement_max_age_seconds: float = Field(default=2.0, ge=0)
    # Seconds between two passes of the worker when nothing was due.
    settlement_poll_seconds: float = Field(default=0.25, gt=0)
    # A batch still unmined this long after it was signed is signed again with 12.5% higher fees (same nonce).
    settlement_bump_after_seconds: int = 180
    # ... but never past this max fee per gas: a batch at the ceiling waits for the chain's fees to fall.
    settlement_max_fee_gwei: float = Field(default=500.0, gt=0)

    @field_validator("public_origin")
    @classmethod
    def _an_origin(cls, value: str | None) -> str | None:
        return None if value is None else normalised_origin(value)

    @property
    def origin(self) -> str:
        """The origin the API is served from: `public_origin`, else the listening address `http://host:api_port`."""
        if self.public_origin is not None:
            return normalised_origin(self.public_origin)  # again: `model_copy` does not validate
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 address
        return normalised_origin(f"http://{host}:{self.api_port}")

    @property
    def sign_in_domain(self) -> str:
        """The EIP-4361 `domain`: the origin's authority, `host[:port]` (a default port left out)."""
        return self.origin.split("://", 1)[1]

    @property
    def sign_in_uri(self) -> str:
        """The EIP-4361 `URI`: the origin itself."""
        return self.origin

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **flags: Any) -> Settings:
        """Settings from `environ` (default: this process's environment), overridden by `flags`, the command
        line's values (None: not given). An empty variable counts as unset."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {field: env[var] for var, field in ENVIRONMENT_VARIABLES.items() if env.get(var)}
        values.update({name: value for name, value in flags.items() if value is not None})
        return cls(**values)

    def configured(self, name: str) -> bool:
        """True when a flag, the environment or the caller set `name`; False when it holds its default."""
        return name in self.model_fields_set

    @property
    def local_chain(self) -> bool:
        """No node is named (COOPRIDE_RPC_URL): `coopride run` starts anvil on `host:anvil_port`."""
        return not self.configured("rpc_url")

    @property
    def chain_rpc_url(self) -> str:
        """The node `coopride run` and the operator commands talk to: `rpc_url`, else the local anvil."""
        return f"http://{self.host}:{self.anvil_port}" if self.local_chain else self.rpc_url

    def for_chain(self, chain_id: int) -> Settings:
        """These settings on chain `chain_id`, reached at `chain_rpc_url`: unless configured, the manifest is
        `state_dir/deployments/<chain id>/manifest.json` and the database `state_dir/coopride-<chain id>.db`."""
        update: dict[str, Any] = {"rpc_url": self.chain_rpc_url}
        if not self.configured("manifest_path"):
            update["manifest_path"] = Path(self.state_dir) / "deployments" / str(chain_id) / "manifest.json"
        if not self.configured("database_url"):
            update["database_url"] = f"sqlite:///{Path(self.state_dir).resolve() / f'coopride-{chain_id}.db'}"
        return self.model_copy(update=update)

    @property
    def uses_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    # --------------------------------------------------------- role keys per chain
    @staticmethod
    def is_local_chain_id(chain_id: int) -> bool:
        return chain_id in LOCAL_CHAIN_IDS

    def admissions_key_for(self, chain_id: int) -> str | None:
        """The admissions key on chain `chain_id`: the setting, else anvil's account #2 on a local chain, else None."""
        if self.admissions_key:
            return self.admissions_key
        return ANVIL_DEV_ADMISSIONS_KEY if self.is_local_chain_id(chain_id) else None

    def attester_key_for(self, chain_id: int) -> str | None:
        """The attester key on chain `chain_id`: the setting, else anvil's account #3 on a local chain, else None."""
        if self.attester_key:
            return self.attester_key
        return ANVIL_DEV_ATTESTER_KEY if self.is_local_chain_id(chain_id) else None

    def auto_admit_for(self, chain_id: int) -> bool:
        """Whether applications are admitted as they arrive: the setting, else only on a local chain."""
        return self.auto_admit if self.auto_admit is not None else self.is_local_chain_id(chain_id)

    def require_role_keys(self, chain_id: int) -> None:
        """Raises `MissingRoleKey` naming each role key chain `chain_id` needs and the settings lack."""
        missing = [
            variable
            for variable, key in (
                ("COOPRIDE_ADMISSIONS_KEY", self.admissions_key_for(chain_id)),
                ("COOPRIDE_ATTESTER_KEY", self.attester_key_for(chain_id)),
            )
            if not key
        ]
        if missing:
            raise MissingRoleKey(
                f"chain {chain_id} is not a local chain: set {' and '.join(missing)} "
                "(the admissions key admits applicants; the attester key signs every settlement batch)"
            )

    def to_env(self) -> dict[str, str]:
        """The environment that gives these settings back through `from_env` (for the API process `coopride run`
        starts). The deployer and mediator keys stay out: the API never uses them."""
        return {
            variable: _env_value(getattr(self, field))
            for variable, field in ENVIRONMENT_VARIABLES.items()
            if getattr(self, field) is not None and field not in ("deployer_key", "mediator_key")
        }


DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised_origin(value: str) -> str:
    """`value` as a browser serialises an origin: `scheme://host[:port]`, scheme and host in lower case, a
    default port left out, no path. Raises `ValueError` for anything that is not an http(s) origin."""
    parsed = urlsplit(value.strip())
    scheme = parsed.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parsed.hostname:
        raise ValueError(f"an origin is http(s)://host[:port], got {value!r}")
    if parsed.username or parsed.password or parsed.path not in ("", "/") or parsed.query or parsed.fragment:
        raise ValueError(f"an origin has no user, path, query or fragment, got {value!r}")
    try:
        port = parsed.port
    except ValueError:
        raise ValueError(f"an origin's port is 0-65535, got {value!r}") from None
    host = parsed.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + ("" if port is None or port == DEFAULT_PORTS[scheme] else f":{port}")


def _env_value(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


@lru_cache
def get_settings() -> Settings:
    return Settings.from_env()
