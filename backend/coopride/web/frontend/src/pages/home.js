// Home: what CoopRide is, the wallet (a browser wallet or the built-in one), sign-in and joining.
import { api } from "../lib/api.js";
import { signIn } from "../lib/auth.js";
import { config, regionName } from "../lib/config.js";
import { date, parseTokens, t, tokens } from "../lib/i18n.js";
import { amountText } from "../lib/json.js";
import { faucetButton, walletFacts } from "../lib/account.js";
import { showWho } from "../lib/page.js";
import { clearSession, currentSession } from "../lib/session.js";
import { signTyped } from "../lib/sign.js";
import { $, alertBox, announce, fill, h, onClick, onSubmit, progress, showError, stat, txProof } from "../lib/ui.js";
import { choose, forgetChoice, injectedAvailable, keystore, provider, unlockBuiltin } from "../lib/wallet/index.js";

const panel = $("#wallet-panel");
const account = $("#account-panel");
const SESSION_HOURS = 12;
let joined = null; // the confirmation of a join made on this page, shown above the membership

function nextPage() {
  const next = new URLSearchParams(location.search).get("next");
  return next && next.startsWith("/") && !next.startsWith("//") ? next : null;
}

async function afterSignIn() {
  announce(t("js.signin.done"));
  const next = nextPage();
  if (next) {
    location.assign(next);
    return;
  }
  await render();
}

function passphraseFields(prefix, { confirm = false, autocomplete = "new-password" } = {}) {
  return [
    h("label", { for: `${prefix}-passphrase` }, t("js.wallet.passphrase"), h("span", { class: "hint" }, t("js.wallet.passphrase.hint"))),
    h("input", { id: `${prefix}-passphrase`, name: "passphrase", type: "password", minlength: 8, required: true, autocomplete }),
    confirm && h("label", { for: `${prefix}-confirm` }, t("js.wallet.passphrase.confirm")),
    confirm && h("input", { id: `${prefix}-confirm`, name: "confirm", type: "password", minlength: 8, required: true, autocomplete: "new-password" }),
  ];
}

function keystoreMessage(error) {
  if (error && error.message === "short") return t("js.wallet.short");
  if (error && error.message === "wrong") return t("js.wallet.wrong");
  return error && error.message ? error.message : String(error);
}

async function createOrImport(form, privateKeyText) {
  const status = $(".form-status", form);
  const passphrase = form.passphrase.value;
  if (form.confirm && form.confirm.value !== passphrase) {
    showError(status, new Error(t("js.wallet.mismatch")));
    return;
  }
  const builtin = await import("../lib/wallet/builtin.js");
  const privateKey = privateKeyText === null ? builtin.generatePrivateKey() : builtin.normalisePrivateKey(privateKeyText);
  if (!privateKey) {
    showError(status, new Error(t("js.wallet.bad_key")));
    return;
  }
  fill(status, alertBox("info", t("js.wallet.encrypting")));
  try {
    await keystore.saveWallet(privateKey, builtin.addressOf(privateKey), passphrase);
    choose("builtin");
    const wallet = await unlockBuiltin(passphrase, Date.now() + SESSION_HOURS * 3600_000);
    fill(status, alertBox("info", t("js.signin.signing")));
    await signIn(wallet);
    await afterSignIn();
  } catch (error) {
    showError(status, new Error(keystoreMessage(error)));
  }
}

function injectedCard() {
  if (!injectedAvailable()) return null;
  const status = h("div", { class: "form-status" });
  const button = h("button", { type: "button", id: "use-injected" }, t("js.wallet.injected.button"));
  onClick(button, async () => {
    try {
      choose("injected");
      fill(status, alertBox("info", t("js.signin.signing")));
      await signIn(await provider());
      await afterSignIn();
    } catch (error) {
      forgetChoice();
      showError(status, error.code === 4001 ? new Error(t("js.sign.declined")) : error);
    }
  });
  return h("div", { class: "card" }, h("h3", {}, t("js.wallet.injected.title")), h("p", {}, t("js.wallet.injected.text")), button, status);
}

function newWalletForms() {
  const parts = [injectedCard()];
  const create = h("form", { id: "create-wallet", novalidate: false },
    h("p", {}, t("js.wallet.create.text")),
    passphraseFields("create", { confirm: true }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("js.wallet.create.button"))),
    h("div", { class: "form-status" }));
  onSubmit(create, () => createOrImport(create, null));
  const importForm = h("form", { id: "import-wallet" },
    h("label", { for: "import-key" }, t("js.wallet.import.key")),
    h("input", { id: "import-key", name: "key", type: "password", required: true, autocomplete: "off", spellcheck: "false" }),
    passphraseFields("import", { confirm: true }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("js.wallet.import.button"))),
    h("div", { class: "form-status" }));
  onSubmit(importForm, () => createOrImport(importForm, importForm.key.value));
  parts.push(h("div", { class: "card" }, h("h3", {}, t("js.wallet.create.title")), create,
    h("details", {}, h("summary", {}, t("js.wallet.import.title")), importForm)));
  return parts;
}

