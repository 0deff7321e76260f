"""The deployment: wiring, genesis regions, manifest, and a deployer left with no power."""

import json

import brownie
import pytest
from contract_helpers import REGION_LYON, REGION_VILLEURBANNE, TEST_PARAMS


def test_genesis_regions_are_registered_in_bootstrap(coop):
    # farePerKm, criticalMass, members, operating, exists, phaseChangedAt, dailyRewardedKm
    lyon = coop.ledger.region(REGION_LYON)
    assert tuple(lyon) == (500_000, 5, len(coop.members), False, True, 0, 1_000)
    villeurbanne = coop.ledger.region(REGION_VILLEURBANNE)
    assert tuple(villeurbanne) == (450_000, 8, 0, False, True, 0, 1_000)


def test_contracts_are_wired_to_each_other(coop):
    assert coop.membership.observer() == coop.ledger
    assert coop.shares.minter() == coop.ledger
    assert coop.ledger.shares() == coop.shares
    assert coop.ledger.membership() == coop.membership
    assert coop.ledger.fareToken() == coop.fare_token
    assert coop.governor.timelock() == coop.timelock
    assert coop.governor.token() == coop.membership


def test_parameters_match_the_deployment_parameters(coop):
    ledger = coop.ledger
    assert ledger.feeBps() == TEST_PARAMS["feeBps"]
    assert ledger.bootstrapRewardPerKm() == TEST_PARAMS["bootstrapRewardPerKm"]
    assert ledger.operatingRewardPerKm() == TEST_PARAMS["operatingRewardPerKm"]
    assert ledger.halvingInterval() == TEST_PARAMS["halvingInterval"]
    assert ledger.dailyRewardedMetres() == TEST_PARAMS["dailyRewardedMetres"]
    assert coop.shares.cap() == TEST_PARAMS["shareCap"]
    assert coop.governor.votingDelay() == TEST_PARAMS["votingDelay"]
    assert coop.governor.votingPeriod() == TEST_PARAMS["votingPeriod"]
    assert coop.governor.quorumNumerator() == TEST_PARAMS["quorumPercent"]
    assert coop.timelock.getMinDelay() == TEST_PARAMS["timelockDelay"]
    assert coop.governor.CLOCK_MODE() == "mode=timestamp"


def test_deployer_keeps_no_power(coop):
    deployer = coop.deployer
    ledger, timelock = coop.ledger, coop.timelock
    for role in (ledger.DEFAULT_ADMIN_ROLE(), ledger.SETTLER_ROLE(), ledger.GUARDIAN_ROLE()):
        assert not ledger.hasRole(role, deployer)
    for role in (timelock.DEFAULT_ADMIN_ROLE(), timelock.PROPOSER_ROLE(), timelock.CANCELLER_ROLE()):
        assert not timelock.hasRole(role, deployer)
    assert coop.membership.owner() == timelock
    assert coop.shares.owner() == timelock
    assert ledger.hasRole(ledger.DEFAULT_ADMIN_ROLE(), timelock)


def test_timelock_is_its_own_admin_and_governor_proposes(coop):
    timelock = coop.timelock
    assert timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), timelock)
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), coop.governor)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), coop.governor)
    assert timelock.hasRole(timelock.EXECUTOR_ROLE(), "0x0000000000000000000000000000000000000000")


def test_deployer_cannot_change_anything(coop):
    deployer = coop.deployer
    with brownie.reverts():
        coop.ledger.setFeeBps(0, {"from": deployer})
    with brownie.reverts():
        coop.membership.setJoiningFee(1, {"from": deployer})
    with brownie.reverts():
        coop.shares.grant(deployer, 1, "self", {"from": deployer})


def test_settler_and_guardian_hold_their_roles(coop):
    assert coop.ledger.hasRole(coop.ledger.SETTLER_ROLE(), coop.settler)
    assert coop.ledger.hasRole(coop.ledger.GUARDIAN_ROLE(), coop.guardian)


def test_attester_is_a_key_of_its_own_and_the_settlement_windows_are_set(coop):
    ledger = coop.ledger
    assert ledger.hasRole(ledger.ATTESTER_ROLE(), coop.attester)
    assert not ledger.hasRole(ledger.ATTESTER_ROLE(), coop.settler)
    assert not ledger.hasRole(ledger.SETTLER_ROLE(), coop.attester)
    assert (ledger.disputeWindow(), ledger.maxReceiptAge(), ledger.maxTripSeconds()) == (60, 7 * 86_400, 6 * 3_600)
    roles = coop.manifest["roles"]
    assert roles["attester"] == coop.attester.address
    assert roles["mediators"] == []
    assert roles["ATTESTER_ROLE"] == str(ledger.ATTESTER_ROLE())
    assert coop.manifest["parameters"]["disputeWindow"] == 60
    assert coop.manifest["regions"][0]["dailyRewardedKm"] == 1_000


def test_a_public_chain_deployment_refuses_a_short_dispute_window_or_no_attester():
    from deploy import DEFAULT_PARAMS, DeploymentError, _settlement_roles

    with pytest.raises(DeploymentError, match="disputeWindow"):
        _settlement_roles({**DEFAULT_PARAMS, "attester": "0x" + "11" * 20}, chain_id=100)
    with pytest.raises(DeploymentError, match="attester"):
        _settlement_roles({**DEFAULT_PARAMS, "disputeWindow": 86_400}, chain_id=100)
    attester, mediators = _settlement_roles(
        {**DEFAULT_PARAMS, "disputeWindow": 86_400, "attester": "0x" + "11" * 20, "mediators": ["0x" + "22" * 20]},
        chain_id=100,
    )
    assert (attester, mediators) == ("0x" + "11" * 20, ["0x" + "22" * 20])


def test_manifest_describes_the_deployment(coop):
    manifest = coop.manifest
    assert manifest["chainId"] == 31337
    for name in ("RideLedger", "Membership", "CoopShare", "CoopGovernor", "TimelockController", "FareToken"):
        assert manifest["contracts"][name]["abi"], name
    assert manifest["contracts"]["RideLedger"]["address"] == coop.ledger.address
    assert manifest["eip712"]["receipt"] == {
        "name": "CoopRide", "version": "1", "chainId": 31337, "verifyingContract": coop.ledger.address,
    }
    assert manifest["eip712"]["membership"]["name"] == "CoopRide Membership"
    assert manifest["eip712"]["governor"]["name"] == "CoopGovernor"
    assert manifest["eip712"]["fareToken"]["verifyingContract"] == coop.fare_token.address
    assert manifest["roles"]["settler"] == coop.settler.address
    assert manifest["roles"]["timelock"] == coop.timelock.address
    assert manifest["parameters"]["feeBps"] == 1500
    assert [r["id"] for r in manifest["regions"]] == [1, 2]
    assert manifest["blockNumber"] > 0
    json.dumps(manifest)
