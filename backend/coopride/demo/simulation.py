"""`coopride demo`: a day in a small cooperative, driven through the real system.

Its own anvil on a free port, the contracts deployed by scripts/deploy.py, the API over HTTP on a free
port with its embedded settlement worker, and seeded wallets that sign everything themselves:

1. members apply to Lyon 3e with signed applications and are admitted (nobody holds ether);
2. bootstrap: drivers log solo and shared drives (a shared ride is booked with the rider's signed fare
   authorisation); the attester vouches for their traces; they earn shares per km; no fares;
3. the last members join; every driver is active, critical mass is reached, the region switches to operating;
4. riders deposit fare tokens with permits, request rides, get matched, accept with a fare authorisation (the
   fare is held), ride; the driver signs the receipt and the rider confirms it; the worker settles them in
   attested batches; fares go to drivers, the fee to the treasury. Three rides go otherwise: a rider tries to
   withdraw the money their booking holds (refused by the API and by the ledger); a rider never confirms (the
   driver is paid once the dispute window has passed); a rider disputes the fare and a mediator (a member
   appointed at deployment) awards part of it;
5. a member proposes a fare change, members vote with signed ballots, the Timelock executes it;
   later trips pay the new fare;
6. the treasury's surplus is distributed to members pro rata to shares, and they claim it.

Then every figure of the report is recomputed from the chain alone (events, calldata, views); a
mismatch raises DemoMismatch.

The day runs on the chain's clock: it starts now, and the operator moves the local chain's clock to the end of
each drive before it is logged (a receipt may not end after the block that settles it, and a trip settles under
the phase of the moment it ended).
"""

from __future__ import annotations

import math
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from web3.exceptions import ContractLogicError

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import withdrawal_typed_data
from coopride.chain.manifest import Manifest, load_manifest
from coopride.chain.types import ProposalState
from coopride.config import ANVIL_DEV_DEPLOYER_KEY, Settings
from coopride.demo import figures, report
from coopride.demo.actors import Api, DemoError, Member, Operator, seeded_account
from coopride.demo.figures import DemoMismatch
from coopride.demo.routes import gps_trace, street_route
from coopride.domain.regions import LYON_3E
from coopride.runner import Stack, free_port

__all__ = ["DemoError", "DemoMismatch", "DemoOptions", "run_demo"]

REGION = LYON_3E
FARE_TOKEN_UNIT = 10**6
PHASES = ("bootstrap", "operating", "new_fare")
PHASE_TITLES = {"bootstrap": "Bootstrap", "operating": "Operating", "new_fare": "Operating, new fare"}
# Simulated hours of the day at which each phase's trips start.
PHASE_HOURS = {"bootstrap": (6.0, 11.0), "operating": (11.5, 16.5), "new_fare": (17.5, 22.0)}
SETTLE_TIMEOUT_SECONDS = 90.0
# The rides that go otherwise than confirmed at once (see the module's docstring), in the order they happen.
SPECIAL_RIDES = ("unconfirmed", "disputed")
DISPUTE_REASON = "dropped off two streets from the address I booked, and the detour was not mine"
RESOLUTION_REASON = "the trace shows the detour and a drop-off 350 m short: half the fare"


@dataclass
class DemoOptions:
    seed: int = 7
    members: int = 12
    trips: int = 60
    out: Path = Path("demo-output")
    batch_size: int = 10
    fare_change_percent: int = 10  # the proposed change of Lyon 3e's fare per km
    surplus_share_percent: int = 80  # the part of the treasury distributed; the rest stays as a reserve

    def validate(self) -> None:
        if self.members < 4:
            raise ValueError("the demo needs at least 4 members (2 drivers, 2 riders)")
        if self.trips < 6:
            raise ValueError("the demo needs at least 6 trips (2 per phase)")


@dataclass
class PlannedTrip:
    phase: str
    start: int  # unix seconds
    shared: bool


