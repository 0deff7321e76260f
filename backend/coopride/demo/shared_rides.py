"""Many shared rides at once through the HTTP API, each timed from its last signature to its settlement on chain.

What `make bench-api` reports as end-to-end trips/min and last-signature-to-settled latency (issue 13), and what
`tests/e2e/test_settle_latency.py` holds to 5 s at p99 on the local chain (issue 12). Every step is the one a member's
app takes, with real EIP-712 signatures: the driver offers a seat, the rider asks for the same ride and is matched to
that offer, accepts with a signed fare authorisation (relayed: the fare is held), the driver logs the trace and signs
the receipt, the rider confirms it (both signatures in: the trip may settle at once, without the dispute window).
Settlement is watched on the chain (`TripSettled` logs, read as blocks arrive), not through the API, so that
watching adds no load to the server measured.

Setting the scene (`open_region`), as on a real chain: pioneers drive attested solo trips in the bootstrap region
until critical mass, anyone switches the region on, then the local chain's clock is moved `history_seconds` ahead
(anvil only), so that each driver's rides can be logged in time slots of their own between the switch and now
(a driver's trips may not overlap in time). Each ride's offer and request get a departure window of their own, so
each request matches its own pair's offer and nothing else.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from typing import Any

from coopride.chain.client import ChainClient
from coopride.demo.actors import Api, DemoError, Member, Operator, seeded_account

REGION_ID = 1  # Lyon 3e on the local deployment
# Places inside Lyon 3e: the pioneers' solo drive and every shared ride (2 km, on a straight street).
SOLO_FROM, SOLO_TO = {"lat": 45.7640, "lon": 4.8300}, {"lat": 45.7550, "lon": 4.8550}
RIDE_FROM, RIDE_TO = {"lat": 45.7635, "lon": 4.8320}, {"lat": 45.7555, "lon": 4.8530}
TRACE_FIXES, FIX_SECONDS = 12, 20  # a 220 s drive at about 33 km/h
SLOT_SECONDS = 300  # one driver's rides are logged this far apart in time
WINDOW_SECONDS = 2_400  # one ride's offer window and request window, apart from every other ride's
FARE_TOKEN_UNIT = 10**6
RIDER_FUNDS = 500 * FARE_TOKEN_UNIT  # a ride costs about 1 tEUR here


def straight_trace(start: dict, end: dict, end_time: int) -> list[dict]:
    first = end_time - FIX_SECONDS * (TRACE_FIXES - 1)
    return [
        {
            "t": first + i * FIX_SECONDS,
            "lat": start["lat"] + (end["lat"] - start["lat"]) * i / (TRACE_FIXES - 1),
            "lon": start["lon"] + (end["lon"] - start["lon"]) * i / (TRACE_FIXES - 1),
        }
        for i in range(TRACE_FIXES)
    ]


@dataclass
class Scene:
    """An operating region with drivers and funded riders, and the chain-time span their rides are logged in."""

    drivers: list[Member]
    riders: list[Member]
    first_slot_end: int  # the end of every driver's first ride (chain time, after the region's switch)
    windows_from: int  # departure windows of the rides start here (chain time, ahead of the chain's clock)


@dataclass
class RideTiming:
    trip_id: int
    last_signature_at: float  # time.monotonic() when the rider's confirmation was answered
    settled_at: float | None = None  # when its TripSettled log was read


@dataclass
class RidesResult:
    rides: list[RideTiming] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0  # from the first offer to the last settlement seen

    def summary(self) -> dict[str, Any]:
        latencies = sorted(r.settled_at - r.last_signature_at for r in self.rides if r.settled_at is not None)
        settled = len(latencies)

        def quantile(q: float) -> float | None:
            return round(latencies[min(settled - 1, int(q * settled))], 3) if latencies else None

        return {
            "trips": len(self.rides),
            "settled": settled,
            "seconds": round(self.seconds, 2),
            "trips_per_minute": round(settled / self.seconds * 60, 1) if self.seconds else 0.0,
            "last_signature_to_settled_p50_s": quantile(0.50),
            "last_signature_to_settled_p99_s": quantile(0.99),
            "last_signature_to_settled_max_s": round(latencies[-1], 3) if latencies else None,
            "last_signature_to_settled_mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
            "errors": len(self.errors),
            "error_samples": self.errors[:3],
        }


class SettlementWatch:
    """Reads `TripSettled` logs as blocks arrive, in a thread, and notes when each trip was first seen settled."""

    def __init__(self, chain: ChainClient, poll_seconds: float = 0.05):
        self.chain = chain
        self.poll_seconds = poll_seconds
        self.seen: dict[int, float] = {}
        self._from_block = chain.w3.eth.block_number + 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="settlement-watch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        event = self.chain.ledger.events.TripSettled
        while not self._stop.is_set():
            try:
                latest = self.chain.w3.eth.block_number
                if latest >= self._from_block:
                    logs = event.get_logs(from_block=self._from_block, to_block=latest)
                    now = time.monotonic()
                    for entry in logs:
                        self.seen.setdefault(int(entry["args"]["tripId"]), now)
                    self._from_block = latest + 1
            except Exception:  # a slow or busy node: read again on the next turn
                pass
            self._stop.wait(self.poll_seconds)

    def wait_for(self, trip_ids: set[int], timeout: float) -> set[int]:
        """The trips still not seen settled after `timeout` seconds (an empty set when all were)."""
        deadline = time.monotonic() + timeout
        while (missing := trip_ids - self.seen.keys()) and time.monotonic() < deadline:
            time.sleep(self.poll_seconds)
        return missing

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def admit(api_url: str, operator: Operator, names: list[str], rng: random.Random, *, threads: int = 4) -> list[Member]:
    """Members of region 1 admitted through the API (the capital share minted first by the operator's faucet)."""
    members = [Member(name, "driver", seeded_account(rng)) for name in names]
    faucet_lock = threading.Lock()

    def faucet(address: str, amount: int) -> None:
        with faucet_lock:  # one faucet account: one nonce at a time
            operator.mint(address, amount)

    def join(member: Member) -> None:
        api = Api(api_url)
        try:
            member.sign_in(api)
            member.join(api, REGION_ID, faucet=faucet)
        finally:
            api.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(join, members))
    return members