function unlockForm(record) {
  const status = h("div", { class: "form-status" });
  const form = h("form", { id: "unlock-wallet" },
    h("p", {}, t("js.wallet.unlock.text", { address: record.address })),
    passphraseFields("unlock", { autocomplete: "current-password" }),
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("js.wallet.unlock.button"))),
    status);
  onSubmit(form, async () => {
    try {
      choose("builtin");
      const wallet = await unlockBuiltin(form.passphrase.value, Date.now() + SESSION_HOURS * 3600_000);
      fill(status, alertBox("info", t("js.signin.signing")));
      await signIn(wallet);
      await afterSignIn();
    } catch (error) {
      showError(status, new Error(keystoreMessage(error)));
    }
  });
  const forget = h("button", { type: "button", class: "danger", id: "forget-wallet" }, t("js.wallet.forget.button"));
  const sure = h("input", { type: "checkbox", id: "forget-sure" });
  onClick(forget, async () => {
    if (!sure.checked) {
      showError(status, new Error(t("js.wallet.forget.confirm")));
      return;
    }
    await keystore.forgetWallet();
    forgetChoice();
    clearSession();
    await render();
  });
  return [h("div", { class: "card" }, h("h3", {}, t("js.wallet.unlock.title")), form), injectedCard(), h("details", {}, h("summary", {}, t("js.wallet.forget.title")),
    h("p", {}, t("js.wallet.forget.text")),
    h("div", { class: "row" }, h("label", { for: "forget-sure" }, sure, " ", t("js.wallet.forget.sure"))),
    forget)];
}

function exportForm() {
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { id: "export-wallet" },
    h("p", {}, t("js.wallet.export.text")),
    passphraseFields("export", { autocomplete: "current-password" }),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "secondary" }, t("js.wallet.export.button"))),
    status);
  onSubmit(form, async () => {
    try {
      const { privateKey } = await keystore.openWallet(form.passphrase.value);
      form.passphrase.value = "";
      fill(status, alertBox("warn", t("js.wallet.export.warning"), h("p", {}, h("code", { id: "exported-key" }, privateKey))));
    } catch (error) {
      showError(status, new Error(keystoreMessage(error)));
    }
  });
  return h("details", {}, h("summary", {}, t("js.wallet.export.title")), form);
}

function signedIn(session) {
  const out = h("button", { type: "button", class: "secondary", id: "sign-out" }, t("js.signout.button"));
  onClick(out, async () => {
    clearSession();
    if (session.wallet === "builtin") await keystore.lock();
    await render();
  });
  return [
    alertBox("ok", t("js.signin.as", { address: session.address })),
    h("p", { class: "muted" }, t(session.wallet === "builtin" ? "js.wallet.kind.builtin" : "js.wallet.kind.injected")),
    h("div", { class: "actions" }, out),
    session.wallet === "builtin" ? exportForm() : null,
  ];
}

/** Your latest application, or null when you never applied. */
async function myApplication() {
  try {
    return await api("/members/applications/me");
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

const APPLICATION_KIND = { pending: "info", admitted: "ok", refused: "error", expired: "warn" };

function applicationStatus(application) {
  const values = {
    region: regionName(application.region_id), amount: tokens(application.max_capital_share),
    until: date(application.deadline), reason: application.reason || "—",
  };
  return h("div", { id: "application-status", "data-status": application.status },
    alertBox(APPLICATION_KIND[application.status] || "info", t(`js.application.${application.status}`, values),
      application.tx_hash ? h("p", {}, txProof(application.tx_hash, application.block_number)) : null));
}

/** Apply to join: sign the Application and the capital share's Permit (two signatures, one post). */
function applicationForm(facts) {
  const select = h("select", { id: "join-region", name: "region" }, config.regions.map((r) => h("option", { value: r.id }, r.name)));
  const steps = h("div", { hidden: true });
  const status = h("div", { class: "form-status" });
  const form = h("form", { id: "join-form" },
    h("p", {}, t("js.join.text")),
    h("label", { for: "join-region" }, t("js.join.region")), select,
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("js.join.button"))), steps, status);
  onSubmit(form, async () => {
    status.replaceChildren();
    try {
      const regionId = Number(select.value);
      const offer = await api(`/members/application/typed-data?region_id=${regionId}`);
      const capital = BigInt(offer.capital_share);
      const { fare_token_balance: balance } = await walletFacts(facts.address);
      if (BigInt(balance) < capital) {
        throw new Error(t(config.local ? "js.join.short.local" : "js.join.short", { amount: tokens(capital), balance: tokens(balance) }));
      }
      const progressSteps = progress(steps, ["review", "sign", "review_permit", "sign_permit", "send"]);
      const typedData = offer.typed_data;
      const permit = offer.permit_typed_data;
      const signature = await signTyped({
        typedData, expect: "Application", context: { regionId }, steps: progressSteps, sendStep: null, send: (value) => value,
      });
      const application = await signTyped({
        typedData: permit, expect: "Permit", context: { purpose: "capital", amount: capital }, steps: progressSteps,
        reviewStep: "review_permit", signStep: "sign_permit", sendStep: "send",
        send: (permitSignature) => api("/members/applications", {
          method: "POST",
          body: {
            region_id: regionId, max_capital_share: amountText(typedData.message.maxCapitalShare), deadline: typedData.message.deadline,
            signature, permit_signature: permitSignature,
          },
        }),
      });
      joined = application.status === "admitted"
        ? alertBox("ok", t("js.join.done"), h("p", {}, txProof(application.tx_hash, application.block_number)))
        : null;
      await renderAccount();
    } catch (error) {
      showError(status, error);
    }
  });
  return form;
}

