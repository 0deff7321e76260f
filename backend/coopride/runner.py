"""`coopride run`: the cooperative, running. Starts a chain (or uses yours), deploys, serves the API.

The pieces, in order:
1. the chain: anvil (chain id 31337, base fee 0 for Brownie's dev accounts) unless `COOPRIDE_RPC_URL`
   names a node of your own;
2. the contracts: `scripts/deploy.py` in a subprocess (Brownie stays out of the API process), unless
   the manifest's contracts already exist on that chain, in which case they and the database are reused;
3. the API: uvicorn serving `service_app` (the app plus its embedded settlement worker) in a subprocess.

Two modes (`StackInfo.mode` says which):
- SQLite, one process (the default): one uvicorn process serves the API with the settlement worker in a thread;
- PostgreSQL, N processes (`api_workers` > 1, env COOPRIDE_API_WORKERS, with DATABASE_URL=postgresql+psycopg://...,
  or `coopride run --postgres`, which starts a private PostgreSQL server for the run): the schema is migrated
  once, then uvicorn serves `api_app` (the API alone) with N worker processes on one port, and the settlement
  worker runs in exactly ONE process of its own (`python -m coopride.runner settlement-worker`). Until settlement
  workers coordinate through the database, a second worker on the same database would race the first one.

Every child runs in its own process group and dies with this process (PR_SET_PDEATHSIG), so Ctrl-C,
SIGTERM or a crash of this process leaves nothing behind. `Stack` is reused by `coopride demo`.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx
from eth_account import Account
from web3 import Web3

from coopride.config import (
    ANVIL_CHAIN_ID,
    ANVIL_DEV_DEPLOYER_KEY,
    DEFAULT_HOST,
    DEFAULT_SOLCX_BINARY_PATH,
    REPO_ROOT,
    MissingRoleKey,
    Settings,
)

START_TIMEOUT_SECONDS = 30.0
DEPLOY_TIMEOUT_SECONDS = 300.0
ANVIL_BLOCK_SECONDS = 1

# Gas of a whole deployment (13.7M measured on anvil with the test fare token; `scripts/deploy.py`), with headroom.
DEPLOYMENT_GAS = 15_000_000
STOP_TIMEOUT_SECONDS = 20.0


class StackError(RuntimeError):
    """Something the operator must fix: a port in use, a missing key, a failed deployment."""


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def anvil_binary() -> str:
    """The real anvil executable: the npm package's `bin.mjs` is a Node shim that spawns it."""
    for candidate in sorted((REPO_ROOT / "node_modules" / "@foundry-rs").glob("anvil-*/bin/anvil")):
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("anvil")
    if found is None:
        raise StackError("anvil not found: run `make setup` (it installs anvil under node_modules/)")
    return found


def _die_with_parent() -> None:
    """Runs in the child before exec: its own process group, and SIGTERM when the parent dies."""
    os.setsid()
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: the process group and stop() still clean up
        pass


@dataclass
class StackInfo:
    """What a running stack serves; printed by `coopride run`."""

    rpc_url: str
    chain_id: int
    api_url: str
    manifest_path: Path
    database_url: str
    settler: str
    settler_key: str
    deployer_key: str | None
    reused_deployment: bool
    log_dir: Path
    # The admissions role's and the attester's addresses (their keys are in the settings), and whether the API
    # admits each valid application as it arrives.
    admissions: str = ""
    attester: str = ""
    auto_admit: bool = False
    # "SQLite, single process" or "PostgreSQL, N API processes + 1 settlement worker process" (see the module).
    mode: str = ""
    api_workers: int = 1

    @property
    def docs_url(self) -> str:
        return f"{self.api_url}/docs"