def open_region(
    api_url: str,
    chain: ChainClient,
    operator: Operator,
    *,
    drivers: int,
    riders: int,
    history_seconds: int,
    rng: random.Random,
    log: Callable[[str], object] = lambda _text: None,
) -> Scene:
    """Region 1 switched to operating by its pioneers, `drivers` drivers (the pioneers first) and `riders` riders
    with escrow, and the chain's clock `history_seconds` past the switch (see the module)."""
    region = chain.region(REGION_ID)
    if region.operating:
        raise DemoError("region 1 already operates: open_region needs a fresh deployment")
    pioneers = max(region.critical_mass, 1)
    driver_count = max(drivers, pioneers)
    names = [f"driver-{i}" for i in range(driver_count)] + [f"rider-{i}" for i in range(riders)]
    members = admit(api_url, operator, names, rng)
    driving, riding = members[:driver_count], members[driver_count:]
    log(f"admitted {len(members)} members through the API")

    watch = SettlementWatch(chain)
    api = Api(api_url)
    try:
        solo_end = chain.next_block_timestamp() - 1
        solo_ids = set()
        for pioneer in driving[:pioneers]:
            fixes = straight_trace(SOLO_FROM, SOLO_TO, solo_end)
            trip = api.call("POST", "/trips", member=pioneer, json={"fixes": fixes})
            pioneer.sign_receipt(api, trip["id"])
            solo_ids.add(int(trip["id"]))
        if missing := watch.wait_for(solo_ids, timeout=120):
            raise DemoError(f"the pioneers' solo trips {sorted(missing)} did not settle")
    finally:
        watch.stop()
        api.close()
    operator.activate_region(REGION_ID)
    switched_at = chain.region(REGION_ID).phase_changed_at
    log(f"{pioneers} pioneers settled solo trips; region {REGION_ID} operates since {switched_at}")

    faucet_lock = threading.Lock()

    def fund(rider: Member) -> None:
        with faucet_lock:
            operator.mint(rider.address, RIDER_FUNDS)
        own = Api(api_url)
        try:
            rider.deposit(own, RIDER_FUNDS)
        finally:
            own.close()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fund, riding))
    operator.advance_time(history_seconds)
    return Scene(
        drivers=driving,
        riders=riding,
        first_slot_end=switched_at + SLOT_SECONDS,
        windows_from=chain.next_block_timestamp() + 3_600,
    )


