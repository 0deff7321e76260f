"""Shared fixtures for the contract tests: one deployment per test module (through scripts/deploy.py), members
with private keys, receipt signing, and a fast path through governance. Every test runs in a snapshot
(`fn_isolation`), so a test's transactions never leak into the next one.
"""

from __future__ import annotations

import pytest
from contract_helpers import (
    MEMBER_COUNT,
    REGION_LYON,
    TEST_PARAMS,
    Coop,
    Governance,
    Receipts,
    _deploy_coop,
    _enrol,
    keyed_account,
    mature,
)


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the module's deployment and leaves no trace."""


@pytest.fixture(scope="module")
def deploy_coop(tmp_path_factory):
    """Factory: a fresh deployment with `params` overriding TEST_PARAMS (for modules that need other settings)."""

    def factory(params: dict | None = None, regions=None, members: int = MEMBER_COUNT) -> Coop:
        coop = _deploy_coop({**TEST_PARAMS, **(params or {})}, regions, manifest_dir=tmp_path_factory.mktemp("deploy"))
        coop.members = _enrol(coop, [f"member-{i}" for i in range(members)])
        mature(coop)
        return coop

    return factory


@pytest.fixture(scope="module")
def coop(module_isolation, deploy_coop) -> Coop:
    """The module's deployment: TEST_PARAMS, the genesis regions, six mature members (they vote) in region 1
    (Lyon, bootstrap, critical mass 5), each admitted with a 10 tEUR capital share, with 890 tEUR in their wallets
    and 100 tEUR in escrow."""
    return deploy_coop()


@pytest.fixture(scope="module")
def members(coop) -> list:
    return coop.members


@pytest.fixture(scope="module")
def outsider(coop):
    """A funded account that never applied."""
    account = keyed_account("outsider")
    coop.fund(account)
    return account


@pytest.fixture
def operating(coop):
    """Region 1 switched to Operating (six members >= critical mass five)."""
    coop.activate(REGION_LYON)
    return coop


@pytest.fixture(scope="module")
def receipts(coop) -> Receipts:
    return Receipts(coop)


@pytest.fixture(scope="module")
def governance(coop) -> Governance:
    return Governance(coop)
