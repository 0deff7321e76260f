"""ChainClient against the deployed contracts: manifest loading, reads, relays, decoded custom errors."""

from __future__ import annotations

import json

import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from coopride.chain.client import ChainClient
from coopride.chain.errors import ChainRevert, ErrorDecoder
from coopride.chain.eip712 import FareAuthorisation, fare_authorisation_typed_data, sign_typed_data
from coopride.chain.types import HoldState
from coopride.chain.manifest import ManifestError, load_manifest


class TestManifest:
    def test_loads_every_contract_and_domain(self, manifest):
        assert manifest.chain_id == 31337
        assert set(manifest.domains) >= {"receipt", "membership", "governor", "fareToken"}
        assert manifest.domains["receipt"].verifyingContract == manifest.address("RideLedger")
        assert manifest.regions

    def test_the_receipt_domain_is_the_ledgers_domain_separator(self, manifest, chain_client):
        from eth_utils import keccak

        domain = manifest.domains["receipt"]
        type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
        ours = keccak(abi_encode(["bytes32", "bytes32", "bytes32", "uint256", "address"],
                                 [type_hash, keccak(text=domain.name), keccak(text=domain.version), domain.chainId,
                                  domain.verifyingContract]))
        assert ours == bytes(chain_client.ledger.functions.DOMAIN_SEPARATOR().call())

    def test_a_missing_manifest_says_how_to_make_one(self, tmp_path):
        with pytest.raises(ManifestError, match="run scripts/deploy.py"):
            load_manifest(tmp_path / "nope.json")

    def test_a_manifest_without_a_contract_names_what_is_missing(self, deployment, tmp_path):
        data = json.loads(deployment.manifest_path.read_text())
        del data["contracts"]["RideLedger"]
        broken = tmp_path / "manifest.json"
        broken.write_text(json.dumps(data))
        with pytest.raises(ManifestError, match="RideLedger"):
            load_manifest(broken)


class TestErrorDecoding:
    def test_decodes_a_custom_error_with_named_arguments(self, chain_client):
        data = function_signature_to_4byte_selector("NotMember(address)") + abi_encode(["address"], ["0x" + "ab" * 20])
        error = chain_client.errors.decode(data)
        assert error.error_name == "NotMember"
        assert error.args == ("0x" + "ab" * 20,) or error.args[0].lower() == "0x" + "ab" * 20

    def test_names_unknown_error_data_instead_of_guessing(self):
        error = ErrorDecoder([]).decode(bytes.fromhex("deadbeef"))
        assert error.error_name == "UnknownError"
        assert "0xdeadbeef" in error.message


class TestReadsAndRelays:
    def test_reads_parameters_and_regions(self, operating_region, chain_client, deployment):
        assert chain_client.parameters().fee_bps == chain_client.manifest.parameters.get("feeBps", 1500)
        region = chain_client.region(operating_region)
        assert region.exists
        assert not chain_client.region(4_000_000_000).exists

    def _authorisation(self, chain_client, driver, rider, region_id, max_fare=1_000_000):
        now = chain_client.next_block_timestamp()
        return FareAuthorisation(987_654_321, rider.address, driver.address, region_id, 45_760_000, 4_840_000,
                                 45_750_000, 4_870_000, max_fare, now + 600, now + 3_600)

    def test_a_relayed_fare_authorisation_holds_the_fare_and_the_rider_pays_no_gas(
        self, operating_region, chain_client, members, fund_rider
    ):
        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 2_000_000)
        ether = chain_client.w3.eth.get_balance(rider.address)
        auth = self._authorisation(chain_client, driver, rider, operating_region)
        typed = fare_authorisation_typed_data(chain_client.manifest.domains["receipt"], auth)

        outcome = chain_client.relay_authorise_fare(auth, sign_typed_data(rider.private_key, typed))

        assert outcome.gas_used > 0
        hold = chain_client.hold_of(auth.tripId, driver.address, rider.address)
        assert (hold.state, hold.max_fare, hold.expiry) == (HoldState.ACTIVE, auth.maxFare, auth.expiry)
        assert chain_client.escrow_of(rider.address) == 1_000_000
        assert chain_client.w3.eth.get_balance(rider.address) == ether

    def test_a_refused_relay_raises_the_decoded_custom_error(self, operating_region, chain_client, members, fund_rider):
        from eth_account import Account

        driver, rider = members["drivers"][0], members["riders"][0]
        fund_rider(rider, 2_000_000)
        auth = self._authorisation(chain_client, driver, rider, operating_region)
        typed = fare_authorisation_typed_data(chain_client.manifest.domains["receipt"], auth)
        nonce_before = chain_client.transactions.pending_nonce()

        with pytest.raises(ChainRevert) as refused:
            chain_client.relay_authorise_fare(auth, sign_typed_data(Account.create().key, typed))

        assert refused.value.error_name == "InvalidSignature"
        assert chain_client.hold_of(auth.tripId, driver.address, rider.address).state == HoldState.NONE
        assert chain_client.transactions.pending_nonce() == nonce_before  # refused before anything was sent

    def test_an_unreachable_node_reports_not_connected(self, manifest, deployment):
        client = ChainClient("http://127.0.0.1:9", manifest, deployment.settler_key, request_timeout=1)
        assert not client.is_connected()
