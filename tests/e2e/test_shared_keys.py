"""Several API processes on one PostgreSQL database relay from the same keys (admissions, settler) beside the
settlement worker process: members joining and depositing at once, spread over the processes, are all served,
with no 5xx (each process used to pick the next nonce on its own: two of them sent with one nonce, and the loser
answered 500 `NonceConsumed`)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import httpx

from coopride.chain.client import ChainClient
from coopride.chain.manifest import load_manifest
from coopride.config import ANVIL_DEV_DEPLOYER_KEY, Settings
from coopride.demo.actors import Api, Operator
from coopride.demo.shared_rides import admit
from coopride.runner import Stack, free_port

MEMBERS = 12
DEPOSIT = 10**6


def test_api_processes_relaying_from_one_key_at_once_serve_every_request(tmp_path):
    settings = Settings(state_dir=tmp_path / "state", anvil_port=free_port(), api_port=free_port(), api_workers=2)
    with Stack(settings, log=lambda _text: None, private_postgres=True) as info:
        chain = ChainClient(info.rpc_url, load_manifest(info.manifest_path), info.settler_key)
        operator = Operator(chain, ANVIL_DEV_DEPLOYER_KEY)
        members = admit(info.api_url, operator, [f"member-{i}" for i in range(MEMBERS)], random.Random(7), threads=8)
        assert all(chain.is_member(m.address) for m in members)

        for member in members:
            operator.mint(member.address, DEPOSIT)

        def deposit(member) -> None:
            api = Api(info.api_url)
            try:
                member.deposit(api, DEPOSIT)
            finally:
                api.close()

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(deposit, members))
        assert all(chain.escrow_of(m.address) == DEPOSIT for m in members)
        metrics = httpx.get(f"{info.api_url}/metrics", timeout=10).text
        assert not [line for line in metrics.splitlines() if line.startswith("coopride_http_server_errors_total")
                    and float(line.rsplit(" ", 1)[1]) > 0]
