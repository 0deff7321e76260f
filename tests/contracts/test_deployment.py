"""The deployment: wiring, genesis regions, manifest, a deployer left with no power, the roles of the admissions
key and the guardian, and the governance windows the deploy script refuses off the local chain."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import brownie
import pytest
from contract_helpers import REGION_LYON, REGION_VILLEURBANNE, TEST_PARAMS
from deploy import (
    LOCAL_PARAMS,
    PRODUCTION_MINIMUMS,
    PRODUCTION_PARAMS,
    DeploymentError,
    base_params,
    validate_params,
)

ROOT = Path(__file__).resolve().parents[2]
DAY = 86_400
NOT_LOCAL = 424_242  # a chain id no network uses: to the deploy script, a chain that is not local
# anvil's dev account #0 (a well-known key): the deployer on the non-local test chain.
ANVIL_KEY_0 = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
SETTLER = "0x0000000000000000000000000000000000005e77"


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
    assert coop.governor.quorumFloor() == TEST_PARAMS["quorumFloor"]
    assert coop.governor.votingMaturity() == TEST_PARAMS["votingMaturity"]
    assert coop.timelock.getMinDelay() == TEST_PARAMS["timelockDelay"]
    assert coop.membership.capitalShare() == TEST_PARAMS["capitalShare"]
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
    assert coop.manifest["contracts"]["TimelockController"]["abi"] == timelock.abi  # a CoopTimelock
    assert timelock.GUARDIAN_ROLE() == coop.ledger.GUARDIAN_ROLE()
    assert timelock.hasRole(timelock.DEFAULT_ADMIN_ROLE(), timelock)
    assert timelock.hasRole(timelock.PROPOSER_ROLE(), coop.governor)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), coop.governor)
    assert timelock.hasRole(timelock.EXECUTOR_ROLE(), "0x0000000000000000000000000000000000000000")


def test_guardian_is_ledger_guardian_and_timelock_canceller_and_nothing_more(coop):
    timelock, ledger, guardian = coop.timelock, coop.ledger, coop.guardian
    assert ledger.hasRole(ledger.GUARDIAN_ROLE(), guardian)
    assert timelock.hasRole(timelock.CANCELLER_ROLE(), guardian)
    for role in (timelock.DEFAULT_ADMIN_ROLE(), timelock.PROPOSER_ROLE()):
        assert not timelock.hasRole(role, guardian)
    for role in (ledger.DEFAULT_ADMIN_ROLE(), ledger.SETTLER_ROLE()):
        assert not ledger.hasRole(role, guardian)
    assert coop.membership.admissions() != guardian


def test_local_chain_roles_are_anvils_dev_accounts(coop):
    assert coop.admissions == brownie.accounts[2]
    assert coop.guardian == brownie.accounts[4]
    assert coop.membership.admissions() == coop.admissions


def test_deployer_cannot_change_anything(coop):
    deployer = coop.deployer
    with brownie.reverts():
        coop.ledger.setFeeBps(0, {"from": deployer})
    for call in (
        lambda: coop.membership.setCapitalShare(1, {"from": deployer}),
        lambda: coop.membership.setAdmissions(deployer, {"from": deployer}),
        lambda: coop.governor.setVotingMaturity(1, {"from": deployer}),
        lambda: coop.shares.grant(deployer, 1, "self", {"from": deployer}),
    ):
        with brownie.reverts():
            call()
    with brownie.reverts(f"NotAdmissions: {deployer.address.lower()}"):
        coop.membership.admit(deployer, REGION_LYON, 0, 2**40, b"", {"from": deployer})


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
    from deploy import PRODUCTION_PARAMS, DeploymentError, validate_params

    production = {**PRODUCTION_PARAMS, "admissions": "0x" + "33" * 20, "attester": "0x" + "11" * 20}
    with pytest.raises(DeploymentError, match="disputeWindow"):
        validate_params({**production, "disputeWindow": 3_600}, chain_id=100)
    with pytest.raises(DeploymentError, match="attester"):
        validate_params({**production, "attester": None}, chain_id=100)
    validate_params(production, chain_id=100)


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
    assert manifest["roles"]["admissions"] == coop.admissions.address
    assert manifest["roles"]["guardian"] == coop.guardian.address
    assert manifest["roles"]["GUARDIAN_ROLE"] == str(coop.ledger.GUARDIAN_ROLE())
    assert manifest["roles"]["TIMELOCK_CANCELLER_ROLE"] == str(coop.timelock.CANCELLER_ROLE())
    assert manifest["parameters"]["feeBps"] == 1500
    for name in ("capitalShare", "votingDelay", "votingPeriod", "votingMaturity", "quorumPercent", "quorumFloor",
                 "timelockDelay"):
        assert manifest["parameters"][name] == TEST_PARAMS[name], name
    assert [r["id"] for r in manifest["regions"]] == [1, 2]
    assert manifest["blockNumber"] > 0
    json.dumps(manifest)


# ---------------------------------------------------------------- governance windows per chain


def test_production_defaults_meet_the_minimums_and_the_local_ones_do_not():
    for name, minimum in PRODUCTION_MINIMUMS.items():
        if name in PRODUCTION_PARAMS:
            assert PRODUCTION_PARAMS[name] >= minimum, name
    assert (PRODUCTION_PARAMS["votingDelay"], PRODUCTION_PARAMS["votingPeriod"], PRODUCTION_PARAMS["timelockDelay"]) == (
        DAY, 5 * DAY, 2 * DAY)
    assert (PRODUCTION_PARAMS["votingMaturity"], PRODUCTION_PARAMS["quorumPercent"], PRODUCTION_PARAMS["quorumFloor"]) == (
        7 * DAY, 10, 10)
    assert (LOCAL_PARAMS["votingDelay"], LOCAL_PARAMS["votingPeriod"], LOCAL_PARAMS["timelockDelay"]) == (1, 120, 30)
    assert (LOCAL_PARAMS["votingMaturity"], LOCAL_PARAMS["quorumPercent"], LOCAL_PARAMS["quorumFloor"]) == (2, 20, 3)
    assert base_params(31337) == LOCAL_PARAMS and base_params(1) == PRODUCTION_PARAMS


@pytest.mark.parametrize(
    "name, value",
    [("votingDelay", DAY - 1), ("votingPeriod", 120), ("timelockDelay", 30), ("votingMaturity", 6 * DAY),
     ("quorumFloor", 2), ("disputeWindow", 60)],
)
def test_windows_below_the_production_minimums_are_refused_off_the_local_chain(name, value):
    params = {**PRODUCTION_PARAMS, "admissions": "0x000000000000000000000000000000000000a11c",
              "attester": "0x000000000000000000000000000000000000a77e", name: value}
    validate_params({**params, name: PRODUCTION_MINIMUMS[name]}, NOT_LOCAL)  # the minimum itself is accepted
    with pytest.raises(DeploymentError, match=f"{name} {value} is below the production minimum"):
        validate_params(params, NOT_LOCAL)
    validate_params(params, 31337)  # the local chain keeps short windows


def test_a_deployment_off_the_local_chain_needs_an_admissions_and_an_attester_address():
    with pytest.raises(DeploymentError, match="admissions"):
        validate_params({**PRODUCTION_PARAMS, "attester": "0x000000000000000000000000000000000000a77e"}, NOT_LOCAL)
    with pytest.raises(DeploymentError, match="attester"):
        validate_params({**PRODUCTION_PARAMS, "admissions": "0x000000000000000000000000000000000000a11c"}, NOT_LOCAL)


@pytest.mark.parametrize("chain_id", [31337, NOT_LOCAL])
def test_voting_maturity_below_the_voting_delay_is_refused_on_every_chain(chain_id):
    params = {**base_params(chain_id), "admissions": "0x000000000000000000000000000000000000a11c",
              "attester": "0x000000000000000000000000000000000000a77e"}
    with pytest.raises(DeploymentError, match="votingMaturity .* is below votingDelay"):
        validate_params({**params, "votingMaturity": params["votingDelay"] - 1}, chain_id)
    with pytest.raises(DeploymentError, match="quorumFloor 0 is below 1"):
        validate_params({**params, "quorumFloor": 0}, chain_id)


def test_the_governor_refuses_a_voting_maturity_below_its_voting_delay(coop):
    from brownie import CoopGovernor

    with brownie.reverts("VotingMaturityBelowDelay: 9, 10"):
        CoopGovernor.deploy(coop.membership, coop.timelock, 10, 120, 1, 20, 3, 9, {"from": coop.deployer})
    with brownie.reverts("InvalidQuorumFloor: 0"):
        CoopGovernor.deploy(coop.membership, coop.timelock, 1, 120, 1, 20, 0, 2, {"from": coop.deployer})


NON_LOCAL_DEPLOY = r"""
import json, sys, warnings
warnings.filterwarnings("ignore", category=FutureWarning)
request = json.loads(sys.stdin.read())
sys.path.insert(0, request["root"])
from brownie import accounts
from scripts.deploy import DeploymentError, connect_brownie, deploy

