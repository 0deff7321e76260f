"""Wallets in a real browser: the built-in one (key made in the browser, encrypted in IndexedDB, never
sent) and an injected EIP-1193 wallet, each signing in with EIP-4361 and signing typed data."""

from __future__ import annotations

import re

from eth_account import Account
from playwright.sync_api import expect

from injected_wallet import InjectedWallet
from web_helpers import (
    PASSPHRASE,
    SIGNING_TIMEOUT_MS,
    apply_to_join,
    create_wallet_and_sign_in,
    join,
    session_address,
    sign_in_dialog,
)


def test_the_built_in_wallet_is_made_in_the_browser_stored_encrypted_and_never_sent(page, chain):
    posted = []
    page.on("request", lambda request: posted.append(request.post_data or ""))
    address = create_wallet_and_sign_in(page)
    expect(page.locator("#wallet-chip")).to_contain_text(address[:6])

    stored = page.evaluate("""() => new Promise((resolve, reject) => {
        const open = indexedDB.open("coopride-wallet");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const read = open.result.transaction("keys").objectStore("keys").get("wallet");
          read.onsuccess = () => resolve(read.result);
        };
    })""")
    assert stored["address"] == address and stored["kdf"] == "PBKDF2-SHA256" and stored["cipher"] == "AES-256-GCM"
    assert stored["iterations"] >= 600_000

    page.click("#export-wallet >> xpath=ancestor::details/summary")
    page.fill("#export-passphrase", PASSPHRASE)
    page.click("#export-wallet button[type=submit]")
    key = page.locator("#exported-key").inner_text()
    assert Account.from_key(key).address == address
    assert key[2:] not in str(stored), "the stored record holds the key in clear"
    assert not any(key[2:].lower() in body.lower() for body in posted), "the private key left the browser"


def test_the_built_in_wallet_opens_only_with_its_passphrase(page):
    address = create_wallet_and_sign_in(page)
    page.click("#sign-out")
    expect(page.locator("#wallet-chip")).to_have_text("Not signed in")
    page.reload()
    expect(page.locator("#unlock-wallet")).to_contain_text(address)

    page.fill("#unlock-passphrase", "not the passphrase")
    page.click("#unlock-wallet button[type=submit]")
    expect(page.locator("#unlock-wallet .alert.error")).to_have_text("That passphrase does not open this wallet.",
                                                                      timeout=SIGNING_TIMEOUT_MS)
    page.fill("#unlock-passphrase", PASSPHRASE)
    page.click("#unlock-wallet button[type=submit]")
    expect(page.locator("#wallet-panel .alert.ok")).to_contain_text(address, timeout=SIGNING_TIMEOUT_MS)
    assert session_address(page) == address


def test_a_short_passphrase_or_a_mistyped_confirmation_creates_no_wallet(page):
    page.goto("/")
    page.fill("#create-passphrase", "short")
    page.fill("#create-confirm", "short")
    page.locator("#create-wallet").evaluate("form => form.noValidate = true")
    page.click("#create-wallet button[type=submit]")
    expect(page.locator("#create-wallet .alert.error")).to_have_text("The passphrase needs at least 8 characters.")
    page.fill("#create-passphrase", "long enough one")
    page.fill("#create-confirm", "long enough two")
    page.click("#create-wallet button[type=submit]")
    expect(page.locator("#create-wallet .alert.error")).to_have_text("The two passphrases differ.")
    page.reload()
    expect(page.locator("#create-wallet")).to_be_visible()  # still no wallet stored


def test_an_injected_wallet_signs_in_and_signs_typed_data_to_join(browser, base_url, chain):
    wallet = InjectedWallet()
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, locale="en-GB")
    wallet.install(context)
    page = context.new_page()
    page.goto("/")
    page.click("#use-injected")
    expect(page.locator("#wallet-panel .alert.ok")).to_contain_text(wallet.address, timeout=SIGNING_TIMEOUT_MS)
    assert wallet.requests[:2] == ["eth_requestAccounts", "personal_sign"]

    join(page)
    assert wallet.requests.count("eth_signTypedData_v4") == 2  # the application and the capital share's permit
    assert chain.is_member(wallet.address)
    expect(page.locator("#member-status")).to_contain_text("Member in Lyon 3e")
    context.close()


def test_a_refusal_in_the_injected_wallet_is_said_in_plain_words_and_sends_nothing(browser, base_url, chain):
    wallet = InjectedWallet()
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, locale="en-GB")
    wallet.install(context)
    page = context.new_page()
    page.goto("/")
    page.click("#use-injected")
    expect(page.locator("#wallet-panel .alert.ok")).to_be_visible(timeout=SIGNING_TIMEOUT_MS)
    wallet.refuse = True
    apply_to_join(page)
    sign_in_dialog(page)
    expect(page.locator("#join-form .alert.error")).to_have_text("You declined to sign: nothing was sent.")
    assert not chain.is_member(wallet.address)
    context.close()


def test_the_signing_dialog_says_what_is_signed_and_cancelling_signs_nothing(page, chain):
    address = create_wallet_and_sign_in(page)
    apply_to_join(page)
    dialog = page.locator("#sign-dialog[open]")
    expect(dialog.locator("h2")).to_have_text("Apply to join CoopRide")
    expect(dialog).to_contain_text("You apply to become a member of the cooperative in Lyon 3e")
    expect(dialog).to_contain_text("at most 10.00 tEUR")
    expect(dialog).to_contain_text(address)
    expect(dialog).to_contain_text(re.compile(r"Membership \(0x"))
    expect(dialog.locator("button[type=submit]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#join-form .alert.error")).to_have_text("Cancelled: nothing was signed.")
    assert not chain.is_member(address)