class Stack:
    """Chain + deployment + API, as `settings` say. Use as a context manager, or `start()` / `stop()`.

    `deploy_params` and `deploy_regions` go to `scripts/deploy.py` when the contracts are deployed."""

    def __init__(
        self,
        settings: Settings,
        *,
        deploy_params: dict[str, Any] | None = None,
        deploy_regions: list[dict[str, Any]] | None = None,
        log: Callable[[str], object] = print,
        private_postgres: bool = False,
    ):
        """`private_postgres`: start a PostgreSQL server of its own for this run (removed on stop) and use it."""
        self.settings = settings
        self.private_postgres = private_postgres
        self.postgres: PrivatePostgres | None = None
        self.settlement: subprocess.Popen[bytes] | None = None
        self.deploy_params = deploy_params or {}
        self.deploy_regions = deploy_regions
        self.log = log
        self.anvil: subprocess.Popen[bytes] | None = None
        self.api: subprocess.Popen[bytes] | None = None
        self.info: StackInfo | None = None
        self._log_files: list[IO[bytes]] = []

    # ----------------------------------------------------------------- life
    def __enter__(self) -> StackInfo:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> StackInfo:
        settings = self.settings
        log_dir = Path(settings.state_dir) / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        if port_in_use(settings.host, settings.api_port):
            raise StackError(
                f"port {settings.api_port} is in use (another `coopride run`?): set COOPRIDE_API_PORT or --api-port"
            )

        if settings.local_chain:
            self._start_anvil(log_dir)
            deployer_key: str | None = settings.deployer_key or ANVIL_DEV_DEPLOYER_KEY
        else:
            deployer_key = settings.deployer_key
            if not settings.configured("settler_key"):
                raise StackError(
                    "COOPRIDE_RPC_URL needs COOPRIDE_SETTLER_KEY: a funded key that posts settlements and relays"
                )
        rpc_url = settings.chain_rpc_url
        w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        chain_id = _chain_id(w3, rpc_url)
        service = settings.for_chain(chain_id)
        if self.private_postgres:
            self.postgres = PrivatePostgres().start()
            self.log(f"started a private PostgreSQL server on port {self.postgres.port} (removed on stop)")
            service = service.model_copy(update={"database_url": self.postgres.create_database()})
        check_mode(service)
        settler = Account.from_key(service.settler_key).address
        admissions, attester = role_addresses(service, chain_id)

        if not settings.local_chain:
            _require_funds(w3, settler, 0, "COOPRIDE_SETTLER_KEY", "it pays the gas of settlements and relays")
            _require_funds(w3, admissions, 0, "COOPRIDE_ADMISSIONS_KEY", "it pays the gas of admissions")
        reused = deployment_exists(w3, service.manifest_path, chain_id)
        if reused:
            self.log(f"reusing the deployment in {service.manifest_path} (its contracts exist on chain {chain_id})")
            _require_deployed_roles(service.manifest_path, admissions, attester)
        else:
            if deployer_key is None:
                raise StackError(
                    f"no deployment on chain {chain_id} at {service.manifest_path}: set "
                    "COOPRIDE_DEPLOYER_KEY (a funded key) to deploy the contracts"
                )
            if not settings.local_chain:
                _require_funds(
                    w3,
                    Account.from_key(deployer_key).address,
                    DEPLOYMENT_GAS,
                    "COOPRIDE_DEPLOYER_KEY",
                    f"deploying takes about {DEPLOYMENT_GAS:,} gas",
                )
            self.log(f"deploying the contracts on chain {chain_id} (scripts/deploy.py) ...")
            deploy_contracts(
                rpc_url,
                service.manifest_path,
                deployer_key=None if settings.local_chain else deployer_key,
                settler=settler,
                params={"admissions": admissions, "attester": attester, **self.deploy_params},
                regions=self.deploy_regions,
                log_path=log_dir / "deploy.log",
            )
        if not reused and not settings.configured("database_url"):
            _remove_sqlite(service.database_url)  # it described a deployment that no longer exists

        api_url = f"http://{settings.host}:{settings.api_port}"
        self.info = StackInfo(
            rpc_url=rpc_url,
            chain_id=chain_id,
            api_url=api_url,
            manifest_path=service.manifest_path,
            database_url=service.database_url,
            settler=settler,
            settler_key=service.settler_key,
            deployer_key=deployer_key,
            reused_deployment=reused,
            log_dir=log_dir,
            admissions=admissions,
            attester=attester,
            auto_admit=service.auto_admit_for(chain_id),
            mode=describe_mode(service),
            api_workers=service.api_workers,
        )
        self._start_api(service, log_dir)
        return self.info

    def stop(self) -> None:
        """Stops the API first (its worker finishes the batch in hand), then the chain."""
        _stop_process(self.api, signal.SIGINT)
        _stop_process(self.settlement, signal.SIGINT)
        _stop_process(self.anvil, signal.SIGTERM)
        self.api = self.anvil = self.settlement = None
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None
        for handle in self._log_files:
            handle.close()
        self._log_files.clear()

    def failed_child(self) -> str | None:
        """The name of a child that exited on its own, if any."""
        for name, process in (("the API", self.api), ("the settlement worker", self.settlement), ("anvil", self.anvil)):
            if process is not None and process.poll() is not None:
                return f"{name} exited with code {process.returncode}"
        return None

    def children(self) -> list[int]:
        return [p.pid for p in (self.api, self.settlement, self.anvil) if p is not None]

    # ------------------------------------------------------------- children
    def _spawn(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        handle = Path(log_path).open("ab")  # noqa: SIM115 (the child writes to it until stop() closes it)
        self._log_files.append(handle)
        return subprocess.Popen(
            args,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=REPO_ROOT,
            preexec_fn=_die_with_parent,
        )

    def _start_anvil(self, log_dir: Path) -> None:
        settings = self.settings
        if port_in_use(settings.host, settings.anvil_port):
            raise StackError(
                f"port {settings.anvil_port} is in use (another chain or `coopride run`?): "
                "set COOPRIDE_ANVIL_PORT or --anvil-port, or COOPRIDE_RPC_URL to use that node"
            )
        anvil = self._spawn(
            [
                anvil_binary(),
                "--host",
                settings.host,
                "--port",
                str(settings.anvil_port),
                "--chain-id",
                str(ANVIL_CHAIN_ID),
                "--block-base-fee-per-gas",
                "0",
                "--accounts",
                "10",
                "--gas-limit",
                "30000000",
                # Transactions mine at once, and an idle chain still gets a block every second, so that its clock
                # follows the wall clock and nothing waits for unrelated traffic (issue 12).
                "--block-time",
                str(ANVIL_BLOCK_SECONDS),
                "--mixed-mining",
            ],
            log_dir / "anvil.log",
        )
        self.anvil = anvil
        w3 = Web3(Web3.HTTPProvider(settings.chain_rpc_url, request_kwargs={"timeout": 2}))
        _wait_until(lambda: _answers(w3), f"anvil on {settings.chain_rpc_url}", anvil, log_dir / "anvil.log")

    def _start_api(self, service: Settings, log_dir: Path) -> None:
        """The API process(es) get `service`, the settings of this chain, through their environment. With several
        workers: migrate once here, serve `api_app` with `--workers N`, and start the one settlement worker."""
        api_url = f"http://{service.host}:{service.api_port}"
        several = service.api_workers > 1
        if several:
            metrics_dir = Path(service.state_dir).resolve() / "metrics"
            shutil.rmtree(metrics_dir, ignore_errors=True)
            metrics_dir.mkdir(parents=True, exist_ok=True)
            service = service.model_copy(update={"metrics_dir": metrics_dir})
        env = {**os.environ, **service.to_env()}
        factory = "coopride.runner:api_app" if several else "coopride.runner:service_app"
        if several:
            from coopride.api.main import create_app

            # Building the app once here migrates the schema (Alembic), before N processes would each try at once.
            create_app(service).state.engine.dispose()
        if several:
            command = serve_command(factory, service.host, service.api_port, service.api_workers)
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                factory,
                "--factory",
                "--host",
                service.host,
                "--port",
                str(service.api_port),
                "--log-level",
                "warning",
            ]
        api = self._spawn(command, log_dir / "api.log", env=env)
        self.api = api
        _wait_until(lambda: _healthy(api_url), f"the API on {api_url}", api, log_dir / "api.log")
        if several:
            self.settlement = self._spawn(
                [sys.executable, "-m", "coopride.runner", "settlement-worker"], log_dir / "settlement.log", env=env
            )


