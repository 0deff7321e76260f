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
