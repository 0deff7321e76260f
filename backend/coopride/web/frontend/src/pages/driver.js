// Driver: offer a trip, see booked riders, pick them up and record the drive (watchPosition, kept in
// IndexedDB across reloads), end it, sign the receipt; solo movement while the region bootstraps; earnings.
import { withdrawForm } from "../lib/account.js";
import { api } from "../lib/api.js";
import { currentPosition } from "../lib/geo.js";
import { km, number, shares, shortAddress, t, time, tokens } from "../lib/i18n.js";
import { createMap, drawRegions, line, point, pointPicker } from "../lib/map.js";
import { changed, every, myStatement, pressedIn, requireSession } from "../lib/page.js";
import { Recorder, pendingRecording } from "../lib/recorder.js";
import { myTrips, receiptAction, receiptSigner, receiptsFor, tripItem } from "../lib/trips.js";
import { $, alertBox, announce, badge, fill, h, onClick, onSubmit, showError, stat } from "../lib/ui.js";

const session = requireSession();

// ---------------------------------------------------------------- offering
function setUpOffer() {
  const map = createMap($("#offer-map"), { label: t("js.map.offer") });
  drawRegions(map);
  const picker = pointPicker(map, {
    fields: {
      from: { lat: $("#offer-from-lat"), lon: $("#offer-from-lon") },
      to: { lat: $("#offer-to-lat"), lon: $("#offer-to-lon") },
    },
    modeButtons: { from: $("#offer-mode-from"), to: $("#offer-mode-to") },
    labels: { from: t("js.map.start"), to: t("js.map.destination") },
  });
  const form = $("#offer-form");
  const status = $(".form-status", form);
  onClick($("#offer-locate"), async () => {
    try {
      picker.set("from", await currentPosition());
      picker.setMode("to");
    } catch {
      showError(status, new Error(t("js.map.locate_failed")));
    }
  });
  onSubmit(form, async () => {
    status.replaceChildren();
    const origin = picker.read("from");
    const destination = picker.read("to");
    if (!origin || !destination) {
      showError(status, new Error(t("js.map.pick_both")));
      return;
    }
    const now = Math.floor(Date.now() / 1000);
    try {
      const offer = await api("/offers", {
        method: "POST",
        body: { origin, destination, depart_earliest: now, depart_latest: now + Number(form.window.value),
          seats: Number(form.seats.value), max_detour_m: Number(form.detour.value) },
      });
      fill(status, alertBox("ok", t("js.offer.sent", { id: offer.id })));
      await renderOffers();
    } catch (error) {
      showError(status, error);
    }
  });
}

// ---------------------------------------------------------------- recording
let recorder = null;
let traceMap = null;
let traceLine = null;
let here = null;

function ensureTraceMap() {
  const element = $("#trace-map");
  element.hidden = false;
  if (!traceMap) {
    traceMap = createMap(element, { label: t("js.map.trace"), zoom: 15 });
    drawRegions(traceMap);
    traceLine = line(traceMap, []);
  }
  return traceMap;
}

function liveFigures(stats) {
  return h("div", { class: "live", id: "live-figures" },
    h("div", {}, h("strong", { id: "live-distance" }, km(stats.metres)), t("js.recorder.distance")),
    h("div", {}, h("strong", { id: "live-speed" }, stats.speedKmh === null ? "—" : `${number(Math.round(stats.speedKmh))}`), t("js.recorder.speed")),
    h("div", {}, h("strong", { id: "live-fixes" }, String(stats.fixes)), t("js.recorder.fixes")));
}

function updateLive(stats) {
  const figures = $("#live-figures");
  if (figures) figures.replaceWith(liveFigures(stats));
  if (traceLine && recorder && recorder.state) {
    traceLine.setLatLngs(recorder.state.fixes.map((f) => [f.lat, f.lon]));
    if (stats.last) {
      if (here) here.remove();
      here = point(traceMap, stats.last, { label: t("js.map.here") });
      traceMap.setView([stats.last.lat, stats.last.lon], Math.max(traceMap.getZoom(), 15), { animate: false });
    }
  }
}

function recorderError(error) {
  const note = $("#recorder-note");
  if (!note) return;
  const message = error && error.code === 1 ? t("js.recorder.denied") : t("js.recorder.no_fix");
  fill(note, alertBox("warn", message));
}

