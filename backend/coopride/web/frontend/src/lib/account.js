// Wallet-level facts the API does not give in one place: tokens in the wallet, membership (public chain reads).
import { api } from "./api.js";
import { config } from "./config.js";
import { amountText } from "./json.js";
import { parseTokens, t, tokens } from "./i18n.js";
import { signTyped } from "./sign.js";
import { alertBox, fill, h, onClick, onSubmit, progress, showError, txProof } from "./ui.js";

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

/** Withdraw free escrow (`fromEarnings` false) or earnings to your wallet, by a signed Withdrawal the API relays. */
export function withdrawForm({ fromEarnings, onDone }) {
  const prefix = fromEarnings ? "withdraw-earnings" : "withdraw-escrow";
  const input = h("input", { id: `${prefix}-amount`, name: "amount", inputmode: "decimal", required: true, autocomplete: "off" });
  const steps = h("div", { hidden: true });
  const status = h("div", { class: "form-status" });
  const form = h("form", { id: prefix, class: "withdraw" },
    h("label", { for: `${prefix}-amount` }, t(fromEarnings ? "js.withdraw.amount.earnings" : "js.withdraw.amount.escrow"),
      " ", h("span", { class: "hint" }, t("js.withdraw.hint"))),
    input,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("js.withdraw.button"))),
    steps, status);
  onSubmit(form, async () => {
    status.replaceChildren();
    const amount = parseTokens(input.value);
    if (amount === null || amount <= 0n) {
      showError(status, new Error(t("js.deposit.bad_amount")));
      return;
    }
    const progressSteps = progress(steps, ["review", "sign", "chain"]);
    try {
      const { typed_data: typedData } = await api(`/members/me/withdrawal/typed-data?amount=${amount}&from_earnings=${fromEarnings}`);
      const relayed = await signTyped({
        typedData, expect: "Withdrawal", context: { amount, fromEarnings }, steps: progressSteps,
        send: (signature) => api("/members/me/withdrawals", {
          method: "POST", body: { amount: amountText(amount), from_earnings: fromEarnings, deadline: typedData.message.deadline, signature },
        }),
      });
      input.value = "";
      fill(status, alertBox("ok", t("js.withdraw.done", { amount: tokens(amount) }), h("p", {}, txProof(relayed.tx_hash, relayed.block_number))));
      if (onDone) await onDone();
    } catch (error) {
      showError(status, error);
    }
  });
  return h("details", { class: "withdraw-details" }, h("summary", {}, t(fromEarnings ? "js.withdraw.title.earnings" : "js.withdraw.title.escrow")), form);
}
