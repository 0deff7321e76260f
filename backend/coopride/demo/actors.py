"""The people of the demo and the two hands it needs beside them: the API client and the operator.

Members are eth_account wallets made from the seed; they hold no ether and talk only to the API,
signing what it hands them (joining: an Application and a permit for the capital share, which the
operator's faucet mints first). The operator is the demo itself: it mints test fare tokens (the test
token lets anyone mint), switches the region on once critical mass is reached (anyone may), moves the
local chain's clock, and queues and executes passed proposals (anyone may, once the vote is over).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from web3.contract.contract import ContractFunction
from web3.types import RPCEndpoint, Wei

from coopride.chain.client import ChainClient
from coopride.chain.eip712 import sign_typed_data
from coopride.chain.types import TxOutcome

SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class DemoError(RuntimeError):
    """A step of the day did not go as the cooperative's rules say it should."""


def seeded_account(rng: random.Random) -> LocalAccount:
    while True:
        key = rng.getrandbits(256)
        if 0 < key < SECP256K1_ORDER:
            account: LocalAccount = Account.from_key(key.to_bytes(32, "big"))
            return account


class Api:
    """The CoopRide API over HTTP; every unexpected answer is a DemoError naming the call and the reason."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def call(
        self,
        method: str,
        path: str,
        *,
        member: Member | None = None,
        expect: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> Any:
        """The answer's JSON."""
        headers = member.headers if member is not None else {}
        response = self.http.request(method, path, headers=headers, **kwargs)
        if response.status_code not in expect:
            who = f" as {member.name}" if member is not None else ""
            raise DemoError(f"{method} {path}{who} answered {response.status_code}: {response.text[:500]}")
        return response.json()

    def close(self) -> None:
        self.http.close()


@dataclass
class Member:
    name: str
    role: str  # "driver" or "rider"
    account: LocalAccount
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def address(self) -> str:
        return self.account.address

    def sign_typed(self, typed_data: dict) -> str:
        return "0x" + sign_typed_data(self.account.key, typed_data).hex()

    def sign_in(self, api: Api) -> None:
        challenge = api.call("POST", "/auth/nonce", json={"address": self.address})
        signature = self.account.sign_message(encode_defunct(text=challenge["message"])).signature
        login = api.call(
            "POST", "/auth/login", json={"message": challenge["message"], "signature": "0x" + bytes(signature).hex()}
        )
        self.headers = {"Authorization": f"Bearer {login['access_token']}"}

    def join(self, api: Api, region_id: int, faucet: Callable[[str, int], None] | None = None) -> Any:
        """Applies for membership the v2 way: signs the Application and the permit for the capital share the API
        hands out (after `faucet(address, amount)` mints that share, if given) and posts them. On the local chain
        the backend admits at once; an application left pending or refused is a DemoError. Returns the
        application."""
        data = api.call("GET", "/members/application/typed-data", member=self, params={"region_id": region_id})
        capital_share = int(data["capital_share"])
        if capital_share and faucet is not None:
            faucet(self.address, capital_share)
        typed = data["typed_data"]
        application = api.call(
            "POST",
            "/members/applications",
            member=self,
            json={
                "region_id": region_id,
                "max_capital_share": str(typed["message"]["maxCapitalShare"]),
                "deadline": typed["message"]["deadline"],
                "signature": self.sign_typed(typed),
                "permit_signature": self.sign_typed(data["permit_typed_data"]),
            },
        )
        if application["status"] != "admitted":
            raise DemoError(f"{self.name}'s application is {application['status']}, not admitted: {application}")
        return application

    def deposit(self, api: Api, amount: int) -> Any:
        typed = api.call("GET", "/members/me/deposit/typed-data", member=self, params={"amount": str(amount)})[
            "typed_data"
        ]
        return api.call(
            "POST",
            "/members/me/deposits",
            member=self,
            json={"amount": str(amount), "deadline": typed["message"]["deadline"], "signature": self.sign_typed(typed)},
        )

    def sign_receipt(self, api: Api, trip_id: int) -> Any:
        typed = api.call("GET", f"/trips/{trip_id}/receipt", member=self)["typed_data"]
        return api.call("POST", f"/trips/{trip_id}/signatures", member=self, json={"signature": self.sign_typed(typed)})

    def vote(self, api: Api, proposal_id: str, support: int) -> Any:
        typed = api.call(
            "GET", f"/governance/proposals/{proposal_id}/ballot", member=self, params={"support": support}
        )["typed_data"]
        return api.call(
            "POST",
            "/governance/ballots",
            member=self,
            json={"proposal_id": proposal_id, "support": support, "signature": self.sign_typed(typed)},
        )

    def statement(self, api: Api) -> Any:
        return api.call("GET", f"/members/{self.address}/statement", member=self)


class Operator:
    """What the demo does on chain itself: faucet, region switch, clock, and carrying out passed proposals."""

    def __init__(self, chain: ChainClient, faucet_key: str):
        self.chain = chain
        self.faucet = Account.from_key(faucet_key)
        self.minted: dict[str, int] = {}

    def mint(self, to: str, amount: int) -> None:
        self._send(self.chain.fare_token.functions.mint(to, amount))
        self.minted[to] = self.minted.get(to, 0) + amount

    def activate_region(self, region_id: int) -> TxOutcome:
        return self.chain.activate_region(region_id)

    def advance_time(self, seconds: int) -> None:
        """Moves the local chain's clock forward and mines a block at the new time (anvil only)."""
        self.chain.w3.provider.make_request(RPCEndpoint("evm_increaseTime"), [int(seconds)])
        self.chain.w3.provider.make_request(RPCEndpoint("evm_mine"), [])

    def _send(self, call: ContractFunction) -> None:
        w3 = self.chain.w3
        tx = call.build_transaction(
            {
                "from": self.faucet.address,
                "nonce": w3.eth.get_transaction_count(self.faucet.address),
                "chainId": self.chain.chain_id,
                "maxFeePerGas": Wei(0),
                "maxPriorityFeePerGas": Wei(0),
            }
        )
        signed = self.faucet.sign_transaction(tx)
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(signed.raw_transaction), timeout=30)
        if receipt["status"] != 1:
            raise DemoError(f"operator transaction {signed.hash.to_0x_hex()} reverted")