function renderRecorder(resumed = false) {
  const panel = $("#recorder-panel");
  const state = recorder.state;
  const end = h("button", { type: "button", id: "end-trip" }, t(state.requestId ? "js.recorder.end_shared" : "js.recorder.end_solo"));
  const discard = h("button", { type: "button", class: "danger", id: "discard-trip" }, t("js.recorder.discard"));
  const status = h("div", { id: "recorder-status" });
  onClick(end, () => endTrip(status));
  onClick(discard, async () => {
    await recorder.discard();
    recorder = null;
    announce(t("js.recorder.discarded"));
    idleRecorder();
  });
  fill(panel,
    h("p", {}, badge(t("js.recorder.recording"), "warn"), " ", state.label),
    resumed ? alertBox("info", t("js.recorder.resumed", { fixes: state.fixes.length })) : null,
    liveFigures(recorder.stats()),
    h("div", { id: "recorder-note", "aria-live": "polite" }),
    h("div", { class: "actions" }, end),
    status,
    h("details", {}, h("summary", {}, t("js.recorder.discard_title")), h("p", {}, t("js.recorder.discard_text")), discard));
  ensureTraceMap();
  updateLive(recorder.stats());
}

function idleRecorder() {
  fill($("#recorder-panel"), h("p", { class: "muted" }, t("js.recorder.idle")));
}

async function startRecording({ requestId, label }) {
  if (recorder && recorder.state) {
    throw new Error(t("js.recorder.already"));
  }
  recorder = new Recorder({ onUpdate: updateLive, onError: recorderError });
  await recorder.start({ requestId, driver: session.address, label });
  announce(t("js.recorder.started"));
  renderRecorder();
  $("#recorder-section").scrollIntoView({ block: "start" });
}

async function endTrip(status) {
  const state = await recorder.stop();
  if (state.fixes.length < 2) {
    showError(status, new Error(t("js.recorder.too_few")));
    recorder.watch();
    return;
  }
  try {
    const trip = await api("/trips", { method: "POST", body: { request_id: state.requestId, fixes: state.fixes } });
    await recorder.discard();
    recorder = null;
    announce(t("js.recorder.sent"));
    const outcome = trip.status === "void"
      ? alertBox("error", t("js.recorder.void", { reasons: trip.check_reasons.join(", ") }))
      : alertBox("ok", t("js.recorder.logged", { id: trip.id, distance: km(trip.distance_metres), fare: tokens(trip.fare) }));
    fill($("#recorder-panel"), outcome, trip.status === "void" ? null : receiptSigner(trip, refreshAll));
    await Promise.all([renderOffers(), renderTrips()]);
  } catch (error) {
    // The recording stays in IndexedDB and goes on: the driver can keep driving and end it again, or discard it.
    showError(status, error);
    recorder.watch();
  }
}

// ---------------------------------------------------------------- offers and booked riders
function riderRow(request) {
  const actions = h("div", { class: "actions" });
  const status = h("div");
  if (request.status === "booked") {
    const button = h("button", { type: "button", "data-request": request.id, class: "pickup" }, t("js.driver.pickup"));
    onClick(button, async () => {
      try {
        await api(`/rides/requests/${request.id}/pickup`, { method: "POST" });
        await startRecording({ requestId: request.id, label: t("js.recorder.label_shared", { id: request.id, rider: shortAddress(request.rider) }) });
        await renderOffers();
      } catch (error) {
        showError(status, error);
      }
    });
    actions.append(button);
  }
  if (request.status === "picked_up" && !(recorder && recorder.state && recorder.state.requestId === request.id)) {
    const button = h("button", { type: "button", class: "secondary" }, t("js.driver.record"));
    onClick(button, async () => {
      try {
        await startRecording({ requestId: request.id, label: t("js.recorder.label_shared", { id: request.id, rider: shortAddress(request.rider) }) });
      } catch (error) {
        showError(status, error);
      }
    });
    actions.append(button);
  }
  return h("li", { class: "item", "data-request-id": request.id, "data-status": request.status },
    h("p", {}, t("js.driver.rider_line", { id: request.id, rider: shortAddress(request.rider) }), " ", badge(t(`js.request.status.${request.status}`))),
    h("p", { class: "muted" }, t("js.driver.rider_facts", {
      pickup: request.pickup_time ? time(request.pickup_time) : "—", fare: tokens(request.quoted_fare), distance: km(request.shared_metres ?? request.estimated_metres),
    })),
    actions, status);
}