def rides_per_pair(rides: int, pairs: int) -> int:
    """The most rides one pair takes (and time slots its driver needs: `history_seconds` of `open_region` must be at
    least this many `SLOT_SECONDS`, plus one)."""
    return -(-rides // pairs)


def run_shared_rides(
    api_url: str,
    chain: ChainClient,
    scene: Scene,
    *,
    rides: int,
    pairs: int,
    settle_timeout: float = 120.0,
    log: Callable[[str], object] = lambda _text: None,
) -> RidesResult:
    """`rides` shared rides, `pairs` (driver, rider) pairs riding at once, each pair one ride after another (at most
    `rides_per_pair(rides, pairs)` each); waits until every confirmed ride is seen settled on chain (or
    `settle_timeout` after the last confirmation)."""
    if pairs > min(len(scene.drivers), len(scene.riders)):
        raise ValueError(
            f"{pairs} pairs need as many drivers and riders; the scene has {len(scene.drivers)} and {len(scene.riders)}"
        )
    result = RidesResult()
    lock = threading.Lock()
    windows: Iterator[int] = count()

    def pair(index: int) -> None:
        # Each pair rides its share, so that no driver needs more time slots than `rides_per_pair`.
        share = rides // pairs + (1 if index < rides % pairs else 0)
        driver, rider = scene.drivers[index], scene.riders[index]
        api = Api(api_url)
        try:
            for slot in range(share):
                with lock:
                    window = scene.windows_from + next(windows) * WINDOW_SECONDS
                slot_end = scene.first_slot_end + slot * SLOT_SECONDS
                try:
                    timing = _one_ride(api, driver, rider, window, slot_end)
                except DemoError as exc:
                    with lock:
                        result.errors.append(str(exc))
                    continue
                with lock:
                    result.rides.append(timing)
        finally:
            api.close()

    watch = SettlementWatch(chain)
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(pairs) as pool:
            list(pool.map(pair, range(pairs)))
        log(f"{len(result.rides)} rides confirmed in {time.monotonic() - started:.1f} s; waiting for settlement")
        missing = watch.wait_for({r.trip_id for r in result.rides}, timeout=settle_timeout)
        for ride in result.rides:
            ride.settled_at = watch.seen.get(ride.trip_id)
        if missing:
            stuck = sorted(missing)[:10]
            result.errors.append(f"{len(missing)} trips not settled within {settle_timeout:.0f} s: {stuck}")
        seen = [r.settled_at for r in result.rides if r.settled_at is not None]
        result.seconds = (max(seen) if seen else time.monotonic()) - started
    finally:
        watch.stop()
    return result


def _one_ride(api: Api, driver: Member, rider: Member, window: int, slot_end: int) -> RideTiming:
    offer = api.call(
        "POST",
        "/offers",
        member=driver,
        json={
            "origin": RIDE_FROM,
            "destination": RIDE_TO,
            "depart_earliest": window,
            "depart_latest": window + 600,
            "seats": 1,
            "max_detour_m": 1_000,
        },
    )
    request = api.call(
        "POST",
        "/rides/requests",
        member=rider,
        json={"origin": RIDE_FROM, "destination": RIDE_TO, "earliest": window - 300, "latest": window + 1_500},
    )
    if request["status"] != "matched" or request["offer_id"] != offer["id"]:
        raise DemoError(
            f"request {request['id']} is {request['status']} on offer {request['offer_id']}, "
            f"not matched to its pair's offer {offer['id']}"
        )
    typed = api.call("GET", f"/rides/requests/{request['id']}/authorisation", member=rider)["typed_data"]
    booked = api.call(
        "POST", f"/rides/requests/{request['id']}/accept", member=rider, json={"signature": rider.sign_typed(typed)}
    )
    if booked["status"] != "booked":
        raise DemoError(f"request {request['id']} is {booked['status']} after accepting")
    trip = api.call(
        "POST",
        "/trips",
        member=driver,
        json={"request_id": request["id"], "fixes": straight_trace(RIDE_FROM, RIDE_TO, slot_end)},
    )
    if trip["status"] != "awaiting_signatures":
        raise DemoError(f"trip {trip['id']} is {trip['status']}: {trip.get('check_reasons')}")
    # The rider confirms first: the driver's signature, the last, queues a trip that may settle at once. (Signed the
    # other way round, a ride logged in the chain's past would be due, its window closed, before the rider confirms.)
    rider.sign_receipt(api, trip["id"])
    queued = driver.sign_receipt(api, trip["id"])
    answered = time.monotonic()
    if queued["status"] != "queued" or not queued.get("rider_signed"):
        raise DemoError(f"trip {trip['id']} is not queued with the rider's confirmation: {queued}")
    return RideTiming(int(trip["id"]), answered)