def service_app():
    """The uvicorn factory for `coopride run` in one process: the API with its settlement worker in a thread beside
    it. Logs are JSON lines with the request id (`coopride.api.logging`)."""
    from coopride.api.logging import configure_json_logging
    from coopride.api.main import create_app
    from coopride.api.metrics import install_gauges
    from coopride.settlement.worker import embedded_worker

    configure_json_logging()
    return install_gauges(create_app(lifespan=embedded_worker))


def api_app():
    """The uvicorn factory for each of several API processes: the API alone (the settlement worker runs in one
    process of its own, `settlement-worker` below)."""
    from coopride.api.logging import configure_json_logging
    from coopride.api.main import create_app
    from coopride.api.metrics import install_gauges

    configure_json_logging()
    return install_gauges(create_app())


def _settlement_worker_main() -> None:
    """`python -m coopride.runner settlement-worker`: the one settlement worker beside several API processes, with
    the settings in its environment; runs until SIGINT/SIGTERM (it finishes the batch in hand)."""
    import threading

    from coopride.api.logging import configure_json_logging
    from coopride.settlement.worker import run_forever

    configure_json_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_forever(stop, Settings.from_env())


def serve_command(factory: str, host: str, port: int, workers: int) -> list[str]:
    """The command that serves the app factory `factory` ("module:function") with `workers` uvicorn processes."""
    return [sys.executable, "-m", "coopride.runner", "serve", factory, host, str(port), str(workers)]