async function membership(session) {
  const [facts, application] = await Promise.all([walletFacts(session.address), myApplication()]);
  await renderMediation(facts);
  const balance = h("dl", { class: "stats" },
    stat(t("js.balance.wallet"), tokens(facts.fare_token_balance), "wallet-balance"),
    stat(t("js.member.status"), facts.is_member ? t("js.member.yes", { region: regionName(facts.region_id) }) : t("js.member.no"), "member-status", { wide: true }));
  const parts = [joined, balance];
  if (!facts.is_member) {
    if (application) parts.push(applicationStatus(application));
    // A pending application is decided elsewhere (the admissions team): look again now and then.
    if (application && application.status === "pending") recheckSoon();
    if (!application || application.status !== "pending") parts.push(applicationForm(facts));
  } else {
    parts.push(h("p", {}, t("js.member.next")),
      h("div", { class: "actions" }, h("a", { class: "button", href: "/rider" }, t("nav.rider")), h("a", { class: "button secondary", href: "/driver" }, t("nav.driver"))));
  }
  parts.push(faucetButton(session.address, renderAccount));
  return parts;
}

let recheck = null;
function recheckSoon() {
  clearTimeout(recheck);
  recheck = setTimeout(() => renderAccount().catch(() => {}), 15_000);
}

// ---------------------------------------------------------------- the admissions team
const same = (a, b) => Boolean(a) && Boolean(b) && String(a).toLowerCase() === String(b).toLowerCase();

function applicationRow(application) {
  const status = h("div");
  const admit = h("button", { type: "button", class: "admit", "data-application": application.id }, t("js.admissions.admit"));
  const reason = h("input", { id: `refuse-reason-${application.id}`, name: "reason", required: true, maxlength: 200, autocomplete: "off" });
  const refuse = h("form", { class: "refuse", "data-application": application.id },
    h("label", { for: `refuse-reason-${application.id}` }, t("js.admissions.reason")), reason,
    h("div", { class: "actions" }, h("button", { type: "submit", class: "danger" }, t("js.admissions.refuse"))));
  onClick(admit, async () => {
    fill(status, alertBox("info", t("js.admissions.admitting")));
    try {
      const done = await api(`/members/applications/${application.id}/admit`, { method: "POST" });
      fill(status, alertBox("ok", t("js.admissions.admitted"), h("p", {}, txProof(done.tx_hash))));
      await renderAdmissions();
    } catch (error) {
      showError(status, error);
    }
  });
  onSubmit(refuse, async () => {
    try {
      await api(`/members/applications/${application.id}/refuse`, { method: "POST", body: { reason: reason.value.trim() } });
      await renderAdmissions();
    } catch (error) {
      showError(status, error);
    }
  });
  return h("li", { class: "item", "data-application-id": application.id },
    h("p", {}, t("js.admissions.line", {
      applicant: application.applicant, region: regionName(application.region_id),
      amount: tokens(application.max_capital_share), until: date(application.deadline),
    })),
    h("div", { class: "actions" }, admit), h("details", {}, h("summary", {}, t("js.admissions.refuse_title")), refuse), status);
}

/** For the admissions role only: the pending applications, to admit (the API sends the admission) or refuse. */
async function renderAdmissions() {
  const session = currentSession();
  const container = $("#admissions-panel");
  if (!session || !same(session.address, config.admissions)) {
    container.hidden = true;
    return;
  }
  container.hidden = false;
  const body = $("#admissions-list");
  try {
    const pending = await api("/members/applications?status=pending");
    fill(body, pending.length
      ? h("ul", { class: "items" }, pending.map(applicationRow))
      : h("p", { class: "muted" }, t("js.admissions.none")));
  } catch (error) {
    showError(body, error);
  }
}

