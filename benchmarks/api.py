"""HTTP API benchmark: the CoopRide API as deployed, against a bare FastAPI app measured in the same run.

Run with `make bench-api` (or `python benchmarks/api.py [--quick] [--sqlite] [--workers N] [--duration S]
[--concurrency 1,8,32,64] [--only endpoints,open-book,e2e] [--e2e-rides N] [--e2e-pairs N] [--soak]`). Prints a
table and writes benchmarks/results/api.json.

How it measures:
- the stack as a deployment runs it (`coopride.runner.Stack`, what `coopride run --postgres` / `make run-pg` start):
  a fresh anvil, a fresh deployment, a private PostgreSQL server, `--workers` API processes (default: the cores) and
  one settlement worker process; `--sqlite` instead: SQLite and one process with the embedded worker (`make run`);
- the baseline: a bare FastAPI app (one sync route, `GET /health`, answering a constant) under uvicorn with the same
  worker count and launcher (`python -m coopride.runner serve`, uvicorn's workers on a TCP_NODELAY socket: see
  `coopride.runner.serve_workers`), started in the same run and measured just before the API at each concurrency;
- the load: an asyncio + httpx load generator in this process (one keep-alive connection per client; each client
  sends its next request when the previous answer arrives) for `--duration` seconds per cell (default 10, `--quick`
  3; the 64-client mixed-write cell runs 60 s unless `--quick`); it shares the machine's cores with the server, as
  does the baseline, so compare ratios rather than absolute figures across machines;
- members: admitted through the API (each mints its capital share with the test fare token, signs the Application
  and the permit; the local chain auto-admits), signed in with EIP-4361; the load uses 16 of them;
- endpoints: `GET /health`, `GET /regions`, `POST /offers`, `POST /rides/requests` (random trips inside Lyon 3e,
  three days ahead, so offers and requests posted by the load match each other as they would in a city), and mixed
  writes (45 % offers, 45 % requests, 10 % cancellations of the load's own open requests); each write cell starts
  from an empty book (what earlier cells left open is closed in the database first) and fills it as it runs;
- the open-book sweep: `POST /rides/requests` with 100, 1,000, 5,000 and 20,000 open requests (and a quarter as
  many open offers) in the region's book (`--quick`: up to 1,000), at 1 and 8 clients. The book is emptied first,
  then topped up at each size by
  rows written straight into the database (riders and drivers that exist only there), with time windows that
  neither match each other nor the measured requests, so the book stays as large as stated while it is measured;
- per cell: requests/s (answers / elapsed), p50 and p99 latency of every answer, errors (an unexpected status, a
  timeout or a transport error; 5xx and timeouts also counted apart), and `ratio_to_bare` = requests/s over the bare
  app's at the same concurrency; at the end, the server's own count of 5xx from `/metrics`;
- end to end (`e2e`): shared rides through the full cycle over HTTP (`coopride.demo.shared_rides`): the pioneers
  switch region 1 on with attested solo trips, the chain's clock moves ahead (anvil) so that each driver's rides
  get time slots of their own, then `--e2e-pairs` driver/rider pairs (default 32) ride at once, `--e2e-rides` in
  all (default 1,500, `--quick` 200): offer, request (matched to the pair's offer), signed fare authorisation
  (relayed), trace, the rider's then the driver's receipt signature; each ride is timed from the answer to the last
  signature to its `TripSettled` log, read from the chain as blocks arrive; trips/min = rides settled over the time
  from the first offer to the last settlement;
- `--only`: the parts to run (`endpoints`, `open-book`, `e2e`; default all); with `open-book` alone the bare app is
  still measured at the sweep's concurrencies;
- `--soak`: 10 minutes of mixed writes at 32 clients after a 30 s warm-up; the resident memory (RSS) of every
  server process (API and settlement worker) at the start and end, and its growth (not run in CI).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "api.json"
CONCURRENCY = (1, 8, 32, 64)
BOOK_SIZES = (100, 1_000, 5_000, 20_000)
QUICK_BOOK_SIZES = (100, 1_000)
BOOK_CONCURRENCY = (1, 8)
PARTS = ("endpoints", "open-book", "e2e")
E2E_PAIRS = 32
E2E_RIDES, QUICK_E2E_RIDES = 1_500, 200
MEMBERS = 16
REGION_ID = 1
# Lyon 3e (coopride.domain.regions.LYON_3E): centre and a radius safely inside its 2.5 km.
CENTRE = (45.7597, 4.8422)
RADIUS_M = 1_800.0
DAY = 86_400
REQUEST_TIMEOUT_SECONDS = 60.0


def bare_app():  # type: ignore[no-untyped-def]
    """The baseline: `uvicorn api:bare_app --factory --app-dir benchmarks` (a sync route, like the API's)."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/health")
    def health() -> dict:
        return {"database": True, "chain": True, "block_number": 0}

    return app


# ------------------------------------------------------------------ load generator
@dataclass
class Cell:
    """One measurement: an endpoint at one concurrency."""

    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    server_errors: int = 0
    timeouts: int = 0
    transport_errors: int = 0
    samples: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        count = len(ordered)

        def quantile(q: float) -> float | None:
            if not ordered:
                return None
            return round(ordered[min(count - 1, int(q * count))] * 1000, 2)

        return {
            "requests": count,
            "seconds": round(self.elapsed, 2),
            "rps": round(count / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": quantile(0.50),
            "p99_ms": quantile(0.99),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2) if ordered else None,
            "errors": self.errors,
            "server_errors": self.server_errors,
            "timeouts": self.timeouts,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "error_samples": self.samples[:3],
        }


class Scenario:
    """Makes the next request of one endpoint: `(method, path, headers, json, expected statuses)`."""

    def __init__(self, name: str, make, on_answer=None):  # type: ignore[no-untyped-def]
        self.name = name
        self.make = make
        self.on_answer = on_answer


async def drive(base_url: str, scenario: Scenario, clients: int, seconds: float) -> Cell:
    import httpx

    cell = Cell()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS) as http:
        # One warm request per client opens its connection before the clock starts.
        await asyncio.gather(*(http.get("/health") for _ in range(clients)), return_exceptions=True)
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            while time.perf_counter() < stop_at:
                method, path, headers, body, expected = scenario.make()
                started = time.perf_counter()
                try:
                    response = await http.request(method, path, headers=headers, json=body)
                except httpx.TimeoutException:
                    cell.latencies.append(time.perf_counter() - started)
                    cell.errors += 1
                    cell.timeouts += 1
                    continue
                except httpx.HTTPError as exc:
                    cell.latencies.append(time.perf_counter() - started)
                    cell.errors += 1
                    cell.transport_errors += 1
                    if len(cell.samples) < 3:
                        cell.samples.append(f"{method} {path}: {type(exc).__name__}: {exc}")
                    continue
                cell.latencies.append(time.perf_counter() - started)
                status = response.status_code
                cell.statuses[status] = cell.statuses.get(status, 0) + 1
                if status >= 500:
                    cell.server_errors += 1
                if status not in expected:
                    cell.errors += 1
                    if len(cell.samples) < 3:
                        cell.samples.append(f"{method} {path} -> {status}: {response.text[:300]}")
                elif scenario.on_answer is not None:
                    scenario.on_answer(method, path, status, response)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        cell.elapsed = time.perf_counter() - began
    return cell


