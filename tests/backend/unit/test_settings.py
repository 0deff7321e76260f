"""Which value wins, for every setting: a command-line flag, then the environment, then the default.

`effective(environ, **flags)` is the one way in: what `coopride run` and the other commands end up using
when the environment holds `environ` and the command line gave `flags` (None: the flag was not given).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from coopride.config import (
    ANVIL_DEV_ADMISSIONS_KEY,
    ANVIL_DEV_ATTESTER_KEY,
    REPO_ROOT,
    MissingRoleKey,
    Settings,
)


def effective(environ: dict[str, str], **flags) -> Settings:
    return Settings.from_env(environ, **flags)


# (setting, its environment variable, a value there, a flag's value, the default)
FLAGGED = [
    ("anvil_port", "COOPRIDE_ANVIL_PORT", "9545", 9546, 8545),
    ("api_port", "COOPRIDE_API_PORT", "9000", 9001, 8000),
    ("state_dir", "COOPRIDE_STATE_DIR", "/tmp/state-from-env", Path("/tmp/state-from-flag"), REPO_ROOT / ".coopride"),
]

# (setting, its environment variable, a value there, that value as the setting holds it, the default)
ENVIRONMENT_ONLY = [
    ("host", "COOPRIDE_HOST", "0.0.0.0", "0.0.0.0", "127.0.0.1"),
    ("database_url", "DATABASE_URL", "postgresql+psycopg://u:p@db/coop", "postgresql+psycopg://u:p@db/coop",
     f"sqlite:///{REPO_ROOT / '.coopride' / 'coopride.db'}"),
    ("rpc_url", "COOPRIDE_RPC_URL", "https://node.example", "https://node.example", "http://127.0.0.1:8545"),
    ("manifest_path", "COOPRIDE_MANIFEST", "/tmp/m.json", Path("/tmp/m.json"),
     REPO_ROOT / "deployments" / "31337" / "manifest.json"),
    ("settler_key", "COOPRIDE_SETTLER_KEY", "0x" + "2" * 64, "0x" + "2" * 64,
     "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"),
    ("deployer_key", "COOPRIDE_DEPLOYER_KEY", "0x" + "3" * 64, "0x" + "3" * 64, None),
    ("admissions_key", "COOPRIDE_ADMISSIONS_KEY", "0x" + "4" * 64, "0x" + "4" * 64, None),
    ("attester_key", "COOPRIDE_ATTESTER_KEY", "0x" + "5" * 64, "0x" + "5" * 64, None),
    ("auto_admit", "COOPRIDE_AUTO_ADMIT", "false", False, None),
    ("public_origin", "COOPRIDE_PUBLIC_ORIGIN", "https://Coop.Example/", "https://coop.example", None),
    ("nonce_ttl_seconds", "COOPRIDE_NONCE_TTL_SECONDS", "60", 60, 300),
    ("session_ttl_seconds", "COOPRIDE_SESSION_TTL_SECONDS", "600", 600, 12 * 3600),
    ("signature_deadline_seconds", "COOPRIDE_SIGNATURE_DEADLINE_SECONDS", "120", 120, 3600),
    ("settlement_batch_size", "COOPRIDE_SETTLEMENT_BATCH_SIZE", "7", 7, 50),
    ("settlement_max_age_seconds", "COOPRIDE_SETTLEMENT_MAX_AGE_SECONDS", "5", 5, 2.0),
    ("settlement_poll_seconds", "COOPRIDE_SETTLEMENT_POLL_SECONDS", "0.5", 0.5, 0.25),
    ("settlement_bump_after_seconds", "COOPRIDE_SETTLEMENT_BUMP_AFTER_SECONDS", "30", 30, 180),
    ("settlement_max_fee_gwei", "COOPRIDE_SETTLEMENT_MAX_FEE_GWEI", "12.5", 12.5, 500.0),
]


@pytest.mark.parametrize(("name", "variable", "from_env", "from_flag", "default"), FLAGGED,
                         ids=[case[0] for case in FLAGGED])
class TestAFlagBeatsTheEnvironmentWhichBeatsTheDefault:
    def test_the_default_without_either(self, name, variable, from_env, from_flag, default):
        assert getattr(effective({}), name) == default

    def test_the_environment_without_a_flag(self, name, variable, from_env, from_flag, default):
        expected = type(default)(from_env)
        assert getattr(effective({variable: from_env}), name) == expected
        assert getattr(effective({variable: from_env}, **{name: None}), name) == expected

    def test_the_flag_over_the_environment(self, name, variable, from_env, from_flag, default):
        assert getattr(effective({variable: from_env}, **{name: from_flag}), name) == from_flag
        assert getattr(effective({}, **{name: from_flag}), name) == from_flag


@pytest.mark.parametrize(("name", "variable", "raw", "value", "default"), ENVIRONMENT_ONLY,
                         ids=[case[0] for case in ENVIRONMENT_ONLY])
class TestTheEnvironmentBeatsTheDefault:
    def test_the_default_when_the_variable_is_unset(self, name, variable, raw, value, default):
        assert getattr(effective({}), name) == default

    def test_the_variable_when_set(self, name, variable, raw, value, default):
        assert getattr(effective({variable: raw}), name) == value

    def test_an_empty_variable_counts_as_unset(self, name, variable, raw, value, default):
        assert getattr(effective({variable: ""}), name) == default


def test_the_local_chain_unless_the_environment_names_a_node():
    assert effective({}).local_chain
    assert not effective({"COOPRIDE_RPC_URL": "https://node.example"}).local_chain


def test_the_environment_of_the_process_is_not_read_when_one_is_given(monkeypatch):
    monkeypatch.setenv("COOPRIDE_API_PORT", "9123")
    monkeypatch.setenv("COOPRIDE_SETTLEMENT_BATCH_SIZE", "9")
    chosen = effective({})
    assert (chosen.api_port, chosen.settlement_batch_size) == (8000, 50)


def test_the_local_chain_listens_where_the_settings_say():
    assert effective({"COOPRIDE_HOST": "0.0.0.0", "COOPRIDE_ANVIL_PORT": "9545"}).chain_rpc_url == "http://0.0.0.0:9545"
    assert effective({"COOPRIDE_RPC_URL": "https://node.example"}, anvil_port=1).chain_rpc_url == "https://node.example"


def test_a_stack_keeps_one_manifest_and_one_database_per_chain_unless_configured(tmp_path):
    on_chain = effective({}, state_dir=tmp_path).for_chain(5)
    assert on_chain.manifest_path == tmp_path / "deployments" / "5" / "manifest.json"
    assert on_chain.database_url == f"sqlite:///{tmp_path.resolve() / 'coopride-5.db'}"
    assert on_chain.rpc_url == "http://127.0.0.1:8545"

    configured = effective({"DATABASE_URL": "postgresql+psycopg://db/coop", "COOPRIDE_MANIFEST": "/tmp/m.json"},
                           state_dir=tmp_path).for_chain(5)
    assert (configured.database_url, configured.manifest_path) == ("postgresql+psycopg://db/coop", Path("/tmp/m.json"))


def test_the_api_process_gets_the_same_settings_back_from_its_environment(tmp_path):
    settings = Settings(state_dir=tmp_path, api_port=9001, settlement_batch_size=3, settlement_max_fee_gwei=1.5,
                        deployer_key="0x" + "3" * 64)
    environment = settings.to_env()
    assert "COOPRIDE_DEPLOYER_KEY" not in environment  # the API never deploys
    assert Settings.from_env(environment) == settings.model_copy(update={"deployer_key": None})


def test_the_api_process_gets_the_role_keys_and_the_admission_mode_back(tmp_path):
    settings = Settings(state_dir=tmp_path, admissions_key="0x" + "4" * 64, attester_key="0x" + "5" * 64,
                        auto_admit=False)
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({"COOPRIDE_AUTO_ADMIT": "true"}).auto_admit is True


def test_the_local_chain_defaults_to_anvils_accounts_2_and_3_and_admits_at_once():
    local = effective({})
    assert local.admissions_key_for(31337) == ANVIL_DEV_ADMISSIONS_KEY
    assert local.attester_key_for(31337) == ANVIL_DEV_ATTESTER_KEY
    assert local.auto_admit_for(31337) and local.auto_admit_for(1337)
    local.require_role_keys(31337)
    assert not effective({"COOPRIDE_AUTO_ADMIT": "0"}).auto_admit_for(31337)


def test_off_the_local_chain_nothing_defaults_and_the_missing_keys_are_named():
    remote = effective({"COOPRIDE_RPC_URL": "https://node.example"})
    assert remote.admissions_key_for(11155111) is None and remote.attester_key_for(11155111) is None
    assert not remote.auto_admit_for(11155111)
    with pytest.raises(MissingRoleKey, match="set COOPRIDE_ADMISSIONS_KEY and COOPRIDE_ATTESTER_KEY"):
        remote.require_role_keys(11155111)
    keyed = effective({"COOPRIDE_ADMISSIONS_KEY": "0x" + "4" * 64, "COOPRIDE_ATTESTER_KEY": "0x" + "5" * 64,
                       "COOPRIDE_AUTO_ADMIT": "yes"})
    keyed.require_role_keys(11155111)
    assert keyed.admissions_key_for(11155111) == "0x" + "4" * 64 and keyed.auto_admit_for(11155111)
    # A configured key wins on the local chain too.
    assert keyed.admissions_key_for(31337) == "0x" + "4" * 64


@pytest.mark.parametrize(
    "configured, origin, domain",
    [
        (None, "http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("https://coop.example", "https://coop.example", "coop.example"),
        ("https://coop.example:443", "https://coop.example", "coop.example"),
        ("http://coop.example:80/", "http://coop.example", "coop.example"),
        ("http://localhost:5173", "http://localhost:5173", "localhost:5173"),
        ("http://[::1]:8000", "http://[::1]:8000", "[::1]:8000"),
    ],
)
def test_the_sign_in_domain_and_uri_are_the_public_origin_else_the_listening_address(configured, origin, domain):
    settings = Settings(public_origin=configured)
    assert (settings.origin, settings.sign_in_uri, settings.sign_in_domain) == (origin, origin, domain)


def test_the_default_origin_follows_the_listening_host_and_port():
    assert effective({"COOPRIDE_HOST": "192.168.1.5", "COOPRIDE_API_PORT": "9000"}).origin == "http://192.168.1.5:9000"
    assert Settings(host="::1", api_port=8001).origin == "http://[::1]:8001"


@pytest.mark.parametrize(
    "bad", ["coop.example", "ftp://coop.example", "https://coop.example/app", "https://u:p@coop.example",
            "https://coop.example?x=1", "https://coop.example:99999", "https://"],
)
def test_a_public_origin_that_is_not_an_http_origin_is_refused(bad):
    with pytest.raises(ValueError, match="origin"):
        Settings(public_origin=bad)
