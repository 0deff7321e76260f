"""Helpers for the contract tests: constants, a deployment wrapper, receipt signing, a fast path through
governance. Fixtures live in conftest.py. Test modules import these names from here: a uniquely named
module, since `from conftest import ...` resolves to whichever conftest.py pytest loaded last.
"""


from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from brownie import accounts, chain
from eth_utils import keccak

from coopride.chain.eip712 import (
    ZERO_ADDRESS,
    Domain,
    FareAuthorisation,
    TripReceipt,
    application_typed_data,
    leave_typed_data,
    fare_authorisation_typed_data,
    permit_typed_data,
    receipt_typed_data,
    sign_attestation,
    sign_typed_data,
    signed_receipt_tuple,
    split_signature,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from deploy import deploy

TOKEN = 10**6  # one tEUR in fare-token units (6 decimals)
SHARE = 10**18  # one share
REGION_LYON = 1  # critical mass 5
REGION_VILLEURBANNE = 2  # critical mass 8
MEMBER_COUNT = 6
MEMBER_FUNDS = 1_000 * TOKEN
MEMBER_ESCROW = 100 * TOKEN

CAPITAL_SHARE = 10 * TOKEN  # the local chain's capital share, paid at admission

# Test parameters: the local defaults, with a cap and halving interval small enough to reach in a test.
TEST_PARAMS = {
    "feeBps": 1500,
    "bootstrapRewardPerKm": SHARE,
    "operatingRewardPerKm": SHARE // 2,
    "halvingInterval": 1_000_000 * SHARE,
    "shareCap": 21_000_000 * SHARE,
    "dailyRewardedMetres": 300_000,
    "capitalShare": CAPITAL_SHARE,
    "votingDelay": 1,
    "votingPeriod": 120,
    "votingMaturity": 2,
    "quorumPercent": 20,
    "quorumFloor": 3,
    "timelockDelay": 30,
}
APPLICATION_SECONDS = 3_600  # how long a test application stays valid

RejectReason = SimpleNamespace(
    None_=0,
    AlreadySettled=1,
    BadDriverSignature=2,
    BadRiderSignature=3,
    NotMember=4,
    UnknownRegion=5,
    RegionNotOperating=6,
    FareExceedsAuthorised=7,
    NotAuthorised=8,
    InvalidTrip=9,
    Expired=10,
    Disputed=11,
    DisputeWindowOpen=12,
    SoloInOperatingRegion=13,
)
HoldState = SimpleNamespace(None_=0, Active=1, Disputed=2, ResolvedPaid=3, ResolvedUnpaid=4)
DISPUTE_WINDOW = 60  # scripts/deploy.py's local value, which the tests deploy with
MAX_RECEIPT_AGE = 7 * 86_400
DAY = 86_400
LYON_PICKUP_E6 = (45_760_000, 4_840_000)
LYON_DROPOFF_E6 = (45_750_000, 4_870_000)


def attester_account():
    """The test deployments' attester key."""
    return keyed_account("attester")


def keyed_account(label: str):
    """A brownie LocalAccount with a deterministic private key (`.private_key`). It needs no ether: the test
    chain has a zero base fee and brownie's development gas price is zero."""
    return accounts.add(keccak(text=f"coopride-test-{label}"))


@dataclass
class Coop:
    """A deployment plus the accounts that act on it."""

    ledger: object
    membership: object
    shares: object
    governor: object
    timelock: object
    fare_token: object
    deployer: object
    settler: object
    admissions: object
    guardian: object
    manifest: dict
    params: dict
    receipt_domain: Domain
    membership_domain: Domain
    fare_token_domain: Domain
    members: list = field(default_factory=list)
    attester: object = None  # a keyed account holding ATTESTER_ROLE (signs each batch's attestation)

    def fund(self, account, amount: int = MEMBER_FUNDS):
        self.fare_token.mint(account, amount, {"from": self.deployer})

    def join(self, account, region_id: int = REGION_LYON):
        """The whole way in for a test member: `account` signs an application and a permit for the capital
        share, and the admissions account admits it at once. Returns the `admit` transaction."""
        application = self.application(account, region_id)
        return self.admit(application)

    def application(self, applicant, region_id: int = REGION_LYON, max_capital_share: int | None = None,
                    deadline: int | None = None, permit_value: int | None = None) -> dict:
        """What an applicant signs off chain: the EIP-712 Application (at most `max_capital_share`, default the
        current capital share) and an ERC-2612 permit letting the ledger pull `permit_value` (default the same)."""
        max_capital_share = self.membership.capitalShare() if max_capital_share is None else max_capital_share
        deadline = chain.time() + APPLICATION_SECONDS if deadline is None else deadline
        nonce = self.membership.nonces(applicant)
        typed = application_typed_data(self.membership_domain, applicant.address, region_id, max_capital_share, nonce, deadline)
        permit_value = max_capital_share if permit_value is None else permit_value
        permit_deadline = chain.time() + APPLICATION_SECONDS
        return {
            "applicant": applicant,
            "region_id": region_id,
            "max_capital_share": max_capital_share,
            "deadline": deadline,
            "signature": sign_typed_data(applicant.private_key, typed),
            "permit": (permit_value, permit_deadline,
                       *self.permit_signature(applicant, self.ledger.address, permit_value, permit_deadline)),
        }

    def admit(self, application: dict, sender=None):
        """The admissions account (or `sender`) relays the applicant's permit, then admits the application."""
        sender = sender or self.admissions
        applicant = application["applicant"]
        value, deadline, v, r, s = application["permit"]
        if value and self.fare_token.allowance(applicant, self.ledger) < value:
            self.fare_token.permit(applicant, self.ledger, value, deadline, v, r, s, {"from": sender})
        return self.membership.admit(
            applicant, application["region_id"], application["max_capital_share"], application["deadline"],
            application["signature"], {"from": sender},
        )

    def leave_signature(self, member, deadline: int, nonce: int | None = None) -> bytes:
        nonce = self.membership.nonces(member) if nonce is None else nonce
        return sign_typed_data(member.private_key, leave_typed_data(self.membership_domain, member.address, nonce, deadline))

    def deposit(self, account, amount: int):
        self.fare_token.approve(self.ledger, amount, {"from": account})
        return self.ledger.deposit(amount, {"from": account})

    def permit_signature(self, owner, spender, value: int, deadline: int):
        nonce = self.fare_token.nonces(owner)
        typed = permit_typed_data(self.fare_token_domain, owner.address, spender, value, nonce, deadline)
        return split_signature(sign_typed_data(owner.private_key, typed))

    def activate(self, region_id: int = REGION_LYON):
        """Governance switches the region to Operating; then a second passes, so that trips ending from now on
        settle under the new phase (a trip that ended before the switch keeps the old one)."""
        tx = self.ledger.setRegionPhase(region_id, True, {"from": self.timelock})
        chain.sleep(2)
        chain.mine()
        return tx

    def authorise(
        self,
        trip_id: int,
        driver,
        rider,
        max_fare: int,
        region_id: int = REGION_LYON,
        cancel_by: int | None = None,
        expiry: int | None = None,
        signer=None,
        relayer=None,
    ):
        """Relays the rider's signed fare authorisation (a hold of `max_fare` for this booking); returns the tx."""
        now = chain[-1].timestamp
        expiry = expiry if expiry is not None else now + 2 * DAY
        authorisation = FareAuthorisation(
            tripId=trip_id,
            rider=rider.address,
            driver=driver.address,
            regionId=region_id,
            pickupLatE6=LYON_PICKUP_E6[0],
            pickupLonE6=LYON_PICKUP_E6[1],
            dropoffLatE6=LYON_DROPOFF_E6[0],
            dropoffLonE6=LYON_DROPOFF_E6[1],
            maxFare=max_fare,
            cancelBy=cancel_by if cancel_by is not None else min(now + 600, expiry),
            expiry=expiry,
        )
        signature = sign_typed_data((signer or rider).private_key, fare_authorisation_typed_data(self.receipt_domain, authorisation))
        return self.ledger.authoriseFare(authorisation.as_tuple(), signature, {"from": relayer or self.settler})


def _deploy_coop(params: dict, regions=None, manifest_dir=None) -> Coop:
    """Deploys with the local chain's roles: deployer #0, settler #1, admissions #2, guardian #4."""
    deployer, settler = accounts[0], accounts[1]
    manifest_path = Path(manifest_dir) / "manifest.json" if manifest_dir else None
    attester = attester_account()
    params = {"attester": attester.address, **params}
    result = deploy(deployer, settler, params=params, regions=regions, manifest_path=manifest_path)
    roles = result["manifest"]["roles"]
    eip712 = result["manifest"]["eip712"]
    return Coop(
        ledger=result["RideLedger"],
        membership=result["Membership"],
        shares=result["CoopShare"],
        governor=result["CoopGovernor"],
        timelock=result["TimelockController"],
        fare_token=result["FareToken"],
        deployer=deployer,
        settler=settler,
        admissions=accounts.at(roles["admissions"]),
        guardian=accounts.at(roles["guardian"]),
        manifest=result["manifest"],
        params={**params},
        receipt_domain=Domain.from_manifest(eip712["receipt"]),
        membership_domain=Domain.from_manifest(eip712["membership"]),
        fare_token_domain=Domain.from_manifest(eip712["fareToken"]),
        attester=attester,
    )


def _enrol(coop: Coop, labels, region_id: int = REGION_LYON, escrow: int = MEMBER_ESCROW) -> list:
    """Funds, admits (application + capital share) and, if `escrow`, deposits for one keyed account per label."""
    joined = []
    for label in labels:
        member = keyed_account(label)
        coop.fund(member)
        coop.join(member, region_id)
        if escrow:
            coop.deposit(member, escrow)
        joined.append(member)
    return joined


class Receipts:
    """Builds, signs and settles trip receipts. Trip ids are dense and increasing across the module. A shared trip
    made by `trip` is booked first (the rider's fare authorisation, a hold of its fare) unless `book=False`, and
    carries the rider's confirmation unless `confirm=False` (then it settles only after the dispute window)."""

    def __init__(self, coop: Coop):
        self.coop = coop
        self._ids = itertools.count(1)

    def next_id(self) -> int:
        return next(self._ids)

    def make(
        self,
        driver,
        rider=None,
        distance: int = 5_000,
        fare: int | None = None,
        region_id: int = REGION_LYON,
        trip_id: int | None = None,
        duration: int = 600,
        end_time: int | None = None,
        trace: bytes = b"trace",
    ) -> TripReceipt:
        end = end_time if end_time is not None else chain[-1].timestamp - 1
        if fare is None:
            operating = self.coop.ledger.region(region_id)[3]
            fare = self.coop.ledger.quoteFare(region_id, distance) if (operating and rider) else 0
        return TripReceipt(
            tripId=trip_id if trip_id is not None else self.next_id(),
            driver=driver.address,
            rider=rider.address if rider else ZERO_ADDRESS,
            regionId=region_id,
            distanceMetres=distance,
            fare=fare,
            startTime=end - duration,
            endTime=end,
            traceHash=keccak(trace),
        )

    def signature(self, signer, receipt: TripReceipt, domain: Domain | None = None) -> bytes:
        return sign_typed_data(signer.private_key, receipt_typed_data(domain or self.coop.receipt_domain, receipt))

    def sign(self, receipt: TripReceipt, driver=None, rider=None, domain: Domain | None = None, confirm: bool = True) -> tuple:
        """The `SignedReceipt` tuple; signers default to the receipt's own driver and rider. A shared receipt carries
        the rider's confirmation if `confirm`."""
        driver = driver or accounts.at(receipt.driver)
        rider_signature = None
        if receipt.rider != ZERO_ADDRESS and confirm:
            rider = rider or accounts.at(receipt.rider)
            rider_signature = self.signature(rider, receipt, domain)
        return signed_receipt_tuple(receipt, self.signature(driver, receipt, domain), rider_signature)

    def book(self, receipt: TripReceipt, max_fare: int | None = None, **kwargs):
        """The rider authorises the receipt's fare (or `max_fare`) for its trip id before it settles."""
        return self.coop.authorise(
            receipt.tripId,
            accounts.at(receipt.driver),
            accounts.at(receipt.rider),
            receipt.fare if max_fare is None else max_fare,
            region_id=receipt.regionId,
            **kwargs,
        )

    def trip(self, driver, rider=None, book: bool = True, confirm: bool = True, max_fare: int | None = None, **kwargs) -> tuple:
        """Make, book (shared trips) and sign in one go."""
        receipt = self.make(driver, rider, **kwargs)
        if rider is not None and book:
            self.book(receipt, max_fare)
        return self.sign(receipt, confirm=confirm)

    def attestation(self, signed: list, batch_id: bytes, attester=None) -> tuple:
        """The attester's `(r, vs)` over the batch (default: the deployment's attester)."""
        receipts = [TripReceipt(*entry[0]) for entry in signed]
        return sign_attestation((attester or self.coop.attester).private_key, self.coop.receipt_domain, batch_id, receipts)

    def settle(self, signed: list, batch_id: bytes = b"\x01" * 32, sender=None, attester=None, attestation=None):
        r, vs = attestation if attestation is not None else self.attestation(signed, batch_id, attester)
        return self.coop.ledger.settle(batch_id, signed, r, vs, {"from": sender or self.coop.settler})


def outcomes(tx) -> dict:
    """tripId -> "settled" or the RejectReason number, from a settle transaction's events."""
    result = {}
    for event in tx.events["TripSettled"] if "TripSettled" in tx.events else []:
        result[event["tripId"]] = "settled"
    for event in tx.events["TripRejected"] if "TripRejected" in tx.events else []:
        result[event["tripId"]] = event["reason"]
    return result


class Governance:
    """Passes proposals quickly: propose, wait the voting delay, every member votes for, wait the period,
    queue, wait the timelock delay, execute."""

    def __init__(self, coop: Coop):
        self.coop = coop
        self._counter = itertools.count()

    def propose(self, actions, description: str | None = None, proposer=None):
        """`actions`: list of (contract, method name, args) or (target address, calldata hex, value)."""
        targets, values, calldatas = [], [], []
        for action in actions:
            target, method, args = action
            if isinstance(method, str) and not method.startswith("0x"):
                calldatas.append(getattr(target, method).encode_input(*args))
                targets.append(target.address)
                values.append(0)
            else:
                targets.append(getattr(target, "address", target))
                calldatas.append(method)
                values.append(args or 0)
        description = description or f"proposal {next(self._counter)} at {chain.time()}"
        proposer = proposer or self.coop.members[0]
        tx = self.coop.governor.propose(targets, values, calldatas, description, {"from": proposer})
        return tx.return_value, (targets, values, calldatas, keccak(text=description))

    def pass_(self, actions, description: str | None = None, voters=None):
        """Runs a proposal all the way to execution; returns the execute transaction."""
        governor = self.coop.governor
        proposal_id, (targets, values, calldatas, description_hash) = self.propose(actions, description)
        chain.sleep(governor.votingDelay() + 1)
        chain.mine()
        for voter in voters or self.coop.members:
            governor.castVote(proposal_id, 1, {"from": voter})
        chain.sleep(governor.votingPeriod() + 1)
        chain.mine()
        governor.queue(targets, values, calldatas, description_hash, {"from": self.coop.members[0]})
        chain.sleep(self.coop.timelock.getMinDelay() + 1)
        chain.mine()
        return governor.execute(targets, values, calldatas, description_hash, {"from": self.coop.members[0]})


def mature(coop: Coop) -> None:
    """Waits until every membership admitted so far votes (and may propose) on a proposal made now."""
    chain.sleep(coop.governor.votingMaturity() + 1)
    chain.mine()