def measure(base_url: str, scenario: Scenario, clients: int, seconds: float) -> dict[str, Any]:
    return asyncio.run(drive(base_url, scenario, clients, seconds)).summary()


# ------------------------------------------------------------------ workload
def _point(rng: random.Random) -> dict[str, float]:
    import math

    distance = RADIUS_M * math.sqrt(rng.random())
    bearing = rng.random() * 2 * math.pi
    lat = CENTRE[0] + (distance * math.cos(bearing)) / 111_320.0
    lon = CENTRE[1] + (distance * math.sin(bearing)) / (111_320.0 * math.cos(math.radians(CENTRE[0])))
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


class Workload:
    """Random offers and requests by the admitted members; remembers the load's own open requests to cancel."""

    def __init__(self, members: list[Any], seed: int = 13, day_offset: int = 3):
        self.members = members
        self.rng = random.Random(seed)
        self.base_time = int(time.time()) + day_offset * DAY
        self.open_requests: list[tuple[int, dict[str, str]]] = []

    def _trip(self) -> tuple[dict[str, float], dict[str, float]]:
        while True:
            origin, destination = _point(self.rng), _point(self.rng)
            if origin != destination:
                return origin, destination

    def offer(self) -> tuple:
        member = self.rng.choice(self.members)
        origin, destination = self._trip()
        start = self.base_time + self.rng.randrange(0, 4 * 3600)
        body = {
            "origin": origin,
            "destination": destination,
            "depart_earliest": start,
            "depart_latest": start + 900,
            "seats": 3,
            "max_detour_m": 1500,
        }
        return "POST", "/offers", member.headers, body, (201,)

    def request(self) -> tuple:
        member = self.rng.choice(self.members)
        origin, destination = self._trip()
        start = self.base_time + self.rng.randrange(0, 4 * 3600)
        body = {"origin": origin, "destination": destination, "earliest": start, "latest": start + 1800}
        return "POST", "/rides/requests", member.headers, body, (201,)

    def mixed(self) -> tuple:
        roll = self.rng.random()
        if roll < 0.10 and self.open_requests:
            request_id, headers = self.open_requests.pop(self.rng.randrange(len(self.open_requests)))
            # 409: the request was matched and booked, or cancelled, meanwhile.
            return "POST", f"/rides/requests/{request_id}/cancel", headers, None, (200, 409)
        return self.offer() if roll < 0.55 else self.request()

    def remember(self, method: str, path: str, status: int, response: Any) -> None:
        if path == "/rides/requests" and status == 201:
            body = response.json()
            if body.get("status") == "open":
                headers = response.request.headers
                self.open_requests.append((int(body["id"]), {"Authorization": headers["authorization"]}))
                del self.open_requests[:-5_000]