@dataclass
class DayLog:
    """What happened, as the API told it: the report is built from this, then checked against the chain."""

    seed: int
    day_start: int
    members: list[Member]
    critical_mass: int
    trips: dict[str, list[dict]] = field(default_factory=lambda: {p: [] for p in PHASES})
    unmatched_requests: int = 0
    fare_per_km: dict[str, int] = field(default_factory=dict)
    activation: dict = field(default_factory=dict)
    proposals: dict[str, dict] = field(default_factory=dict)
    ballots: dict[str, dict[str, int]] = field(default_factory=dict)
    deposits: dict[str, int] = field(default_factory=dict)
    capital_shares: dict[str, int] = field(default_factory=dict)  # paid at admission, held by the ledger
    claims: dict[str, int] = field(default_factory=dict)
    statements: dict[str, dict] = field(default_factory=dict)
    treasury_before_distribution: int = 0
    treasury_after: int = 0
    mediator: str = ""
    # A rider's attempt to withdraw what a booking holds, refused; rides never confirmed; disputes and decisions.
    withdrawal_refused: dict[str, Any] = field(default_factory=dict)
    unconfirmed: list[dict[str, Any]] = field(default_factory=list)
    disputes: list[dict[str, Any]] = field(default_factory=list)


def run_demo(
    options: DemoOptions,
    console: Console | None = None,
    inspect: Callable[[dict[str, Any], DayLog, ChainClient, Manifest], None] | None = None,
) -> dict[str, Any]:
    """Runs the day; writes the report and charts to `options.out`; returns the report (a dict).

    `inspect(report, log, chain, manifest)`, if given, runs after the check while the chain is still up.
    """
    options.validate()
    console = console or Console(width=max(Console().width, 120))
    rng = random.Random(options.seed)
    drivers_count = max(2, round(options.members * 0.4))
    members = make_members(rng, options.members, drivers_count)
    # The last rider is the cooperative's mediator (MEDIATOR_ROLE, granted at deployment: governance may appoint
    # others); a mediator never decides a ride they are party to.
    mediator = members[-1]
    # v2: critical mass counts active drivers (a settled, attested trip in the region in the last 30 days).
    critical_mass = drivers_count
    regions = [
        {"id": REGION.region_id, "name": "Lyon 3e arrondissement", "criticalMass": critical_mass, "farePerKm": 500_000},
        {"id": 2, "name": "Villeurbanne", "criticalMass": 8, "farePerKm": 450_000},
    ]

    with tempfile.TemporaryDirectory(prefix="coopride-demo-") as state_dir:
        settings = Settings(
            state_dir=Path(state_dir),
            anvil_port=free_port(),
            api_port=free_port(),
            settlement_batch_size=options.batch_size,
            settlement_max_age_seconds=1,
        )
        console.print(
            f"[bold]CoopRide demo[/] seed {options.seed}, {options.members} members, {options.trips} trips: "
            "starting anvil, deploying, starting the API ..."
        )
        with Stack(
            settings,
            deploy_params={"mediators": [mediator.address]},
            deploy_regions=regions,
            log=lambda text: console.print(f"[dim]{text}[/]"),
        ) as info:
            manifest = load_manifest(info.manifest_path)
            chain = ChainClient(info.rpc_url, manifest, info.settler_key)
            api = Api(info.api_url)
            try:
                day = Day(
                    options,
                    rng,
                    api,
                    chain,
                    Operator(chain, ANVIL_DEV_DEPLOYER_KEY),
                    console,
                    members,
                    critical_mass,
                    mediator,
                )
                log = day.run()
                result = report.build(log, chain, manifest)
                figures.check_against_chain(result, log, chain, manifest)
                paths = report.write(result, options.out)
                if inspect is not None:
                    inspect(result, log, chain, manifest)
            finally:
                api.close()
    report.print_summary(result, console)
    console.print(
        "[bold green]Every figure equals what the chain says.[/] Report and charts: " + ", ".join(str(p) for p in paths)
    )
    return result