// ---------------------------------------------------------------- mediators
/** For a mediator: decide a disputed trip (its id from the parties or the chain's TripDisputed event). */
function mediationForm() {
  const tripInput = h("input", { id: "mediation-trip", name: "trip", inputmode: "numeric", required: true, autocomplete: "off" });
  const award = h("input", { id: "mediation-award", name: "award", inputmode: "decimal", required: true, autocomplete: "off" });
  const reason = h("textarea", { id: "mediation-reason", name: "reason", required: true, maxlength: 500, rows: 2 });
  const steps = h("div", { hidden: true });
  const status = h("div", { class: "form-status" });
  const form = h("form", { id: "mediation-form" },
    h("label", { for: "mediation-trip" }, t("js.mediation.trip")), tripInput,
    h("label", { for: "mediation-award" }, t("js.mediation.award"), " ", h("span", { class: "hint" }, t("js.mediation.award_hint"))), award,
    h("label", { for: "mediation-reason" }, t("js.mediation.reason")), reason,
    h("div", { class: "actions" }, h("button", { type: "submit" }, t("js.mediation.button"))), steps, status);
  onSubmit(form, async () => {
    status.replaceChildren();
    const tripId = tripInput.value.trim();
    const amount = parseTokens(award.value);
    const text = reason.value.trim();
    if (!/^\d+$/.test(tripId) || amount === null || !text) {
      showError(status, new Error(t("js.mediation.incomplete")));
      return;
    }
    const progressSteps = progress(steps, ["review", "sign", "chain"]);
    try {
      const query = `award=${amount}&reason=${encodeURIComponent(text)}`;
      const { typed_data: typedData } = await api(`/trips/${tripId}/resolution/typed-data?${query}`);
      const trip = await signTyped({
        typedData, expect: "Resolution", context: { tripId, award: amount, reason: text }, steps: progressSteps,
        send: (signature) => api(`/trips/${tripId}/resolution`, {
          method: "POST", body: { award: amountText(amount), reason: text, deadline: typedData.message.deadline, signature },
        }),
      });
      const proof = trip.dispute ? trip.dispute.resolution_tx_hash : null;
      fill(status, alertBox("ok", t("js.mediation.done", { id: tripId, award: tokens(amount) }), h("p", {}, txProof(proof))));
      form.reset();
    } catch (error) {
      showError(status, error);
    }
  });
  return form;
}

/** The open disputes, oldest first; "Decide" puts the trip's number in the form. */
async function renderOpenDisputes(list) {
  try {
    const open = await api("/trips/disputes");
    fill(list, open.length
      ? h("ul", { class: "items" }, open.map((dispute) => {
        const pick = h("button", { type: "button", class: "secondary", "data-trip-id": dispute.trip_id }, t("js.mediation.pick"));
        onClick(pick, () => {
          $("#mediation-trip").value = String(dispute.trip_id);
          $("#mediation-award").focus();
        });
        return h("li", { class: "item", "data-trip-id": dispute.trip_id },
          h("p", {}, t("js.mediation.row", {
            id: dispute.trip_id, who: t(`js.role.${dispute.by === dispute.driver ? "driver" : "rider"}`), reason: dispute.reason,
            fare: tokens(dispute.fare), max: tokens(dispute.max_fare), since: date(dispute.since),
          })), pick);
      }))
      : h("p", { class: "muted" }, t("js.mediation.none")));
  } catch (error) {
    showError(list, error);
  }
}

async function renderMediation(facts) {
  const container = $("#mediation-panel");
  container.hidden = !facts || !facts.is_mediator;
  if (container.hidden) return;
  if (!$("#mediation-form")) fill($("#mediation-body"), h("div", { id: "mediation-open" }), mediationForm());
  await renderOpenDisputes($("#mediation-open"));
}

async function renderAccount() {
  const session = currentSession();
  if (!session) {
    fill(account, h("p", { class: "muted" }, t("js.signin.first")));
    await renderMediation(null);
    return;
  }
  try {
    fill(account, await membership(session));
  } catch (error) {
    showError(account, error);
  }
}

async function render() {
  const session = showWho();
  if (session) {
    fill(panel, signedIn(session));
  } else {
    // A built-in wallet already here is never replaced without the person removing it first.
    const record = await keystore.walletRecord();
    fill(panel, record ? unlockForm(record) : newWalletForms());
  }
  await renderAccount();
  await renderAdmissions();
}

render().catch((error) => showError(panel, error));
