"""ChainClient against the deployed contracts: manifest loading, reads, relays, decoded custom errors."""

from __future__ import annotations

import json

import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from coopride.chain.client import ChainClient
from coopride.chain.errors import ChainRevert, ErrorDecoder
from coopride.chain.eip712 import join_typed_data, sign_typed_data
from coopride.chain.manifest import ManifestError, load_manifest


class TestManifest:
    def test_loads_every_contract_and_domain(self, manifest):
        assert manifest.chain_id == 31337
        assert set(manifest.domains) >= {"receipt", "membership", "governor", "fareToken"}
        assert manifest.domains["receipt"].verifyingContract == manifest.address("RideLedger")
        assert manifest.regions

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

    def test_relayed_join_makes_a_member_who_holds_no_ether(self, bootstrap_region, chain_client, manifest, deployment):
        from eth_account import Account

        newcomer = Account.create()
        deadline = chain_client.latest_timestamp() + 600
        typed = join_typed_data(manifest.domains["membership"], newcomer.address, bootstrap_region,
                                chain_client.membership_nonce(newcomer.address), deadline)
        outcome = chain_client.relay_join(newcomer.address, bootstrap_region, deadline,
                                          sign_typed_data(newcomer.key, typed))

        assert outcome.gas_used > 0
        assert chain_client.is_member(newcomer.address)
        assert chain_client.w3.eth.get_balance(newcomer.address) == 0

    def test_a_refused_relay_raises_the_decoded_custom_error(self, bootstrap_region, chain_client, manifest, deployment):
        from eth_account import Account

        newcomer, forger = Account.create(), Account.create()
        deadline = chain_client.latest_timestamp() + 600
        typed = join_typed_data(manifest.domains["membership"], newcomer.address, bootstrap_region, 0, deadline)
        nonce_before = chain_client.transactions.pending_nonce()

        with pytest.raises(ChainRevert) as refused:
            chain_client.relay_join(newcomer.address, bootstrap_region, deadline, sign_typed_data(forger.key, typed))

        assert refused.value.error_name not in ("Reverted", "UnknownError", "Rejected")
        assert not chain_client.is_member(newcomer.address)
        assert chain_client.transactions.pending_nonce() == nonce_before  # refused before anything was sent

    def test_an_unreachable_node_reports_not_connected(self, manifest, deployment):
        client = ChainClient("http://127.0.0.1:9", manifest, deployment.settler_key, request_timeout=1)
        assert not client.is_connected()
