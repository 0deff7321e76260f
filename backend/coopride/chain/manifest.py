"""The deployment manifest written by `scripts/deploy.py` (see docs/design.md, "Deployment manifest").

The backend learns every address, ABI and EIP-712 domain from this file alone; it never imports brownie.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from coopride.chain.eip712 import Domain

CONTRACT_NAMES = ("RideLedger", "Membership", "CoopShare", "CoopGovernor", "TimelockController", "FareToken")
DOMAIN_NAMES = ("receipt", "membership", "governor", "fareToken")


class ManifestError(ValueError):
    """The manifest is missing, unreadable, or lacks an entry the backend needs."""


@dataclass(frozen=True)
class DeployedContract:
    name: str
    address: str
    abi: list[dict[str, Any]]


@dataclass(frozen=True)
class RegionConfig:
    id: int
    name: str
    critical_mass: int
    fare_per_km: int


@dataclass(frozen=True)
class Manifest:
    chain_id: int
    block_number: int
    deployed_at: str
    rpc_url: str | None
    contracts: dict[str, DeployedContract]
    domains: dict[str, Domain]
    roles: dict[str, str]
    parameters: dict[str, Any]
    regions: list[RegionConfig] = field(default_factory=list)
    path: Path | None = None

    def contract(self, name: str) -> DeployedContract:
        try:
            return self.contracts[name]
        except KeyError:
            raise ManifestError(f"the manifest has no contract named {name!r}") from None

    def address(self, name: str) -> str:
        return self.contract(name).address

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: Path | None = None) -> Manifest:
        where = f" in {path}" if path else ""
        try:
            contracts = {
                name: DeployedContract(name, to_checksum_address(entry["address"]), list(entry["abi"]))
                for name, entry in data["contracts"].items()
            }
            domains = {name: Domain.from_manifest(entry) for name, entry in data["eip712"].items()}
            missing = [n for n in CONTRACT_NAMES if n not in contracts] + [n for n in DOMAIN_NAMES if n not in domains]
            if missing:
                raise ManifestError(f"manifest{where} lacks {', '.join(missing)}")
            return cls(
                chain_id=int(data["chainId"]),
                block_number=int(data.get("blockNumber", 0)),
                deployed_at=str(data.get("deployedAt", "")),
                rpc_url=data.get("rpcUrl"),
                contracts=contracts,
                domains=domains,
                roles={role: _role_value(v) for role, v in data.get("roles", {}).items() if v},
                parameters=dict(data.get("parameters", {})),
                regions=[
                    RegionConfig(
                        int(r["id"]), str(r.get("name", "")), int(r.get("criticalMass", 0)), int(r.get("farePerKm", 0))
                    )
                    for r in data.get("regions", [])
                ],
                path=path,
            )
        except (KeyError, TypeError) as exc:
            raise ManifestError(f"malformed manifest{where}: missing or bad field {exc}") from exc


def _role_value(value: str) -> str:
    """Addresses in checksum form; role ids (bytes32) and anything else as written."""
    return to_checksum_address(value) if isinstance(value, str) and len(value) == 42 else value


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Reads the manifest at `path` (`Settings.manifest_path`)."""
    manifest_path = Path(path)
    try:
        data = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"no deployment manifest at {manifest_path}: run scripts/deploy.py first") from None
    except json.JSONDecodeError as exc:
        raise ManifestError(f"manifest {manifest_path} is not valid JSON: {exc}") from exc
    return Manifest.from_dict(data, manifest_path)
