"""Deploys the CoopRide contracts, wires them, hands every power to the Timelock and writes the manifest.

Library: `deploy(deployer, settler, ...)` (tests and `coopride run` call it) and `connect_brownie(rpc_url)`.
Script:  `brownie run scripts/deploy.py --network anvil` (deployer accounts[0], settler accounts[1] or the
address in COOPRIDE_SETTLER_ADDRESS).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, UTC
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_CHAIN_IDS = {31337, 1337}

DAY = 86_400

# The local chain (anvil): short windows so a demo or a test runs a whole proposal in minutes.
LOCAL_PARAMS = {
    "feeBps": 1500,
    "bootstrapRewardPerKm": 10**18,
    "operatingRewardPerKm": 5 * 10**17,
    "halvingInterval": 1_000_000 * 10**18,
    "shareCap": 21_000_000 * 10**18,
    "dailyRewardedMetres": 300_000,
    # Fare-token units collected at admission, held apart from the treasury, returned on leaving.
    "capitalShare": 10_000_000,  # 10 tEUR
    "votingDelay": 1,
    "votingPeriod": 120,
    # Seconds after admission before a membership votes; never below votingDelay.
    "votingMaturity": 2,
    "proposalThreshold": 1,
    "quorumPercent": 20,
    # The fewest votes that make a quorum, whatever the number of members.
    "quorumFloor": 3,
    "timelockDelay": 30,
    # Addresses; None on the local chain means anvil's dev account #2 (admissions), #3 (attester), #4 (guardian).
    "admissions": None,
    "guardian": None,
    # Address of an existing fare token; required off the local chain, where TestFareToken is deployed instead.
    "fareToken": None,
    # Settlement (issue 11). The attester signs each batch's attestation: required off the local chain, anvil's
    # account #3 on it. Mediators (MEDIATOR_ROLE) decide disputed trips; they must also be members to act.
    "attester": None,
    "mediators": [],
    "disputeWindow": 60,
    "maxReceiptAge": 7 * 24 * 3600,
    "maxTripSeconds": 6 * 3600,
}

# Any other chain: windows members can notice and act in, and a quorum that two wallets cannot reach.
PRODUCTION_PARAMS = {
    **LOCAL_PARAMS,
    # None: 50 whole units of the fare token (50 * 10**decimals()); pass a number to choose another amount.
    "capitalShare": None,
    "votingDelay": DAY,
    "votingPeriod": 5 * DAY,
    "votingMaturity": 7 * DAY,
    "quorumPercent": 10,
    "quorumFloor": 10,
    "timelockDelay": 2 * DAY,
    # Required: the key or committee contract that admits applicants.
    "admissions": None,
    # Optional: pauses settlement and cancels queued proposals.
    "guardian": None,
    # Required: the attester key's address (signs each settlement batch's attestation).
    "attester": None,
    "disputeWindow": DAY,
    "maxReceiptAge": 14 * DAY,
}

# What `deploy` refuses below on any chain but the local one (a parameter not deployed here is not checked).
PRODUCTION_MINIMUMS = {
    "votingDelay": DAY,
    "votingPeriod": 5 * DAY,
    "timelockDelay": 2 * DAY,
    "votingMaturity": 7 * DAY,
    "quorumFloor": 3,
    "disputeWindow": DAY,
}

# Anvil's dev accounts that hold the local chain's roles when the parameters name nobody.
LOCAL_ROLE_ACCOUNTS = {"admissions": 2, "attester": 3, "guardian": 4}
CAPITAL_SHARE_WHOLE_TOKENS = 50
ADDRESS_PARAMS = ("admissions", "attester", "guardian", "mediators", "fareToken")

DEFAULT_REGIONS = [
    {"id": 1, "name": "Lyon 3e arrondissement", "criticalMass": 5, "farePerKm": 500_000, "dailyRewardedKm": 1_000},
    {"id": 2, "name": "Villeurbanne", "criticalMass": 8, "farePerKm": 450_000, "dailyRewardedKm": 1_000},
]
DEFAULT_REGION_DAILY_REWARDED_KM = 1_000


class DeploymentError(RuntimeError):
    pass


def base_params(chain_id: int) -> dict:
    """The defaults `deploy` starts from on `chain_id`: LOCAL_PARAMS on the local chain, else PRODUCTION_PARAMS."""
    return dict(LOCAL_PARAMS if chain_id in LOCAL_CHAIN_IDS else PRODUCTION_PARAMS)


def validate_params(params: dict, chain_id: int) -> None:
    """Raises DeploymentError for parameters that must not be deployed on `chain_id`: on every chain a voting
    maturity below the voting delay (members admitted after a proposal could vote on it) or a quorum floor below
    one; on any chain but the local one, windows below PRODUCTION_MINIMUMS and a missing admissions or attester address."""
    problems = []
    if params["votingMaturity"] < params["votingDelay"]:
        problems.append(f"votingMaturity {params['votingMaturity']} is below votingDelay {params['votingDelay']}")
    if params["quorumFloor"] < 1:
        problems.append(f"quorumFloor {params['quorumFloor']} is below 1")
    if chain_id not in LOCAL_CHAIN_IDS:
        for name, minimum in PRODUCTION_MINIMUMS.items():
            if name in params and params[name] < minimum:
                problems.append(f"{name} {params[name]} is below the production minimum {minimum}")
        for role in ("admissions", "attester"):
            if not params.get(role):
                problems.append(f"params['{role}'] (the {role} key's address) is required")
    if problems:
        where = "the local chain" if chain_id in LOCAL_CHAIN_IDS else f"chain {chain_id} (not local)"
        raise DeploymentError(f"refusing to deploy on {where}: " + "; ".join(problems))


def _role_address(params: dict, name: str, chain_id: int, node_accounts: list) -> str | None:
    """The address for the admissions or guardian role: the parameter, else anvil's dev account on the local chain."""
    value = params.get(name)
    if value:
        return str(getattr(value, "address", value))
    if chain_id in LOCAL_CHAIN_IDS:
        index = LOCAL_ROLE_ACCOUNTS[name]
        if len(node_accounts) <= index:
            raise DeploymentError(f"the local node has no dev account #{index} for the {name} role: pass params['{name}']")
        return str(node_accounts[index])
    return None