# ------------------------------------------------------------------ servers
class BareServer:
    def __init__(self, workers: int, host: str = "127.0.0.1"):
        from coopride.runner import free_port, serve_command

        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
        self.log = tempfile.NamedTemporaryFile(prefix="bare-api-", suffix=".log", delete=False)  # noqa: SIM115
        self.process = subprocess.Popen(
            serve_command("api:bare_app", host, self.port, workers)
            if workers > 1
            else [
                sys.executable,
                "-m",
                "uvicorn",
                "api:bare_app",
                "--factory",
                "--host",
                host,
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        import httpx

        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bare app did not start: see {self.log.name}")
            time.sleep(0.1)

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def admit_members(info: Any, count: int, log) -> tuple[list[Any], float]:  # type: ignore[no-untyped-def]
    """`count` members of region 1, admitted through the API (capital share minted with the test token first)."""
    from coopride.chain.client import ChainClient
    from coopride.chain.manifest import load_manifest
    from coopride.config import ANVIL_DEV_DEPLOYER_KEY
    from coopride.demo.actors import Api, Member, Operator, seeded_account

    chain = ChainClient(info.rpc_url, load_manifest(info.manifest_path), info.settler_key)
    operator = Operator(chain, ANVIL_DEV_DEPLOYER_KEY)
    api = Api(info.api_url)
    rng = random.Random(2026)
    members = []
    started = time.perf_counter()
    for index in range(count):
        member = Member(f"member-{index}", "driver", seeded_account(rng))
        member.sign_in(api)
        member.join(api, REGION_ID, faucet=operator.mint)
        members.append(member)
    api.close()
    elapsed = time.perf_counter() - started
    log(f"admitted {count} members through the API in {elapsed:.1f} s ({count / elapsed:.1f}/s, one at a time)")
    return members, elapsed


def top_up_book(database_url: str, requests: int, offers: int, seed: int) -> dict[str, int]:
    """Writes open requests (and offers) into region 1's book until it holds `requests` (and `offers`) open ones:
    requests five days ahead, offers six days ahead (no pair of them can match, nor the measured requests)."""
    from sqlalchemy import func
    from sqlmodel import Session, select

    from coopride.db import make_engine
    from coopride.models import RideRequest, TripOffer
    from coopride.models.enums import OfferStatus, RequestStatus
    from coopride.services.rides import set_footprint

    rng = random.Random(seed)
    engine = make_engine(database_url)
    base = int(time.time())
    try:
        with Session(engine) as session:
            open_requests = session.exec(
                select(func.count()).where(RideRequest.region_id == REGION_ID, RideRequest.status == RequestStatus.OPEN)
            ).one()
            open_offers = session.exec(
                select(func.count()).where(TripOffer.region_id == REGION_ID, TripOffer.status == OfferStatus.OPEN)
            ).one()
            rows: list[Any] = []
            for _ in range(max(0, requests - open_requests)):
                origin, destination = _point(rng), _point(rng)
                start = base + 5 * DAY + rng.randrange(0, 4 * 3600)
                rows.append(
                    RideRequest(
                        rider="0x" + rng.randbytes(20).hex(),
                        region_id=REGION_ID,
                        origin_lat=origin["lat"],
                        origin_lon=origin["lon"],
                        destination_lat=destination["lat"],
                        destination_lon=destination["lon"],
                        earliest=start,
                        latest=start + 1800,
                        estimated_metres=1500,
                        fare_per_km=0,
                        quoted_fare=0,
                    )
                )
            for _ in range(max(0, offers - open_offers)):
                origin, destination = _point(rng), _point(rng)
                start = base + 6 * DAY + rng.randrange(0, 4 * 3600)
                offer = TripOffer(
                    driver="0x" + rng.randbytes(20).hex(),
                    region_id=REGION_ID,
                    origin_lat=origin["lat"],
                    origin_lon=origin["lon"],
                    destination_lat=destination["lat"],
                    destination_lon=destination["lon"],
                    depart_earliest=start,
                    depart_latest=start + 900,
                    seats=3,
                    max_detour_m=1500,
                )
                set_footprint(offer)  # as `POST /offers` stores it: the box a request must fall in to be a candidate
                rows.append(offer)
            session.add_all(rows)
            session.commit()
            return {
                "open_requests": max(requests, open_requests),
                "open_offers": max(offers, open_offers),
            }
    finally:
        engine.dispose()


def reset_book(database_url: str) -> None:
    """Closes every open offer and cancels every open request of region 1 (straight in the database), so that each
    write cell and the sweep start from an empty book."""
    from sqlalchemy import update
    from sqlmodel import Session

    from coopride.db import make_engine
    from coopride.models import RideRequest, TripOffer
    from coopride.models.enums import OfferStatus, RequestStatus

    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            session.exec(  # type: ignore[call-overload]
                update(RideRequest)
                .where(RideRequest.region_id == REGION_ID, RideRequest.status == RequestStatus.OPEN)  # type: ignore[arg-type]
                .values(status=RequestStatus.CANCELLED)
            )
            session.exec(  # type: ignore[call-overload]
                update(TripOffer)
                .where(TripOffer.region_id == REGION_ID, TripOffer.status == OfferStatus.OPEN)  # type: ignore[arg-type]
                .values(status=OfferStatus.CLOSED)
            )
            session.commit()
    finally:
        engine.dispose()


def shared_rides_end_to_end(info: Any, rides: int, pairs: int, log) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """`rides` shared rides through the full cycle over HTTP, `pairs` at once (`coopride.demo.shared_rides`): region 1
    switched on by its pioneers, then trips/min and last signature to settled on chain."""
    from coopride.chain.client import ChainClient
    from coopride.chain.manifest import load_manifest
    from coopride.config import ANVIL_DEV_DEPLOYER_KEY
    from coopride.demo.actors import Operator
    from coopride.demo.shared_rides import SLOT_SECONDS, open_region, rides_per_pair, run_shared_rides

    chain = ChainClient(info.rpc_url, load_manifest(info.manifest_path), info.settler_key)
    started = time.perf_counter()
    history = (rides_per_pair(rides, pairs) + 2) * SLOT_SECONDS
    scene = open_region(
        info.api_url,
        chain,
        Operator(chain, ANVIL_DEV_DEPLOYER_KEY),
        drivers=pairs,
        riders=pairs,
        history_seconds=history,
        rng=random.Random(1312),
        log=log,
    )
    log(f"end to end: scene set in {time.perf_counter() - started:.1f} s; {rides} rides, {pairs} pairs at once")
    result = run_shared_rides(info.api_url, chain, scene, rides=rides, pairs=pairs, settle_timeout=300, log=log)
    figures = {"pairs": pairs, **result.summary()}
    log(
        f"end to end: {figures['trips_per_minute']} trips/min, last signature to settled p50 "
        f"{figures['last_signature_to_settled_p50_s']} s, p99 {figures['last_signature_to_settled_p99_s']} s, "
        f"errors {figures['errors']}"
    )
    return figures


def server_processes(stack: Any) -> list[int]:
    import psutil

    pids = []
    for process in (stack.api, *stack.settlements):
        if process is None:
            continue
        parent = psutil.Process(process.pid)
        pids += [parent.pid, *(child.pid for child in parent.children(recursive=True))]
    return pids


def rss_mb(pids: list[int]) -> float:
    import psutil

    total = 0
    for pid in pids:
        try:
            total += psutil.Process(pid).memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return round(total / 2**20, 1)


def server_errors_in_metrics(api_url: str) -> float | None:
    import httpx

    try:
        text = httpx.get(f"{api_url}/metrics", timeout=10).text
    except httpx.HTTPError:
        return None
    prefix = "coopride_http_server_errors_total"
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True, cwd=HERE
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ------------------------------------------------------------------ the run
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per cell, open book up to 1,000 (development)")
    parser.add_argument("--sqlite", action="store_true", help="SQLite, one process (`make run`), not PostgreSQL")
    parser.add_argument("--workers", type=int, default=None, help="API processes (default: the cores)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per cell (default 10, --quick 3)")
    parser.add_argument("--concurrency", default=",".join(map(str, CONCURRENCY)), help="clients, comma-separated")
    parser.add_argument("--soak", action="store_true", help="also 10 minutes of mixed writes: RSS growth (not in CI)")
    parser.add_argument("--soak-seconds", type=float, default=600.0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's state folder (logs) after the run")
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"parts to run, comma-separated, of {', '.join(PARTS)} (default: all)"
    )
    parser.add_argument(
        "--e2e-rides", type=int, default=None, help="shared rides end to end (default 1,500, --quick 200)"
    )
    parser.add_argument("--e2e-pairs", type=int, default=E2E_PAIRS, help="driver/rider pairs riding at once")
    args = parser.parse_args(argv)
    parts = {part.strip() for part in args.only.split(",") if part.strip()}
    if not parts <= set(PARTS):
        parser.error(f"--only takes {', '.join(PARTS)}")

    from rich.console import Console
    from rich.table import Table

    from coopride.config import Settings
    from coopride.runner import Stack, describe_mode, free_port

    console = Console()
    log = lambda text: console.print(f"[dim]{text}[/]")  # noqa: E731
    cores = os.cpu_count() or 1
    workers = 1 if args.sqlite else (args.workers or cores)
    seconds = args.duration or (3.0 if args.quick else 10.0)
    long_seconds = seconds if args.quick else 60.0
    concurrencies = [int(c) for c in args.concurrency.split(",") if c.strip()]
    book_sizes = QUICK_BOOK_SIZES if args.quick else BOOK_SIZES

    state_dir = Path(tempfile.mkdtemp(prefix="coopride-bench-api-"))
    settings = Settings(state_dir=state_dir, anvil_port=free_port(), api_port=free_port(), api_workers=workers)
    stack = Stack(settings, log=log, private_postgres=not args.sqlite)
    bare: BareServer | None = None
    started_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results: dict[str, Any] = {}
    try:
        info = stack.start()
        mode = describe_mode(settings.model_copy(update={"database_url": info.database_url}))
        log(f"stack up: {mode}, API {info.api_url}, database {info.database_url}")
        bare = BareServer(workers)
        log(f"bare FastAPI app on {bare.url} ({workers} worker(s))")
        members, join_seconds = admit_members(info, MEMBERS, log)
        workload = Workload(members)

        # Baseline first at each concurrency, then the API's endpoints.
        health = Scenario("GET /health", lambda: ("GET", "/health", None, None, (200,)))
        scenarios = [
            health,
            Scenario("GET /regions", lambda: ("GET", "/regions", None, None, (200,))),
            Scenario("POST /offers", workload.offer),
            Scenario("POST /rides/requests", workload.request, workload.remember),
            Scenario("mixed writes", workload.mixed, workload.remember),
        ]
        baseline: dict[str, Any] = {}
        endpoints: dict[str, dict[str, Any]] = {s.name: {} for s in scenarios}
        for clients in concurrencies if "endpoints" in parts else []:
            baseline[str(clients)] = measure(bare.url, health, clients, seconds)
            log(f"bare /health x{clients}: {baseline[str(clients)]['rps']} req/s")
            for scenario in scenarios:
                duration = long_seconds if (scenario.name == "mixed writes" and clients == 64) else seconds
                if scenario.name.startswith(("POST", "mixed")):
                    reset_book(info.database_url)
                    workload.open_requests.clear()
                figures = measure(info.api_url, scenario, clients, duration)
                bare_rps = baseline[str(clients)]["rps"]
                figures["ratio_to_bare"] = round(figures["rps"] / bare_rps, 3) if bare_rps else None
                endpoints[scenario.name][str(clients)] = figures
                log(
                    f"{scenario.name} x{clients}: {figures['rps']} req/s, p50 {figures['p50_ms']} ms, "
                    f"p99 {figures['p99_ms']} ms, errors {figures['errors']}"
                )

        # The open-book sweep: the measured requests are seven days ahead, where nothing can match them.
        sweep_workload = Workload(members, seed=99, day_offset=7)
        sweep = Scenario("POST /rides/requests", sweep_workload.request)
        open_book: dict[str, Any] = {}
        reset_book(info.database_url)
        if "open-book" in parts and "endpoints" not in parts:
            for clients in BOOK_CONCURRENCY:  # the same-run baseline at the sweep's concurrencies
                baseline[str(clients)] = measure(bare.url, health, clients, seconds)
        for size in book_sizes if "open-book" in parts else []:
            book = top_up_book(info.database_url, size, size // 4, seed=size)
            cells: dict[str, Any] = {"book": book}
            for clients in BOOK_CONCURRENCY:
                cells[str(clients)] = measure(info.api_url, sweep, clients, seconds)
                log(
                    f"open book {size:,}: x{clients} {cells[str(clients)]['rps']} req/s, "
                    f"p50 {cells[str(clients)]['p50_ms']} ms, p99 {cells[str(clients)]['p99_ms']} ms"
                )
            open_book[str(size)] = cells

        end_to_end: dict[str, Any] | None = None
        if "e2e" in parts:
            reset_book(info.database_url)
            rides = args.e2e_rides or (QUICK_E2E_RIDES if args.quick else E2E_RIDES)
            end_to_end = shared_rides_end_to_end(info, rides, args.e2e_pairs, log)

        soak: dict[str, Any] | None = None
        if args.soak:
            reset_book(info.database_url)
            measure(info.api_url, Scenario("warm-up", workload.mixed, workload.remember), 32, 30)
            pids = server_processes(stack)
            before = rss_mb(pids)
            log(f"soak: {args.soak_seconds:.0f} s of mixed writes at 32 clients; server RSS {before} MB")
            # RSS every minute, so that a warm-up that levels off can be told from a leak that keeps growing.
            chunks = max(1, round(args.soak_seconds / 60))
            samples, loads = [before], []
            for _ in range(chunks):
                loads.append(
                    measure(
                        info.api_url,
                        Scenario("soak", workload.mixed, workload.remember),
                        32,
                        args.soak_seconds / chunks,
                    )
                )
                samples.append(rss_mb(pids))
                log(f"soak: RSS {samples[-1]} MB after {len(loads)} of {chunks} chunks")
            after, middle = samples[-1], samples[len(samples) // 2]
            soak = {
                "clients": 32,
                "seconds": args.soak_seconds,
                "rss_mb_start": before,
                "rss_mb_end": after,
                "rss_growth": round((after - before) / before, 4) if before else None,
                "rss_mb_every_minute": samples,
                "rss_growth_second_half": round((after - middle) / middle, 4) if middle else None,
                "requests": sum(load["requests"] for load in loads),
                "server_errors": sum(load["server_errors"] for load in loads),
                "timeouts": sum(load["timeouts"] for load in loads),
            }

        results = {
            "meta": {
                "started_at": started_at,
                "commit": git_commit(),
                "mode": mode,
                "api_workers": workers,
                "cores": cores,
                "load_average": os.getloadavg(),
                "python": platform.python_version(),
                "quick": args.quick,
                "seconds_per_cell": seconds,
                "seconds_64_clients_mixed": long_seconds,
                "members": MEMBERS,
                "join_seconds": round(join_seconds, 2),
                "joins_per_second_sequential": round(MEMBERS / join_seconds, 2),
                "server_errors_in_metrics": server_errors_in_metrics(info.api_url),
                "command": "python benchmarks/api.py " + " ".join(sys.argv[1:] if argv is None else argv),
            },
            "baseline_bare_fastapi": {"GET /health": baseline},
            "endpoints": endpoints,
            "open_book": {"endpoint": "POST /rides/requests", "sizes": open_book},
            "end_to_end": end_to_end,
            "soak": soak,
        }
    finally:
        if bare is not None:
            bare.stop()
        stack.stop()
        if args.keep_logs:
            log(f"logs kept in {state_dir / 'logs'}")
        else:
            shutil.rmtree(state_dir, ignore_errors=True)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")

    table = Table(title=f"CoopRide API ({results['meta']['mode']}) vs a bare FastAPI app, {cores} cores")
    for column in ("endpoint", "clients", "req/s", "p50 ms", "p99 ms", "errors (5xx/timeouts)", "x bare"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for clients, figures in results["baseline_bare_fastapi"]["GET /health"].items():
        table.add_row(
            "bare FastAPI /health",
            clients,
            f"{figures['rps']}",
            f"{figures['p50_ms']}",
            f"{figures['p99_ms']}",
            f"{figures['errors']} ({figures['server_errors']}/{figures['timeouts']})",
            "1",
        )
    for name, cells in results["endpoints"].items():
        for clients, figures in cells.items():
            table.add_row(
                name,
                clients,
                f"{figures['rps']}",
                f"{figures['p50_ms']}",
                f"{figures['p99_ms']}",
                f"{figures['errors']} ({figures['server_errors']}/{figures['timeouts']})",
                f"{figures['ratio_to_bare']}",
            )
    for size, cells in results["open_book"]["sizes"].items():
        for clients in map(str, BOOK_CONCURRENCY):
            figures = cells[clients]
            table.add_row(
                f"POST /rides/requests, {int(size):,} open",
                clients,
                f"{figures['rps']}",
                f"{figures['p50_ms']}",
                f"{figures['p99_ms']}",
                f"{figures['errors']} ({figures['server_errors']}/{figures['timeouts']})",
                "",
            )
    console.print(table)
    if results.get("end_to_end"):
        e2e = results["end_to_end"]
        console.print(
            f"end to end: {e2e['settled']} of {e2e['trips']} shared rides settled in {e2e['seconds']} s "
            f"({e2e['trips_per_minute']} trips/min, {e2e['pairs']} pairs); last signature to settled p50 "
            f"{e2e['last_signature_to_settled_p50_s']} s, p99 {e2e['last_signature_to_settled_p99_s']} s; "
            f"errors {e2e['errors']}"
        )
    if results.get("soak"):
        soak = results["soak"]
        console.print(
            f"soak: RSS {soak['rss_mb_start']} -> {soak['rss_mb_end']} MB (every minute: {soak['rss_mb_every_minute']})"
        )
    console.print(f"5xx counted by the server (/metrics): {results['meta']['server_errors_in_metrics']}")
    console.print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
