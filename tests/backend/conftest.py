"""Shared backend fixtures: the contracts deployed on this run's anvil, settings on a fresh database,
the FastAPI app and its TestClient, and wallets that sign in through the API.

Databases are SQLite (the embedded default). A test module that sets `DATABASES = ("sqlite", "postgresql")`
runs each of its tests on both: the PostgreSQL variant gets a fresh database on this run's private
PostgreSQL server (tests/backend/postgresql_cluster.py), started at the first test that needs it.

Brownie's `module_isolation` resets the chain at every module's start and end, so the deployment
is module-scoped (paid once per test module); use `fn_isolation` in a test package's conftest to
start every test from the same chain state. Stable fixture names: `deployment`, `manifest`,
`chain_client`, `operating_region`, `bootstrap_region`, `migrated_database`, `database_url`,
`empty_database_url`, `settings`, `app`, `client`, `wallet`,
`member`, `mint_fare_tokens`.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient
from postgresql_cluster import PostgresCluster

from coopride.api.main import create_app
from coopride.chain.client import ChainClient
from coopride.chain.eip712 import sign_typed_data
from coopride.chain.manifest import load_manifest
from coopride.config import Settings
from coopride.db import init_db, make_engine


@dataclass(frozen=True)
class Deployment:
    manifest_path: Path
    rpc_url: str
    settler_key: str


def _wind_chain_clock_to_wall_time() -> None:
    """Brownie's snapshot reverts (earlier test modules) wind anvil's clock back, while the API stamps
    traces with wall-clock time; a chain behind the wall clock would hold every fresh trip back."""
    from brownie import chain, web3

    lag = int(time.time()) - web3.eth.get_block("latest")["timestamp"]
    if lag > 0:
        chain.sleep(lag)
        chain.mine()


@pytest.fixture(scope="module")
def deployment(request, accounts, tmp_path_factory) -> Deployment:
    """The contracts, deployed by `scripts/deploy.py` with a fresh settler key. A test module may set
    `DEPLOY_PARAMS = {...}` to deploy with other parameters."""
    from scripts.deploy import deploy

    _wind_chain_clock_to_wall_time()
    settler = accounts.add()
    accounts[0].transfer(settler, "100 ether")
    manifest_path = tmp_path_factory.mktemp("deploy") / "manifest.json"
    deploy(accounts[0], settler, params=getattr(request.module, "DEPLOY_PARAMS", None), manifest_path=manifest_path)
    return Deployment(manifest_path, os.environ["COOPRIDE_TEST_RPC_URL"], settler.private_key)


@pytest.fixture(scope="module")
def manifest(deployment):
    return load_manifest(deployment.manifest_path)


@pytest.fixture(scope="module")
def chain_client(deployment, manifest) -> ChainClient:
    return ChainClient(deployment.rpc_url, manifest, deployment.settler_key, receipt_timeout=10)


def _brownie_contract(manifest, name: str):
    from brownie import Contract

    return Contract.from_abi(name, manifest.address(name), manifest.contract(name).abi)


@pytest.fixture(scope="module")
def operating_region(accounts, manifest) -> int:
    """The first genesis region (Lyon 3e), brought to critical mass by brownie accounts and switched to Operating."""
    region_id = manifest.regions[0].id
    membership = _brownie_contract(manifest, "Membership")
    ledger = _brownie_contract(manifest, "RideLedger")
    critical_mass = ledger.region(region_id)[1]
    for _ in range(critical_mass):
        person = accounts.add()
        accounts[0].transfer(person, "1 ether")
        membership.join(region_id, {"from": person})
    ledger.activateRegion(region_id, {"from": accounts[0]})
    return region_id


@pytest.fixture(scope="module")
def bootstrap_region(manifest) -> int:
    """The second genesis region (Villeurbanne), left in Bootstrap."""
    return manifest.regions[1].id


@pytest.fixture(scope="module")
def mint_fare_tokens(manifest, accounts):
    """Mints test fare tokens to any address (the test token lets anyone mint)."""
    token = _brownie_contract(manifest, "FareToken")

    def mint(address: str, amount: int) -> None:
        token.mint(address, amount, {"from": accounts[0]})

    return mint


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory) -> Path:
    """A SQLite file at the newest migration, made once; tests start from a copy (faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "coopride.db"
    engine = make_engine(f"sqlite:///{path}")
    init_db(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


def pytest_generate_tests(metafunc):
    databases = getattr(metafunc.module, "DATABASES", None)
    if databases and "database_kind" in metafunc.fixturenames:
        metafunc.parametrize("database_kind", databases)


@pytest.fixture
def database_kind() -> str:
    """Which database a test runs on; modules choose with `DATABASES` (see the module docstring)."""
    return "sqlite"


@pytest.fixture(scope="session")
def postgresql():
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgresql_template(postgresql) -> str:
    """The name of a database at the newest migration, which tests' databases are cloned from."""
    url = postgresql.create_database()
    engine = make_engine(url)
    init_db(engine)
    engine.dispose()  # a template must have no connections when it is copied
    return url.rsplit("/", 1)[1]


@pytest.fixture
def database_url(request, database_kind, tmp_path, migrated_database) -> str:
    """A fresh database at the newest migration, for this test alone."""
    if database_kind == "postgresql":
        return request.getfixturevalue("postgresql").create_database(template=request.getfixturevalue("postgresql_template"))
    database = tmp_path / "coopride.db"
    shutil.copyfile(migrated_database, database)
    return f"sqlite:///{database}"


@pytest.fixture
def empty_database_url(request, database_kind, tmp_path) -> str:
    """A fresh database with no schema at all."""
    if database_kind == "postgresql":
        return request.getfixturevalue("postgresql").create_database()
    return f"sqlite:///{tmp_path / 'empty.db'}"


@pytest.fixture
def settings(deployment, database_url) -> Settings:
    """Settings for this run's chain and a fresh database."""
    return Settings(
        database_url=database_url,
        rpc_url=deployment.rpc_url,
        manifest_path=deployment.manifest_path,
        settler_key=deployment.settler_key,
    )


@pytest.fixture
def app(settings, chain_client):
    app = create_app(settings, chain_client)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def client(app) -> TestClient:
    with TestClient(app) as client:
        yield client


@dataclass
class Wallet:
    """A fresh eth_account wallet, signed in through the API (`headers` carries its bearer token)."""

    account: object
    client: TestClient
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.account.address

    def sign_typed(self, typed_data: dict) -> str:
        return "0x" + sign_typed_data(self.account.key, typed_data).hex()

    def sign_message(self, text: str) -> str:
        return "0x" + bytes(self.account.sign_message(encode_defunct(text=text)).signature).hex()

    def sign_in(self) -> "Wallet":
        challenge = self.client.post("/auth/nonce", json={"address": self.address})
        assert challenge.status_code == 200, challenge.text
        message = challenge.json()["message"]
        login = self.client.post("/auth/login", json={"message": message, "signature": self.sign_message(message)})
        assert login.status_code == 200, login.text
        self.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        return self

    def get(self, url: str, **kwargs):
        return self.client.get(url, headers=self.headers, **kwargs)

    def post(self, url: str, **kwargs):
        return self.client.post(url, headers=self.headers, **kwargs)

    def join(self, region_id: int) -> "Wallet":
        """Joins `region_id` through the relay (the wallet holds no ether)."""
        typed = self.get("/members/join/typed-data", params={"region_id": region_id})
        assert typed.status_code == 200, typed.text
        data = typed.json()["typed_data"]
        joined = self.post("/members/join", json={"region_id": region_id, "deadline": data["message"]["deadline"],
                                                  "signature": self.sign_typed(data)})
        assert joined.status_code == 201, joined.text
        return self


@pytest.fixture
def wallet(client):
    """`wallet()` -> a fresh wallet signed in through `/auth/nonce` + `/auth/login`."""
    return lambda: Wallet(Account.create(), client).sign_in()


@pytest.fixture
def member(wallet):
    """`member(region_id)` -> a fresh signed-in wallet that joined `region_id` through the relay."""
    return lambda region_id: wallet().join(region_id)