/** Withdraw an offer: riders matched but not booked are matched again elsewhere; the API refuses while one is booked. */
function offerCancel(offer) {
  const status = h("div");
  const button = h("button", { type: "button", class: "secondary cancel-offer", "data-offer": offer.id }, t("js.offer.cancel"));
  onClick(button, async () => {
    try {
      await api(`/offers/${offer.id}/cancel`, { method: "POST" });
      await renderOffers();
    } catch (error) {
      showError(status, error);
    }
  });
  return h("div", {}, h("div", { class: "actions" }, button), status);
}

async function renderOffers() {
  const offers = await api("/offers");
  const withRequests = await Promise.all(offers.slice(-5).reverse().map(async (offer) => [offer, await api(`/offers/${offer.id}/requests`)]));
  if (pressedIn($("#offers-list"))) return;
  if (!changed("offers", withRequests) && $("#offers-list").dataset.filled) return;
  $("#offers-list").dataset.filled = "1";
  fill($("#offers-list"), withRequests.length
    ? h("ul", { class: "items" }, withRequests.map(([offer, requests]) => h("li", { class: "item", "data-offer-id": offer.id },
      h("h3", {}, t("js.offer.title", { id: offer.id }), " ", badge(t(`js.offer.status.${offer.status}`))),
      h("p", {}, t("js.offer.line", { from: time(offer.depart_earliest), to: time(offer.depart_latest), seats: offer.seats_left, total: offer.seats })),
      requests.length ? h("ul", { class: "items" }, requests.map(riderRow)) : h("p", { class: "muted" }, t("js.offer.no_riders")),
      offer.status === "cancelled" ? null : offerCancel(offer))))
    : h("p", { class: "muted" }, t("js.offer.none")));
}

// ---------------------------------------------------------------- receipts, earnings, history
async function renderTrips() {
  const trips = (await myTrips()).filter((trip) => trip.driver === session.address);
  if (pressedIn($("#driver-receipts")) || !changed("trips", trips)) return;
  const toSign = receiptsFor(trips, "driver");
  fill($("#driver-receipts"), toSign.length
    ? h("ul", { class: "items" }, toSign.map((trip) => tripItem(trip, "driver", receiptAction(trip, "driver", refreshAll))))
    : h("p", { class: "muted" }, t("js.receipt.none")));
  fill($("#driver-history"), trips.length
    ? h("ul", { class: "items" }, [...trips].reverse().slice(0, 20).map((trip) => tripItem(trip, "driver")))
    : h("p", { class: "muted" }, t("js.trip.none")));
}

async function renderEarnings() {
  const statement = await myStatement(session);
  fill($("#earnings-figures"),
    stat(t("js.earnings.driven"), km(statement.driving.metres_driven)),
    stat(t("js.earnings.shared"), km(statement.driving.metres_shared)),
    stat(t("js.earnings.fares"), tokens(statement.driving.fares_received)),
    stat(t("js.earnings.balance"), tokens(statement.chain.earnings), "earnings-balance"),
    stat(t("js.earnings.shares"), shares(statement.chain.shares), "shares-balance"));
}

function setUpWithdrawal() {
  fill($("#withdraw-panel"), withdrawForm({ fromEarnings: true, onDone: renderEarnings }));
}

function setUpSolo() {
  const button = h("button", { type: "button", class: "secondary", id: "start-solo" }, t("js.solo.start"));
  const status = h("div");
  onClick(button, async () => {
    try {
      await startRecording({ requestId: null, label: t("js.recorder.label_solo") });
    } catch (error) {
      showError(status, error);
    }
  });
  fill($("#solo-panel"), button, status);
}

async function refreshAll() {
  await Promise.all([renderOffers(), renderTrips(), renderEarnings()]);
}

async function resumeRecording() {
  const pending = await pendingRecording();
  if (!pending || pending.driver !== session.address) return;
  recorder = new Recorder({ onUpdate: updateLive, onError: recorderError });
  recorder.resume(pending);
  announce(t("js.recorder.resumed", { fixes: pending.fixes.length }));
  renderRecorder(true);
}

if (session) {
  setUpOffer();
  setUpSolo();
  setUpWithdrawal();
  resumeRecording().catch((error) => showError($("#recorder-panel"), error));
  refreshAll().catch((error) => showError($("#offers-list"), error));
  every(4, async () => {
    await renderOffers();
    await renderTrips();
  });
}
