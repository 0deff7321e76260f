"""Today's whole ride, in two browsers: a driver and a rider, each with the built-in wallet, go from
sign-in to a settled shared trip. The driver's phone records the trace with watchPosition while the
emulated GPS moves along a street in Lyon 3e, survives a reload mid-trip, and both sign the receipt; the
settlement worker settles it on chain. Booking is a signed fare authorisation (a hold on chain), cancelling
a booking a signed release; the rider's confirmation is optional, and a dispute (with a reason) holds the fare
until a mediator decides. Then solo movement, which earns shares while the region bootstraps."""

from __future__ import annotations

import re

from eth_account import Account
from playwright.sync_api import expect

from injected_wallet import InjectedWallet

from web_helpers import (
    LYON_DROPOFF,
    MEDIATOR_ADDRESS,
    MEDIATOR_KEY,
    LYON_PICKUP,
    LYON_TRIP_FROM,
    LYON_TRIP_TO,
    SIGNING_TIMEOUT_MS,
    create_wallet_and_sign_in,
    drive,
    fill_points,
    haversine_m,
    join,
    keep_screenshot,
    path_between,
    serious_violations,
    session_token,
    sign_in_dialog,
    watch_for_page_errors,
)

SETTLE_TIMEOUT_MS = 90_000


def _person(browser, base_url, where):
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, locale="en-GB",
                                  geolocation={"latitude": where["lat"], "longitude": where["lon"], "accuracy": 5},
                                  permissions=["geolocation"])
    return context, context.new_page()


def _request_ride(rider):
    rider.goto("/rider")
    fill_points(rider, "ride", LYON_PICKUP, LYON_DROPOFF)
    rider.click("#request-form button[type=submit]")
    card = rider.locator("#ride-card")
    expect(card).to_have_attribute("data-status", "matched", timeout=15_000)
    return card


def _accept(rider, driver_address):
    """The rider books the matched seat by signing the fare authorisation, shown in plain words."""
    card = rider.locator("#ride-card")
    expect(card).to_contain_text("Fare quoted: 0.00 tEUR")  # Lyon 3e is bootstrapping: rides are free
    rider.click("#request-accept")
    dialog = rider.locator("#sign-dialog[open]")
    expect(dialog.locator("h2")).to_have_text("Book this ride", timeout=SIGNING_TIMEOUT_MS)
    expect(dialog).to_contain_text(driver_address)
    expect(dialog).to_contain_text("The ride is free")
    expect(dialog).to_contain_text("Free cancellation until")
    expect(dialog).to_contain_text(f"{LYON_PICKUP['lat']:.6f}, {LYON_PICKUP['lon']:.6f}")
    keep_screenshot(rider, "book-dialog-phone")
    sign_in_dialog(rider)
    expect(card).to_have_attribute("data-status", "booked", timeout=SIGNING_TIMEOUT_MS)


def _booked_request(rider) -> dict:
    """The rider's latest request as the API gives it (with its on-chain trip id)."""
    request_id = rider.evaluate("JSON.parse(localStorage.getItem(`coopride.requests.${JSON.parse(localStorage.getItem('coopride.session')).address}`)).at(-1)")
    response = rider.request.get(f"/rides/requests/{request_id}", headers={"Authorization": f"Bearer {session_token(rider)}"})
    assert response.ok, response.text()
    return response.json()


def _pick_up(driver) -> None:
    """The driver taps "picked up" on the booked rider: the phone starts recording. The offers list is redrawn by
    polling; a tap that lands while it is being replaced is tapped again, as a person would (the answers to the
    taps are printed, should a second tap ever be needed)."""
    answers: list[str] = []
    driver.on("response", lambda r: answers.append(f"{r.status} {r.url}") if r.url.endswith("/pickup") else None)
    pickup = driver.locator("button.pickup")
    for _tap in range(2):
        expect(pickup).to_be_visible(timeout=15_000)
        pickup.click()
        try:
            expect(driver.locator("#live-fixes")).to_have_text("1", timeout=10_000)
            return
        except AssertionError:
            print(f"pick-up tap without recording; pick-up answers so far: {answers}")
    expect(driver.locator("#live-fixes")).to_have_text("1", timeout=5_000)