project = connect_brownie(request["rpc_url"], local=False)
deployer = accounts.add(request["deployer_key"])
outcome = {}
demo_windows = {"votingDelay": 1, "votingPeriod": 120, "timelockDelay": 30, "votingMaturity": 2, "quorumFloor": 3}
try:
    deploy(deployer, request["settler"], params={**demo_windows, **request["roles"], "fareToken": request["roles"]["admissions"]},
           manifest_path=request["manifest_path"])
except DeploymentError as error:
    outcome["refused"] = str(error)
outcome["nonce_after_refusal"] = deployer.nonce
token = project.TestFareToken.deploy({"from": deployer})
result = deploy(deployer, request["settler"], params={**request["roles"], "fareToken": token.address},
                manifest_path=request["manifest_path"])
governor, timelock, membership = result["CoopGovernor"], result["TimelockController"], result["Membership"]
outcome["chain"] = {
    "votingDelay": governor.votingDelay(), "votingPeriod": governor.votingPeriod(),
    "votingMaturity": governor.votingMaturity(), "quorumPercent": governor.quorumNumerator(),
    "quorumFloor": governor.quorumFloor(), "timelockDelay": timelock.getMinDelay(),
    "capitalShare": membership.capitalShare(), "admissions": membership.admissions(),
}
outcome["manifest"] = result["manifest"]["parameters"]
outcome["roles"] = result["manifest"]["roles"]
print("OUTCOME " + json.dumps(outcome))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _forget_brownie_deployments(chain_id: int) -> None:
    """Brownie records every contract deployed on a live network under build/deployments/<chain id>, and on the
    next connection to that chain id loads them (failing if they are gone, as on a fresh anvil)."""
    deployments = ROOT / "build" / "deployments"
    shutil.rmtree(deployments / str(chain_id), ignore_errors=True)
    index = deployments / "map.json"
    if index.exists():
        entries = json.loads(index.read_text())
        if entries.pop(str(chain_id), None) is not None:
            index.write_text(json.dumps(entries, indent=2, sort_keys=True))