def make_members(rng: random.Random, count: int, drivers_count: int) -> list[Member]:
    """The day's members, wallets drawn from `rng`: the first `drivers_count` drive, the others ride."""
    return [
        Member(
            f"{'driver' if i < drivers_count else 'rider'}-{i + 1:02d}",
            "driver" if i < drivers_count else "rider",
            seeded_account(rng),
        )
        for i in range(count)
    ]


class Day:
    def __init__(
        self,
        options: DemoOptions,
        rng: random.Random,
        api: Api,
        chain: ChainClient,
        operator: Operator,
        console: Console,
        members: list[Member],
        critical_mass: int,
        mediator: Member,
    ):
        self.options, self.rng, self.api, self.chain, self.operator = options, rng, api, chain, operator
        self.console = console
        self.members = members
        self.mediator = mediator
        self.specials = list(SPECIAL_RIDES)
        self.drivers = [m for m in self.members if m.role == "driver"]
        self.riders = [m for m in self.members if m.role == "rider"]
        # The first bootstrap drive starts two minutes from now on the chain's clock.
        now = chain.next_block_timestamp()
        first_hour = PHASE_HOURS["bootstrap"][0]
        self.log = DayLog(
            seed=options.seed,
            day_start=now + 120 - int(first_hour * 3600),
            members=self.members,
            critical_mass=critical_mass,
            mediator=mediator.address,
        )
        self.by_offer: dict[int, Member] = {}

    # ------------------------------------------------------------------ day
    def run(self) -> DayLog:
        first_wave = self.drivers + self.riders[: self.log.critical_mass - 1 - len(self.drivers)]
        second_wave = [m for m in self.members if m not in first_wave]
        plan = self._plan_trips()
        columns = (TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=self.console) as progress:
            self.progress = progress
            self._step("1. members join (relayed)", first_wave, lambda m: self._join(m))
            self._phase("bootstrap", "2. bootstrap: drives earn shares", plan["bootstrap"], first_wave)
            self._step("3. critical mass: the rest join", second_wave, lambda m: self._join(m))
            self._activate()
            self._step("4. riders deposit with permits", self.riders, self._deposit)
            self._phase("operating", "4. operating: rides with fares", plan["operating"], self.members)
            self._fare_change()
            self._phase("new_fare", "5. rides at the new fare", plan["new_fare"], self.members)
            self._distribute_surplus()
            self._step("statements", self.members, self._statement)
        return self.log

    def _step(self, title: str, items: list[Any], action: Callable[[Any], object]) -> None:
        task = self.progress.add_task(title, total=len(items))
        for item in items:
            action(item)
            self.progress.advance(task)

    def _plan_trips(self) -> dict[str, list[PlannedTrip]]:
        counts = {"bootstrap": round(self.options.trips * 0.35)}
        counts["operating"] = round((self.options.trips - counts["bootstrap"]) * 0.55)
        counts["new_fare"] = self.options.trips - counts["bootstrap"] - counts["operating"]
        plan = {}
        for phase, count in counts.items():
            low, high = PHASE_HOURS[phase]
            starts = sorted(self.log.day_start + int(self.rng.uniform(low, high) * 3600) for _ in range(count))
            # Bootstrap mixes solo and shared drives; once operating, solo drives earn nothing, so drivers share.
            plan[phase] = [
                PlannedTrip(phase, start, shared=(phase != "bootstrap" or self.rng.random() < 0.45)) for start in starts
            ]
        return plan

    # -------------------------------------------------------------- members
    def _join(self, member: Member) -> None:
        member.sign_in(self.api)
        application = member.join(self.api, REGION.region_id, self.operator.mint)
        self.log.capital_shares[member.address] = int(application["max_capital_share"])

    def _activate(self) -> None:
        region = self.api.call("GET", f"/regions/{REGION.region_id}")
        active = self.chain.active_drivers(REGION.region_id)
        if len(active) < region["critical_mass"]:
            raise DemoError(f"critical mass not reached: {len(active)} of {region['critical_mass']} active drivers")
        outcome = self.operator.activate_region(REGION.region_id)
        region = self.api.call("GET", f"/regions/{REGION.region_id}")
        if region["phase"] != "operating":
            raise DemoError(f"Lyon 3e did not switch to operating: {region}")
        self.log.activation = {
            "members": len(active),
            "critical_mass": region["critical_mass"],
            "tx_hash": outcome.tx_hash,
            "block_number": outcome.block_number,
        }

    def _deposit(self, rider: Member) -> None:
        operating_trips = self.options.trips - round(self.options.trips * 0.35)
        per_rider = math.ceil(operating_trips / len(self.riders))
        amount = max(20, 5 * per_rider) * FARE_TOKEN_UNIT  # a trip here costs at most about 3 tEUR
        self.operator.mint(rider.address, amount)
        rider.deposit(self.api, amount)
        self.log.deposits[rider.address] = amount

    # ---------------------------------------------------------------- trips
    def _phase(self, phase: str, title: str, planned: list[PlannedTrip], riders_pool: list[Member]) -> None:
        region = self.api.call("GET", f"/regions/{REGION.region_id}")
        self.log.fare_per_km[phase] = (
            int(region["fare_per_km"]) if region["phase"] == "operating" else 0
        )  # bootstrap charges none
        riders = [m for m in riders_pool if m.role == "rider"]
        task = self.progress.add_task(title, total=len(planned))
        logged: list[tuple[int, Member]] = []
        for number, trip in enumerate(planned):
            # Every driver drives in the bootstrap (each becomes an active driver); then they take turns at random.
            first_round = phase == "bootstrap" and number < len(self.drivers)
            driver = self.drivers[number] if first_round else self.rng.choice(self.drivers)
            if trip.shared and riders:
                done = self._shared_trip(trip, driver, self.rng.choice(riders))
            else:
                done = self._solo_trip(trip, driver)
            if done is not None:
                logged.append(done)
            self.progress.advance(task)
        wait = self.progress.add_task(f"   settling {len(logged)} trips", total=len(logged))
        self.log.trips[phase] = self._wait_settled(logged, lambda n: self.progress.update(wait, completed=n))

    def _solo_trip(self, planned: PlannedTrip, driver: Member) -> tuple[int, Member]:
        route = street_route(self.rng, REGION)
        fixes = gps_trace(self.rng, route, max(planned.start, self.chain.next_block_timestamp()))
        self._clock_to(fixes[-1]["t"])
        trip = self.api.call("POST", "/trips", member=driver, json={"fixes": fixes})
        self._expect_signable(trip)
        driver.sign_receipt(self.api, trip["id"])
        return trip["id"], driver

    def _shared_trip(self, planned: PlannedTrip, driver: Member, rider: Member) -> tuple[int, Member] | None:
        route = street_route(self.rng, REGION, min_metres=1_800.0)
        pickup_at, dropoff_at = self.rng.uniform(0.05, 0.3), self.rng.uniform(0.7, 0.95)
        ride = route.between(pickup_at, dropoff_at)
        point = lambda p: {"lat": round(p.lat, 6), "lon": round(p.lon, 6)}  # noqa: E731
        offer = self.api.call(
            "POST",
            "/offers",
            member=driver,
            json={
                "origin": point(route.waypoints[0]),
                "destination": point(route.waypoints[-1]),
                "depart_earliest": planned.start - 300,
                "depart_latest": planned.start + 300,
                "seats": 1,
                "max_detour_m": 1_500,
            },
        )
        self.by_offer[offer["id"]] = driver
        request = self.api.call(
            "POST",
            "/rides/requests",
            member=rider,
            json={
                "origin": point(ride.waypoints[0]),
                "destination": point(ride.waypoints[-1]),
                "earliest": planned.start - 600,
                "latest": planned.start + 1_800,
            },
        )
        if request["status"] != "matched":
            self.api.call("POST", f"/rides/requests/{request['id']}/cancel", member=rider)
            self.log.unmatched_requests += 1
            return None
        carrier = self.by_offer[request["offer_id"]]  # the matcher may pick another driver's offer on the way
        # Accepting is the rider's signed fare authorisation, which the API relays: the fare is held in escrow.
        typed = self.api.call("GET", f"/rides/requests/{request['id']}/authorisation", member=rider)["typed_data"]
        booking = self.api.call(
            "POST", f"/rides/requests/{request['id']}/accept", member=rider, json={"signature": rider.sign_typed(typed)}
        )
        if not self.log.withdrawal_refused and int(booking["max_fare"] or 0) > 0 and rider is not self.mediator:
            self._withdraw_what_the_booking_holds(rider, booking)
        self.api.call("POST", f"/rides/requests/{request['id']}/pickup", member=carrier)
        start = max(request["pickup_time"] or planned.start, self.chain.next_block_timestamp())
        fixes = gps_trace(self.rng, ride, start)
        self._clock_to(fixes[-1]["t"])
        trip = self.api.call("POST", "/trips", member=carrier, json={"request_id": request["id"], "fixes": fixes})
        self._expect_signable(trip)
        carrier.sign_receipt(self.api, trip["id"])  # the driver's receipt
        special = self._special_ride(trip, carrier, rider)
        if special == "unconfirmed":  # the driver is paid once the dispute window has passed
            self.log.unconfirmed.append(
                {"trip_id": trip["id"], "driver": carrier.address, "rider": rider.address, "end_time": trip["end_time"]}
            )
        elif special == "disputed":
            self._dispute_and_decide(trip, booking, carrier, rider)
        else:
            rider.sign_receipt(self.api, trip["id"])  # the rider's confirmation: paid without waiting for the window
        return trip["id"], carrier

    def _special_ride(self, trip: dict, carrier: Member, rider: Member) -> str | None:
        """The next ride that goes otherwise (SPECIAL_RIDES) if this one may be it: a ride with a fare whose rider
        is not the mediator (who must be no party to a dispute, and sets the example)."""
        if not self.specials or not int(trip["fare"]) or self.mediator in (carrier, rider):
            return None
        return self.specials.pop(0)

    def _withdraw_what_the_booking_holds(self, rider: Member, booking: dict) -> None:
        """Right after accepting, the rider asks to withdraw their free escrow plus what the booking holds. The API
        refuses to draft it; the rider signs the `Withdrawal` anyway and the ledger, asked in a call, refuses it too
        (`InsufficientBalance`): the held fare is not the rider's to take until the trip settles or is released."""
        free = int(rider.statement(self.api)["chain"]["escrow"])
        held = int(booking["max_fare"])
        amount = free + held
        refusal = self.api.call(
            "GET",
            "/members/me/withdrawal/typed-data",
            member=rider,
            params={"amount": str(amount), "from_earnings": False},
            expect=(422,),
        )
        block = self.chain.block_number()
        deadline = self.chain.next_block_timestamp() + 3_600
        typed = withdrawal_typed_data(
            self.chain.manifest.domains["receipt"],
            rider.address,
            False,
            amount,
            self.chain.ledger_nonce(rider.address),
            deadline,
        )
        signature = rider.sign_typed(typed)
        try:
            self.chain.ledger.functions.withdrawBySig(
                rider.address, False, amount, deadline, bytes.fromhex(signature[2:])
            ).call(block_identifier=block)
        except ContractLogicError as exc:
            chain_refusal = str(self.chain.errors.of_call(exc))
        else:
            raise DemoError(f"the ledger would let {rider.name} withdraw the fare booking {booking['trip_id']} holds")
        self.log.withdrawal_refused = {
            "rider": rider.address,
            "trip_id": booking["trip_id"],
            "amount": amount,
            "free_escrow": free,
            "held": held,
            "api_status": 422,
            "api_detail": refusal["detail"],
            "chain_error": chain_refusal,
            "block_number": block,
            "deadline": deadline,
            "signature": signature,
        }

    def _dispute_and_decide(self, trip: dict, booking: dict, carrier: Member, rider: Member) -> None:
        """The rider disputes within the window (a signed `Dispute`, relayed); the mediator decides half the fare
        (a signed `Resolution`, relayed): the award is paid at once, the rest of the hold goes back to the rider."""
        typed = self.api.call(
            "GET", f"/trips/{trip['id']}/dispute/typed-data", member=rider, params={"reason": DISPUTE_REASON}
        )["typed_data"]
        disputed = self.api.call(
            "POST",
            f"/trips/{trip['id']}/disputes",
            member=rider,
            json={
                "reason": DISPUTE_REASON,
                "deadline": typed["message"]["deadline"],
                "signature": rider.sign_typed(typed),
            },
        )
        award = int(trip["fare"]) // 2
        typed = self.api.call(
            "GET",
            f"/trips/{trip['id']}/resolution/typed-data",
            member=self.mediator,
            params={"award": str(award), "reason": RESOLUTION_REASON},
        )["typed_data"]
        decided = self.api.call(
            "POST",
            f"/trips/{trip['id']}/resolution",
            member=self.mediator,
            json={
                "award": str(award),
                "reason": RESOLUTION_REASON,
                "deadline": typed["message"]["deadline"],
                "signature": self.mediator.sign_typed(typed),
            },
        )
        self.log.disputes.append(
            {
                "trip_id": trip["id"],
                "end_time": trip["end_time"],
                "driver": carrier.address,
                "rider": rider.address,
                "by": disputed["dispute"]["by"],
                "reason": disputed["dispute"]["reason"],
                "fare": int(trip["fare"]),
                "max_fare": int(booking["max_fare"]),
                "award": int(decided["dispute"]["award"]),
                "status": decided["dispute"]["status"],
                "mediator": decided["dispute"]["mediator"],
                "resolution_reason": decided["dispute"]["resolution_reason"],
                "dispute_tx_hash": disputed["dispute"]["tx_hash"],
                "resolution_tx_hash": decided["dispute"]["resolution_tx_hash"],
            }
        )

    def _clock_to(self, moment: int) -> None:
        """Moves the local chain's clock to just past `moment` (a drive's end) if it is not there yet."""
        ahead = moment + 1 - self.chain.next_block_timestamp()
        if ahead > 0:
            self.operator.advance_time(ahead)

    @staticmethod
    def _expect_signable(trip: dict) -> None:
        if trip["status"] != "awaiting_signatures":
            raise DemoError(f"trip {trip['id']} is {trip['status']}: {trip['check_reasons']}")

    def _wait_settled(
        self, logged: list[tuple[int, Member]], on_progress: Callable[[int], None]
    ) -> list[dict[str, Any]]:
        """Polls the API until the worker settled every trip; any rejection or a stuck trip is an error. A ride its
        rider never confirmed settles once the dispute window has passed: the clock is moved past it."""
        window = self.chain.dispute_window()
        waiting = {trip_id for trip_id, _ in logged}
        for ride in [*self.log.unconfirmed, *self.log.disputes]:  # neither confirmed by its rider
            if ride["trip_id"] in waiting:
                self._clock_to(ride["end_time"] + window)
        done: dict[int, dict] = {}
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while len(done) < len(logged):
            for trip_id, driver in logged:
                if trip_id in done:
                    continue
                trip = self.api.call("GET", f"/trips/{trip_id}", member=driver)
                if trip["status"] == "rejected":
                    raise DemoError(f"trip {trip_id} was rejected on chain: {trip['reject_reason']}")
                if trip["status"] == "settled":
                    done[trip_id] = trip
            on_progress(len(done))
            if len(done) < len(logged):
                if time.monotonic() > deadline:
                    stuck = sorted({t for t, _ in logged} - set(done))
                    raise DemoError(f"trips {stuck} did not settle within {SETTLE_TIMEOUT_SECONDS:.0f} s")
                time.sleep(0.3)
        return [done[trip_id] for trip_id, _ in logged]

    # ----------------------------------------------------------- governance
    def _fare_change(self) -> None:
        old_fare = self.log.fare_per_km["operating"]
        new_fare = old_fare * (100 + self.options.fare_change_percent) // 100
        proposer = self.rng.choice(self.drivers)
        change = {
            "kind": "region_fare",
            "region_id": REGION.region_id,
            "fare_per_km": str(new_fare),
            "description": f"Raise Lyon 3e's fare from {old_fare / FARE_TOKEN_UNIT:.2f} to "
            f"{new_fare / FARE_TOKEN_UNIT:.2f} tEUR per km: drivers' costs went up",
        }
        # Drivers want the raise; riders are split: the first votes against, the others for or abstain (a majority
        # for, and a quorum past the chain's floor, with any seed).
        supports = {
            m.address: 1 if m.role == "driver" else 0 if m is self.riders[0] else self.rng.choice((1, 1, 2))
            for m in self.members
        }
        self._decide("fare_change", "5. vote: fare change", proposer, change, supports)

    def _distribute_surplus(self) -> None:
        treasury = self.chain.treasury_balance()
        self.log.treasury_before_distribution = treasury
        amount = treasury * self.options.surplus_share_percent // 100
        proposer = self.rng.choice(self.riders)
        change = {
            "kind": "distribute_surplus",
            "amount": str(amount),
            "description": f"Share {amount / FARE_TOKEN_UNIT:.2f} tEUR of the treasury's surplus among members, "
            f"pro rata to shares; keep the rest as a reserve",
        }
        supports = {m.address: self.rng.choice((1, 1, 1, 2)) for m in self.members}
        self._decide("surplus", "6. vote: share the surplus", proposer, change, supports)
        holders = [m for m in self.members if self.chain.claimable(m.address) > 0]
        task = self.progress.add_task("6. members claim their part", total=len(holders))
        for member in holders:
            claimed = self.api.call("POST", "/members/me/claim", member=member)
            self.log.claims[member.address] = int(claimed["amount"])
            self.progress.advance(task)
        self.log.treasury_after = int(self.api.call("GET", f"/regions/{REGION.region_id}")["treasury_balance"])

    def _decide(self, key: str, title: str, proposer: Member, change: dict, supports: dict[str, int]) -> None:
        """A member proposes with a signature, every member votes with a signed ballot, and once the vote is
        over a member has the Timelock queue and execute it: all relayed by the API, nobody pays gas."""
        task = self.progress.add_task(title, total=len(self.members) + 2)
        proposal_id = self._propose(proposer, change)
        parameters = self.chain.manifest.parameters
        self.operator.advance_time(int(parameters["votingDelay"]) + 1)
        self.progress.advance(task)
        for member in self.members:
            member.vote(self.api, proposal_id, supports[member.address])
            self.progress.advance(task)
        self.operator.advance_time(int(parameters["votingPeriod"]) + 1)
        tallied = self.api.call("GET", f"/governance/proposals/{proposal_id}")
        if tallied["state"] == ProposalState.SUCCEEDED.name.capitalize():
            self.api.call("POST", f"/governance/proposals/{proposal_id}/queue", member=proposer)
            self.operator.advance_time(int(parameters["timelockDelay"]) + 1)
            self.api.call("POST", f"/governance/proposals/{proposal_id}/execute", member=proposer)
        self.progress.advance(task)
        self.log.proposals[key] = {
            **self.api.call("GET", f"/governance/proposals/{proposal_id}"),
            "proposer": proposer.address,
            "change": change,
        }
        self.log.ballots[key] = supports

    def _propose(self, proposer: Member, change: dict) -> str:
        """The member signs the Governor's `Proposal` the API drafts; the API relays `proposeBySig`."""
        draft = self.api.call("POST", "/governance/proposals/typed-data", member=proposer, json=change)
        proposed = self.api.call(
            "POST",
            "/governance/proposals",
            member=proposer,
            json={
                "change": change,
                "deadline": draft["deadline"],
                "signature": proposer.sign_typed(draft["typed_data"]),
            },
        )
        return str(proposed["proposal_id"])

    def _statement(self, member: Member) -> None:
        self.log.statements[member.address] = member.statement(self.api)
