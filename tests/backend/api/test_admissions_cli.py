"""`coopride admissions list|admit|refuse`: the operator decides applications with the admissions key directly,
against the same chain and database the API uses."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from coopride.cli import app as cli

CAPITAL_SHARE = 10_000_000


@pytest.fixture
def operator(app, settings, deployment):
    """Runs `coopride ...` against this test's chain and database, with auto-admit off in the API."""
    app.state.settings = settings.model_copy(update={"auto_admit": False})
    env = {"COOPRIDE_RPC_URL": deployment.rpc_url, "DATABASE_URL": settings.database_url,
           "COOPRIDE_MANIFEST": str(deployment.manifest_path), "COOPRIDE_SETTLER_KEY": deployment.settler_key,
           "COOPRIDE_ADMISSIONS_KEY": "", "COLUMNS": "250"}

    def run(*args: str, **extra_env: str):
        return CliRunner().invoke(cli, list(args), env={**env, **extra_env})

    return run


def test_the_operator_lists_admits_and_refuses(operator, wallet, bootstrap_region, chain_client):
    first, second = wallet().mint(CAPITAL_SHARE), wallet().mint(CAPITAL_SHARE)
    ids = [me.apply(bootstrap_region).json()["id"] for me in (first, second)]
    listed = operator("admissions", "list")
    assert listed.exit_code == 0, listed.output
    assert first.address in listed.output and second.address in listed.output and "pending" in listed.output

    admitted = operator("admissions", "admit", str(ids[0]))
    assert admitted.exit_code == 0, admitted.output
    assert "admitted" in admitted.output and chain_client.is_member(first.address)
    assert first.get("/members/applications/me").json()["status"] == "admitted"

    refused = operator("admissions", "refuse", str(ids[1]), "--reason", "outside the region")
    assert refused.exit_code == 0, refused.output
    mine = second.get("/members/applications/me").json()
    assert (mine["status"], mine["reason"]) == ("refused", "outside the region")
    assert not chain_client.is_member(second.address)

    everything = operator("admissions", "list", "--status", "all")
    assert everything.exit_code == 0 and "admitted" in everything.output and "refused" in everything.output
    assert "no applications" in operator("admissions", "list").output


def test_the_operator_is_told_why_a_decision_cannot_be_made(operator, wallet, bootstrap_region):
    application_id = wallet().mint(CAPITAL_SHARE).apply(bootstrap_region).json()["id"]
    unknown = operator("admissions", "admit", "999")
    assert unknown.exit_code == 1 and "no application 999" in unknown.output
    no_reason = operator("admissions", "refuse", str(application_id), "--reason", " ")
    assert no_reason.exit_code == 1 and "--reason must say why" in no_reason.output
    wrong_key = operator("admissions", "admit", str(application_id), COOPRIDE_ADMISSIONS_KEY="0x" + "5" * 64)
    assert wrong_key.exit_code == 1 and "is not the chain's admissions role" in wrong_key.output
    bad_status = operator("admissions", "list", "--status", "maybe")
    assert bad_status.exit_code == 1 and "--status must be one of" in bad_status.output


def test_status_shows_members_and_active_drivers_against_critical_mass(operator, member, bootstrap_region, app,
                                                                        settings):
    app.state.settings = settings  # auto-admit again
    member(bootstrap_region)
    shown = operator("status")
    assert shown.exit_code == 0, shown.output
    assert "active drivers / critical mass" in shown.output and "0 / 8" in shown.output