def _project():
    from brownie import project

    loaded = project.get_loaded_projects()
    if loaded:
        return loaded[0]
    return project.load(PROJECT_ROOT, name="CoopRideProject")


def connect_brownie(rpc_url: str, local: bool | None = None, timeout: int = 30):
    """Loads the project, then connects brownie to `rpc_url` through a network entry made for it.

    `local` (default: a loopback host) makes it a development network, so brownie uses the node's unlocked
    accounts and attaches to the running anvil; otherwise it is a live network and the caller adds a key with
    `accounts.add(private_key)`. Returns the loaded brownie project.
    """
    from brownie import network
    from brownie._config import CONFIG
    from web3 import HTTPProvider, Web3

    loaded = _project()  # the project config must be loaded before network.connect
    parsed = urlparse(rpc_url)
    if local is None:
        local = parsed.hostname in {"127.0.0.1", "localhost", "::1"}
    network_id = f"coopride-{parsed.hostname}-{parsed.port or 'default'}"
    if network.is_connected():
        if CONFIG.active_network.get("id") == network_id:
            return loaded
        network.disconnect(kill_rpc=False)
    entry = {"id": network_id, "name": network_id, "host": rpc_url, "timeout": timeout}
    if local:
        entry["cmd"] = "anvil"
        entry["cmd_settings"] = {"port": parsed.port or 8545, "base_fee": 0, "chain_id": 31337, "accounts": 20}
    else:
        entry["chainid"] = str(Web3(HTTPProvider(rpc_url)).eth.chain_id)
    CONFIG.networks[network_id] = entry
    network.connect(network_id)
    return loaded