@pytest.fixture(scope="module")
def non_local_chain():
    """A second anvil with a chain id that is not local, as a live network to the deploy script."""
    _forget_brownie_deployments(NOT_LOCAL)
    port = _free_port()
    anvil = Path(sys.executable).with_name("anvil")
    process = subprocess.Popen(
        [str(anvil), "--port", str(port), "--chain-id", str(NOT_LOCAL), "--base-fee", "0", "--gas-price", "0",
         "--silent"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
    _forget_brownie_deployments(NOT_LOCAL)


def test_deploy_refuses_demo_windows_on_a_non_local_chain_and_deploys_the_production_defaults(non_local_chain, tmp_path):
    admissions, guardian = "0x000000000000000000000000000000000000a11c", "0x000000000000000000000000000000000000924d"
    request = {"root": str(ROOT), "rpc_url": non_local_chain, "deployer_key": ANVIL_KEY_0, "settler": SETTLER,
               "manifest_path": str(tmp_path / "manifest.json"), "roles": {"admissions": admissions, "guardian": guardian,
                                                                "attester": "0x000000000000000000000000000000000000a77e"}}
    done = subprocess.run([sys.executable, "-c", NON_LOCAL_DEPLOY], input=json.dumps(request), text=True,
                          capture_output=True, cwd=ROOT, env=os.environ.copy(), timeout=300)
    lines = [line for line in done.stdout.splitlines() if line.startswith("OUTCOME ")]
    assert done.returncode == 0 and lines, done.stdout[-2000:] + done.stderr[-2000:]
    outcome = json.loads(lines[-1][len("OUTCOME "):])

    assert outcome["refused"].startswith(f"refusing to deploy on chain {NOT_LOCAL} (not local)")
    for name in ("votingDelay", "votingPeriod", "timelockDelay", "votingMaturity"):
        assert f"{name} " in outcome["refused"], name
    assert outcome["nonce_after_refusal"] == 0  # refused before any transaction

    expected = {name: PRODUCTION_PARAMS[name] for name in
                ("votingDelay", "votingPeriod", "votingMaturity", "quorumPercent", "quorumFloor", "timelockDelay")}
    expected["capitalShare"] = 50 * 10**6  # 50 whole units of the 6-decimal fare token
    assert {name: outcome["chain"][name] for name in expected} == expected
    assert {name: outcome["manifest"][name] for name in expected} == expected
    assert outcome["chain"]["admissions"].lower() == admissions
    assert outcome["roles"]["guardian"].lower() == guardian
