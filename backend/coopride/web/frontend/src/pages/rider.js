// Rider: balance and deposit, request a ride on the map, the quote and the match, accept, follow,
// cancel, sign the receipt, and the history of trips with their settlement.
import { faucetButton, walletFacts, withdrawForm } from "../lib/account.js";
import { api } from "../lib/api.js";
import { currentPosition } from "../lib/geo.js";
import { km, parseTokens, t, time, tokens } from "../lib/i18n.js";
import { amountText } from "../lib/json.js";
import { createMap, drawRegions, fit, line, point, pointPicker } from "../lib/map.js";
import { changed, every, myStatement, pressedIn, requireSession } from "../lib/page.js";
import { signTyped } from "../lib/sign.js";
import { myTrips, receiptAction, receiptsFor, tripItem } from "../lib/trips.js";
import { $, alertBox, badge, fill, h, onClick, onSubmit, progress, showError, stat, txProof } from "../lib/ui.js";

const session = requireSession();
const FINAL = new Set(["completed", "cancelled"]);
const remembered = session ? `coopride.requests.${session.address}` : null;

function requestIds() {
  try {
    return JSON.parse(localStorage.getItem(remembered) || "[]");
  } catch {
    return [];
  }
}

function remember(id) {
  const ids = requestIds().filter((known) => known !== id);
  ids.push(id);
  localStorage.setItem(remembered, JSON.stringify(ids.slice(-20)));
}

async function renderBalance() {
  const [statement, facts] = await Promise.all([myStatement(session), walletFacts(session.address)]);
  fill($("#balance-figures"),
    stat(t("js.balance.escrow"), tokens(statement.chain.escrow), "escrow-balance"),
    stat(t("js.balance.wallet"), tokens(facts.fare_token_balance), "wallet-balance"));
}

function setUpDeposit() {
  const form = $("#deposit-form");
  onSubmit(form, async () => {
    const status = $(".form-status", form);
    status.replaceChildren();
    const amount = parseTokens(form.amount.value);
    if (amount === null || amount <= 0n) {
      showError(status, new Error(t("js.deposit.bad_amount")));
      return;
    }
    const steps = progress($(".form-progress", form), ["review", "sign", "chain"]);
    try {
      const { typed_data: typedData } = await api(`/members/me/deposit/typed-data?amount=${amount}`);
      const relayed = await signTyped({
        typedData, expect: "Permit", steps,
        send: (signature) => api("/members/me/deposits", { method: "POST", body: { amount: amountText(amount), deadline: typedData.message.deadline, signature } }),
      });
      steps.add(alertBox("ok", t("js.deposit.done", { amount: tokens(amount) }), h("p", {}, txProof(relayed.tx_hash, relayed.block_number))));
      form.amount.value = "";
      await renderBalance();
    } catch (error) {
      showError(status, error);
    }
  });
  fill($("#withdraw-panel"), withdrawForm({ fromEarnings: false, onDone: renderBalance }));
  const faucet = faucetButton(session.address, renderBalance);
  if (faucet) fill($("#faucet"), faucet);
}

// ---------------------------------------------------------------- request and follow
let map;
let rideLayers = [];

function setUpRequest() {
  map = createMap($("#ride-map"), { label: t("js.map.ride") });
  drawRegions(map);
  const picker = pointPicker(map, {
    fields: {
      from: { lat: $("#ride-from-lat"), lon: $("#ride-from-lon") },
      to: { lat: $("#ride-to-lat"), lon: $("#ride-to-lon") },
    },
    modeButtons: { from: $("#ride-mode-from"), to: $("#ride-mode-to") },
    labels: { from: t("js.map.pickup"), to: t("js.map.dropoff") },
  });
  const form = $("#request-form");
  const status = $(".form-status", form);
  onClick($("#ride-locate"), async () => {
    try {
      picker.set("from", await currentPosition());
      picker.setMode("to");
      fill(status, alertBox("info", t("js.map.located")));
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
      const request = await api("/rides/requests", {
        method: "POST", body: { origin, destination, earliest: now, latest: now + Number(form.window.value) },
      });
      remember(request.id);
      fill(status, alertBox("ok", t("js.request.sent", { id: request.id })));
      await renderCurrent();
    } catch (error) {
      showError(status, error);
    }
  });
}

function drawRide(request) {
  for (const layer of rideLayers) layer.remove();
  const from = { lat: request.origin_lat, lon: request.origin_lon };
  const to = { lat: request.destination_lat, lon: request.destination_lon };
  rideLayers = [point(map, from, { label: t("js.map.pickup") }), point(map, to, { label: t("js.map.dropoff"), color: "#7a3e00" }), line(map, [from, to], { dashed: true })];
  fit(map, [from, to]);
}