def deploy(deployer, settler, guardian=None, params=None, regions=None, manifest_path=None) -> dict:
    """Deploys and wires everything, registers the genesis regions, grants SETTLER_ROLE to `settler`, sets the
    admissions role, makes the guardian (if any) ledger GUARDIAN_ROLE and Timelock canceller, then hands every
    power to the Timelock and renounces the deployer's.

    `params` override LOCAL_PARAMS on the local chain and PRODUCTION_PARAMS elsewhere; off the local chain,
    windows below PRODUCTION_MINIMUMS are refused before any transaction (DeploymentError). `guardian`, if given,
    overrides params["guardian"].

    Returns the contract handles by manifest name ("RideLedger", "Membership", "CoopShare", "CoopGovernor",
    "TimelockController" (a CoopTimelock), "FareToken") plus "manifest" (the dict written) and "manifest_path".
    """
    from brownie import Contract, web3

    unknown = set(params or {}) - set(LOCAL_PARAMS)
    if unknown:
        raise DeploymentError(f"unknown deployment parameters: {sorted(unknown)}")
    chain_id = web3.eth.chain_id
    p = {**base_params(chain_id), **(params or {})}
    if guardian:
        p["guardian"] = guardian
    node_accounts = web3.eth.accounts if chain_id in LOCAL_CHAIN_IDS else []
    for name in ("admissions", "attester", "guardian"):
        p[name] = _role_address(p, name, chain_id, node_accounts)
    validate_params(p, chain_id)
    regions = [dict(r) for r in (regions if regions is not None else DEFAULT_REGIONS)]
    build = _project()
    tx = {"from": deployer}
    settler_address = getattr(settler, "address", settler)
    guardian_address = p["guardian"]
    admissions_address = p["admissions"]
    attester_address = p["attester"]
    mediator_addresses = [str(getattr(m, "address", m)) for m in p["mediators"] or []]

    if p["fareToken"]:
        fare_token = Contract.from_abi("FareToken", p["fareToken"], build.TestFareToken.abi)
    elif chain_id in LOCAL_CHAIN_IDS:
        fare_token = build.TestFareToken.deploy(tx)
    else:
        raise DeploymentError(f"chain {chain_id} is not local: pass params['fareToken'] (an ERC-20 with permit)")
    if p["capitalShare"] is None:
        p["capitalShare"] = CAPITAL_SHARE_WHOLE_TOKENS * 10 ** fare_token.decimals()

    membership = build.Membership.deploy(deployer, tx)
    shares = build.CoopShare.deploy(p["shareCap"], fare_token, deployer, tx)
    escrow_book = build.EscrowBook.deploy(tx)  # the ledger's linked library (Brownie links the latest deployed)
    ledger = build.RideLedger.deploy(
        fare_token,
        membership,
        shares,
        deployer,
        p["feeBps"],
        p["bootstrapRewardPerKm"],
        p["operatingRewardPerKm"],
        p["halvingInterval"],
        p["dailyRewardedMetres"],
        tx,
    )
    membership.setObserver(ledger, tx)
    if p["capitalShare"]:
        membership.setCapitalShare(p["capitalShare"], tx)
    membership.setAdmissions(admissions_address, tx)
    shares.setMinter(ledger, tx)
    for r in regions:
        r.setdefault("dailyRewardedKm", DEFAULT_REGION_DAILY_REWARDED_KM)
        ledger.addRegion(r["id"], r["name"], r["criticalMass"], r["farePerKm"], r["dailyRewardedKm"], tx)
    ledger.grantRole(ledger.SETTLER_ROLE(), settler_address, tx)
    ledger.setTripBounds(p["maxTripSeconds"], tx)
    ledger.setReceiptWindows(p["disputeWindow"], p["maxReceiptAge"], tx)
    ledger.grantRole(ledger.ATTESTER_ROLE(), attester_address, tx)
    for mediator in mediator_addresses:
        ledger.grantRole(ledger.MEDIATOR_ROLE(), mediator, tx)
    if guardian_address:
        ledger.grantRole(ledger.GUARDIAN_ROLE(), guardian_address, tx)

    zero = "0x0000000000000000000000000000000000000000"
    # CoopTimelock: OpenZeppelin's TimelockController, except that the guardian cannot cancel its own removal.
    timelock = build.CoopTimelock.deploy(p["timelockDelay"], [], [zero], deployer, tx)
    governor = build.CoopGovernor.deploy(
        membership,
        timelock,
        p["votingDelay"],
        p["votingPeriod"],
        p["proposalThreshold"],
        p["quorumPercent"],
        p["quorumFloor"],
        p["votingMaturity"],
        tx,
    )
    timelock.grantRole(timelock.PROPOSER_ROLE(), governor, tx)
    timelock.grantRole(timelock.CANCELLER_ROLE(), governor, tx)
    if guardian_address:
        # The guardian may cancel a queued operation, and nothing else on the Timelock.
        timelock.grantRole(timelock.CANCELLER_ROLE(), guardian_address, tx)

    # Hand over: the Timelock holds every admin power; the deployer keeps none.
    membership.transferOwnership(timelock, tx)
    shares.transferOwnership(timelock, tx)
    admin_role = ledger.DEFAULT_ADMIN_ROLE()
    ledger.grantRole(admin_role, timelock, tx)
    ledger.renounceRole(admin_role, deployer, tx)
    timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), deployer, tx)
    _verify_handover(deployer, timelock, membership, shares, ledger)
    _verify_governance(p, governor, membership, timelock, ledger)

    contracts = {
        "RideLedger": ledger,
        "Membership": membership,
        "CoopShare": shares,
        "CoopGovernor": governor,
        "TimelockController": timelock,
        "FareToken": fare_token,
    }
    manifest = _manifest(chain_id, contracts, settler_address, guardian_address, admissions_address, p, regions)
    manifest["roles"].update(
        attester=attester_address,
        mediators=mediator_addresses,
        ATTESTER_ROLE=str(ledger.ATTESTER_ROLE()),
        MEDIATOR_ROLE=str(ledger.MEDIATOR_ROLE()),
    )
    manifest["libraries"] = {"EscrowBook": str(escrow_book.address)}
    path = Path(manifest_path or os.environ.get("COOPRIDE_MANIFEST") or PROJECT_ROOT / "deployments" / str(chain_id) / "manifest.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return {**contracts, "manifest": manifest, "manifest_path": str(path)}


def _verify_handover(deployer, timelock, membership, shares, ledger) -> None:
    problems = []
    if membership.owner() != timelock.address:
        problems.append("Membership owner is not the Timelock")
    if shares.owner() != timelock.address:
        problems.append("CoopShare owner is not the Timelock")
    for name in ("DEFAULT_ADMIN_ROLE", "SETTLER_ROLE", "GUARDIAN_ROLE", "ATTESTER_ROLE", "MEDIATOR_ROLE"):
        if ledger.hasRole(getattr(ledger, name)(), deployer):
            problems.append(f"deployer still holds RideLedger.{name}")
    if not ledger.hasRole(ledger.DEFAULT_ADMIN_ROLE(), timelock):
        problems.append("the Timelock is not RideLedger admin")
    for name in ("DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        if timelock.hasRole(getattr(timelock, name)(), deployer):
            problems.append(f"deployer still holds TimelockController.{name}")
    if problems:
        raise DeploymentError("; ".join(problems))


def _verify_governance(params, governor, membership, timelock, ledger) -> None:
    """The deployed governance matches the validated parameters; the guardian holds only its two roles."""
    problems = []
    deployed = {
        "votingDelay": governor.votingDelay(),
        "votingPeriod": governor.votingPeriod(),
        "votingMaturity": governor.votingMaturity(),
        "quorumPercent": governor.quorumNumerator(),
        "quorumFloor": governor.quorumFloor(),
        "timelockDelay": timelock.getMinDelay(),
        "capitalShare": membership.capitalShare(),
    }
    for name, value in deployed.items():
        if value != params[name]:
            problems.append(f"{name} is {value} on chain, {params[name]} in the parameters")
    if str(membership.admissions()) != str(params["admissions"]):
        problems.append("Membership.admissions is not the admissions address")
    guardian = params["guardian"]
    if guardian:
        if not (ledger.hasRole(ledger.GUARDIAN_ROLE(), guardian) and timelock.hasRole(timelock.CANCELLER_ROLE(), guardian)):
            problems.append("the guardian is not ledger guardian and Timelock canceller")
        for name in ("DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE"):
            if timelock.hasRole(getattr(timelock, name)(), guardian):
                problems.append(f"the guardian holds TimelockController.{name}")
        if ledger.hasRole(ledger.DEFAULT_ADMIN_ROLE(), guardian):
            problems.append("the guardian holds RideLedger.DEFAULT_ADMIN_ROLE")
    if problems:
        raise DeploymentError("; ".join(problems))


def _domain(contract) -> dict:
    """The contract's EIP-712 domain, read from its ERC-5267 `eip712Domain()`."""
    _fields, name, version, chain_id, verifying_contract, _salt, _extensions = contract.eip712Domain()
    return {"name": name, "version": version, "chainId": int(chain_id), "verifyingContract": str(verifying_contract)}


def _manifest(chain_id, contracts, settler, guardian, admissions, params, regions) -> dict:
    from brownie import web3

    ledger = contracts["RideLedger"]
    timelock = contracts["TimelockController"]
    return {
        "chainId": chain_id,
        "blockNumber": web3.eth.block_number,
        "deployedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "rpcUrl": web3.provider.endpoint_uri if hasattr(web3.provider, "endpoint_uri") else None,
        "contracts": {name: {"address": str(c.address), "abi": c.abi} for name, c in contracts.items()},
        "eip712": {
            "receipt": _domain(ledger),
            "membership": _domain(contracts["Membership"]),
            "governor": _domain(contracts["CoopGovernor"]),
            "fareToken": _domain(contracts["FareToken"]),
        },
        "roles": {
            "settler": str(settler),
            "guardian": str(guardian) if guardian else None,
            "admissions": str(admissions) if admissions else None,
            "timelock": str(timelock.address),
            "SETTLER_ROLE": str(ledger.SETTLER_ROLE()),
            "GUARDIAN_ROLE": str(ledger.GUARDIAN_ROLE()),
            "TIMELOCK_CANCELLER_ROLE": str(timelock.CANCELLER_ROLE()),
        },
        "parameters": {k: v for k, v in params.items() if k not in ADDRESS_PARAMS},
        "regions": regions,
    }


def main():
    from brownie import accounts

    settler = os.environ.get("COOPRIDE_SETTLER_ADDRESS") or accounts[1]
    result = deploy(accounts[0], settler)
    print(f"CoopRide deployed on chain {result['manifest']['chainId']}; manifest: {result['manifest_path']}")
    for name, entry in result["manifest"]["contracts"].items():
        print(f"  {name:<20} {entry['address']}")
    return result
