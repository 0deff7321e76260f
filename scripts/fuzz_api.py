"""Fuzzes the whole HTTP API as an outside client would: `coopride run` on free ports (anvil, SQLite, the
embedded worker), then Schemathesis generates requests from the OpenAPI document, anonymous and signed in as an
admitted member, and fails on any 5xx, any response that does not match its documented status or schema, and
any dropped connection.

    python scripts/fuzz_api.py --requests 10000            # make fuzz-api
    python scripts/fuzz_api.py --requests 1000 --seed 1    # the CI subset (tests/e2e/test_api_fuzz.py)

Schemathesis needs a newer Hypothesis than Brownie allows, so it lives in its own virtualenv, `.venv-fuzz`
(made here on first use, pinned below); it only ever talks HTTP to the server, like any client.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct

from coopride.chain.eip712 import sign_typed_data
from coopride.chain.manifest import load_manifest
from coopride.config import ANVIL_DEV_DEPLOYER_KEY
from coopride.runner import free_port

ROOT = Path(__file__).resolve().parents[1]
FUZZ_VENV = ROOT / ".venv-fuzz"
SCHEMATHESIS = "schemathesis==4.32.5"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
START_TIMEOUT_SECONDS = 180


@dataclass
class FuzzResult:
    requests: int
    server_errors: int
    seconds: float
    passed: bool
    output: str


def ensure_schemathesis() -> Path:
    """The `st` command of `.venv-fuzz` (scripts/setup.sh installs it)."""
    st = FUZZ_VENV / "bin" / "st"
    if not st.exists():
        raise RuntimeError(f"{st} is missing: run `make setup` (scripts/setup.sh installs {SCHEMATHESIS})")
    return st


def _start_server(state_dir: Path, anvil_port: int, api_port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "COOPRIDE_STATE_DIR": str(state_dir),
        "COOPRIDE_ANVIL_PORT": str(anvil_port),
        "COOPRIDE_API_PORT": str(api_port),
    }
    for name in ("DATABASE_URL", "COOPRIDE_RPC_URL", "COOPRIDE_MANIFEST", "COOPRIDE_SETTLER_KEY"):
        env.pop(name, None)
    log = (state_dir / "server.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-m", "coopride.cli", "run"], env=env, stdout=log, stderr=subprocess.STDOUT, text=True
    )


def _wait_healthy(process: subprocess.Popen, base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"coopride run exited early with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"coopride run did not answer /health within {START_TIMEOUT_SECONDS} s")


def sign_in(http: httpx.Client, account) -> str:
    """A bearer token for `account`, through EIP-4361 sign-in."""
    challenge = http.post("/auth/nonce", json={"address": account.address}).raise_for_status().json()
    signature = account.sign_message(encode_defunct(text=challenge["message"])).signature
    login = http.post("/auth/login", json={"message": challenge["message"], "signature": "0x" + bytes(signature).hex()})
    return str(login.raise_for_status().json()["access_token"])


def mint_test_tokens(state_dir: Path, rpc_url: str, to: str, amount: int) -> None:
    """Mints test fare tokens (the local deployment's test token lets anyone mint) from anvil's dev account #0."""
    from web3 import Web3

    manifest = load_manifest(next(state_dir.glob("deployments/*/manifest.json")))
    w3 = Web3(Web3.HTTPProvider(rpc_url))
    token = w3.eth.contract(address=manifest.address("FareToken"), abi=manifest.contract("FareToken").abi)
    minter = Account.from_key(ANVIL_DEV_DEPLOYER_KEY)
    transaction = token.functions.mint(to, amount).build_transaction(
        {"from": minter.address, "nonce": w3.eth.get_transaction_count(minter.address), "chainId": manifest.chain_id}
    )
    sent = w3.eth.send_raw_transaction(minter.sign_transaction(transaction).raw_transaction)
    w3.eth.wait_for_transaction_receipt(sent, timeout=30)


def admitted_member_token(http: httpx.Client, region_id: int, mint) -> str:
    """Signs a fresh wallet in and has it admitted (capital share minted, automatic admission on the local chain)."""
    account = Account.create()
    token = sign_in(http, account)
    headers = {"Authorization": f"Bearer {token}"}
    data = http.get("/members/application/typed-data", params={"region_id": region_id}, headers=headers)
    mint(account.address, int(data.raise_for_status().json()["capital_share"]))
    typed = http.get("/members/application/typed-data", params={"region_id": region_id}, headers=headers)
    data = typed.raise_for_status().json()
    application = data["typed_data"]
    body = {
        "region_id": region_id,
        "max_capital_share": str(application["message"]["maxCapitalShare"]),
        "deadline": int(application["message"]["deadline"]),
        "signature": "0x" + sign_typed_data(account.key, application).hex(),
        "permit_signature": "0x" + sign_typed_data(account.key, data["permit_typed_data"]).hex(),
    }
    applied = http.post("/members/applications", json=body, headers=headers).raise_for_status().json()
    if applied["status"] != "admitted":
        raise RuntimeError(f"the fuzzing member was not admitted: {applied}")
    return token


def _count_requests(har_path: Path) -> tuple[int, int]:
    if not har_path.exists():
        return 0, 0
    entries = json.loads(har_path.read_text())["log"]["entries"]
    return len(entries), sum(1 for entry in entries if entry["response"]["status"] >= 500)


def run_schemathesis(
    st: Path, base_url: str, token: str | None, max_examples: int, seed: int, report_dir: Path, deterministic: bool
) -> FuzzResult:
    har = report_dir / "requests.har"
    command = [
        str(st),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        CHECKS,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        # One worker: with two threads, Hypothesis's lambda descriptions (ast.parse) hit CPython 3.11's
        # "AST constructor recursion depth mismatch" SystemError (python/cpython#106905), failing a clean run.
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "har",
        "--report-har-path",
        str(har),
        "--continue-on-failure",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
    ]
    if deterministic:
        command.append("--generation-deterministic")
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    started = time.monotonic()
    completed = subprocess.run(command, capture_output=True, text=True)
    requests, server_errors = _count_requests(har)
    output = completed.stdout + completed.stderr
    return FuzzResult(requests, server_errors, time.monotonic() - started, completed.returncode == 0, output)


def fuzz(requests: int, seed: int, keep: Path | None = None, deterministic: bool = False) -> list[FuzzResult]:
    """Runs the server, then Schemathesis anonymously and as a member for about `requests` requests in all.
    `deterministic` replays the same requests on every run (CI), whatever the seed."""
    st = ensure_schemathesis()
    work = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="coopride-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    anvil_port, api_port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{api_port}"
    server = _start_server(work, anvil_port, api_port)
    try:
        _wait_healthy(server, base_url)
        with httpx.Client(base_url=base_url, timeout=30) as http:
            operations = sum(len(methods) for methods in http.get("/openapi.json").json()["paths"].values())
            rpc_url = f"http://127.0.0.1:{anvil_port}"
            member = admitted_member_token(http, 1, lambda to, amount: mint_test_tokens(work, rpc_url, to, amount))
        # Schemathesis also sends its own coverage cases, so the per-operation budget is an upper bound.
        per_operation = max(1, requests // (2 * operations))
        results = []
        for label, token in (("anonymous", None), ("member", member)):
            report_dir = work / label
            report_dir.mkdir(exist_ok=True)
            results.append(run_schemathesis(st, base_url, token, per_operation, seed, report_dir, deterministic))
        return results
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=10_000, help="about how many requests to send in all")
    parser.add_argument("--seed", type=int, default=int(time.time()), help="Schemathesis's seed (fixed in CI)")
    parser.add_argument("--keep", type=Path, help="keep the server's log and the reports in this directory")
    options = parser.parse_args()
    results = fuzz(options.requests, options.seed, options.keep)
    for label, result in zip(("anonymous", "member"), results, strict=True):
        print(result.output[-4000:] if not result.passed else "")
        print(
            f"{label}: {result.requests} requests in {result.seconds:.0f} s, {result.server_errors} 5xx, "
            f"{'passed' if result.passed else 'FAILED'}"
        )
    total = sum(result.requests for result in results)
    print(f"total: {total} requests, seed {options.seed}")
    return 0 if all(result.passed for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
