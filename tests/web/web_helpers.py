"""What the browser tests do as a person would: create a wallet, sign in, join, sign in dialogs; and the
chain's own figures to compare the pages with."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from coopride.config import REPO_ROOT

PASSPHRASE = "a long passphrase for tests"
# anvil's development account #5 ("test test ... junk"), a mediator of the tests' deployment (conftest)
MEDIATOR_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
MEDIATOR_ADDRESS = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
SIGNING_TIMEOUT_MS = 60_000

# A short drive inside Lyon 3e (region 1 of the default region map), about 600 m east-south-east.
LYON_PICKUP = {"lat": 45.76000, "lon": 4.83600}
LYON_DROPOFF = {"lat": 45.75700, "lon": 4.84300}
# The driver's whole trip, through both points.
LYON_TRIP_FROM = {"lat": 45.76100, "lon": 4.83300}
LYON_TRIP_TO = {"lat": 45.75500, "lon": 4.84700}


@dataclass
class Chain:
    """Reads straight from the node, to check that what the pages show is what the chain holds."""

    w3: object
    manifest: dict

    def contract(self, name: str):
        entry = self.manifest["contracts"][name]
        return self.w3.eth.contract(address=entry["address"], abi=entry["abi"])

    def escrow_of(self, address: str) -> int:
        return self.contract("RideLedger").functions.escrowOf(address).call()

    def token_balance(self, address: str) -> int:
        return self.contract("FareToken").functions.balanceOf(address).call()

    def is_member(self, address: str) -> bool:
        return self.contract("Membership").functions.isMember(address).call()

    def is_settled(self, trip_id: int) -> bool:
        return self.contract("RideLedger").functions.isSettled(trip_id).call()

    def mine(self) -> None:
        """A new block. The settlement worker settles a trip only once the chain's time has passed its end;
        a public chain makes blocks all the time, but the local anvil makes one only per transaction."""
        self.w3.provider.make_request("evm_mine", [])

    def shares_of(self, address: str) -> int:
        return self.contract("CoopShare").functions.balanceOf(address).call()

    def hold_state(self, trip_id: int, driver: str, rider: str) -> str:
        """The fare hold of a booking: None, Active, Disputed, ResolvedPaid or ResolvedUnpaid."""
        hold = self.contract("RideLedger").functions.holdOf(trip_id, driver, rider).call()
        return HOLD_STATES[hold[3]]

    def is_hold_released(self, trip_id: int, driver: str, rider: str) -> bool:
        return self.contract("RideLedger").functions.isHoldReleased(trip_id, driver, rider).call()


HOLD_STATES = ("None", "Active", "Disputed", "ResolvedPaid", "ResolvedUnpaid")


def watch_for_page_errors(page: Page, problems: list[str]) -> list[str]:
    """Collects into `problems` the script errors and Content-Security-Policy refusals the page reports."""
    page.on("pageerror", lambda error: problems.append(f"error: {error}"))
    page.on("console", lambda message: problems.append(f"console: {message.text}")
            if message.type == "error" and "Failed to load resource" not in message.text else None)
    return problems


def session_address(page: Page) -> str:
    return page.evaluate("JSON.parse(localStorage.getItem('coopride.session')).address")


def session_token(page: Page) -> str:
    return page.evaluate("JSON.parse(localStorage.getItem('coopride.session')).token")


def create_wallet_and_sign_in(page: Page, passphrase: str = PASSPHRASE) -> str:
    page.goto("/")
    page.fill("#create-passphrase", passphrase)
    page.fill("#create-confirm", passphrase)
    page.click("#create-wallet button[type=submit]")
    expect(page.locator("#wallet-panel .alert.ok")).to_contain_text("Signed in as", timeout=SIGNING_TIMEOUT_MS)
    return session_address(page)


def sign_in_dialog(page: Page, passphrase: str | None = None, title: str | None = None, closes: bool = True) -> None:
    """Approves the signing dialog once it is shown (typing the passphrase if the wallet asks for it). `title`: the
    dialog's heading to wait for; `closes=False` when another signature follows at once (its dialog reopens)."""
    dialog = page.locator("#sign-dialog[open]")
    expect(dialog).to_be_visible(timeout=SIGNING_TIMEOUT_MS)
    if title is not None:
        expect(dialog.locator("h2")).to_have_text(title, timeout=SIGNING_TIMEOUT_MS)
    if passphrase is not None and dialog.locator("#sign-passphrase").count():
        dialog.locator("#sign-passphrase").fill(passphrase)
    dialog.locator("button[type=submit]").click()
    if closes:
        expect(page.locator("#sign-dialog")).not_to_have_attribute("open", "", timeout=SIGNING_TIMEOUT_MS)


