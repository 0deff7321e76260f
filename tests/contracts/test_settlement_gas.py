"""Gas per settled trip in the main case: a shared trip in an operating region, booked (one hold per trip, maxFare =
fare), posted without the rider's confirmation once the dispute window is over, in an attested batch; one driver per
four trips (batch sorted by driver), drivers and riders who have settled before (existing balances and shares).

Set-up and the measured batches go through web3 directly, not brownie's transaction wrapper: brownie resends a
transaction it cannot find yet (on a busy machine anvil is still executing a large `settle`), and its confirmation
thread then sees the sender's nonce used but no transaction under the hash and raises "Tx dropped without known
replacement". Sending once and waiting for the receipt has no such race, and bulk set-up without per-transaction
bookkeeping takes seconds instead of a minute.
"""

import pytest
from brownie import chain
from contract_helpers import DISPUTE_WINDOW, LYON_DROPOFF_E6, LYON_PICKUP_E6, REGION_LYON, TOKEN, keyed_account
from web3.logs import DISCARD

from coopride.chain.eip712 import (
    FareAuthorisation,
    TripReceipt,
    fare_authorisation_typed_data,
    application_typed_data,
    permit_typed_data,
    receipt_typed_data,
    sign_attestation,
    sign_typed_data,
    signed_receipt_tuple,
    split_signature,
)
from eth_utils import keccak

TRIPS_PER_DRIVER = 4
DRIVERS = 50
RIDERS = 200
BLOCK_GAS_CEILING = 16_777_216
SETTLE_GAS_LIMIT = 29_000_000
RECEIPT_TIMEOUT_SECONDS = 300
# v1 settled a co-signed trip for 24,629 gas (warm, batch 100); v2 must not cost more, and the goal is 20k. Measured
# here: 16,587 at batch 100, 15,652 at 200 (benchmarks/README.md has the breakdown: the hold each trip clears refunds
# 4,800 gas, of which the 20 % cap lets about 4.1k count). These limits guard the measured figures (+3 %); lower them
# as the code improves.
V1_GAS_PER_TRIP = 24_629
GOAL_GAS_PER_TRIP = 20_000
LIMIT_GAS_PER_TRIP = {100: 17_100, 200: 16_150}


class Web3Sender:
    """Sends transactions through web3 without waiting for each; `confirm` waits for all and checks they succeeded."""

    def __init__(self, web3):
        self.web3 = web3
        self.pending = []

    def send(self, call, sender: str, gas: int = 500_000):
        self.pending.append(call.transact({"from": sender, "gas": gas, "gasPrice": 0}))

    def confirm(self) -> list:
        receipts = [
            self.web3.eth.wait_for_transaction_receipt(tx, timeout=RECEIPT_TIMEOUT_SECONDS, poll_latency=0.05)
            for tx in self.pending
        ]
        self.pending = []
        failed = [r["transactionHash"].hex() for r in receipts if r["status"] != 1]
        assert not failed, f"{len(failed)} set-up transactions reverted, first {failed[0]}"
        return receipts


@pytest.fixture(scope="module")
def ledger(coop, web3):
    return web3.eth.contract(address=coop.ledger.address, abi=coop.ledger.abi)


@pytest.fixture(scope="module")
def crowd(coop, web3, ledger):
    """50 drivers and 200 riders, members of the operating region, riders with escrow."""
    membership = web3.eth.contract(address=coop.membership.address, abi=coop.membership.abi)
    fare_token = web3.eth.contract(address=coop.fare_token.address, abi=coop.fare_token.abi)
    relayer = coop.deployer.address
    deadline = 2**40
    escrow = 100 * TOKEN
    drivers = [keyed_account(f"gas-driver-{i}") for i in range(DRIVERS)]
    riders = [keyed_account(f"gas-rider-{i}") for i in range(RIDERS)]
    sender = Web3Sender(web3)
    capital = coop.membership.capitalShare()
    for account in drivers + riders:  # each signs an application and a permit for the capital share; admissions admits
        application = application_typed_data(coop.membership_domain, account.address, REGION_LYON, capital, 0, deadline)
        permit = permit_typed_data(coop.fare_token_domain, account.address, coop.ledger.address, capital, 0, deadline)
        v, r, s = split_signature(sign_typed_data(account.private_key, permit))
        sender.send(fare_token.functions.mint(account.address, capital), relayer)
        sender.send(fare_token.functions.permit(account.address, coop.ledger.address, capital, deadline, v, r, s), coop.admissions.address)
        sender.send(membership.functions.admit(account.address, REGION_LYON, capital, deadline, sign_typed_data(account.private_key, application)), coop.admissions.address)
    for rider in riders:
        sender.send(fare_token.functions.mint(rider.address, escrow), relayer)
        permit = permit_typed_data(coop.fare_token_domain, rider.address, coop.ledger.address, escrow, 1, deadline)
        v, r, s = split_signature(sign_typed_data(rider.private_key, permit))
        sender.send(ledger.functions.depositWithPermit(rider.address, escrow, deadline, v, r, s), relayer)
    sender.confirm()
    coop.activate(REGION_LYON)
    return drivers, riders


