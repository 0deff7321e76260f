"""Settlement fixtures on top of tests/backend/conftest.py (deployment, manifest, chain_client,
operating_region, bootstrap_region, database_url): a fresh database per test, members with known keys, and helpers
that queue co-signed trips.

Every test runs inside brownie's `fn_isolation` snapshot, so chain state (balances, the settled
bitmap, the settler's nonce) starts the same for each test while the deployment is paid for once.
"""

from __future__ import annotations

import pytest
from settlement_helpers import admit, store_signed_trip, verified_metres
from sqlmodel import Session, select

from coopride.db import make_engine
from coopride.models import Trip
from coopride.settlement.worker import SettlementWorker


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    pass


def _member(accounts, funder):
    local = accounts.add()
    funder.transfer(local, "1 ether")
    return local


@pytest.fixture(scope="module")
def members(accounts, manifest, operating_region):
    """Two drivers and two riders (keys known), admitted to the operating region."""
    from brownie import chain

    people = [_member(accounts, accounts[0]) for _ in range(4)]
    for person in people:
        admit(manifest, person, operating_region)
    # Trips the tests store end a minute before the chain's time: after the region's switch to Operating.
    chain.sleep(120)
    chain.mine()
    return {"drivers": people[:2], "riders": people[2:]}


@pytest.fixture(scope="module")
def fund_rider(manifest):
    from brownie import Contract

    token = Contract.from_abi("FareToken", manifest.address("FareToken"), manifest.contract("FareToken").abi)
    ledger = Contract.from_abi("RideLedger", manifest.address("RideLedger"), manifest.contract("RideLedger").abi)

    def fund(rider, amount: int) -> None:
        token.mint(rider, amount, {"from": rider})
        token.approve(ledger.address, amount, {"from": rider})
        ledger.deposit(amount, {"from": rider})

    return fund


@pytest.fixture
def engine(database_url):
    """A fresh database for this test, at the newest migration."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_worker(engine, chain_client):
    def build(**options) -> SettlementWorker:
        options.setdefault("batch_size", 100)
        options.setdefault("max_age_seconds", 0)
        options.setdefault("receipt_timeout", 5)
        return SettlementWorker(engine, chain_client, **options)

    return build


@pytest.fixture(scope="module")
def paid_trip(chain_client, operating_region) -> tuple[int, int]:
    """(fare, fee) of a default-length trip in the operating region, from the chain's own parameters."""
    fare = verified_metres() * chain_client.region(operating_region).fare_per_km // 1000
    return fare, fare * chain_client.parameters().fee_bps // 10_000


@pytest.fixture
def queue_trip(engine, chain_client):
    """`queue_trip(driver, rider=None, *, region_id, ...)`: a driver-signed trip (booked and confirmed by its rider
    unless told otherwise) in this test's database."""

    def queue(*args, **kwargs) -> int:
        return store_signed_trip(engine, chain_client, *args, **kwargs)

    return queue


@pytest.fixture
def trips_in_db(engine):
    def load(*ids: int) -> dict[int, Trip]:
        with Session(engine) as session:
            query = select(Trip)
            if ids:
                query = query.where(Trip.id.in_(ids))
            return {t.id: t for t in session.exec(query).all()}

    return load



@pytest.fixture(scope="module")
def mediator(accounts, manifest, operating_region):
    """A member of the operating region holding MEDIATOR_ROLE (granted by the Timelock, the ledger's admin)."""
    from brownie import Contract

    ledger = Contract.from_abi("RideLedger", manifest.address("RideLedger"), manifest.contract("RideLedger").abi)
    person = _member(accounts, accounts[0])
    admit(manifest, person, operating_region)
    timelock = accounts.at(manifest.address("TimelockController"), force=True)
    ledger.grantRole(ledger.MEDIATOR_ROLE(), person, {"from": timelock})
    return person