def get_test_tokens(page: Page, expected: str = "100.00 tEUR") -> None:
    """On the home page: the local chain's faucet (100 test tEUR), as the wallet balance shows."""
    page.click("#faucet-button")
    expect(page.locator("#wallet-balance")).to_have_text(expected, timeout=SIGNING_TIMEOUT_MS)


def apply_to_join(page: Page, region_id: int = 1) -> None:
    """Test tokens for the capital share, then the application form, up to its first signing dialog."""
    page.goto("/")
    get_test_tokens(page)
    page.select_option("#join-region", str(region_id))
    page.click("#join-form button[type=submit]")
    expect(page.locator("#sign-dialog[open]")).to_be_visible(timeout=SIGNING_TIMEOUT_MS)


def join(page: Page, region_id: int = 1) -> None:
    """Apply (the Application, then the capital share's Permit); the local chain admits at once."""
    apply_to_join(page, region_id)
    sign_in_dialog(page, title="Apply to join CoopRide", closes=False)
    sign_in_dialog(page, title="Capital share")
    expect(page.locator("#member-status")).to_contain_text("Member in", timeout=SIGNING_TIMEOUT_MS)
    expect(page.locator("#account-panel .alert.ok")).to_contain_text("Welcome")
    expect(page.locator("#wallet-balance")).to_have_text("90.00 tEUR")  # 10 tEUR capital share on the local chain


def fill_points(page: Page, prefix: str, start: dict, end: dict) -> None:
    page.click(f"#{prefix}-coordinates summary")
    for name, point in (("from", start), ("to", end)):
        page.fill(f"#{prefix}-{name}-lat", f"{point['lat']:.6f}")
        page.fill(f"#{prefix}-{name}-lon", f"{point['lon']:.6f}")
        page.locator(f"#{prefix}-{name}-lon").dispatch_event("change")


def path_between(start: dict, end: dict, steps: int) -> list[dict]:
    return [{"lat": start["lat"] + (end["lat"] - start["lat"]) * i / steps,
             "lon": start["lon"] + (end["lon"] - start["lon"]) * i / steps} for i in range(steps + 1)]


def haversine_m(a: dict, b: dict) -> float:
    rad = math.pi / 180
    d_lat, d_lon = (b["lat"] - a["lat"]) * rad, (b["lon"] - a["lon"]) * rad
    h = math.sin(d_lat / 2) ** 2 + math.cos(a["lat"] * rad) * math.cos(b["lat"] * rad) * math.sin(d_lon / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


def fixes_kept(page: Page) -> int:
    return int(page.locator("#live-fixes").inner_text())


def drive(context, page: Page, points: list[dict], seconds_between: float = 1.3) -> None:
    """Moves the emulated GPS along `points`, waiting each time for the page to keep the new fix. Fixes come at
    least a second apart (whole-second timestamps), so 40 m steps stay well under the 200 km/h check."""
    for point in points:
        before = fixes_kept(page)
        context.set_geolocation({"latitude": point["lat"], "longitude": point["lon"], "accuracy": 5})
        page.wait_for_function("n => Number(document.querySelector('#live-fixes')?.textContent) > n", arg=before,
                               timeout=10_000)
        time.sleep(seconds_between)


def keep_screenshot(page: Page, name: str, full_page: bool = False) -> None:
    """With COOPRIDE_SCREENSHOT_DIR set (`make screenshots`), keeps a screenshot of a moment of a flow there."""
    folder = os.environ.get("COOPRIDE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


AXE = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now. axe is served from the page's own
    origin (a routed URL), so the pages' Content-Security-Policy needs no bypass."""
    origin = page.evaluate("location.origin")
    page.route(f"{origin}/__tests/axe.min.js", lambda route: route.fulfill(path=str(AXE), content_type="text/javascript"))
    page.add_script_tag(url=f"{origin}/__tests/axe.min.js")
    return page.evaluate("""async () => (await axe.run(document, { resultTypes: ["violations"] })).violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => `${v.impact} ${v.id}: ${v.help} -> ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`)""")
