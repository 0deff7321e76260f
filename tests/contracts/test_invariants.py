"""Stateful property test of the whole ledger: random sequences of admissions, deposits (plain and permit), withdrawals
(direct and by signature), fare authorisations, mixed settlement batches (paid from holds after the window or on the
rider's confirmation, too early, over the authorised fare, unbooked, solo, replayed, forged, retried), disputes,
mediators' decisions, releases, the passing of time, share grants, surplus distributions and claims; checked after
every step against a Python model of every balance and hold, and against the invariants: the fare tokens the ledger
holds are exactly free escrow + holds + earnings + treasury + capital held; a trip id
settles at most once; shares never exceed the cap.

Time is exact: the anvil of this module stamps each block one second after the previous one
(`anvil_setBlockTimestampInterval`), and `rule_pass_time` jumps with `evm_setNextBlockTimestamp`; so the model knows
the timestamp of the next transaction (latest + 1), and dispute windows, cancellation deadlines, expiries and
receipt ages are predicted to the second.

Grants and distributions are sent by the Timelock itself (impersonated on anvil): the Governor path to the
Timelock is covered by test_governance_cycle.py; here what matters is the ledger's accounting.

Refused operations are checked with `eth_call` where no deadline is near (a revert changes no state either way, and
after a snapshot revert brownie loses track of a transaction identical, same sender, nonce and data, to one of an
earlier example and reports it "dropped without known replacement"). Time-dependent refusals are arranged to be far
from their boundaries: jumps are whole thousands of seconds, deadlines thousands and a half.
"""

import copy
import dataclasses
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path

import brownie
import pytest
import requests
from brownie import accounts, chain, web3
from brownie.test import stateful
from contract_helpers import (
    LYON_DROPOFF_E6,
    LYON_PICKUP_E6,
    REGION_LYON,
    REGION_VILLEURBANNE,
    SHARE,
    TOKEN,
    HoldState,
    RejectReason,
    keyed_account,
)
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector, keccak
from fuzz_budget import examples
from hypothesis import HealthCheck
from hypothesis import strategies as st

from coopride.chain.eip712 import (
    ZERO_ADDRESS,
    FareAuthorisation,
    TripReceipt,
    dispute_typed_data,
    fare_authorisation_typed_data,
    hold_release_typed_data,
    receipt_typed_data,
    resolution_typed_data,
    sign_attestation,
    sign_typed_data,
    signed_receipt_tuple,
    withdrawal_typed_data,
)


