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
`member`, `mint_fare_tokens`, `admissions_wallet`, `direct_admission`; helpers `admit_directly`, `settle_solo_bootstrap_trips`.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from fastapi.testclient import TestClient
from postgresql_cluster import PostgresCluster

from coopride.api.main import create_app
from coopride.chain.client import ChainClient
from coopride.chain.eip712 import (
    ZERO_ADDRESS,
    TripReceipt,
    application_typed_data,
    permit_typed_data,
    receipt_typed_data,
    sign_attestation,
    sign_typed_data,
    signed_receipt_tuple,
    split_signature,
)
from coopride.chain.manifest import load_manifest
from coopride.config import ANVIL_DEV_ADMISSIONS_KEY, ANVIL_DEV_ATTESTER_KEY, Settings
from coopride.db import init_db, make_engine


@dataclass(frozen=True)
class Deployment:
    manifest_path: Path
    rpc_url: str
    settler_key: str


def _wind_chain_clock_to_wall_time() -> None:
    """Brownie's snapshot reverts (earlier test modules) wind anvil's clock back, while the API stamps
    traces with wall-clock time; a chain behind the wall clock would hold every fresh trip back. The lag is read
    from a block mined now: the latest block is old on a chain that nothing used for a while (a worker's chain
    during chain-free test files) although its clock is not, and winding by that age put the chain ahead of the
    wall clock, so `switched_region` (tests/backend/api) waited as long for the wall clock to catch up."""
    from brownie import chain, web3

    chain.mine()
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


def _keyed_wallet(label: str):
    """A deterministic eth_account wallet (its key never holds value off this test chain)."""
    return Account.from_key(keccak(text=f"coopride-backend-test-{label}"))


def admit_directly(manifest, account, region_id: int, mint) -> None:
    """Admits `account` (an eth_account wallet) without the API, as the contract tests do: mints the capital
    share, signs the Application and the permit, and the admissions account (anvil #2) relays both."""
    from brownie import accounts

    membership = _brownie_contract(manifest, "Membership")
    token = _brownie_contract(manifest, "FareToken")
    share = membership.capitalShare()
    deadline = int(time.time()) + 10 * 86_400
    admissions = accounts.at(membership.admissions(), force=True)
    if share:
        mint(account.address, share)
        permit = permit_typed_data(manifest.domains["fareToken"], account.address, manifest.address("RideLedger"),
                                   share, token.nonces(account.address), deadline)
        v, r, s = split_signature(sign_typed_data(account.key, permit))
        token.permit(account.address, manifest.address("RideLedger"), share, deadline, v, r, s, {"from": admissions})
    application = application_typed_data(manifest.domains["membership"], account.address, region_id, share,
                                         membership.nonces(account.address), deadline)
    membership.admit(account.address, region_id, share, deadline, sign_typed_data(account.key, application),
                     {"from": admissions})


def settle_solo_bootstrap_trips(manifest, settler_key: str, drivers, region_id: int, distance: int = 3_000) -> None:
    """Each driver (eth_account wallets, members of `region_id`) signs a solo receipt of a drive that just ended;
    the attester (anvil #3, the local deployment's) attests the batch and the settler settles it."""
    from brownie import accounts, web3

    ledger = _brownie_contract(manifest, "RideLedger")
    domain = manifest.domains["receipt"]
    end = web3.eth.get_block("latest")["timestamp"] - 1
    first_id = int.from_bytes(keccak(text=f"solo-{region_id}-{end}")[:6], "big")
    receipts, signed = [], []
    for i, driver in enumerate(drivers):
        receipt = TripReceipt(tripId=first_id + i, driver=driver.address, rider=ZERO_ADDRESS, regionId=region_id,
                              distanceMetres=distance, fare=0, startTime=end - 600, endTime=end,
                              traceHash=keccak(text=f"solo trace {first_id + i}"))
        receipts.append(receipt)
        signed.append(signed_receipt_tuple(receipt, sign_typed_data(driver.key, receipt_typed_data(domain, receipt)),
                                           None))
    batch_id = keccak(text=f"bootstrap batch {first_id}")
    r, vs = sign_attestation(ANVIL_DEV_ATTESTER_KEY, domain, batch_id, receipts)
    tx = ledger.settle(batch_id, signed, r, vs, {"from": accounts.add(settler_key)})
    settled = {e["tripId"] for e in tx.events["TripSettled"]} if "TripSettled" in tx.events else set()
    assert settled == {r.tripId for r in receipts}, tx.events


