"""Deploys the CoopRide contracts, wires them, hands every power to the Timelock and writes the manifest.

Library: `deploy(deployer, settler, ...)` (tests and `coopride run` call it) and `connect_brownie(rpc_url)`.
Script:  `brownie run scripts/deploy.py --network anvil` (deployer accounts[0], settler accounts[1] or the
address in COOPRIDE_SETTLER_ADDRESS).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

PROJECT_ROOT = Path(__file__).resolve().parents[1]
LOCAL_CHAIN_IDS = {31337, 1337}

DEFAULT_PARAMS = {
    "feeBps": 1500,
    "bootstrapRewardPerKm": 10**18,
    "operatingRewardPerKm": 5 * 10**17,
    "halvingInterval": 1_000_000 * 10**18,
    "shareCap": 21_000_000 * 10**18,
    "dailyRewardedMetres": 300_000,
    "joiningFee": 0,
    "votingDelay": 1,
    "votingPeriod": 120,
    "proposalThreshold": 1,
    "quorumPercent": 20,
    "timelockDelay": 30,
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

# Settlement values for a public chain, and the shortest windows `deploy` accepts off the local chain.
PRODUCTION_SETTLEMENT_PARAMS = {
    "attester": None,  # required: pass the attester key's address
    "mediators": [],
    "disputeWindow": 24 * 3600,
    "maxReceiptAge": 14 * 24 * 3600,
    "maxTripSeconds": 6 * 3600,
}
SETTLEMENT_MINIMUMS = {"disputeWindow": 24 * 3600}
LOCAL_ATTESTER_INDEX = 3  # anvil's dev account #3

DEFAULT_REGIONS = [
    {"id": 1, "name": "Lyon 3e arrondissement", "criticalMass": 5, "farePerKm": 500_000, "dailyRewardedKm": 1_000},
    {"id": 2, "name": "Villeurbanne", "criticalMass": 8, "farePerKm": 450_000, "dailyRewardedKm": 1_000},
]
DEFAULT_REGION_DAILY_REWARDED_KM = 1_000


class DeploymentError(RuntimeError):
    pass


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
    """Deploys and wires everything, registers the genesis regions, grants SETTLER_ROLE to `settler` (and
    GUARDIAN_ROLE to `guardian`), then hands every power to the Timelock and renounces the deployer's.

    Returns the contract handles by manifest name ("RideLedger", "Membership", "CoopShare", "CoopGovernor",
    "TimelockController", "FareToken") plus "manifest" (the dict written) and "manifest_path".
    """
    from brownie import Contract, web3

    unknown = set(params or {}) - set(DEFAULT_PARAMS)
    if unknown:
        raise DeploymentError(f"unknown deployment parameters: {sorted(unknown)}")
    p = {**DEFAULT_PARAMS, **(params or {})}
    regions = [dict(r) for r in (regions if regions is not None else DEFAULT_REGIONS)]
    build = _project()
    chain_id = web3.eth.chain_id
    tx = {"from": deployer}
    settler_address = getattr(settler, "address", settler)
    guardian_address = getattr(guardian, "address", guardian) if guardian else None
    attester_address, mediator_addresses = _settlement_roles(p, chain_id)

    if p["fareToken"]:
        fare_token = Contract.from_abi("FareToken", p["fareToken"], build.TestFareToken.abi)
    elif chain_id in LOCAL_CHAIN_IDS:
        fare_token = build.TestFareToken.deploy(tx)
    else:
        raise DeploymentError(f"chain {chain_id} is not local: pass params['fareToken'] (an ERC-20 with permit)")

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
    if p["joiningFee"]:
        membership.setJoiningFee(p["joiningFee"], tx)
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
    timelock = build.TimelockController.deploy(p["timelockDelay"], [], [zero], deployer, tx)
    governor = build.CoopGovernor.deploy(
        membership, timelock, p["votingDelay"], p["votingPeriod"], p["proposalThreshold"], p["quorumPercent"], tx
    )
    timelock.grantRole(timelock.PROPOSER_ROLE(), governor, tx)
    timelock.grantRole(timelock.CANCELLER_ROLE(), governor, tx)

    # Hand over: the Timelock holds every admin power; the deployer keeps none.
    membership.transferOwnership(timelock, tx)
    shares.transferOwnership(timelock, tx)
    admin_role = ledger.DEFAULT_ADMIN_ROLE()
    ledger.grantRole(admin_role, timelock, tx)
    ledger.renounceRole(admin_role, deployer, tx)
    timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), deployer, tx)
    _verify_handover(deployer, timelock, membership, shares, ledger)

    contracts = {
        "RideLedger": ledger,
        "Membership": membership,
        "CoopShare": shares,
        "CoopGovernor": governor,
        "TimelockController": timelock,
        "FareToken": fare_token,
    }
    manifest = _manifest(chain_id, contracts, settler_address, guardian_address, p, regions)
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


def _settlement_roles(p: dict, chain_id: int) -> tuple[str, list[str]]:
    """The attester and mediators to grant, after refusing settlement windows too short for a public chain."""
    from brownie import accounts

    local = chain_id in LOCAL_CHAIN_IDS
    if not local:
        for name, minimum in SETTLEMENT_MINIMUMS.items():
            if p[name] < minimum:
                raise DeploymentError(f"{name} {p[name]} s is below {minimum} s, the least allowed off the local chain")
    attester = p["attester"]
    if attester is None:
        if not local:
            raise DeploymentError(f"chain {chain_id} is not local: pass params['attester'] (the attester key's address)")
        attester = accounts[LOCAL_ATTESTER_INDEX]
    mediators = [str(getattr(m, "address", m)) for m in p["mediators"] or []]
    return str(getattr(attester, "address", attester)), mediators


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


def _domain(contract) -> dict:
    """The contract's EIP-712 domain, read from its ERC-5267 `eip712Domain()`."""
    _fields, name, version, chain_id, verifying_contract, _salt, _extensions = contract.eip712Domain()
    return {"name": name, "version": version, "chainId": int(chain_id), "verifyingContract": str(verifying_contract)}


def _manifest(chain_id, contracts, settler, guardian, params, regions) -> dict:
    from brownie import web3

    ledger = contracts["RideLedger"]
    timelock = contracts["TimelockController"]
    return {
        "chainId": chain_id,
        "blockNumber": web3.eth.block_number,
        "deployedAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
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
            "timelock": str(timelock.address),
            "SETTLER_ROLE": str(ledger.SETTLER_ROLE()),
            "GUARDIAN_ROLE": str(ledger.GUARDIAN_ROLE()),
        },
        "parameters": {k: v for k, v in params.items() if k not in ("fareToken", "attester", "mediators")},
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