def _pickup_and_drive(driver_context, driver, card, steps: int) -> int:
    """The driver picks the booked rider up and drives from the pick-up to the drop-off; returns the logged trip's id."""
    driver_context.set_geolocation({"latitude": LYON_PICKUP["lat"], "longitude": LYON_PICKUP["lon"], "accuracy": 5})
    driver.goto("/driver")
    _pick_up(driver)
    expect(card).to_have_attribute("data-status", "picked_up", timeout=15_000)
    drive(driver_context, driver, path_between(LYON_PICKUP, LYON_DROPOFF, steps)[1:])
    driver.click("#end-trip")
    logged = driver.locator("#recorder-panel .alert.ok")
    expect(logged).to_contain_text("logged", timeout=SIGNING_TIMEOUT_MS)
    return int(re.search(r"Trip #(\d+)", logged.inner_text()).group(1))


def _driver_signs(driver, trip_id: int) -> None:
    driver.click(f"#recorder-panel button[data-trip='{trip_id}']")
    expect(driver.locator("#sign-dialog[open]")).to_contain_text(f"You confirm trip #{trip_id}")
    sign_in_dialog(driver)
    expect(driver.locator("#recorder-panel")).to_contain_text("the rider may confirm or dispute")


def test_a_driver_and_a_rider_go_from_sign_in_to_a_settled_shared_trip_then_dispute_another(browser, base_url, chain):
    driver_context, driver = _person(browser, base_url, LYON_PICKUP)
    rider_context, rider = _person(browser, base_url, LYON_PICKUP)
    problems: list[str] = []
    watch_for_page_errors(driver, problems)
    watch_for_page_errors(rider, problems)
    driver_address = create_wallet_and_sign_in(driver)
    join(driver)
    rider_address = create_wallet_and_sign_in(rider)
    join(rider)

    # The driver offers a trip through Lyon 3e; the rider asks for a ride along it and is matched at once,
    # books it (a signed fare authorisation, a hold on chain), then cancels the booking (a signed release).
    driver.goto("/driver")
    fill_points(driver, "offer", LYON_TRIP_FROM, LYON_TRIP_TO)
    driver.click("#offer-form button[type=submit]")
    expect(driver.locator("#offer-form .alert.ok")).to_contain_text("published")
    card = _request_ride(rider)

    # The page checks what it is asked to sign: a fare authorisation whose pick-up is not the rider's is refused.
    def elsewhere(route):
        response = route.fetch()
        body = response.json()
        body["typed_data"]["message"]["pickupLatE6"] = 48_856_600  # Paris
        route.fulfill(response=response, json=body)

    rider.route("**/authorisation", elsewhere)
    rider.click("#request-accept")
    expect(card.locator(".alert.error")).to_have_text(
        "What the server asked you to sign does not match what you asked for: nothing was signed.")
    expect(rider.locator("#sign-dialog")).not_to_have_attribute("open", "")
    rider.unroute("**/authorisation")

    _accept(rider, driver_address)
    first = _booked_request(rider)
    assert chain.hold_state(first["trip_id"], driver_address, rider_address) == "Active"
    rider.click("#request-cancel")
    dialog = rider.locator("#sign-dialog[open]")
    expect(dialog.locator("h2")).to_have_text("Cancel your booking", timeout=SIGNING_TIMEOUT_MS)
    expect(dialog).to_contain_text(f"#{first['trip_id']}")
    sign_in_dialog(rider)
    expect(card).to_have_attribute("data-status", "cancelled", timeout=SIGNING_TIMEOUT_MS)
    assert chain.is_hold_released(first["trip_id"], driver_address, rider_address)

    # Asked again, the same seat is matched again and booked for good.
    card = _request_ride(rider)
    _accept(rider, driver_address)
    booked = _booked_request(rider)
    assert booked["trip_id"] != first["trip_id"]
    assert chain.hold_state(booked["trip_id"], driver_address, rider_address) == "Active"

    # The driver sees the booked rider (the page polls), picks them up: the phone starts recording.
    _pick_up(driver)
    expect(card).to_have_attribute("data-status", "picked_up", timeout=15_000)

    route = path_between(LYON_PICKUP, LYON_DROPOFF, 16)
    drive(driver_context, driver, route[1:8])
    kept = int(driver.locator("#live-fixes").inner_text())
    assert kept >= 8

    # A reload mid-trip (a phone that locked, a tab the browser discarded) loses nothing.
    driver.reload()
    expect(driver.locator("#recorder-panel")).to_contain_text(f"Recording resumed after the page reloaded; GPS fixes kept: {kept}.")
    drive(driver_context, driver, route[8:])
    distance = float(driver.locator("#live-distance").inner_text().split()[0])
    assert abs(distance * 1000 - haversine_m(LYON_PICKUP, LYON_DROPOFF)) < 60

    driver.click("#end-trip")
    logged = driver.locator("#recorder-panel .alert.ok")
    expect(logged).to_contain_text("logged", timeout=SIGNING_TIMEOUT_MS)
    trip_id = int(re.search(r"Trip #(\d+)", logged.inner_text()).group(1))
    assert trip_id == booked["trip_id"]  # the trip is settled under its booking's id
    _driver_signs(driver, trip_id)

    # The rider's page follows: the ride is completed; confirming the trip (optional) pays the driver now.
    expect(card).to_have_attribute("data-status", "completed", timeout=15_000)
    confirm = rider.locator(f"#rider-receipts button[data-trip='{trip_id}']")
    expect(confirm).to_have_text(f"Confirm trip #{trip_id}")
    confirm.click()
    dialog = rider.locator("#sign-dialog[open]")
    expect(dialog.locator("h2")).to_have_text(f"Confirm trip #{trip_id}")
    expect(dialog).to_contain_text(driver_address)
    expect(dialog).to_contain_text("The fare is paid to the driver now")
    keep_screenshot(rider, "confirm-dialog-phone")
    sign_in_dialog(rider)
    expect(rider.locator("#rider-receipts")).to_contain_text("Confirmed: the fare goes to the driver", timeout=SIGNING_TIMEOUT_MS)
    chain.mine()

    # The settlement worker settles it; the rider's history shows the settlement and its transaction.
    settled = rider.locator(f"#rider-history li[data-trip-id='{trip_id}']")
    expect(settled).to_contain_text("settled", timeout=SETTLE_TIMEOUT_MS)
    expect(settled).to_contain_text("Transaction 0x")
    assert chain.is_settled(trip_id)

    # The driver's statement shows the shares the chain minted for the trip.
    driver.goto("/statement")
    shares = chain.shares_of(driver_address)
    assert shares > 0
    expect(driver.locator("#figure-shares")).to_have_text(f"{shares / 10**18:.2f}".rstrip("0").rstrip("."), timeout=15_000)
    expect(driver.locator("#statement-trips")).to_contain_text(f"#{trip_id}")
    assert rider_address != driver_address

    # A second ride on the same offer: this time, within the dispute window, the rider disputes it with a reason.
    card = _request_ride(rider)
    _accept(rider, driver_address)
    disputed = _pickup_and_drive(driver_context, driver, card, steps=12)
    _driver_signs(driver, disputed)
    reason = "The driver dropped me 400 m before the drop-off"
    item = rider.locator(f"#rider-receipts li[data-trip-id='{disputed}']")
    expect(item).to_be_visible(timeout=15_000)
    item.locator("details.dispute summary").click()
    item.locator("textarea").fill(reason)
    assert serious_violations(rider) == []  # the confirmation and the open dispute form
    item.locator("form.dispute-form button[type=submit]").click()
    dialog = rider.locator("#sign-dialog[open]")
    expect(dialog.locator("h2")).to_have_text(f"Dispute trip #{disputed}", timeout=SIGNING_TIMEOUT_MS)
    expect(dialog).to_contain_text(reason)
    expect(dialog).to_contain_text("The fare stays held until a mediator decides")
    keep_screenshot(rider, "dispute-dialog-phone")
    sign_in_dialog(rider)
    expect(item).to_contain_text("Dispute recorded on the blockchain", timeout=SIGNING_TIMEOUT_MS)
    assert chain.hold_state(disputed, driver_address, rider_address) == "Disputed"

    # Both pages say who disputed and why; the statement lists it; nothing settles meanwhile.
    history = rider.locator(f"#rider-history li[data-trip-id='{disputed}']")
    expect(history).to_contain_text(f"Disputed by you: “{reason}”", timeout=15_000)
    expect(history).to_contain_text("Waiting for a mediator's decision")
    driver.goto("/driver")
    expect(driver.locator(f"#driver-history li[data-trip-id='{disputed}']")).to_contain_text(
        f"Disputed by the rider: “{reason}”", timeout=15_000)
    rider.goto("/statement")
    expect(rider.locator(f"#statement-disputes li[data-trip-id='{disputed}']")).to_contain_text(reason, timeout=15_000)
    expect(rider.locator(f"#statement-trips tr[data-trip-id='{disputed}']")).to_contain_text("disputed, waiting")
    keep_screenshot(rider, "statement-dispute-phone", full_page=True)
    assert not chain.is_settled(disputed)

    # A mediator (a member holding the role, no party to the trip) decides it from the home page: the fare held
    # (nothing, in a bootstrapping region) goes back to the rider; both see the decision.
    mediator_context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, locale="en-GB")
    mediator_wallet = InjectedWallet()
    mediator_wallet.account = Account.from_key(MEDIATOR_KEY)
    mediator_wallet.install(mediator_context)
    mediator = mediator_context.new_page()
    mediator.goto("/")
    mediator.click("#use-injected")
    expect(mediator.locator("#wallet-panel .alert.ok")).to_contain_text(MEDIATOR_ADDRESS, timeout=SIGNING_TIMEOUT_MS)
    join(mediator)
    expect(mediator.locator("#mediation-panel")).to_be_visible()
    listed = mediator.locator(f"#mediation-open li[data-trip-id='{disputed}']")
    expect(listed).to_contain_text(f"Trip #{disputed}, disputed by the rider", timeout=15_000)
    assert serious_violations(mediator) == []
    listed.locator("button").click()  # the trip's number goes into the form
    expect(mediator.locator("#mediation-trip")).to_have_value(str(disputed))
    mediator.fill("#mediation-award", "0")
    mediator.fill("#mediation-reason", "The trace ends 400 m early: the rider pays nothing")
    mediator.click("#mediation-form button[type=submit]")
    dialog = mediator.locator("#sign-dialog[open]")
    expect(dialog.locator("h2")).to_have_text(f"Decide trip #{disputed}", timeout=SIGNING_TIMEOUT_MS)
    expect(dialog).to_contain_text("0.00 tEUR of the held fare is paid to the driver")
    keep_screenshot(mediator, "decide-dialog-phone")
    sign_in_dialog(mediator)
    expect(mediator.locator("#mediation-form")).to_contain_text(f"Trip #{disputed} decided", timeout=SIGNING_TIMEOUT_MS)
    mediator.reload()
    expect(mediator.locator("#mediation-open")).to_contain_text("No dispute waits for a mediator", timeout=15_000)
    assert chain.hold_state(disputed, driver_address, rider_address) in ("ResolvedUnpaid", "None")
    rider.reload()
    expect(rider.locator(f"#statement-trips tr[data-trip-id='{disputed}']")).to_contain_text("decided: 0.00 tEUR paid",
                                                                                            timeout=15_000)
    expect(rider.locator(f"#statement-disputes li[data-trip-id='{disputed}']")).to_contain_text(
        "Mediator's decision: 0.00 tEUR paid to the driver")
    keep_screenshot(rider, "statement-decision-phone", full_page=True)
    mediator_context.close()

    # The driver withdraws the offer: it matches nobody any more.
    driver.goto("/driver")
    offer = driver.locator("#offers-list li[data-offer-id]").first
    offer.locator("button.cancel-offer").click()
    expect(offer.locator("h3")).to_contain_text("withdrawn", timeout=15_000)
    assert problems == []
    driver_context.close()
    rider_context.close()


def test_solo_movement_in_a_bootstrapping_region_is_recorded_signed_and_earns_shares(browser, base_url, chain):
    start = {"lat": 45.7590, "lon": 4.8450}
    end = {"lat": 45.7560, "lon": 4.8520}
    context, page = _person(browser, base_url, start)
    address = create_wallet_and_sign_in(page)
    join(page)
    page.goto("/driver")
    page.click("#start-solo")
    expect(page.locator("#live-fixes")).to_have_text("1", timeout=15_000)
    drive(context, page, path_between(start, end, 10)[1:])
    page.click("#end-trip")
    expect(page.locator("#recorder-panel .alert.ok")).to_contain_text("logged", timeout=SIGNING_TIMEOUT_MS)
    page.locator("#recorder-panel button[data-trip]").click()
    expect(page.locator("#sign-dialog[open]")).to_contain_text("Nobody pays for it")
    sign_in_dialog(page)
    chain.mine()
    history = page.locator("#driver-history")
    expect(history).to_contain_text("settled", timeout=SETTLE_TIMEOUT_MS)
    assert chain.shares_of(address) > 0
    context.close()
