"""`coopride run` on a chain of your own (COOPRIDE_RPC_URL): keys that cannot pay stop it with one line naming the
key, before anything is deployed or started."""

from __future__ import annotations

import os
import re

import pytest
from eth_account import Account

from coopride.config import ANVIL_DEV_SETTLER_KEY, Settings
from coopride.runner import Stack, StackError, free_port


def _external_stack(tmp_path, deployer_key: str, settler_key: str) -> Stack:
    settings = Settings(state_dir=tmp_path, api_port=free_port(), rpc_url=os.environ["COOPRIDE_TEST_RPC_URL"],
                        deployer_key=deployer_key, settler_key=settler_key, manifest_path=tmp_path / "manifest.json")
    return Stack(settings, log=lambda _line: None)


def test_an_unfunded_deployer_key_is_refused_before_deploying(tmp_path):
    deployer = Account.create()
    stack = _external_stack(tmp_path, deployer.key.hex(), ANVIL_DEV_SETTLER_KEY)
    with pytest.raises(StackError, match=rf"COOPRIDE_DEPLOYER_KEY's account {deployer.address} holds 0 .*fund it"):
        stack.start()
    assert not (tmp_path / "manifest.json").exists()
    assert stack.api is None and stack.anvil is None


def test_an_unfunded_settler_key_is_refused_before_anything_starts(tmp_path):
    settler = Account.create()
    stack = _external_stack(tmp_path, ANVIL_DEV_SETTLER_KEY, settler.key.hex())
    with pytest.raises(StackError, match=rf"COOPRIDE_SETTLER_KEY's account {re.escape(settler.address)} holds 0 "):
        stack.start()
    assert stack.api is None


@pytest.fixture
def foreign_chain(tmp_path):
    """An anvil with a chain id that is not a local development chain's (the dev keys are no defaults there)."""
    import subprocess
    import time

    from web3 import Web3

    from coopride.runner import anvil_binary

    port = free_port()
    log = (tmp_path / "foreign-anvil.log").open("wb")
    process = subprocess.Popen([anvil_binary(), "--port", str(port), "--chain-id", "4242", "--accounts", "3"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2}))
    for _ in range(100):
        try:
            if w3.eth.chain_id == 4242:
                break
        except Exception:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)
    log.close()


def _foreign_stack(tmp_path, rpc_url: str, **keys) -> Stack:
    settings = Settings(state_dir=tmp_path, api_port=free_port(), rpc_url=rpc_url, deployer_key=ANVIL_DEV_SETTLER_KEY,
                        settler_key=ANVIL_DEV_SETTLER_KEY, manifest_path=tmp_path / "manifest.json", **keys)
    return Stack(settings, log=lambda _line: None)


def test_off_the_local_chain_the_admissions_and_attester_keys_are_required(tmp_path, foreign_chain):
    stack = _foreign_stack(tmp_path, foreign_chain)
    with pytest.raises(StackError, match="chain 4242 is not a local chain: set COOPRIDE_ADMISSIONS_KEY and "
                                         "COOPRIDE_ATTESTER_KEY"):
        stack.start()
    attester_only = _foreign_stack(tmp_path, foreign_chain, attester_key=Account.create().key.hex())
    with pytest.raises(StackError, match=r"set COOPRIDE_ADMISSIONS_KEY \("):
        attester_only.start()
    assert not (tmp_path / "manifest.json").exists()
    assert stack.api is None and stack.anvil is None


def test_off_the_local_chain_an_unfunded_admissions_key_is_refused(tmp_path, foreign_chain):
    admissions = Account.create()
    stack = _foreign_stack(tmp_path, foreign_chain, admissions_key=admissions.key.hex(),
                           attester_key=Account.create().key.hex())
    with pytest.raises(StackError, match=rf"COOPRIDE_ADMISSIONS_KEY's account {admissions.address} holds 0 "):
        stack.start()
    assert not (tmp_path / "manifest.json").exists()


def test_a_malformed_role_key_is_named(tmp_path):
    stack = _external_stack(tmp_path, ANVIL_DEV_SETTLER_KEY, ANVIL_DEV_SETTLER_KEY)
    stack.settings = stack.settings.model_copy(update={"attester_key": "0x1234"})
    with pytest.raises(StackError, match="COOPRIDE_ATTESTER_KEY is not a private key"):
        stack.start()
