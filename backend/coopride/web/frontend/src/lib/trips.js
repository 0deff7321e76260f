// Trips as both parties see them: the receipt the driver signs, the rider's optional confirmation, disputes
// (rider or driver, with a reason) and their decisions, and each trip's settlement.
import { api } from "./api.js";
import { config, regionName } from "./config.js";
import { date, km, t, tokens } from "./i18n.js";
import { currentSession } from "./session.js";
import { signTyped } from "./sign.js";
import { alertBox, badge, fill, h, onClick, onSubmit, progress, showError, txProof } from "./ui.js";

const STATUS_KIND = { settled: "ok", queued: "warn", submitted: "warn", awaiting_signatures: "warn", rejected: "bad", void: "bad" };
const FINAL = new Set(["settled", "void", "rejected"]);
export const DISPUTE_REASON_MAX = 500; // the API's limit

/** A message by key, or `fallback` when the catalog has none (a status the API added since). */
function label(key, fallback) {
  return config.messages[key] ?? fallback;
}

export function statusBadge(status) {
  return badge(label(`js.trip.status.${status}`, status), STATUS_KIND[status] || "");
}

/** A trip's badge: its settlement status, or "disputed" while a dispute holds it. */
export function tripBadge(trip) {
  if (trip.dispute && trip.dispute.status === "open" && !FINAL.has(trip.status)) return badge(t("js.trip.status.disputed"), "warn");
  return statusBadge(trip.status);
}

export function myTrips() {
  return api("/trips");
}

const same = (a, b) => Boolean(a) && Boolean(b) && String(a).toLowerCase() === String(b).toLowerCase();

/** A shared trip that may still settle: it can be confirmed or disputed. */
function open(trip) {
  return Boolean(trip.rider) && !FINAL.has(trip.status);
}

function needsSignature(trip, role) {
  if (FINAL.has(trip.status) || trip.dispute) return false;
  if (role === "driver") return !trip.driver_signed;
  return Boolean(trip.rider) && !trip.rider_signed;
}

// Receipts signed and disputes sent in this page: they stay in the list with what happens next.
const signedHere = new Set();
const disputedHere = new Map();

/** The trips to show in "to sign, confirm or dispute": those waiting for `role`, open shared trips, and those just handled. */
export function receiptsFor(trips, role) {
  return trips.filter((trip) => needsSignature(trip, role) || (open(trip) && !trip.dispute) || signedHere.has(trip.id) || disputedHere.has(trip.id));
}

function afterSigning(trip, role) {
  if (role === "rider") return t(trip.driver_signed ? "js.confirm.done" : "js.confirm.done_waiting");
  return t(trip.rider ? "js.receipt.signed_shared" : "js.receipt.queued");
}

/** What a trip needs from `role`: its signing button (or what happens next once signed here), and a dispute form. */
export function receiptAction(trip, role, onDone) {
  const parts = [];
  if (signedHere.has(trip.id)) parts.push(alertBox("ok", afterSigning(trip, role)));
  else if (needsSignature(trip, role)) parts.push(receiptSigner(trip, onDone, role));
  if (disputedHere.has(trip.id)) parts.push(disputedHere.get(trip.id));
  else if (open(trip) && !trip.dispute) parts.push(disputeForm(trip, onDone));
  return h("div", {}, parts);
}

/** A "check and sign" button for a trip's receipt; for the rider it is the optional confirmation. */
export function receiptSigner(trip, onSigned, role = "driver") {
  const steps = h("div", { hidden: true });
  const status = h("div");
  const confirming = role === "rider" && Boolean(trip.rider);
  const button = h("button", { type: "button", "data-trip": trip.id, class: confirming ? "confirm" : "" },
    t(confirming ? "js.confirm.button" : "js.receipt.sign", { id: trip.id }));
  onClick(button, async () => {
    status.replaceChildren();
    const progressSteps = progress(steps, ["review", "sign", "send"]);
    try {
      const { typed_data: typedData } = await api(`/trips/${trip.id}/receipt`);
      const signed = await signTyped({
        typedData, expect: "TripReceipt", context: { role }, steps: progressSteps, sendStep: "send",
        send: (signature) => api(`/trips/${trip.id}/signatures`, { method: "POST", body: { signature } }),
      });
      signedHere.add(trip.id);
      fill(status, alertBox("ok", afterSigning(signed && signed.id !== undefined ? signed : trip, role)));
      button.hidden = true;
      if (onSigned) await onSigned();
    } catch (error) {
      showError(status, error);
    }
  });
  return h("div", {}, confirming ? h("p", { class: "muted" }, t("js.confirm.text")) : null, button, steps, status);
}

