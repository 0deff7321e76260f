"""Gas per settled trip: both signatures verified on chain, an operating region, one driver per four trips (batch
sorted by driver), drivers and riders who have settled before (existing balances and shares).

Set-up and the measured batches go through web3 directly, not brownie's transaction wrapper: brownie resends a
transaction it cannot find yet (on a busy machine anvil is still executing a large `settle`), and its confirmation
thread then sees the sender's nonce used but no transaction under the hash and raises "Tx dropped without known
replacement". Sending once and waiting for the receipt has no such race, and bulk set-up without per-transaction
bookkeeping takes seconds instead of a minute.
"""

import pytest
from contract_helpers import REGION_LYON, TOKEN, keyed_account
from web3.logs import DISCARD

from coopride.chain.eip712 import application_typed_data, permit_typed_data, sign_typed_data, split_signature

TRIPS_PER_DRIVER = 4
DRIVERS = 25
RIDERS = 100
BLOCK_GAS_CEILING = 16_777_216
SETTLE_GAS_LIMIT = 29_000_000
RECEIPT_TIMEOUT_SECONDS = 300
# The goal: at most 20k gas per trip from batch 100 on. Not reached yet (measured 24.4k at 100 distinct
# riders, 20.6k at 200 where each rider and driver appears twice, with settle's per-receipt loop in assembly): at 100
# the fixed costs alone (calldata and intrinsic 4.5k, two ecrecovers 6.2k, the rider's slot 5k, the event 1.9k,
# per-driver slot, holder slot and Transfer 2.9k) come to ~20.5k. These limits guard the measured figures (+3%);
# lower them as the code improves.
GOAL_GAS_PER_TRIP = 20_000
LIMIT_GAS_PER_TRIP = {100: 25_150, 200: 21_250}

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
    """25 drivers and 100 riders, members in the operating region with escrow, who have all settled one batch."""
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
    sender.send(ledger.functions.activateRegion(REGION_LYON), relayer)
    sender.confirm()
    return drivers, riders


@pytest.fixture(scope="module")
def settle(coop, web3, ledger):
    """Sends one `settle` and returns (transaction receipt, BatchSettled args)."""

    def send(signed: list):
        sender = Web3Sender(web3)
        sender.send(ledger.functions.settle(b"\x01" * 32, signed), coop.settler.address, gas=SETTLE_GAS_LIMIT)
        (receipt,) = sender.confirm()
        (batch,) = ledger.events.BatchSettled().process_receipt(receipt, errors=DISCARD)
        return receipt, batch["args"]

    return send


@pytest.fixture(scope="module")
def warm_crowd(crowd, receipts, settle):
    """The crowd after one settled batch: every driver has earnings and shares, every rider a debited escrow."""
    drivers, riders = crowd
    _, outcome = settle(_batch(receipts, drivers, riders, RIDERS))
    assert outcome["settled"] == RIDERS
    return crowd


def _batch(receipts, drivers, riders, size):
    return [
        receipts.trip(drivers[(i // TRIPS_PER_DRIVER) % len(drivers)], riders[i % len(riders)], distance=4_000 + i)
        for i in range(size)
    ]


@pytest.mark.parametrize("size", [100, 200])
def test_gas_per_trip_stays_within_its_limit_and_the_batch_under_the_block_ceiling(receipts, warm_crowd, settle, size):
    drivers, riders = warm_crowd
    receipt, outcome = settle(_batch(receipts, drivers, riders, size))
    assert outcome["settled"] == size, f"only {outcome['settled']} of {size} trips settled"
    per_trip = receipt["gasUsed"] / size
    print(f"batch {size}: {receipt['gasUsed']} gas, {per_trip:.0f} per trip")
    assert per_trip <= LIMIT_GAS_PER_TRIP[size], (
        f"settle costs {per_trip:.0f} gas per trip at batch {size}, above the limit {LIMIT_GAS_PER_TRIP[size]}"
        f" (goal {GOAL_GAS_PER_TRIP})"
    )
    assert receipt["gasUsed"] < BLOCK_GAS_CEILING, f"a {size}-trip batch needs {receipt['gasUsed']} gas"