@pytest.fixture(scope="module")
def book_and_settle(coop, web3, ledger, receipts):
    """Books `size` trips (riders' authorisations, relayed), waits out the dispute window, settles them in one
    attested batch; returns (transaction receipt, BatchSettled args)."""

    def run(drivers, riders, size):
        end = web3.eth.get_block("latest")["timestamp"] - 1
        fare = coop.ledger.quoteFare(REGION_LYON, 4_000)
        made, sender = [], Web3Sender(web3)
        for i in range(size):
            driver, rider = drivers[(i // TRIPS_PER_DRIVER) % len(drivers)], riders[i % len(riders)]
            receipt = TripReceipt(receipts.next_id(), driver.address, rider.address, REGION_LYON, 4_000, fare,
                                  end - 900, end, keccak(b"trace-%d" % i))
            authorisation = FareAuthorisation(receipt.tripId, rider.address, driver.address, REGION_LYON,
                                              *LYON_PICKUP_E6, *LYON_DROPOFF_E6, fare, end + 600, end + 86_400)
            signature = sign_typed_data(rider.private_key, fare_authorisation_typed_data(coop.receipt_domain, authorisation))
            sender.send(ledger.functions.authoriseFare(authorisation.as_tuple(), signature), coop.deployer.address)
            typed = receipt_typed_data(coop.receipt_domain, receipt)
            made.append((receipt, signed_receipt_tuple(receipt, sign_typed_data(driver.private_key, typed), None)))
        sender.confirm()
        chain.sleep(DISPUTE_WINDOW + 1)
        chain.mine()
        batch_id = b"\x01" * 32
        r, vs = sign_attestation(coop.attester.private_key, coop.receipt_domain, batch_id, [m[0] for m in made])
        sender.send(ledger.functions.settle(batch_id, [m[1] for m in made], r, vs), coop.settler.address, gas=SETTLE_GAS_LIMIT)
        (tx,) = sender.confirm()
        (batch,) = ledger.events.BatchSettled().process_receipt(tx, errors=DISCARD)
        return tx, batch["args"]

    return run


@pytest.fixture(scope="module")
def warm_crowd(crowd, book_and_settle):
    """The crowd after one settled batch: every driver has earnings, shares and reward counters."""
    drivers, riders = crowd
    _, outcome = book_and_settle(drivers, riders, RIDERS)
    assert outcome["settled"] == RIDERS
    return crowd


@pytest.mark.parametrize("size", [100, 200])
def test_gas_per_trip_stays_within_its_limit_and_the_batch_under_the_block_ceiling(warm_crowd, book_and_settle, size):
    drivers, riders = warm_crowd
    tx, outcome = book_and_settle(drivers, riders, size)
    assert outcome["settled"] == size, f"only {outcome['settled']} of {size} trips settled"
    per_trip = tx["gasUsed"] / size
    print(f"batch {size}: {tx['gasUsed']} gas, {per_trip:.0f} per trip")
    assert per_trip <= LIMIT_GAS_PER_TRIP[size] < V1_GAS_PER_TRIP, (
        f"settle costs {per_trip:.0f} gas per trip at batch {size}, above the limit {LIMIT_GAS_PER_TRIP[size]}"
        f" (goal {GOAL_GAS_PER_TRIP}, v1 {V1_GAS_PER_TRIP})"
    )
    assert tx["gasUsed"] < BLOCK_GAS_CEILING, f"a {size}-trip batch needs {tx['gasUsed']} gas"