/** Accept a match: sign the fare authorisation (the most this ride may cost, and until when it is free to cancel). */
async function accept(request, steps) {
  const { typed_data: typedData } = await api(`/rides/requests/${request.id}/authorisation`);
  return signTyped({
    typedData, expect: "FareAuthorisation", context: { request, tripId: request.trip_id }, steps,
    send: (signature) => api(`/rides/requests/${request.id}/accept`, { method: "POST", body: { signature } }),
  });
}

/** Cancel a booked ride: the fare held for it is released by the rider's signed HoldRelease. */
async function cancelBooked(request, steps) {
  const { typed_data: typedData } = await api(`/rides/requests/${request.id}/cancel/typed-data`);
  return signTyped({
    typedData, expect: "HoldRelease", context: { tripId: request.trip_id }, steps,
    send: (signature) => api(`/rides/requests/${request.id}/cancel`, {
      method: "POST", body: { deadline: typedData.message.deadline, signature },
    }),
  });
}

function requestCard(request) {
  const actions = h("div", { class: "actions" });
  const steps = h("div", { hidden: true });
  const status = h("div");
  const act = (label, id, run, kind = "") => {
    const button = h("button", { type: "button", class: kind, id: `request-${id}` }, label);
    onClick(button, async () => {
      status.replaceChildren();
      try {
        await run(() => progress(steps, ["review", "sign", "chain"]));
        await renderCurrent();
        await renderBalance();
      } catch (error) {
        showError(status, error);
      }
    });
    actions.append(button);
  };
  const post = (path) => () => api(`/rides/requests/${request.id}/${path}`, { method: "POST" });
  if (request.status === "matched") act(t("js.request.accept"), "accept", (makeSteps) => accept(request, makeSteps()));
  if (["open", "matched"].includes(request.status)) act(t("js.request.cancel"), "cancel", post("cancel"), "secondary");
  // A booking is cancelled by the rider's signature only until its cancelBy; afterwards the driver releases it.
  const cancellable = !request.cancel_by || Date.now() / 1000 < Number(request.cancel_by);
  if (request.status === "booked" && cancellable) act(t("js.request.cancel_booked"), "cancel", (makeSteps) => cancelBooked(request, makeSteps()), "secondary");
  if (request.status === "picked_up") act(t("js.request.end_here"), "cancel", post("cancel"), "danger");
  const maxFare = request.max_fare ?? null;
  const facts = [
    t("js.request.quote", { fare: tokens(request.quoted_fare), distance: km(request.estimated_metres) }),
    maxFare !== null ? t("js.request.held", { fare: tokens(maxFare) }) : null,
    request.cancel_by && request.status === "booked"
      ? t(cancellable ? "js.request.cancel_by" : "js.request.cancel_over", { time: time(request.cancel_by) }) : null,
    request.pickup_time ? t("js.request.pickup_at", { time: time(request.pickup_time) }) : null,
    request.detour_metres !== null && request.detour_metres !== undefined ? t("js.request.detour", { distance: km(request.detour_metres) }) : null,
  ].filter(Boolean);
  return h("div", { class: "item", id: "ride-card", "data-status": request.status },
    h("h3", {}, t("js.request.title", { id: request.id }), " ", badge(t(`js.request.status.${request.status}`), request.status === "matched" ? "warn" : "")),
    h("p", {}, t(`js.request.explain.${request.status}`)),
    facts.map((fact) => h("p", { class: "muted" }, fact)),
    actions, steps, status);
}

async function renderCurrent() {
  const ids = requestIds();
  const container = $("#current-ride");
  if (!ids.length) return;
  const latest = await api(`/rides/requests/${ids[ids.length - 1]}`);
  if (pressedIn(container) || !changed("request", latest)) return;
  drawRide(latest);
  fill(container, requestCard(latest));
  if (FINAL.has(latest.status)) await renderTrips();
}

// ---------------------------------------------------------------- receipts and history
async function renderTrips() {
  const trips = (await myTrips()).filter((trip) => trip.rider === session.address);
  if (pressedIn($("#rider-receipts")) || !changed("trips", trips)) return;
  const toSign = receiptsFor(trips, "rider");
  fill($("#rider-receipts"), toSign.length
    ? h("ul", { class: "items" }, toSign.map((trip) => tripItem(trip, "rider", receiptAction(trip, "rider", renderTrips))))
    : h("p", { class: "muted" }, t("js.receipt.none")));
  fill($("#rider-history"), trips.length
    ? h("ul", { class: "items" }, [...trips].reverse().map((trip) => tripItem(trip, "rider")))
    : h("p", { class: "muted" }, t("js.trip.none")));
}

if (session) {
  setUpDeposit();
  setUpRequest();
  Promise.all([renderBalance(), renderCurrent(), renderTrips()]).catch((error) => showError($("#current-ride"), error));
  every(4, async () => {
    await renderCurrent();
    await renderTrips();
  });
}
