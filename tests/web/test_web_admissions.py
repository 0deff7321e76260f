"""Admission by the admissions team, on a stack that does not admit by itself (COOPRIDE_AUTO_ADMIT=false, as on
any public chain): the applicant's application waits as "pending", the admissions role sees it on the home page
and admits it (the API sends the admission with its admissions key), and the applicant is then a member; or
refuses it with a reason the applicant reads, and they may apply again."""

from __future__ import annotations

import pytest
from eth_account import Account
from playwright.sync_api import expect

from coopride.config import ANVIL_DEV_ADMISSIONS_KEY, Settings
from coopride.runner import Stack, free_port
from injected_wallet import InjectedWallet
from web_helpers import (
    SIGNING_TIMEOUT_MS,
    apply_to_join,
    create_wallet_and_sign_in,
    keep_screenshot,
    serious_violations,
    sign_in_dialog,
)

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def manual_admission_url(tmp_path_factory, built_assets):
    settings = Settings(state_dir=tmp_path_factory.mktemp("manual-admission"), anvil_port=free_port(),
                        api_port=free_port(), auto_admit=False)
    with Stack(settings, log=lambda _text: None) as info:
        yield info.api_url


def test_a_pending_application_is_admitted_by_the_admissions_role_from_the_home_page(browser, manual_admission_url):
    applicant_context = browser.new_context(base_url=manual_admission_url, viewport=PHONE, locale="en-GB")
    applicant = applicant_context.new_page()
    address = create_wallet_and_sign_in(applicant)
    apply_to_join(applicant)
    sign_in_dialog(applicant, title="Apply to join CoopRide", closes=False)
    sign_in_dialog(applicant, title="Capital share")
    status = applicant.locator("#application-status")
    expect(status).to_have_attribute("data-status", "pending", timeout=SIGNING_TIMEOUT_MS)
    expect(status).to_contain_text("Your application to Lyon 3e arrondissement is pending")
    expect(applicant.locator("#member-status")).to_have_text("Not a member yet")
    expect(applicant.locator("#join-form")).to_have_count(0)  # one pending application at a time
    expect(applicant.locator("#admissions-panel")).to_be_hidden()
    keep_screenshot(applicant, "application-pending-phone", full_page=True)
    assert serious_violations(applicant) == []

    team = InjectedWallet()
    team.account = Account.from_key(ANVIL_DEV_ADMISSIONS_KEY)
    team_context = browser.new_context(base_url=manual_admission_url, viewport=PHONE, locale="en-GB")
    team.install(team_context)
    desk = team_context.new_page()
    desk.goto("/")
    desk.click("#use-injected")
    row = desk.locator("#admissions-list li").filter(has_text=address)
    expect(row).to_contain_text("applies to Lyon 3e arrondissement (capital share at most 10.00 tEUR", timeout=15_000)
    keep_screenshot(desk, "admissions-phone", full_page=True)
    assert serious_violations(desk) == []
    row.locator("button.admit").click()
    expect(desk.locator("#admissions-list")).to_contain_text("No application waits for a decision.",
                                                             timeout=SIGNING_TIMEOUT_MS)

    applicant.reload()
    expect(applicant.locator("#member-status")).to_contain_text("Member in Lyon 3e", timeout=15_000)
    expect(applicant.locator("#wallet-balance")).to_have_text("90.00 tEUR")  # the capital share was collected
    applicant_context.close()
    team_context.close()


def test_a_refused_application_tells_the_applicant_why_and_they_may_apply_again(browser, manual_admission_url):
    applicant_context = browser.new_context(base_url=manual_admission_url, viewport=PHONE, locale="en-GB")
    applicant = applicant_context.new_page()
    address = create_wallet_and_sign_in(applicant)
    apply_to_join(applicant, region_id=2)
    sign_in_dialog(applicant, title="Apply to join CoopRide", closes=False)
    sign_in_dialog(applicant, title="Capital share")
    expect(applicant.locator("#application-status")).to_have_attribute("data-status", "pending",
                                                                        timeout=SIGNING_TIMEOUT_MS)

    team = InjectedWallet()
    team.account = Account.from_key(ANVIL_DEV_ADMISSIONS_KEY)
    team_context = browser.new_context(base_url=manual_admission_url, viewport=PHONE, locale="en-GB")
    team.install(team_context)
    desk = team_context.new_page()
    desk.goto("/")
    desk.click("#use-injected")
    row = desk.locator("#admissions-list li").filter(has_text=address)
    expect(row).to_contain_text("applies to Villeurbanne", timeout=15_000)
    row.locator("details summary").click()
    row.locator("input[name=reason]").fill("We could not check who you are: please apply again with a video call")
    row.locator("form.refuse button[type=submit]").click()
    expect(desk.locator("#admissions-list li").filter(has_text=address)).to_have_count(0, timeout=SIGNING_TIMEOUT_MS)

    applicant.reload()
    status = applicant.locator("#application-status")
    expect(status).to_have_attribute("data-status", "refused", timeout=15_000)
    expect(status).to_contain_text("was refused: We could not check who you are")
    expect(applicant.locator("#join-form")).to_be_visible()  # and may apply again
    expect(applicant.locator("#wallet-balance")).to_have_text("100.00 tEUR")  # nothing was collected
    applicant_context.close()
    team_context.close()