def _brownie_state_machine():
    """Brownie's `state_machine`, run from the pure-Python source that ships beside the compiled module.

    Brownie 1.22.2's mypyc build of brownie.test.stateful rejects the very class it generates
    ("_BrownieStateMachine object expected; got BrownieStateMachine"); its source module works unchanged.
    """
    source = Path(stateful.__file__).with_name("stateful.py")
    spec = importlib.util.spec_from_file_location("brownie_stateful_source", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.state_machine


state_machine = _brownie_state_machine()
UNKNOWN_REGION = 9
MAGNITUDE = 2**96
DAY = 86_400
MEDIATOR_INDEX = 5  # members[5] is appointed mediator
# Small enough that halvings, the hard cap and the daily caps happen within a run; a fee that leaves remainders.
PARAMS = {"halvingInterval": 40 * SHARE, "shareCap": 100 * SHARE, "dailyRewardedMetres": 60_000, "feeBps": 1234}
REGION_DAILY_KM = 90
CANDIDATES = 3  # keyed accounts that may be admitted during a run
SETTINGS = {
    "max_examples": examples(50),
    "stateful_step_count": 25,
    # Fresh examples each run: replaying the database's (shrunk, short) examples would skip most steps.
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
ERROR = {
    "not_member": "NotMember: .*",
    "zero": "ZeroAmount: ",
    "insufficient": "InsufficientBalance: .*",
    "token_balance": "ERC20InsufficientBalance: .*",
    "cap": "ShareCapExceeded: .*",
    "treasury": "TreasuryInsufficient: .*",
    "no_shares": "NoShares: ",
    "nothing_to_claim": "NothingToClaim: .*",
    "already_member": "AlreadyMember: .*",
    "invalid_authorisation": "InvalidAuthorisation: .*",
    "unknown_region": "UnknownRegion: .*",
    "hold_exists": "HoldExists: .*",
    "trip_settled": "TripAlreadySettled: .*",
    "hold_not_active": "HoldNotActive: .*",
    "release_not_allowed": "ReleaseNotAllowed: .*",
    "not_disputable": "NotDisputable: .*",
    "not_party": "NotParty: .*",
    "not_mediator": "NotMediator: .*",
    "mediator_is_party": "MediatorIsParty: .*",
    "award": "AwardExceedsHold: .*",
}
RESOLVED = (HoldState.ResolvedPaid, HoldState.ResolvedUnpaid)


@dataclass
class Holder:
    shares: int = 0
    correction: int = 0


@dataclass
class Hold:
    max_fare: int
    cancel_by: int
    expiry: int
    state: int = HoldState.Active
    released: bool = False


@dataclass
class Booking:
    trip_id: int
    driver: object
    rider: object
    region: int
    max_fare: int
    receipt: TripReceipt  # the trip, driven right after booking: one receipt per booking


@dataclass
class Model:
    """What every balance and hold should be, computed from the rules in docs/design.md."""

    region_operating: dict
    region_changed_at: dict
    region_daily_km: dict
    fee_bps: int
    reward_per_km: dict  # operating? -> base rate
    halving_interval: int
    share_cap: int
    daily_metres: int
    dispute_window: int
    max_receipt_age: int
    max_trip_seconds: int
    wallet: dict
    escrow: dict
    earnings: dict
    member: dict
    treasury: int = 0
    capital: int = 0  # capital shares the ledger holds for its members
    supply: int = 0
    rewards: int = 0
    grants: int = 0
    surplus_per_share: int = 0
    holders: dict = field(default_factory=dict)
    holds: dict = field(default_factory=dict)  # (trip id, driver, rider) -> Hold
    reward_day: dict = field(default_factory=dict)  # driver -> (latest driving day, metres rewarded on it)
    region_day: dict = field(default_factory=dict)  # (region, driving day) -> metres rewarded
    settled: set = field(default_factory=set)
    run_driver: str | None = None
    run_shares: int = 0

    def holder(self, address) -> Holder:
        return self.holders.setdefault(address, Holder())

    def mint(self, address, amount: int) -> None:
        self.supply += amount
        self.credit(address, amount)

    def credit(self, address, amount: int) -> None:
        holder = self.holder(address)
        accrued_before = -(-self.surplus_per_share * amount // MAGNITUDE)  # rounded up, as CoopShare does
        holder.shares += amount
        holder.correction -= accrued_before

    def switch_driver(self, driver) -> None:
        """RideLedger credits a driver's shares once per run of their receipts in a batch (one rounding per run)."""
        if driver != self.run_driver:
            self.end_run()
            self.run_driver = driver

    def end_run(self) -> None:
        if self.run_shares:
            self.credit(self.run_driver, self.run_shares)
        self.run_driver, self.run_shares = None, 0

    def claimable(self, address) -> int:
        holder = self.holder(address)
        return max(self.surplus_per_share * holder.shares // MAGNITUDE + holder.correction, 0)

    def held(self) -> int:
        return sum(h.max_fare for h in self.holds.values() if h.state in (HoldState.Active, HoldState.Disputed))

    def operating_at(self, region: int, end_time: int) -> bool:
        operating = self.region_operating[region]
        return operating if end_time >= self.region_changed_at[region] else not operating

    def reward(self, driver, region: int, metres: int, operating: bool, day: int) -> int:
        last_day, rewarded = self.reward_day.get(driver, (0, 0))
        if day > last_day:
            last_day, rewarded = day, 0
        metres = min(metres, max(self.daily_metres - rewarded, 0))
        region_rewarded = self.region_day.get((region, day), 0)
        metres = min(metres, max(self.region_daily_km[region] * 1000 - region_rewarded, 0))
        self.reward_day[driver] = (last_day, rewarded + metres)
        if metres == 0:
            return 0
        self.region_day[(region, day)] = region_rewarded + metres
        halvings = self.supply // self.halving_interval
        rate = self.reward_per_km[operating] >> halvings if halvings < 256 else 0
        return min(metres * rate // 1000, max(self.share_cap - self.supply, 0))

    def apply_receipt(self, receipt: TripReceipt, driver_signed: bool, confirmation: str | None, now: int):
        """Settlement rules 1-11 in order; returns (reason, fare, fee, shares) and applies a settled trip."""
        r = receipt
        rider = None if r.rider == ZERO_ADDRESS else r.rider
        duration = r.endTime - r.startTime
        if (
            r.driver == r.rider
            or (rider is None and r.fare)
            or r.distanceMetres == 0
            or r.startTime >= r.endTime
            or r.endTime > now
            or duration > self.max_trip_seconds
            or r.distanceMetres * 9 > duration * 500
        ):
            return RejectReason.InvalidTrip, 0, 0, 0
        if r.tripId in self.settled:
            return RejectReason.AlreadySettled, 0, 0, 0
        if not driver_signed:
            return RejectReason.BadDriverSignature, 0, 0, 0
        if r.regionId not in self.region_operating:
            return RejectReason.UnknownRegion, 0, 0, 0
        self.switch_driver(r.driver)
        if not self.member.get(r.driver):
            return RejectReason.NotMember, 0, 0, 0
        operating = self.operating_at(r.regionId, r.endTime)
        if not operating and r.fare:
            return RejectReason.RegionNotOperating, 0, 0, 0
        if operating and rider is None:
            return RejectReason.SoloInOperatingRegion, 0, 0, 0
        key = (r.tripId, r.driver, rider)
        hold = self.holds.get(key) if rider else None
        state = hold.state if hold else HoldState.None_
        if rider:
            if hold is None or hold.state == HoldState.None_ or r.endTime > hold.expiry:
                return RejectReason.NotAuthorised, 0, 0, 0
            if hold.state == HoldState.Disputed:
                return RejectReason.Disputed, 0, 0, 0
            if hold.state == HoldState.Active:
                if r.fare > hold.max_fare:
                    return RejectReason.FareExceedsAuthorised, 0, 0, 0
                if confirmation is None and now < r.endTime + self.dispute_window:
                    return RejectReason.DisputeWindowOpen, 0, 0, 0
                if confirmation == "forged":
                    return RejectReason.BadRiderSignature, 0, 0, 0
        if state not in RESOLVED and now > r.endTime + self.max_receipt_age:
            return RejectReason.Expired, 0, 0, 0

        fare = fee = 0
        rewardable = r.distanceMetres
        if rider:
            if state == HoldState.Active:
                fare = r.fare
                fee = fare * self.fee_bps // 10_000
                self.escrow[rider] += hold.max_fare - fare
                self.treasury += fee
                self.earnings[r.driver] = self.earnings.get(r.driver, 0) + fare - fee
            elif state == HoldState.ResolvedUnpaid:
                rewardable = 0
            del self.holds[key]  # cleared; the bitmap keeps the trip from settling again
        shares = self.reward(r.driver, r.regionId, rewardable, operating, r.endTime // DAY) if rewardable else 0
        self.settled.add(r.tripId)
        self.supply += shares
        self.run_shares += shares
        self.rewards += shares
        return RejectReason.None_, fare, fee, shares


def read_model(coop, actors) -> Model:
    """The model of the deployment as it stands; every run starts from this state (Brownie reverts to it)."""
    ledger = coop.ledger
    assert coop.shares.totalSupply() == 0, "the model starts from a deployment without shares"
    regions = (REGION_LYON, REGION_VILLEURBANNE)
    return Model(
        region_operating={r: bool(ledger.region(r)[3]) for r in regions},
        region_changed_at={r: int(ledger.region(r)[5]) for r in regions},
        region_daily_km={r: int(ledger.region(r)[6]) for r in regions},
        fee_bps=int(ledger.feeBps()),
        reward_per_km={False: int(ledger.bootstrapRewardPerKm()), True: int(ledger.operatingRewardPerKm())},
        halving_interval=int(ledger.halvingInterval()),
        share_cap=int(coop.shares.cap()),
        daily_metres=int(ledger.dailyRewardedMetres()),
        dispute_window=int(ledger.disputeWindow()),
        max_receipt_age=int(ledger.maxReceiptAge()),
        max_trip_seconds=int(ledger.maxTripSeconds()),
        wallet={a.address: int(coop.fare_token.balanceOf(a)) for a in actors},
        escrow={a.address: int(ledger.escrowOf(a)) for a in actors},
        earnings={a.address: int(ledger.earningsOf(a)) for a in actors},
        treasury=int(ledger.treasuryBalance()),
        capital=int(ledger.capitalHeld()),
        member={a.address: bool(ledger.isMember(a)) for a in actors},
    )


# A receipt to post: (kind, index a, index b, region, distance in metres, flag).
receipt_spec = st.tuples(
    st.sampled_from(
        ["booked", "booked", "booked", "booked", "booked", "over", "over", "unbooked", "solo", "solo", "replay",
         "bad_driver", "bad_rider", "too_fast", "retry", "retry", "retry"]
    ),
    st.integers(0, 99),
    st.integers(0, 9),
    st.sampled_from([REGION_LYON, REGION_LYON, REGION_VILLEURBANNE, REGION_VILLEURBANNE, UNKNOWN_REGION]),
    st.integers(300, 25_000),
    st.booleans(),
)
PORTIONS = (2, 1, 4, 0, 5)  # quarters of a balance: half, a quarter, all, nothing, more than all


def _encode_argument(argument) -> bytes:
    if isinstance(argument, str):  # an address
        return encode(["address"], [argument])
    return encode(["uint256"], [argument])


class BatchedReads:
    """View calls sent as one JSON-RPC batch: an invariant check reads ~100 values after every step, and one round
    trip keeps that to milliseconds (web3 through Brownie's middlewares costs ~0.5 s). Each answer is its words."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()

    def read(self, calls) -> list[list[int]]:
        payload = []
        for index, (contract, signature, arguments) in enumerate(calls):
            data = function_signature_to_4byte_selector(signature) + b"".join(_encode_argument(a) for a in arguments)
            payload.append({"jsonrpc": "2.0", "id": index, "method": "eth_call",
                            "params": [{"to": contract.address, "data": "0x" + data.hex()}, "latest"]})
        answers = sorted(self.session.post(self.url, json=payload, timeout=30).json(), key=lambda answer: answer["id"])
        words = []
        for answer in answers:
            raw = bytes.fromhex(answer["result"][2:])
            words.append([int.from_bytes(raw[i : i + 32], "big") for i in range(0, len(raw), 32)])
        return words


class LedgerMachine:
    st_actor = st.integers(0, 9)
    # Members (0-5) most of the time: bookings between them go through; candidates and the outsider sometimes.
    st_party_index = st.sampled_from([0, 1, 2, 3, 4, 5] * 3 + [6, 7, 8, 9])
    st_index = st.integers(0, 99)
    st_candidate = st.integers(0, CANDIDATES - 1)
    st_region = st.sampled_from([REGION_LYON, REGION_LYON, REGION_VILLEURBANNE])
    st_flag = st.booleans()
    st_mostly = st.sampled_from([True, True, True, False])
    st_amount = st.integers(1, 150 * TOKEN)
    st_fare = st.integers(0, 8 * TOKEN)
    st_portion = st.sampled_from(PORTIONS)
    st_grant = st.integers(1, 60).map(lambda whole: whole * SHARE)
    st_batch = st.lists(receipt_spec, min_size=1, max_size=8)
    # Time jumps of whole thousands of seconds: minutes, hours, a day and a half, more than a receipt's 7-day life.
    st_thousands = st.sampled_from([1, 2, 5, 20, 130, 700])
    st_deadline = st.sampled_from([1, 3, 10, 60, 900])  # thousands of seconds, plus a half
    st_party = st.sampled_from(["rider", "driver", "stranger"])

    def __init__(cls, coop, actors, timelock):
        cls.coop = coop
        cls.actors = actors  # members, then candidates, then the outsider
        cls.by_address = {a.address: a for a in actors}
        cls.timelock = timelock
        cls.relayer = coop.settler
        cls.mediator = actors[MEDIATOR_INDEX]
        cls.rpc = BatchedReads(os.environ["COOPRIDE_TEST_RPC_URL"])
        cls.initial_model = read_model(coop, actors)

    def setup(self):
        self.model = copy.deepcopy(self.initial_model)
        self.next_trip_id = 1
        self.next_batch = 1
        self.bookings: list[Booking] = []
        self.posted = []  # (receipt, signed, driver signed, confirmation): what a later batch may post again
        self.retryable = []  # the posted receipts last told to retry later
        self.settled_events = []

    @staticmethod
    def now() -> int:
        """The timestamp of the next transaction: blocks are stamped one second apart."""
        return chain[-1].timestamp + 1

    # ---------------------------------------------------------------- membership and escrow

    def rule_join(self, candidate="st_candidate", region="st_region", by_governance="st_flag"):
        """A candidate's signed application (with a permit for the capital share) is admitted by the admissions
        key or by governance; the capital share moves from their wallet to the ledger's capital."""
        account = self.actors[len(self.coop.members) + candidate]
        application = self.coop.application(account, region)
        sender = self.timelock if by_governance else self.coop.admissions
        if self.model.member[account.address]:
            with brownie.reverts(revert_pattern=ERROR["already_member"]):
                self.coop.membership.admit.call(account, region, application["max_capital_share"],
                                                application["deadline"], application["signature"], {"from": sender})
            return
        self.coop.admit(application, sender=sender)
        self.model.member[account.address] = True
        self.model.wallet[account.address] -= application["max_capital_share"]
        self.model.capital += application["max_capital_share"]

    def _expect_deposit_error(self, account, amount: int):
        if not self.model.member[account.address]:
            return ERROR["not_member"]
        if amount > self.model.wallet[account.address]:
            return ERROR["token_balance"]
        return None

    def rule_deposit(self, actor="st_actor", amount="st_amount", with_permit="st_flag"):
        account = self.actors[actor]
        error = self._expect_deposit_error(account, amount)
        if with_permit:
            deadline = chain[-1].timestamp + 3600
            v, r, s = self.coop.permit_signature(account, self.coop.ledger.address, amount, deadline)
            call, args = self.coop.ledger.depositWithPermit, (account, amount, deadline, v, r, s, {"from": self.relayer})
        else:
            self.coop.fare_token.approve(self.coop.ledger, amount, {"from": account})
            call, args = self.coop.ledger.deposit, (amount, {"from": account})
        if error:
            with brownie.reverts(revert_pattern=error):
                call.call(*args)
            return
        call(*args)
        self.model.wallet[account.address] -= amount
        self.model.escrow[account.address] += amount

    def rule_withdraw(self, actor="st_actor", portion="st_portion", earnings="st_flag", by_signature="st_flag"):
        account = self.actors[actor]
        balances = self.model.earnings if earnings else self.model.escrow
        available = balances.get(account.address, 0)
        amount = available * portion // 4 + (1 if portion > 4 else 0)
        if by_signature:
            deadline = chain[-1].timestamp + 3600
            typed = withdrawal_typed_data(self.coop.receipt_domain, account.address, earnings, amount,
                                          self.coop.ledger.nonces(account), deadline)
            signature = sign_typed_data(account.private_key, typed)
            call, args = self.coop.ledger.withdrawBySig, (account, earnings, amount, deadline, signature, {"from": self.relayer})
        else:
            call = self.coop.ledger.withdrawEarnings if earnings else self.coop.ledger.withdrawEscrow
            args = (amount, {"from": account})
        if amount == 0 or amount > available:
            with brownie.reverts(revert_pattern=ERROR["zero" if amount == 0 else "insufficient"]):
                call.call(*args)
            return
        call(*args)
        balances[account.address] -= amount
        self.model.wallet[account.address] += amount

    # ---------------------------------------------------------------- bookings

    def rule_authorise(self, driver="st_party_index", rider="st_party_index", max_fare="st_fare", region="st_region",
                       cancel_in="st_deadline", expire_in="st_deadline"):
        driver, rider = self.actors[driver], self.actors[rider]
        now = self.now()
        cancel_by = now + cancel_in * 1000 + 500
        expiry = max(cancel_by, now + expire_in * 1000 + 500)
        trip_id = self.next_trip_id
        authorisation = FareAuthorisation(trip_id, rider.address, driver.address, region, *LYON_PICKUP_E6,
                                          *LYON_DROPOFF_E6, max_fare, cancel_by, expiry)
        signature = sign_typed_data(rider.private_key, fare_authorisation_typed_data(self.coop.receipt_domain, authorisation))
        args = (authorisation.as_tuple(), signature, {"from": self.relayer})
        error = None
        if rider == driver:
            error = ERROR["invalid_authorisation"]
        elif not self.model.member[rider.address] or not self.model.member[driver.address]:
            error = ERROR["not_member"]
        elif max_fare > self.model.escrow[rider.address]:
            error = ERROR["insufficient"]
        if error:
            with brownie.reverts(revert_pattern=error):
                self.coop.ledger.authoriseFare.call(*args)
            return
        self.coop.ledger.authoriseFare(*args)
        self.next_trip_id += 1
        self.model.escrow[rider.address] -= max_fare
        self.model.holds[(trip_id, driver.address, rider.address)] = Hold(max_fare, cancel_by, expiry)
        # The trip is driven at once; its receipt is posted by later batches (before or after the window, or never).
        operating = self.model.operating_at(region, chain[-1].timestamp - 1)
        fare = max_fare * (trip_id % 10) // 9 if operating else 0
        receipt = self._receipt(trip_id, driver, rider, region, 1_000 + 997 * trip_id % 20_000, fare)
        self.bookings.append(Booking(trip_id, driver, rider, region, max_fare, receipt))

    def rule_authorise_more(self, driver="st_party_index", rider="st_party_index", max_fare="st_fare",
                            region="st_region", cancel_in="st_deadline", expire_in="st_deadline"):
        """Bookings feed most of the other rules: a second rule gives them twice the share of steps."""
        self.rule_authorise(driver, rider, max_fare, region, cancel_in, expire_in)

    def _booking(self, index: int, *states) -> Booking | None:
        """A booking, three times in four one whose hold is in one of `states` if there is one (the others exercise
        the refusals)."""
        preferred = [b for b in self.bookings if (self._hold_of(b) or Hold(0, 0, 0, HoldState.None_)).state in states]
        if preferred and index % 4:
            return preferred[index % len(preferred)]
        return self.bookings[index % len(self.bookings)] if self.bookings else None

    def _hold_of(self, booking: Booking) -> Hold | None:
        return self.model.holds.get((booking.trip_id, booking.driver.address, booking.rider.address))

    def _party(self, booking: Booking, who: str):
        if who == "rider":
            return booking.rider
        if who == "driver":
            return booking.driver
        return next(a for a in self.actors if a not in (booking.driver, booking.rider))

    def rule_release(self, index="st_index", who="st_party", by_signature="st_flag"):
        booking = self._booking(index, HoldState.Active)
        if booking is None:
            return
        by, hold, now = self._party(booking, who), self._hold_of(booking), self.now()
        trip, driver, rider = booking.trip_id, booking.driver.address, booking.rider.address
        if by_signature:
            typed = hold_release_typed_data(self.coop.receipt_domain, trip, driver, rider, by.address,
                                            self.coop.ledger.nonces(by), now + 3600)
            call = self.coop.ledger.releaseHoldBySig
            args = (trip, driver, rider, by, now + 3600, sign_typed_data(by.private_key, typed), {"from": self.relayer})
        else:
            call, args = self.coop.ledger.releaseHold, (trip, driver, rider, {"from": by})
        if hold is None or hold.state != HoldState.Active:
            with brownie.reverts(revert_pattern=ERROR["hold_not_active"]):
                call.call(*args)
            return
        allowed = by == booking.driver or (by == booking.rider and now < hold.cancel_by)
        allowed = allowed or now > hold.expiry + self.model.max_receipt_age
        if not allowed:
            with brownie.reverts(revert_pattern=ERROR["release_not_allowed"]):
                call.call(*args)
            return
        tx = call(*args)
        assert tx.timestamp == now
        self.model.escrow[rider] += hold.max_fare
        self.model.holds[(trip, driver, rider)] = Hold(0, 0, 0, HoldState.None_, released=True)

    def rule_dispute(self, index="st_index", who="st_party", by_signature="st_flag"):
        booking = self._booking(index, HoldState.Active)
        if booking is None:
            return
        by, hold = self._party(booking, who), self._hold_of(booking)
        trip, driver, rider = booking.trip_id, booking.driver.address, booking.rider.address
        reason = f"{who} disputes trip {trip}"
        if by_signature:
            deadline = chain[-1].timestamp + 3600
            typed = dispute_typed_data(self.coop.receipt_domain, trip, driver, rider, reason, by.address,
                                       self.coop.ledger.nonces(by), deadline)
            call = self.coop.ledger.disputeBySig
            args = (trip, driver, rider, reason, by, deadline, sign_typed_data(by.private_key, typed), {"from": self.relayer})
        else:
            call, args = self.coop.ledger.dispute, (trip, driver, rider, reason, {"from": by})
        error = None
        if who == "stranger":
            error = ERROR["not_party"]
        elif hold is None or hold.state != HoldState.Active:
            error = ERROR["not_disputable"]
        if error:
            with brownie.reverts(revert_pattern=error):
                call.call(*args)
            return
        tx = call(*args)
        assert tx.events["TripDisputed"][0]["reason"] == reason
        hold.state = HoldState.Disputed

    def rule_dispute_more(self, index="st_index", who="st_party", by_signature="st_flag"):
        """Disputes need an active hold: a second rule gives them, and so decisions, a fair share of steps."""
        self.rule_dispute(index, who, by_signature)

    def rule_resolve_more(self, index="st_index", award="st_portion", by_mediator="st_mostly", by_signature="st_flag"):
        """Decisions need a disputed hold: a second rule gives them a fair share of steps."""
        self.rule_resolve(index, award, by_mediator, by_signature)

    def rule_resolve(self, index="st_index", award="st_portion", by_mediator="st_mostly", by_signature="st_flag"):
        booking = self._booking(index, HoldState.Disputed)
        if booking is None:
            return
        mediator = self.mediator if by_mediator else self.actors[MEDIATOR_INDEX - 1]
        hold = self._hold_of(booking)
        trip, driver, rider = booking.trip_id, booking.driver.address, booking.rider.address
        amount = booking.max_fare * award // 4 + (1 if award > 4 else 0)
        reason = f"award {amount}"
        if by_signature:
            deadline = chain[-1].timestamp + 3600
            typed = resolution_typed_data(self.coop.receipt_domain, trip, driver, rider, amount, reason, mediator.address,
                                          self.coop.ledger.nonces(mediator), deadline)
            call = self.coop.ledger.resolveDisputeBySig
            args = (trip, driver, rider, amount, reason, mediator, deadline, sign_typed_data(mediator.private_key, typed),
                    {"from": self.relayer})
        else:
            call, args = self.coop.ledger.resolveDispute, (trip, driver, rider, amount, reason, {"from": mediator})
        error = None
        if not by_mediator or not self.model.member[mediator.address]:
            error = ERROR["not_mediator"]
        elif mediator in (booking.driver, booking.rider):
            error = ERROR["mediator_is_party"]
        elif hold is None or hold.state != HoldState.Disputed:
            error = ERROR["not_disputable"]
        elif amount > hold.max_fare:
            error = ERROR["award"]
        if error:
            with brownie.reverts(revert_pattern=error):
                call.call(*args)
            return
        tx = call(*args)
        fee = amount * self.model.fee_bps // 10_000
        decided = tx.events["DisputeResolved"][0]
        assert (decided["award"], decided["fee"], decided["refund"]) == (amount, fee, hold.max_fare - amount)
        self.model.treasury += fee
        self.model.earnings[driver] = self.model.earnings.get(driver, 0) + amount - fee
        self.model.escrow[rider] += hold.max_fare - amount
        hold.state = HoldState.ResolvedPaid if amount else HoldState.ResolvedUnpaid

    # ---------------------------------------------------------------- settlement

    def _receipt(self, trip_id, driver, rider, region, distance, fare) -> TripReceipt:
        end = chain[-1].timestamp - 1
        return TripReceipt(
            tripId=trip_id,
            driver=driver.address,
            rider=rider.address if rider else ZERO_ADDRESS,
            regionId=region,
            distanceMetres=distance,
            fare=fare,
            startTime=end - max(600, distance // 50),
            endTime=end,
            traceHash=keccak(b"trace-%d" % trip_id),
        )

    def _sign(self, receipt: TripReceipt, driver_signer, confirmation: str | None) -> tuple:
        typed = receipt_typed_data(self.coop.receipt_domain, receipt)
        rider_signature = None
        if confirmation is not None:
            signer = self.by_address[receipt.rider] if confirmation == "good" else self._impostor(receipt)
            rider_signature = sign_typed_data(signer.private_key, typed)
        return signed_receipt_tuple(receipt, sign_typed_data(driver_signer.private_key, typed), rider_signature)

    def _impostor(self, receipt: TripReceipt):
        return next(a for a in self.actors if a.address not in (receipt.driver, receipt.rider))

    def _build(self, spec):
        """One receipt of the batch: (receipt, signed tuple, driver signed it, confirmation: None, good or forged)."""
        kind, a, b, region, distance, flag = spec
        if kind == "retry" and self.posted:
            # Mostly a receipt told to come back later (window open, disputed); sometimes any posted one.
            pool = self.retryable if self.retryable and a % 4 else self.posted
            return pool[a % len(pool)]
        booking = self._booking(a, HoldState.Active, HoldState.Disputed, *RESOLVED)
        if kind in ("booked", "over", "bad_rider") and booking is not None:
            receipt = booking.receipt
            if kind == "over":
                receipt = dataclasses.replace(receipt, fare=booking.max_fare + 1)
            confirmation = "forged" if kind == "bad_rider" else ("good" if flag else None)
            return receipt, self._sign(receipt, booking.driver, confirmation), True, confirmation
        driver = self.actors[a % len(self.actors)]
        if kind == "replay" and self.model.settled:
            trip_id = sorted(self.model.settled)[a % len(self.model.settled)]
        else:
            trip_id = self.next_trip_id
            self.next_trip_id += 1
        rider = None
        confirmation = None
        if kind in ("unbooked", "bad_rider") or (kind == "replay" and flag):
            rider = self.actors[b] if self.actors[b] != driver else self.actors[(b + 1) % len(self.actors)]
            confirmation = "forged" if kind == "bad_rider" else "good"
        receipt = self._receipt(trip_id, driver, rider, region, distance, 0)
        if kind == "too_fast":  # faster than 200 km/h on average
            receipt = dataclasses.replace(receipt, startTime=receipt.endTime - distance * 9 // 500 + 1)
        driver_signer = self._impostor(receipt) if kind == "bad_driver" else driver
        return receipt, self._sign(receipt, driver_signer, confirmation), kind != "bad_driver", confirmation

    def rule_settle(self, batch="st_batch"):
        built = [self._build(spec) for spec in batch]
        batch_id = keccak(text=f"batch-{self.next_batch}")
        self.next_batch += 1
        r, vs = sign_attestation(self.coop.attester.private_key, self.coop.receipt_domain, batch_id, [b[0] for b in built])
        now = self.now()
        tx = self.coop.ledger.settle(batch_id, [b[1] for b in built], r, vs, {"from": self.relayer})
        assert tx.timestamp == now
        events = [(e.name, e) for e in tx.events if e.name in ("TripSettled", "TripRejected")]
        assert len(events) == len(built)

        for (receipt, signed, driver_signed, confirmation), (outcome, event) in zip(built, events):
            assert event["tripId"] == receipt.tripId
            was_settled = receipt.tripId in self.model.settled
            reason, fare, fee, shares = self.model.apply_receipt(receipt, driver_signed, confirmation, now)
            if reason == RejectReason.None_:
                assert outcome == "TripSettled" and not was_settled, "a trip id settled twice"
                assert (event["fare"], event["fee"], event["shares"]) == (fare, fee, shares)
                self.settled_events.append(receipt.tripId)
            else:
                assert (outcome, event["reason"]) == ("TripRejected", reason), receipt
            entry = (receipt, signed, driver_signed, confirmation)
            if entry not in self.posted:
                self.posted.append(entry)
            if reason in (RejectReason.DisputeWindowOpen, RejectReason.Disputed):
                if entry not in self.retryable:
                    self.retryable.append(entry)
            elif entry in self.retryable:
                self.retryable.remove(entry)
        self.model.end_run()
        counts = tx.events["BatchSettled"][0]
        assert counts["settled"] + counts["rejected"] == len(built)

    def rule_settle_more(self, batch="st_batch"):
        """Settlement is the heart of the ledger: a second rule gives it twice the share of steps."""
        self.rule_settle(batch)

    def rule_pass_time(self, thousands="st_thousands"):
        web3.provider.make_request("evm_setNextBlockTimestamp", [chain[-1].timestamp + thousands * 1000])
        chain.mine()

    # ---------------------------------------------------------------- shares and surplus

    def rule_grant(self, actor="st_actor", amount="st_grant"):
        account = self.actors[actor]
        if self.model.supply + amount > self.model.share_cap:
            with brownie.reverts(revert_pattern=ERROR["cap"]):
                self.coop.shares.grant.call(account, amount, "organising", {"from": self.timelock})
            return
        self.coop.shares.grant(account, amount, "organising", {"from": self.timelock})
        self.model.mint(account.address, amount)
        self.model.grants += amount

    def rule_distribute_surplus(self, portion="st_portion"):
        treasury = self.model.treasury
        amount = treasury * portion // 4 + (1 if portion > 4 else 0)
        error = None
        if amount == 0:
            error = ERROR["zero"]
        elif amount > treasury:
            error = ERROR["treasury"]
        elif self.model.supply == 0:
            error = ERROR["no_shares"]
        if error:
            with brownie.reverts(revert_pattern=error):
                self.coop.ledger.distributeSurplus.call(amount, {"from": self.timelock})
            return
        self.coop.ledger.distributeSurplus(amount, {"from": self.timelock})
        self.model.treasury -= amount
        self.model.surplus_per_share += amount * MAGNITUDE // self.model.supply

    def rule_claim(self, actor="st_actor", relayed="st_flag"):
        account = self.actors[actor]
        shares = self.coop.shares
        amount = self.model.claimable(account.address)
        claim, args = (shares.claimFor, (account, {"from": self.relayer})) if relayed else (shares.claim, ({"from": account},))
        if amount == 0:
            with brownie.reverts(revert_pattern=ERROR["nothing_to_claim"]):
                claim.call(*args)
            return
        tx = claim(*args)
        assert tx.events["SurplusClaimed"][0]["amount"] == amount
        self.model.holder(account.address).correction -= amount
        self.model.wallet[account.address] += amount

    # ---------------------------------------------------------------- invariants

    def invariant_balances_holds_and_settlements(self):
        coop, model = self.coop, self.model
        per_actor = ("escrowOf", "earningsOf", "balanceOf", "claimable", "wallet")
        calls = []
        for account in self.actors:
            calls += [
                (coop.ledger, "escrowOf(address)", [account.address]),
                (coop.ledger, "earningsOf(address)", [account.address]),
                (coop.shares, "balanceOf(address)", [account.address]),
                (coop.shares, "claimable(address)", [account.address]),
                (coop.fare_token, "balanceOf(address)", [account.address]),
            ]
        calls += [
            (coop.ledger, "treasuryBalance()", []),
            (coop.fare_token, "balanceOf(address)", [coop.ledger.address]),
            (coop.fare_token, "balanceOf(address)", [coop.shares.address]),
            (coop.shares, "totalSupply()", []),
            (coop.ledger, "capitalHeld()", []),
        ]
        holds = [(b.trip_id, b.driver.address, b.rider.address) for b in self.bookings]
        calls += [(coop.ledger, "holdOf(uint64,address,address)", list(key)) for key in holds]
        calls += [(coop.ledger, "isHoldReleased(uint64,address,address)", list(key)) for key in holds]
        settled_ids = sorted(model.settled)
        calls += [(coop.ledger, "isSettled(uint256)", [trip_id]) for trip_id in settled_ids]
        results = [words[0] if len(words) == 1 else words for words in self.rpc.read(calls)]
        n = 5 * len(self.actors)
        rows = [dict(zip(per_actor, results[i : i + 5])) for i in range(0, n, 5)]
        treasury, ledger_holds, shares_holds, supply, capital = results[n : n + 5]
        on_chain_holds = results[n + 5 : n + 5 + len(holds)]
        released = results[n + 5 + len(holds) : n + 5 + 2 * len(holds)]
        assert all(results[n + 5 + 2 * len(holds) :]), "a settled trip id is not marked settled on chain"

        # Conservation: every fare token the ledger holds is owed to someone, exactly.
        held = sum(h[0] for h in on_chain_holds if h[3] in (HoldState.Active, HoldState.Disputed))
        assert ledger_holds == sum(row["escrowOf"] + row["earningsOf"] for row in rows) + held + treasury + capital
        assert capital == model.capital
        assert shares_holds >= sum(row["claimable"] for row in rows)
        assert supply == model.rewards + model.grants <= model.share_cap
        assert supply == sum(row["balanceOf"] for row in rows)
        assert len(self.settled_events) == len(set(self.settled_events)) == len(model.settled)

        assert treasury == model.treasury
        assert supply == model.supply
        assert held == model.held()
        for key, on_chain, was_released in zip(holds, on_chain_holds, released):
            hold = model.holds.get(key)
            expected = (hold.max_fare, hold.cancel_by, hold.expiry, hold.state) if hold and not hold.released else (0, 0, 0, 0)
            assert tuple(on_chain) == expected, f"hold {key}: chain {on_chain} != model {expected}"
            assert bool(was_released) == bool(hold and hold.released)
        for account, row in zip(self.actors, rows):
            expected = {
                "escrowOf": model.escrow[account.address],
                "earningsOf": model.earnings.get(account.address, 0),
                "balanceOf": model.holder(account.address).shares,
                "claimable": model.claimable(account.address),
                "wallet": model.wallet[account.address],
            }
            assert row == expected, f"{account.address}: chain {row} != model {expected}"


@pytest.fixture(scope="module")
def ledger_coop(coop, deploy_coop):
    """A deployment with a small halving interval, share cap, daily reward caps; Lyon operating (governance), a
    mediator appointed; blocks stamped one second apart for the module (restored afterwards)."""
    small = deploy_coop(PARAMS)
    for region in (REGION_LYON, REGION_VILLEURBANNE):
        small.ledger.setRegionDailyCap(region, REGION_DAILY_KM, {"from": small.timelock})
    small.ledger.grantRole(small.ledger.MEDIATOR_ROLE(), small.members[MEDIATOR_INDEX], {"from": small.timelock})
    small.activate(REGION_LYON)
    web3.provider.make_request("anvil_setBlockTimestampInterval", [1])
    yield small
    web3.provider.make_request("anvil_removeBlockTimestampInterval", [])


def test_ledger_accounting_holds_over_random_operations(ledger_coop):
    coop = ledger_coop
    candidates = [keyed_account(f"invariant-candidate-{i}") for i in range(CANDIDATES)]
    for account in candidates:
        coop.fund(account)
    outsider = keyed_account("invariant-outsider")
    coop.fund(outsider)
    actors = coop.members + candidates + [outsider]
    assert len(actors) == 10  # the strategies pick actors by index
    timelock = accounts.at(coop.timelock.address, force=True)

    state_machine(LedgerMachine, coop, actors, timelock, settings=SETTINGS)