/** "Something went wrong": a reason, signed as a Dispute the API relays; the fare stays held until a mediator decides. */
export function disputeForm(trip, onDone) {
  const id = `dispute-reason-${trip.id}`;
  const reason = h("textarea", { id, name: "reason", required: true, maxlength: DISPUTE_REASON_MAX, rows: 2 });
  const steps = h("div", { hidden: true });
  const status = h("div", { class: "form-status" });
  const form = h("form", { class: "dispute-form", "data-trip": trip.id },
    h("p", { class: "muted" }, t("js.dispute.text")),
    h("label", { for: id }, t("js.dispute.reason")), reason,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, t("js.dispute.button"))),
    steps, status);
  onSubmit(form, async () => {
    status.replaceChildren();
    const text = reason.value.trim();
    if (!text) {
      showError(status, new Error(t("js.dispute.empty")));
      return;
    }
    const progressSteps = progress(steps, ["review", "sign", "chain"]);
    try {
      const { typed_data: typedData } = await api(`/trips/${trip.id}/dispute/typed-data?reason=${encodeURIComponent(text)}`);
      const relayed = await signTyped({
        typedData, expect: "Dispute", context: { reason: text }, steps: progressSteps,
        send: (signature) => api(`/trips/${trip.id}/disputes`, {
          method: "POST", body: { reason: text, deadline: typedData.message.deadline, signature },
        }),
      });
      // The API answers with the trip, whose `dispute` names the dispute's transaction.
      const txHash = relayed && relayed.dispute ? relayed.dispute.tx_hash : null;
      const done = alertBox("ok", t("js.dispute.done"), h("p", {}, txProof(txHash)));
      disputedHere.set(trip.id, done);
      fill(status, done);
      if (onDone) await onDone();
    } catch (error) {
      showError(status, error);
    }
  });
  return h("details", { class: "dispute" }, h("summary", {}, t("js.dispute.title")), form);
}

function who(address, trip) {
  const session = currentSession();
  if (session && same(address, session.address)) return t("js.dispute.by.you");
  if (same(address, trip.driver)) return t("js.dispute.by.driver");
  if (same(address, trip.rider)) return t("js.dispute.by.rider");
  return address || "—";
}

/** A trip's dispute and its decision, in words. */
export function disputeLines(trip) {
  const dispute = trip.dispute;
  if (!dispute) return null;
  const decided = dispute.award !== null && dispute.award !== undefined;
  return h("div", { class: "dispute-info", "data-dispute": dispute.status },
    h("p", {}, badge(label(`js.dispute.status.${dispute.status}`, dispute.status), decided ? "" : "warn"), " ",
      t("js.dispute.line", { by: who(dispute.by, trip), reason: dispute.reason })),
    decided
      ? h("p", {}, t("js.dispute.decision", { award: tokens(dispute.award), reason: dispute.resolution_reason || "—" }))
      : h("p", { class: "muted" }, t("js.dispute.waiting")),
    dispute.tx_hash ? h("p", { class: "muted" }, txProof(dispute.tx_hash)) : null,
    decided && dispute.resolution_tx_hash ? h("p", { class: "muted" }, txProof(dispute.resolution_tx_hash)) : null);
}

function nextStep(trip) {
  if (trip.dispute && !FINAL.has(trip.status)) return t("js.trip.next.disputed");
  if (trip.rider && trip.status === "queued" && !trip.rider_signed) return t("js.trip.next.window");
  return label(`js.trip.next.${trip.status}`, "");
}

export function tripItem(trip, role, extra = null) {
  const settled = trip.status === "settled";
  return h("li", { class: "item", "data-trip-id": trip.id, "data-status": trip.status },
    h("h3", {}, t("js.trip.title", { id: trip.id }), " ", tripBadge(trip)),
    h("p", {}, t(role === "driver" ? (trip.rider ? "js.trip.line.shared_driver" : "js.trip.line.solo") : "js.trip.line.rider", {
      date: date(trip.end_time), distance: km(trip.distance_metres), region: regionName(trip.region_id),
    })),
    h("p", {}, t("js.trip.fare_signed", { fare: tokens(trip.fare) }),
      settled ? ` · ${t("js.trip.fare_paid", { fare: tokens(trip.fare_paid ?? 0), fee: tokens(trip.fee_paid ?? 0) })}` : ""),
    trip.rider && !FINAL.has(trip.status)
      ? h("p", { class: "muted" }, t(trip.rider_signed ? "js.trip.confirmed" : "js.trip.not_confirmed")) : null,
    disputeLines(trip),
    trip.reject_reason ? h("p", {}, t("js.trip.rejected", { reason: trip.reject_reason })) : null,
    trip.check_reasons && trip.check_reasons.length ? h("p", { class: "muted" }, t("js.trip.checks", { reasons: trip.check_reasons.join(", ") })) : null,
    h("p", { class: "muted" }, settled ? txProof(trip.tx_hash, trip.block_number) : nextStep(trip)),
    extra);
}