def serve_workers(factory: str, host: str, port: int, workers: int) -> None:
    """`uvicorn FACTORY --factory --workers N`, but on a listening socket made with `IPPROTO_TCP`.

    uvicorn's own `--workers` binds `socket.socket(family)` (protocol 0); asyncio sets TCP_NODELAY only on sockets
    whose protocol is IPPROTO_TCP, so every connection its workers accept keeps Nagle's algorithm, and a response
    written in two parts (headers, then body) waits for the client's delayed ACK: about 40 ms per request on Linux,
    which capped one keep-alive client at about 20 requests/s (measured by `make bench-api`, bare app included)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(factory, factory=True, host=host, port=port, workers=workers, log_level="warning")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    Multiprocess(config, sockets=[sock]).run()


# ---------------------------------------------------------------------- modes
def check_mode(settings: Settings) -> None:
    """SQLite serves one process: several API processes need PostgreSQL."""
    if settings.api_workers > 1 and not settings.uses_postgresql:
        raise StackError(
            f"COOPRIDE_API_WORKERS={settings.api_workers} needs PostgreSQL (SQLite serves one process): set "
            "DATABASE_URL=postgresql+psycopg://user@host:port/db, or run `coopride run --postgres` (`make run-pg`)"
        )


def describe_mode(settings: Settings) -> str:
    """What `coopride run` prints: which database, how many API processes, where the settlement worker runs."""
    database = "PostgreSQL" if settings.uses_postgresql else "SQLite"
    if settings.api_workers == 1:
        return f"{database}, single process (API + embedded settlement worker)"
    return f"{database}, {settings.api_workers} API processes + 1 settlement worker process"


class PrivatePostgres:
    """A PostgreSQL server for one `coopride run --postgres`: its own data folder (a temporary folder, removed on
    stop), a free port on 127.0.0.1, no fsync (a development server). The binaries come from the machine (Debian's
    `postgresql` package, which `make setup` installs); as root, the server runs as the `postgres` user."""

    SUPERUSER = "postgres"

    def __init__(self) -> None:
        self.bindir = self.server_bindir()
        self.port = free_port()
        # A short path outside the checkout: the socket lives there, and the `postgres` user must reach it.
        self.root = Path(tempfile.mkdtemp(prefix="coopride-pg-"))
        self.data_dir = self.root / "data"
        self._as_postgres = os.geteuid() == 0

    @staticmethod
    def server_bindir() -> Path:
        on_path = shutil.which("pg_ctl")
        candidates = [Path(on_path).resolve().parent] if on_path else []
        candidates += [Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)]
        for folder in candidates:
            if (folder / "initdb").exists() and (folder / "pg_ctl").exists():
                return folder
        raise StackError("no PostgreSQL server found (initdb, pg_ctl): `make setup` installs Debian's postgresql")

    def _run(self, *command: str) -> None:
        argv = [str(self.bindir / command[0]), *command[1:]]
        if self._as_postgres:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise StackError(f"{command[0]} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> PrivatePostgres:
        if self._as_postgres:
            shutil.chown(self.root, "postgres")
        self._run("initdb", "-D", str(self.data_dir), "-U", self.SUPERUSER, "-A", "trust", "--no-sync", "-E", "UTF8")
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off "
            "-c max_connections=300"
        )
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.root / "server.log"), "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        except StackError:
            pass
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str = "coopride") -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
        finally:
            admin.dispose()
        return self.url(name)


# ------------------------------------------------------------------ deployment
def role_addresses(settings: Settings, chain_id: int) -> tuple[str, str]:
    """The admissions and attester keys' addresses on `chain_id` (anvil's accounts #2 and #3 by default on a local
    chain). Off a local chain both keys are required: `StackError` names the missing ones."""
    try:
        settings.require_role_keys(chain_id)
    except MissingRoleKey as exc:
        raise StackError(str(exc)) from None
    keys = (settings.admissions_key_for(chain_id), settings.attester_key_for(chain_id))
    addresses = []
    for variable, key in zip(("COOPRIDE_ADMISSIONS_KEY", "COOPRIDE_ATTESTER_KEY"), keys, strict=True):
        try:
            addresses.append(str(Account.from_key(str(key)).address))
        except (ValueError, TypeError):
            raise StackError(f"{variable} is not a private key (32 bytes of hex)") from None
    return addresses[0], addresses[1]


def _require_deployed_roles(manifest_path: Path, admissions: str, attester: str) -> None:
    """A reused deployment must give its roles to the configured keys: the API could admit and attest nothing."""
    roles = json.loads(Path(manifest_path).read_text()).get("roles") or {}
    for variable, role, address in (
        ("COOPRIDE_ADMISSIONS_KEY", "admissions", admissions),
        ("COOPRIDE_ATTESTER_KEY", "attester", attester),
    ):
        deployed = roles.get(role)
        if deployed and Web3.to_checksum_address(deployed) != address:
            raise StackError(
                f"{variable}'s account {address} is not the {role} role of the deployment in {manifest_path} "
                f"({deployed}): use that role's key, or deploy afresh"
            )


def deployment_exists(w3: Web3, manifest_path: Path, chain_id: int) -> bool:
    """True when the manifest is for this chain and every contract in it has code there."""
    try:
        manifest = json.loads(Path(manifest_path).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return False
    if int(manifest.get("chainId", -1)) != chain_id:
        return False
    contracts = manifest.get("contracts") or {}
    return bool(contracts) and all(
        len(w3.eth.get_code(Web3.to_checksum_address(c["address"]))) > 0 for c in contracts.values()
    )


def deploy_contracts(
    rpc_url: str,
    manifest_path: Path,
    *,
    settler: str,
    deployer_key: str | None = None,
    params: dict | None = None,
    regions: list[dict] | None = None,
    log_path: Path | None = None,
) -> dict:
    """Runs scripts/deploy.py in a subprocess (Brownie never enters the caller) and returns the manifest.

    `deployer_key=None` deploys from the node's unlocked account #0 (anvil); otherwise from that key.
    """
    request = {
        "rpc_url": rpc_url,
        "manifest_path": str(manifest_path),
        "settler": settler,
        "deployer_key": deployer_key,
        "params": params or {},
        "regions": regions,
    }
    env = {"SOLCX_BINARY_PATH": str(DEFAULT_SOLCX_BINARY_PATH), **os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "coopride.runner", "deploy"],
        input=json.dumps(request),
        text=True,
        capture_output=True,
        cwd=REPO_ROOT,
        env=env,
        timeout=DEPLOY_TIMEOUT_SECONDS,
    )
    if log_path is not None:
        Path(log_path).write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise StackError(f"the deployment failed (exit {done.returncode}):\n{tail}")
    manifest: dict[str, Any] = json.loads(Path(manifest_path).read_text())
    return manifest


def _deploy_main() -> None:
    """`python -m coopride.runner deploy` with a JSON request on stdin: the Brownie side of `deploy_contracts`."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    request = json.loads(sys.stdin.read())
    sys.path.insert(0, str(REPO_ROOT))
    from brownie import accounts
    from scripts.deploy import connect_brownie, deploy

    local = request["deployer_key"] is None
    connect_brownie(request["rpc_url"], local=local)
    deployer = accounts[0] if local else accounts.add(request["deployer_key"])
    result = deploy(
        deployer,
        request["settler"],
        params=request["params"] or None,
        regions=request["regions"],
        manifest_path=request["manifest_path"],
    )
    print(f"deployed on chain {result['manifest']['chainId']}: {result['manifest_path']}")


