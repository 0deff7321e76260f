"""Every page passes axe-core with no serious or critical violation, at phone (390x844) and desktop
(1280x800) sizes, signed out and as a member with data on every page (a deposit, an open request, a
settled drive, a recording in progress), and with the signing dialog open. The same run takes the
screenshots of the main screens: `make screenshots` (COOPRIDE_SCREENSHOT_DIR=docs/screenshots) keeps them."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from web_helpers import (
    SIGNING_TIMEOUT_MS,
    apply_to_join,
    create_wallet_and_sign_in,
    drive,
    fill_points,
    path_between,
    serious_violations,
    sign_in_dialog,
)

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
START = {"lat": 45.7585, "lon": 4.8400}
END = {"lat": 45.7565, "lon": 4.8460}
# What shows that each page has loaded its data.
PAGES = {
    "home": ("/", "#member-status"),
    "rider": ("/rider", "#ride-card"),
    "driver": ("/driver", "#live-fixes"),
    "statement": ("/statement", "#figure-shares"),
    "regions": ("/region", "[data-region='2']"),
    "region": ("/region/1", "[data-region='1'] progress"),
    "proposals": ("/proposals", "#proposals-list :is(ul, p)"),
}


def test_the_accessibility_check_finds_a_serious_violation_when_there_is_one(browser, base_url):
    context = browser.new_context(base_url=base_url, bypass_csp=True)
    page = context.new_page()
    page.goto("/region")
    page.evaluate("document.querySelector('main').append(Object.assign(document.createElement('button'), {className: 'x'}))")
    assert any("button-name" in violation for violation in serious_violations(page))
    context.close()



def screenshot(page, tmp_path: Path, name: str, full_page: bool = True) -> Path:
    folder = Path(os.environ.get("COOPRIDE_SCREENSHOT_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    return path


@pytest.mark.parametrize("size", SIZES)
def test_every_page_has_no_serious_accessibility_violation(browser, base_url, chain, size, tmp_path):
    context = browser.new_context(base_url=base_url, viewport=SIZES[size], locale="en-GB", bypass_csp=True,
                                  geolocation={"latitude": START["lat"], "longitude": START["lon"], "accuracy": 5},
                                  permissions=["geolocation"])
    page = context.new_page()
    found = {}

    for name in ("home", "regions", "proposals"):
        path, ready = PAGES[name]
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible(timeout=15_000) if name != "home" else None
        found[f"{name} (signed out)"] = serious_violations(page)
    page.goto("/rider")
    expect(page.locator("#signin-needed")).to_be_visible()
    found["rider (signed out)"] = serious_violations(page)

    create_wallet_and_sign_in(page)
    apply_to_join(page)
    expect(page.locator("#sign-dialog[open] h2")).to_have_text("Apply to join CoopRide")
    found["signing dialog"] = serious_violations(page)
    screenshot(page, tmp_path, f"sign-dialog-{size}", full_page=False)
    sign_in_dialog(page, closes=False)
    sign_in_dialog(page, title="Capital share")
    expect(page.locator("#member-status")).to_contain_text("Member in", timeout=SIGNING_TIMEOUT_MS)

    # A member with something on every page: a proposal, tokens and a deposit, a settled solo drive, an open request.
    time.sleep(4)  # a membership votes 2 s after admission (votingMaturity), counted before the proposal's block
    chain.mine()
    page.goto("/proposals")
    page.select_option("#change-kind", "region_fare")
    page.fill("#change-fare", "0,55")
    page.fill("#change-description", f"A fare that pays the drivers' costs ({size}, {time.time_ns()})")
    page.click("#propose-form button[type=submit]")
    sign_in_dialog(page)
    expect(page.locator("#propose-form")).to_contain_text("Your proposal is on chain", timeout=SIGNING_TIMEOUT_MS)
    page.goto("/rider")
    page.fill("#deposit-amount", "25")
    page.click("#deposit-form button[type=submit]")
    sign_in_dialog(page)
    expect(page.locator("#escrow-balance")).to_have_text("25.00 tEUR", timeout=SIGNING_TIMEOUT_MS)
    page.goto("/driver")
    page.click("#start-solo")
    expect(page.locator("#live-fixes")).to_have_text("1", timeout=15_000)
    drive(context, page, path_between(START, END, 12)[1:])
    page.click("#end-trip")
    page.locator("#recorder-panel button[data-trip]").click()
    sign_in_dialog(page)
    chain.mine()
    expect(page.locator("#driver-history")).to_contain_text("settled", timeout=90_000)
    page.goto("/rider")
    fill_points(page, "ride", {"lat": 45.7700, "lon": 4.8850}, {"lat": 45.7750, "lon": 4.8950})  # Villeurbanne
    page.click("#request-form button[type=submit]")
    expect(page.locator("#ride-card")).to_be_visible(timeout=SIGNING_TIMEOUT_MS)
    page.goto("/driver")
    page.click("#start-solo")  # a recording in progress, for the driver's screen
    expect(page.locator("#live-fixes")).to_have_text("1", timeout=15_000)

    for name, (path, ready) in PAGES.items():
        page.goto(path)
        expect(page.locator(ready).first).to_be_visible(timeout=15_000)
        page.wait_for_timeout(300)
        found[name] = serious_violations(page)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 0:
            found[name].append(f"the page is {overflow} px wider than the {size} screen")
        screenshot(page, tmp_path, f"{name}-{size}")
    # The same screens in French (the switch is remembered for the next pages).
    for name in ("home", "driver"):
        path, ready = PAGES[name]
        page.goto(f"{path}?lang=fr")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.locator(ready).first).to_be_visible(timeout=15_000)
        found[f"{name} (fr)"] = serious_violations(page)
        screenshot(page, tmp_path, f"{name}-{size}-fr")
    context.close()

    problems = {where: violations for where, violations in found.items() if violations}
    assert problems == {}, "\n".join(f"{where}: {v}" for where, vs in problems.items() for v in vs)