@pytest.fixture(scope="module")
def direct_admission(manifest, mint_fare_tokens):
    """`direct_admission(account, region_id)`: admits an eth_account wallet on chain without the API
    (`admit_directly`)."""
    return lambda account, region_id: admit_directly(manifest, account, region_id, mint_fare_tokens)


@pytest.fixture(scope="module")
def operating_region(manifest, deployment, mint_fare_tokens) -> int:
    """The first genesis region (Lyon 3e), switched to Operating the v2 way: `criticalMass` drivers are admitted,
    each drives a solo bootstrap trip that settles with the attester's attestation, and anyone then calls
    `activateRegion(regionId, sortedActiveDrivers)`. A second passes afterwards, so that trips ending from now on
    settle under the Operating phase."""
    from brownie import accounts, chain

    region_id = manifest.regions[0].id
    ledger = _brownie_contract(manifest, "RideLedger")
    critical_mass = ledger.region(region_id)[1]
    drivers = [_keyed_wallet(f"bootstrap-driver-{region_id}-{i}") for i in range(critical_mass)]
    for driver in drivers:
        admit_directly(manifest, driver, region_id, mint_fare_tokens)
    chain.sleep(1)
    chain.mine()
    settle_solo_bootstrap_trips(manifest, deployment.settler_key, drivers, region_id)
    ordered = sorted((d.address for d in drivers), key=lambda a: int(a, 16))
    ledger.activateRegion(region_id, ordered, {"from": accounts[0]})
    chain.sleep(2)
    chain.mine()
    assert ledger.region(region_id)[3]
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
    minter: Callable[[str, int], None] | None = None

    @property
    def address(self) -> str:
        return self.account.address

    def sign_typed(self, typed_data: dict) -> str:
        return "0x" + sign_typed_data(self.account.key, typed_data).hex()

    def sign_message(self, text: str) -> str:
        return "0x" + bytes(self.account.sign_message(encode_defunct(text=text)).signature).hex()

    def sign_in(self) -> Wallet:
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

    def mint(self, amount: int) -> Wallet:
        """Mints `amount` test fare tokens to this wallet (the test token lets anyone mint)."""
        assert self.minter is not None, "this wallet has no minter"
        self.minter(self.address, amount)
        return self

    def application(self, region_id: int) -> dict:
        """`GET /members/application/typed-data`: the Application and permit to sign, and the capital share."""
        response = self.get("/members/application/typed-data", params={"region_id": region_id})
        assert response.status_code == 200, response.text
        return response.json()

    def apply(self, region_id: int, data: dict | None = None, /, **overrides):
        """Signs the typed data (`data`, default fresh) and posts the application; returns the response."""
        data = data or self.application(region_id)
        typed, permit = data["typed_data"], data["permit_typed_data"]
        body = {"region_id": region_id, "max_capital_share": str(typed["message"]["maxCapitalShare"]),
                "deadline": typed["message"]["deadline"], "signature": self.sign_typed(typed),
                "permit_signature": self.sign_typed(permit), **overrides}
        return self.post("/members/applications", json=body)

    def join(self, region_id: int) -> Wallet:
        """Joins `region_id` the one way there is: mints the capital share, applies through the API with a signed
        Application and permit, and is admitted at once (auto-admit on the local chain). The wallet holds no ether."""
        data = self.application(region_id)
        if int(data["capital_share"]):
            self.mint(int(data["capital_share"]))
        applied = self.apply(region_id, data)
        assert applied.status_code == 201, applied.text
        assert applied.json()["status"] == "admitted", applied.json()
        return self


@pytest.fixture
def wallet(client, mint_fare_tokens):
    """`wallet()` -> a fresh wallet signed in through `/auth/nonce` + `/auth/login` (`wallet(account)`: that
    eth_account wallet). `.mint(amount)` gives it test fare tokens."""
    return lambda account=None: Wallet(account or Account.create(), client, minter=mint_fare_tokens).sign_in()


@pytest.fixture
def member(wallet):
    """`member(region_id)` -> a fresh signed-in wallet admitted to `region_id` through the application API."""
    return lambda region_id: wallet().join(region_id)


@pytest.fixture
def admissions_wallet(client, mint_fare_tokens):
    """The admissions role (anvil dev account #2 on the local deployment), signed in through the API."""
    return Wallet(Account.from_key(ANVIL_DEV_ADMISSIONS_KEY), client, minter=mint_fare_tokens).sign_in()