# -------------------------------------------------------------------- helpers
def _chain_id(w3: Web3, rpc_url: str) -> int:
    try:
        return int(w3.eth.chain_id)
    except Exception as exc:  # any transport error: say which node did not answer
        raise StackError(f"the chain node at {rpc_url} does not answer: {exc}") from None


def _require_funds(w3: Web3, address: str, gas: int, key_name: str, why: str) -> None:
    """Stops with one line, not a Brownie traceback mid-deployment, when an account cannot pay for `gas`
    (or for anything at all, with `gas=0`) at the node's gas price."""
    gas_price = w3.eth.gas_price
    balance = w3.eth.get_balance(Web3.to_checksum_address(address))
    needed = max(gas * gas_price, 1 if gas_price else 0)
    if balance < needed:
        raise StackError(
            f"{key_name}'s account {address} holds {Web3.from_wei(balance, 'ether')} of the chain's "
            f"native currency, and needs at least {Web3.from_wei(needed, 'ether')} at "
            f"{Web3.from_wei(gas_price, 'gwei')} gwei ({why}): fund it, or use another key"
        )


def _answers(w3: Web3) -> bool:
    try:
        return w3.eth.block_number >= 0
    except Exception:
        return False


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until(ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready():
        if process.poll() is not None:
            raise StackError(f"{what} exited with code {process.returncode} while starting:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise StackError(f"{what} did not come up within {START_TIMEOUT_SECONDS:.0f} s:\n{_tail(log_path)}")
        time.sleep(0.1)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").strip().splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _stop_process(process: subprocess.Popen[bytes] | None, first_signal: int) -> None:
    """Signals the child's whole process group, then insists (SIGKILL) if it does not stop in time."""
    if process is None or process.poll() is not None:
        return
    for sig, wait in ((first_signal, STOP_TIMEOUT_SECONDS), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


def _remove_sqlite(database_url: str) -> None:
    if not database_url.startswith("sqlite:///"):
        return
    path = Path(database_url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_until_stopped(stack: Stack, on_ready: Callable[[StackInfo], None]) -> int:
    """Starts `stack`, calls `on_ready(info)`, then waits for SIGINT/SIGTERM (exit 0) or a dead child (exit 1)."""
    stopping: dict[str, int | None] = {"signal": None}

    def request_stop(signum: int, _frame: object) -> None:
        stopping["signal"] = signum

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with stack as info:
            on_ready(info)
            while stopping["signal"] is None:
                failure = stack.failed_child()
                if failure:
                    stack.log(f"stopping: {failure} (logs in {info.log_dir})")
                    return 1
                time.sleep(0.2)
            stack.log(f"stopping ({signal.Signals(stopping['signal']).name}) ...")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    if sys.argv[1:] == ["deploy"]:
        _deploy_main()
    elif sys.argv[1:] == ["settlement-worker"]:
        _settlement_worker_main()
    elif len(sys.argv) == 6 and sys.argv[1] == "serve":
        serve_workers(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(
            "usage: python -m coopride.runner deploy < request.json | settlement-worker | "
            "serve MODULE:FACTORY HOST PORT WORKERS"
        )
