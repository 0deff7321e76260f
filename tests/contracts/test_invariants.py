"""Stateful property test of the whole ledger: random sequences of admissions, deposits (plain and permit),
withdrawals, mixed settlement batches, share grants, surplus distributions and claims, checked after every
step against a Python model of every balance and against the conservation invariants.

Grants and distributions are sent by the Timelock itself (impersonated on anvil): the Governor path to the
Timelock is covered by test_governance_cycle.py; here what matters is the ledger's accounting.

Refused operations are checked with `eth_call`: a revert changes no state either way, and after a snapshot revert
brownie loses track of a transaction identical (same sender, nonce and data) to one of an earlier example and
reports it "dropped without known replacement".
"""

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

import copy
import os

import brownie
import pytest
import requests
from brownie import accounts, chain, web3
from brownie.test import stateful
from fuzz_budget import examples
from contract_helpers import REGION_LYON, REGION_VILLEURBANNE, SHARE, TOKEN, RejectReason, keyed_account
from eth_utils import function_signature_to_4byte_selector, keccak
from hypothesis import HealthCheck
from hypothesis import strategies as st

from coopride.chain.eip712 import (
    ZERO_ADDRESS,
    TripReceipt,
    permit_typed_data,
    receipt_typed_data,
    sign_typed_data,
    signed_receipt_tuple,
    split_signature,
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
# Small enough that halvings and the hard cap happen within a run, and a fee that leaves remainders.
PARAMS = {"halvingInterval": 40 * SHARE, "shareCap": 100 * SHARE, "dailyRewardedMetres": 60_000, "feeBps": 1234}
CANDIDATES = 3  # keyed accounts that may be admitted during a run
SETTINGS = {
    "max_examples": examples(60),
    "stateful_step_count": 20,
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
}


@dataclass
class Holder:
    shares: int = 0
    correction: int = 0


@dataclass
class Model:
    """What every balance should be, computed from the rules in docs/design.md."""

    region_operating: dict
    fare_per_km: dict
    fee_bps: int
    reward_per_km: dict  # operating? -> base rate
    halving_interval: int
    share_cap: int
    daily_metres: int
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
    reward_day: dict = field(default_factory=dict)  # driver -> (day, rewarded metres that day)
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

    def reward(self, driver, metres: int, operating: bool, day: int) -> int:
        last_day, rewarded = self.reward_day.get(driver, (None, 0))
        rewarded = rewarded if last_day == day else 0
        metres = min(metres, max(self.daily_metres - rewarded, 0))
        self.reward_day[driver] = (day, rewarded + metres)
        if metres == 0:
            return 0
        halvings = self.supply // self.halving_interval
        rate = self.reward_per_km[operating] >> halvings if halvings < 256 else 0
        return min(metres * rate // 1000, max(self.share_cap - self.supply, 0))

    def apply_receipt(self, receipt: TripReceipt, driver_signed: bool, rider_signed: bool, day: int, now: int):
        """Returns (reason, fare, fee, shares) and applies a settled trip to the balances."""
        rider = None if receipt.rider == ZERO_ADDRESS else receipt.rider
        if receipt.tripId in self.settled:
            return RejectReason.AlreadySettled, 0, 0, 0
        plausible = 0 < receipt.distanceMetres and receipt.startTime < receipt.endTime <= now
        plausible = plausible and receipt.distanceMetres * 9 <= (receipt.endTime - receipt.startTime) * 500
        if receipt.driver == receipt.rider or (rider is None and receipt.fare) or not plausible:
            return RejectReason.InvalidTrip, 0, 0, 0
        if not driver_signed:
            return RejectReason.BadDriverSignature, 0, 0, 0
        if rider and not rider_signed:
            return RejectReason.BadRiderSignature, 0, 0, 0
        if receipt.regionId not in self.region_operating:
            return RejectReason.UnknownRegion, 0, 0, 0
        self.switch_driver(receipt.driver)
        if not self.member.get(receipt.driver):
            return RejectReason.NotMember, 0, 0, 0
        operating = self.region_operating[receipt.regionId]
        fare = 0
        if not operating:
            if receipt.fare:
                return RejectReason.RegionNotOperating, 0, 0, 0
        elif rider:
            fare = receipt.distanceMetres * self.fare_per_km[receipt.regionId] // 1000
            if fare > receipt.fare:
                return RejectReason.FareExceedsSigned, 0, 0, 0
        if rider:
            if not self.member.get(rider):
                return RejectReason.NotMember, 0, 0, 0
            if self.escrow.get(rider, 0) < fare:
                return RejectReason.RiderUnderfunded, 0, 0, 0
            self.escrow[rider] -= fare
        self.settled.add(receipt.tripId)
        fee = fare * self.fee_bps // 10_000
        self.treasury += fee
        self.earnings[receipt.driver] = self.earnings.get(receipt.driver, 0) + fare - fee
        shares = self.reward(receipt.driver, receipt.distanceMetres, operating, day) if (not operating or rider) else 0
        self.supply += shares
        self.run_shares += shares
        self.rewards += shares
        return RejectReason.None_, fare, fee, shares


def read_model(coop, actors) -> Model:
    """The model of the deployment as it stands; every run starts from this state (Brownie reverts to it)."""
    ledger = coop.ledger
    assert coop.shares.totalSupply() == 0, "the model starts from a deployment without shares"
    return Model(
        region_operating={r: bool(ledger.region(r)[3]) for r in (REGION_LYON, REGION_VILLEURBANNE)},
        fare_per_km={r: int(ledger.region(r)[0]) for r in (REGION_LYON, REGION_VILLEURBANNE)},
        fee_bps=int(ledger.feeBps()),
        reward_per_km={False: int(ledger.bootstrapRewardPerKm()), True: int(ledger.operatingRewardPerKm())},
        halving_interval=int(ledger.halvingInterval()),
        share_cap=int(coop.shares.cap()),
        daily_metres=int(ledger.dailyRewardedMetres()),
        wallet={a.address: int(coop.fare_token.balanceOf(a)) for a in actors},
        escrow={a.address: int(ledger.escrowOf(a)) for a in actors},
        earnings={a.address: int(ledger.earningsOf(a)) for a in actors},
        treasury=int(ledger.treasuryBalance()),
        capital=int(ledger.capitalHeld()),
        member={a.address: bool(ledger.isMember(a)) for a in actors},
    )


# A receipt to build: (kind, driver index, rider index or None, region, distance in metres).
receipt_spec = st.tuples(
    st.sampled_from(
        ["valid", "valid", "valid", "replay", "bad_driver", "bad_rider", "unfunded", "retry", "underpriced", "bootstrap_fare"]
    ),
    st.integers(0, 9),
    st.one_of(st.none(), st.integers(0, 9)),
    st.sampled_from([REGION_LYON, REGION_LYON, REGION_LYON, REGION_VILLEURBANNE, REGION_VILLEURBANNE, UNKNOWN_REGION]),
    st.integers(300, 25_000),
)
# Every run starts with fares and rewards flowing: shared trips in operating Lyon between the first members.
opening_trip_spec = st.tuples(st.just("valid"), st.integers(0, 5), st.integers(0, 5), st.just(REGION_LYON), st.integers(1_000, 25_000))
PORTIONS = (2, 1, 4, 0, 5)  # quarters of a balance: half, a quarter, all, nothing, more than all


class BatchedReads:
    """uint256 view calls sent as one JSON-RPC batch: an invariant check reads ~50 values after every step,
    and one round trip keeps that to milliseconds (web3 through Brownie's middlewares costs ~0.5 s)."""

    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()

    def read_uints(self, calls) -> list[int]:
        payload = []
        for index, (contract, signature, argument) in enumerate(calls):
            data = "0x" + function_signature_to_4byte_selector(signature).hex()
            if isinstance(argument, str):  # an address
                data += argument[2:].lower().rjust(64, "0")
            elif argument is not None:  # a uint256
                data += f"{argument:064x}"
            payload.append({"jsonrpc": "2.0", "id": index, "method": "eth_call", "params": [{"to": contract.address, "data": data}, "latest"]})
        answers = sorted(self.session.post(self.url, json=payload, timeout=30).json(), key=lambda answer: answer["id"])
        return [int(answer["result"], 16) for answer in answers]


class LedgerMachine:
    st_actor = st.integers(0, 9)
    st_candidate = st.integers(0, CANDIDATES - 1)
    st_region = st.sampled_from([REGION_LYON, REGION_VILLEURBANNE])
    st_flag = st.booleans()
    st_amount = st.integers(1, 150 * TOKEN)
    st_portion = st.sampled_from(PORTIONS)
    st_grant = st.integers(1, 60).map(lambda whole: whole * SHARE)
    st_batch = st.lists(receipt_spec, min_size=1, max_size=8)
    st_seconds = st.integers(60, 40 * 3600)
    st_opening_batch = st.lists(opening_trip_spec, min_size=2, max_size=6)

    def __init__(cls, coop, actors, timelock):
        cls.coop = coop
        cls.actors = actors  # members, then candidates, then the outsider
        cls.timelock = timelock
        cls.relayer = coop.settler
        cls.rpc = BatchedReads(os.environ["COOPRIDE_TEST_RPC_URL"])
        cls.initial_model = read_model(coop, actors)

    def setup(self):
        self.model = copy.deepcopy(self.initial_model)
        self.next_trip_id = 1
        self.underfunded = []  # (receipt, signed tuple) rejected for funds: may settle once the rider tops up
        self.settled_events = []

    def initialize_trips(self, batch="st_opening_batch"):
        self.rule_settle(batch)

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
        if with_permit:
            return self._deposit_with_permit(self.actors[actor], amount)
        account = self.actors[actor]
        self.coop.fare_token.approve(self.coop.ledger, amount, {"from": account})
        error = self._expect_deposit_error(account, amount)
        if error:
            with brownie.reverts(revert_pattern=error):
                self.coop.ledger.deposit.call(amount, {"from": account})
            return
        self.coop.ledger.deposit(amount, {"from": account})
        self.model.wallet[account.address] -= amount
        self.model.escrow[account.address] += amount

    def _deposit_with_permit(self, account, amount: int):
        deadline = chain.time() + 3600
        v, r, s = self.coop.permit_signature(account, self.coop.ledger.address, amount, deadline)
        error = self._expect_deposit_error(account, amount)
        if error:
            with brownie.reverts(revert_pattern=error):
                self.coop.ledger.depositWithPermit.call(account, amount, deadline, v, r, s, {"from": self.relayer})
            return
        self.coop.ledger.depositWithPermit(account, amount, deadline, v, r, s, {"from": self.relayer})
        self.model.wallet[account.address] -= amount
        self.model.escrow[account.address] += amount

    def _withdraw(self, account, balances: dict, portion: int, withdraw):
        available = balances[account.address]
        amount = available * portion // 4 + (1 if portion > 4 else 0)
        if amount == 0:
            with brownie.reverts(revert_pattern=ERROR["zero"]):
                withdraw.call(amount, {"from": account})
        elif amount > available:
            with brownie.reverts(revert_pattern=ERROR["insufficient"]):
                withdraw.call(amount, {"from": account})
        else:
            withdraw(amount, {"from": account})
            balances[account.address] -= amount
            self.model.wallet[account.address] += amount

    def rule_withdraw(self, actor="st_actor", portion="st_portion", earnings="st_flag"):
        if earnings:
            self._withdraw(self.actors[actor], self.model.earnings, portion, self.coop.ledger.withdrawEarnings)
        else:
            self._withdraw(self.actors[actor], self.model.escrow, portion, self.coop.ledger.withdrawEscrow)

    # ---------------------------------------------------------------- settlement

    def _receipt(self, trip_id, driver, rider, region, distance, fare=None) -> TripReceipt:
        end = web3.eth.get_block("latest")["timestamp"] - 10
        if fare is None:
            charges = region == REGION_LYON and rider is not None and self.model.region_operating[region]
            fare = distance * self.model.fare_per_km[region] // 1000 if charges else 0
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

    def _build(self, spec):
        """One receipt of the batch: (receipt, signed tuple, driver signed it, rider signed it)."""
        kind, driver_index, rider_index, region, distance = spec
        driver = self.actors[driver_index]
        rider = self.actors[rider_index] if rider_index is not None else None
        if kind == "retry" and self.underfunded:
            receipt, signed = self.underfunded.pop(distance % len(self.underfunded))
            return receipt, signed, True, True
        if kind == "replay" and self.model.settled:
            trip_id = sorted(self.model.settled)[distance % len(self.model.settled)]
        else:
            trip_id = self.next_trip_id
            self.next_trip_id += 1
        fare = None
        if kind in ("unfunded", "bad_rider", "underpriced", "bootstrap_fare"):
            rider = rider or self.actors[(driver_index + 1) % len(self.actors)]
        if kind == "underpriced":
            region = REGION_LYON
            fare = distance * self.model.fare_per_km[region] // 1000 - 1
        elif kind == "bootstrap_fare":
            region, fare = REGION_VILLEURBANNE, 1 + distance * self.model.fare_per_km[REGION_VILLEURBANNE] // 1000
        elif kind == "unfunded":
            region = REGION_LYON
            fare_per_km = self.model.fare_per_km[region]
            distance = min(self.model.escrow[rider.address] * 1000 // fare_per_km + 1_000, 2**32 - 1)
            fare = distance * fare_per_km // 1000
        receipt = self._receipt(trip_id, driver, rider, region, distance, fare)
        typed = receipt_typed_data(self.coop.receipt_domain, receipt)
        impostor = next(account for account in self.actors if account not in (driver, rider))
        driver_signer = impostor if kind == "bad_driver" else driver
        rider_signer = impostor if kind == "bad_rider" else rider
        signed = signed_receipt_tuple(
            receipt,
            sign_typed_data(driver_signer.private_key, typed),
            sign_typed_data(rider_signer.private_key, typed) if rider else None,
        )
        return receipt, signed, driver_signer == driver, rider_signer == rider

    def rule_settle(self, batch="st_batch"):
        built = [self._build(spec) for spec in batch]
        tx = self.coop.ledger.settle(
            keccak(text=f"batch-{self.next_trip_id}"), [signed for _, signed, _, _ in built], {"from": self.relayer}
        )
        events = [(e.name, e) for e in tx.events if e.name in ("TripSettled", "TripRejected")]
        assert len(events) == len(built)

        day, now = tx.timestamp // DAY, tx.timestamp
        for (receipt, signed, driver_signed, rider_signed), (outcome, event) in zip(built, events):
            assert event["tripId"] == receipt.tripId
            was_settled = receipt.tripId in self.model.settled
            reason, fare, fee, shares = self.model.apply_receipt(receipt, driver_signed, rider_signed, day, now)
            if reason == RejectReason.None_:
                assert outcome == "TripSettled" and not was_settled, "a trip id settled twice"
                assert (event["fare"], event["fee"], event["shares"]) == (fare, fee, shares)
                self.settled_events.append(receipt.tripId)
            else:
                assert (outcome, event["reason"]) == ("TripRejected", reason)
                if reason == RejectReason.RiderUnderfunded:
                    self.underfunded.append((receipt, signed))
        self.model.end_run()
        counts = tx.events["BatchSettled"][0]
        assert counts["settled"] + counts["rejected"] == len(built)

    def rule_settle_more(self, batch="st_batch"):
        """Settlement is the heart of the ledger: a second rule gives it twice the share of steps."""
        self.rule_settle(batch)

    def rule_pass_time(self, seconds="st_seconds"):
        chain.sleep(seconds)
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

    def invariant_balances(self):
        coop, model = self.coop, self.model
        per_actor = ("escrowOf", "earningsOf", "balanceOf", "claimable", "wallet")
        calls = []
        for account in self.actors:
            calls += [
                (coop.ledger, "escrowOf(address)", account.address),
                (coop.ledger, "earningsOf(address)", account.address),
                (coop.shares, "balanceOf(address)", account.address),
                (coop.shares, "claimable(address)", account.address),
                (coop.fare_token, "balanceOf(address)", account.address),
            ]
        calls += [
            (coop.ledger, "treasuryBalance()", None),
            (coop.ledger, "capitalHeld()", None),
            (coop.fare_token, "balanceOf(address)", coop.ledger.address),
            (coop.fare_token, "balanceOf(address)", coop.shares.address),
            (coop.shares, "totalSupply()", None),
        ]
        settled_ids = sorted(model.settled)
        calls += [(coop.ledger, "isSettled(uint256)", trip_id) for trip_id in settled_ids]
        results = self.rpc.read_uints(calls)
        rows = [dict(zip(per_actor, results[i : i + 5])) for i in range(0, 5 * len(self.actors), 5)]
        treasury, capital, ledger_holds, shares_holds, supply = results[5 * len(self.actors) : 5 * len(self.actors) + 5]
        assert all(results[5 * len(self.actors) + 5 :]), "a settled trip id is not marked settled on chain"

        assert ledger_holds == sum(row["escrowOf"] + row["earningsOf"] for row in rows) + treasury + capital
        assert capital == model.capital
        assert shares_holds >= sum(row["claimable"] for row in rows)
        assert supply == model.rewards + model.grants <= model.share_cap
        assert supply == sum(row["balanceOf"] for row in rows)
        assert len(self.settled_events) == len(set(self.settled_events)) == len(model.settled)

        assert treasury == model.treasury
        assert supply == model.supply
        for account, row in zip(self.actors, rows):
            expected = {
                "escrowOf": model.escrow[account.address],
                "earningsOf": model.earnings[account.address],
                "balanceOf": model.holder(account.address).shares,
                "claimable": model.claimable(account.address),
                "wallet": model.wallet[account.address],
            }
            assert row == expected, f"{account.address}: chain {row} != model {expected}"


@pytest.fixture(scope="module")
def ledger_coop(coop, deploy_coop):
    """A deployment with a small halving interval, share cap and daily reward cap; Lyon operating."""
    small = deploy_coop(PARAMS)
    small.activate(REGION_LYON)
    return small


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
