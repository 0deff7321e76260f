// Trips as both parties see them: the receipts waiting for your signature, and each trip's settlement.
import { api } from "./api.js";
import { regionName } from "./config.js";
import { date, km, t, tokens } from "./i18n.js";
import { signTyped } from "./sign.js";
import { alertBox, badge, fill, h, onClick, progress, showError, txProof } from "./ui.js";

const STATUS_KIND = { settled: "ok", queued: "warn", submitted: "warn", awaiting_signatures: "warn", rejected: "bad", void: "bad" };

export function statusBadge(status) {
  return badge(t(`js.trip.status.${status}`), STATUS_KIND[status] || "");
}

export function myTrips() {
  return api("/trips");
}

// Receipts signed in this page: they stay in the list with what happens next, until the page is left.
const signedHere = new Set();

/** The receipts to show in "Receipts to sign": those waiting for `role`'s signature, and those just signed. */
export function receiptsFor(trips, role) {
  return trips.filter((trip) => (trip.status === "awaiting_signatures" && !trip[`${role}_signed`]) || signedHere.has(trip.id));
}

/** What a receipt needs from `role`: a signing button, or (once signed here) what happens next. */
export function receiptAction(trip, role, onSigned) {
  if (!signedHere.has(trip.id)) return receiptSigner(trip, onSigned);
  return alertBox("ok", t(trip.status === "awaiting_signatures" ? "js.receipt.waiting_other" : "js.receipt.queued"));
}

/** A "check and sign" button for a trip's receipt; `onSigned` runs after the API stored the signature. */
export function receiptSigner(trip, onSigned) {
  const steps = h("div", { hidden: true });
  const status = h("div");
  const button = h("button", { type: "button", "data-trip": trip.id }, t("js.receipt.sign", { id: trip.id }));
  onClick(button, async () => {
    status.replaceChildren();
    const progressSteps = progress(steps, ["review", "sign", "send"]);
    try {
      const { typed_data: typedData } = await api(`/trips/${trip.id}/receipt`);
      const signed = await signTyped({
        typedData, expect: "TripReceipt", steps: progressSteps, sendStep: "send",
        send: (signature) => api(`/trips/${trip.id}/signatures`, { method: "POST", body: { signature } }),
      });
      signedHere.add(trip.id);
      fill(status, alertBox("ok", t(signed.status === "awaiting_signatures" ? "js.receipt.waiting_other" : "js.receipt.queued")));
      if (onSigned) await onSigned();
    } catch (error) {
      showError(status, error);
    }
  });
  return h("div", {}, button, steps, status);
}

export function tripItem(trip, role, extra = null) {
  const settled = trip.status === "settled";
  return h("li", { class: "item", "data-trip-id": trip.id },
    h("h3", {}, t("js.trip.title", { id: trip.id }), " ", statusBadge(trip.status)),
    h("p", {}, t(role === "driver" ? (trip.rider ? "js.trip.line.shared_driver" : "js.trip.line.solo") : "js.trip.line.rider", {
      date: date(trip.end_time), distance: km(trip.distance_metres), region: regionName(trip.region_id),
    })),
    h("p", {}, t("js.trip.fare_signed", { fare: tokens(trip.fare) }),
      settled ? ` · ${t("js.trip.fare_paid", { fare: tokens(trip.fare_paid ?? 0), fee: tokens(trip.fee_paid ?? 0) })}` : ""),
    trip.reject_reason ? h("p", {}, t("js.trip.rejected", { reason: trip.reject_reason })) : null,
    trip.check_reasons && trip.check_reasons.length ? h("p", { class: "muted" }, t("js.trip.checks", { reasons: trip.check_reasons.join(", ") })) : null,
    h("p", { class: "muted" }, settled ? txProof(trip.tx_hash, trip.block_number) : t(`js.trip.next.${trip.status}`)),
    extra);
}
