// Wallet-level facts the API does not give in one place: tokens in the wallet, membership (public chain reads).
import { api } from "./api.js";
import { config } from "./config.js";
import { t, tokens } from "./i18n.js";
import { alertBox, fill, h, onClick, showError, txProof } from "./ui.js";

export function walletFacts(address) {
  return api(`/app/wallet/${address}`, { auth: false });
}

/** The local chain's "get test tEUR" button; nothing on any other chain. */
export function faucetButton(address, onDone) {
  if (!config.local) return null;
  const result = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary", id: "faucet-button" }, t("js.faucet.button"));
  onClick(button, async () => {
    fill(result, alertBox("info", t("js.faucet.sending")));
    try {
      const minted = await api("/app/faucet", { method: "POST", body: { address }, auth: false });
      fill(result, alertBox("ok", t("js.faucet.done", { amount: tokens(minted.amount) }), h("p", {}, txProof(minted.tx_hash, minted.block_number))));
      if (onDone) await onDone();
    } catch (error) {
      showError(result, error);
    }
  });
  return h("div", { class: "faucet" }, h("p", { class: "muted" }, t("js.faucet.hint")), button, result);
}
