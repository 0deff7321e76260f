// Every signature the app asks for goes through here:
//   typed data from the API -> shown in plain words (renderers.js) -> the person signs in the browser
//   with eth_signTypedData_v4 -> the signature is posted -> the chain transaction's progress is shown.
import { t } from "./i18n.js";
import { stringify } from "./json.js";
import { describe } from "./renderers.js";
import { currentSession } from "./session.js";
import { $, fill, guard, h } from "./ui.js";
import { WalletLocked, provider, unlockBuiltin } from "./wallet/index.js";

export class Cancelled extends Error {}

/** The wallet's own words for a refusal, in ours. */
export function walletError(error) {
  if (error && (error.code === 4001 || error.code === "ACTION_REJECTED")) return new Cancelled(t("js.sign.declined"));
  return error;
}

/** Shows the view in the signing dialog; resolves with the provider to sign with, or null if cancelled. */
function confirm(view, needsUnlock, session) {
  const dialog = $("#sign-dialog");
  const body = $(".dialog-body", dialog);
  const error = h("div", { "aria-live": "assertive" });
  const passphrase = needsUnlock
    ? h("div", {},
      h("label", { for: "sign-passphrase" }, t("js.wallet.passphrase")),
      h("input", { id: "sign-passphrase", type: "password", autocomplete: "current-password", required: true }))
    : null;
  const signButton = h("button", { type: "submit", value: "sign" }, t("js.sign.confirm"));
  const cancelButton = h("button", { type: "button", class: "secondary" }, t("js.sign.cancel"));
  const form = h("form", { method: "dialog" },
    h("h2", { id: "sign-title" }, view.title),
    h("p", {}, view.summary),
    h("table", {}, h("tbody", {}, view.rows.map(([label, value]) => h("tr", {}, h("th", { scope: "row" }, label), h("td", { class: "mono-wrap" }, String(value)))))),
    h("p", { class: "muted" }, t("js.sign.free")),
    passphrase, error,
    h("div", { class: "actions" }, signButton, cancelButton));
  fill(body, form);

  return new Promise((resolve) => {
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      dialog.close();
      resolve(value);
    };
    cancelButton.addEventListener("click", () => finish(null));
    dialog.addEventListener("cancel", () => finish(null), { once: true });
    form.addEventListener("submit", guard(form, async () => {
      try {
        const wallet = needsUnlock
          ? await unlockBuiltin($("#sign-passphrase", form).value, Date.parse(session.expiresAt))
          : await provider();
        finish(wallet);
      } catch (exc) {
        fill(error, h("p", { class: "alert error", role: "alert" }, exc && exc.message === "wrong" ? t("js.wallet.wrong") : String(exc.message || exc)));
      }
    }));
    dialog.showModal();
    // The person reads from the top (what, how much, until when): focusing the button must not scroll past it.
    if (passphrase) $("#sign-passphrase", form).focus();
    else {
      signButton.focus({ preventScroll: true });
      dialog.scrollTop = 0;
      body.scrollTop = 0;
    }
  });
}

/**
 * Asks the person to sign `typedData` (primaryType `expect`) and hands the signature to `send`.
 * `steps` is a progress() with `reviewStep` ("review"), `signStep` ("sign") and `sendStep` ("chain" for a relayed
 * transaction, "send" when the API only stores the signature, null when `send` only keeps the signature for a
 * later call, e.g. the first of two signatures); `send(signature)` returns the API's answer.
 */
export async function signTyped({
  typedData, expect, context = {}, send, steps, sendStep = "chain", reviewStep = "review", signStep = "sign",
}) {
  const session = currentSession();
  if (!session) throw new Error(t("js.signin.needed"));
  steps.start(reviewStep);
  let view;
  try {
    view = await describe(typedData, { expect, context, address: session.address });
  } catch (exc) {
    steps.fail(reviewStep);
    throw exc;
  }
  let needsUnlock = false;
  try {
    await provider();
  } catch (exc) {
    if (!(exc instanceof WalletLocked)) throw exc;
    needsUnlock = true;
  }
  const wallet = await confirm(view, needsUnlock, session);
  if (!wallet) {
    steps.fail(reviewStep, t("js.sign.cancelled"));
    throw new Cancelled(t("js.sign.cancelled"));
  }
  steps.done(reviewStep);
  steps.start(signStep);
  let signature;
  try {
    signature = await wallet.request({ method: "eth_signTypedData_v4", params: [session.address, stringify(typedData)] });
  } catch (exc) {
    steps.fail(signStep);
    throw walletError(exc);
  }
  steps.done(signStep);
  if (!sendStep) return send(signature);
  steps.start(sendStep);
  try {
    const result = await send(signature);
    steps.done(sendStep);
    return result;
  } catch (exc) {
    steps.fail(sendStep);
    throw exc;
  }
}
