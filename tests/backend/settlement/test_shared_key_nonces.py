"""API processes and settlement workers that share the settler key on one PostgreSQL database take one nonce each
(issue 13): `ChainClient.share_nonce_locks(db.nonce_lock)` holds the key's advisory lock from choosing a nonce to
the broadcast.
Two chain clients stand for two processes: each has its own in-process lock, so only the database serialises them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

from coopride.chain import transactions
from coopride.chain.client import ChainClient
from coopride.db import lock_engine, nonce_lock

DATABASES = ("postgresql",)
PROCESSES = 2
THREADS_EACH = 4
SENDS_EACH = 3
SPENDER = "0x000000000000000000000000000000000000dEaD"


def _send_at_once(clients: list[ChainClient]) -> list[object]:
    """THREADS_EACH threads per client, each sending SENDS_EACH settler transactions; every outcome or error."""

    def sends(client: ChainClient, thread: int) -> list[object]:
        outcomes: list[object] = []
        for send in range(SENDS_EACH):
            call = client.fare_token.functions.approve(SPENDER, 1 + thread * SENDS_EACH + send)
            try:
                outcomes.append(client.transactions.transact(call))
            except Exception as error:  # noqa: BLE001 - the test counts every failure
                outcomes.append(error)
        return outcomes

    with ThreadPoolExecutor(PROCESSES * THREADS_EACH) as pool:
        jobs = [pool.submit(sends, client, thread) for client in clients for thread in range(THREADS_EACH)]
        return [outcome for job in jobs for outcome in job.result()]


def test_two_processes_relaying_from_one_key_use_every_nonce_once(engine, manifest, deployment, chain_client,
                                                                    monkeypatch):
    monkeypatch.setattr(transactions, "NONCE_ATTEMPTS", 1)  # the lock alone, not a retry, keeps nonces apart
    clients = [ChainClient(deployment.rpc_url, manifest, deployment.settler_key) for _ in range(PROCESSES)]
    for client in clients:
        client.share_nonce_locks(partial(nonce_lock, lock_engine(engine)))
    first_nonce = chain_client.transactions.confirmed_nonce()

    outcomes = _send_at_once(clients)

    failures = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    assert not failures, failures
    sent = PROCESSES * THREADS_EACH * SENDS_EACH
    assert chain_client.transactions.confirmed_nonce() == first_nonce + sent
    assert len({outcome.tx_hash for outcome in outcomes}) == sent
