// Governance: proposals with their state, tallies and countdowns; vote; queue and execute; propose a change.
import { api } from "../lib/api.js";
import { config, regionName } from "../lib/config.js";
import { number, parseTokens, parseUnits, relative, shortAddress, t, tokens } from "../lib/i18n.js";
import { amountText } from "../lib/json.js";
import { changed, every, showWho } from "../lib/page.js";
import { signTyped } from "../lib/sign.js";
import { $, $$, alertBox, badge, fill, h, onClick, onSubmit, progress, showError, txProof } from "../lib/ui.js";

const session = showWho();
const STATE_KIND = { Active: "warn", Succeeded: "ok", Executed: "ok", Queued: "ok", Defeated: "bad", Canceled: "bad", Expired: "bad" };

function title(proposal) {
  return proposal.description.split("\n\n#proposer=")[0].split("\n")[0];
}

function countdown(proposal) {
  const now = Date.now() / 1000;
  if (proposal.state === "Pending") return t("js.proposal.opens", { when: relative(proposal.vote_start, now) });
  if (proposal.state === "Active") return t("js.proposal.closes", { when: relative(proposal.vote_end, now) });
  if (proposal.state === "Queued" && proposal.eta) {
    return proposal.eta > now ? t("js.proposal.executable", { when: relative(proposal.eta, now) }) : t("js.proposal.executable_now");
  }
  return t("js.proposal.closed", { when: relative(proposal.vote_end, now) });
}

function tally(proposal) {
  const total = proposal.votes_for + proposal.votes_against + proposal.votes_abstain;
  const width = (votes) => `${total ? (100 * votes) / total : 0}%`;
  const bar = h("div", { class: "tally", "aria-hidden": "true" },
    h("span", { class: "for" }), h("span", { class: "against" }), h("span", { class: "abstain" }));
  const [forBar, againstBar, abstainBar] = bar.children;
  forBar.style.width = width(proposal.votes_for);
  againstBar.style.width = width(proposal.votes_against);
  abstainBar.style.width = width(proposal.votes_abstain);
  return [bar, h("p", { class: "tally-text" }, t("js.proposal.tally", {
    for: number(proposal.votes_for), against: number(proposal.votes_against), abstain: number(proposal.votes_abstain),
  }))];
}

function voteButtons(proposal, status) {
  const steps = h("div", { hidden: true });
  const buttons = [1, 0, 2].map((support) => {
    const button = h("button", { type: "button", class: support === 1 ? "" : "secondary", "data-support": support }, t(`js.vote.button.${support}`));
    onClick(button, async () => {
      status.replaceChildren();
      const progressSteps = progress(steps, ["review", "sign", "chain"]);
      try {
        const { typed_data: typedData } = await api(`/governance/proposals/${proposal.proposal_id}/ballot?support=${support}`);
        const relayed = await signTyped({
          typedData, expect: "Ballot", steps: progressSteps,
          context: { proposalId: proposal.proposal_id, description: title(proposal) },
          send: (signature) => api("/governance/ballots", { method: "POST", body: { proposal_id: proposal.proposal_id, support, signature } }),
        });
        progressSteps.add(alertBox("ok", t("js.vote.done"), h("p", {}, txProof(relayed.tx_hash, relayed.block_number))));
        await renderList(true);
      } catch (error) {
        showError(status, error);
      }
    });
    return button;
  });
  return [h("div", { class: "actions", role: "group", "aria-label": t("js.vote.group") }, buttons), steps];
}

function lifecycleButton(proposal, status) {
  const now = Date.now() / 1000;
  const action = proposal.state === "Succeeded" ? "queue" : proposal.state === "Queued" && proposal.eta && proposal.eta <= now ? "execute" : null;
  if (!action) return null;
  const button = h("button", { type: "button", class: "secondary" }, t(`js.proposal.${action}`));
  onClick(button, async () => {
    try {
      const relayed = await api(`/governance/proposals/${proposal.proposal_id}/${action}`, { method: "POST" });
      fill(status, alertBox("ok", t(`js.proposal.${action}_done`), h("p", {}, txProof(relayed.tx_hash, relayed.block_number))));
      await renderList(true);
    } catch (error) {
      showError(status, error);
    }
  });
  return h("div", { class: "actions" }, button);
}

function proposalItem(proposal) {
  const status = h("div");
  return h("li", { class: "item", "data-proposal": proposal.proposal_id, "data-state": proposal.state },
    h("h3", {}, title(proposal), " ", badge(t(`js.proposal.state.${proposal.state}`), STATE_KIND[proposal.state] || "")),
    h("p", { class: "muted countdown", "data-countdown": "1" }, countdown(proposal)),
    tally(proposal),
    h("p", { class: "muted" }, t("js.proposal.by", { proposer: shortAddress(proposal.proposer), id: `${proposal.proposal_id.slice(0, 10)}…` })),
    session && proposal.state === "Active" ? voteButtons(proposal, status) : null,
    session ? lifecycleButton(proposal, status) : null,
    status);
}

let proposals = [];

async function renderList(force = false) {
  proposals = await api("/governance/proposals", { auth: false });
  if (!changed("proposals", proposals) && !force) return;
  fill($("#proposals-list"), proposals.length
    ? h("ul", { class: "items" }, [...proposals].reverse().map(proposalItem))
    : h("p", { class: "muted" }, t("js.proposal.none")));
}

function refreshCountdowns() {
  const byId = new Map(proposals.map((p) => [p.proposal_id, p]));
  for (const item of $$("[data-proposal]")) {
    const proposal = byId.get(item.dataset.proposal);
    if (proposal) $("[data-countdown]", item).textContent = countdown(proposal);
  }
}

// ---------------------------------------------------------------- proposing
function changeFromForm(form) {
  const kind = form.kind.value;
  const description = form.description.value.trim();
  const fail = (key) => { throw new Error(t(key)); };
  const regionId = Number(form.region.value);
  switch (kind) {
    case "region_fare": {
      const fare = parseTokens(form.fare.value) ?? fail("js.propose.bad_amount");
      return [{ kind, region_id: regionId, fare_per_km: amountText(fare), description }, t("js.change.region_fare", { region: regionName(regionId), fare: tokens(fare) })];
    }
    case "fee": {
      const percent = parseUnits(form.fee.value, 2);
      if (percent === null || percent > 10000n) fail("js.propose.bad_fee");
      return [{ kind, fee_bps: Number(percent), description }, t("js.change.fee", { percent: number(Number(percent) / 100) })];
    }
    case "rewards": {
      const bootstrap = parseUnits(form.bootstrap.value, 18) ?? fail("js.propose.bad_amount");
      const operating = parseUnits(form.operating.value, 18) ?? fail("js.propose.bad_amount");
      return [{ kind, bootstrap_reward_per_km: amountText(bootstrap), operating_reward_per_km: amountText(operating), description },
        t("js.change.rewards", { bootstrap: form.bootstrap.value, operating: form.operating.value })];
    }
    case "critical_mass": {
      const count = Number(form.critical.value);
      if (!Number.isInteger(count) || count < 1) fail("js.propose.bad_count");
      return [{ kind, region_id: regionId, critical_mass: count, description }, t("js.change.critical_mass", { region: regionName(regionId), count })];
    }
    case "distribute_surplus": {
      const amount = parseTokens(form.amount.value) ?? fail("js.propose.bad_amount");
      return [{ kind, amount: amountText(amount), description }, t("js.change.distribute_surplus", { amount: tokens(amount) })];
    }
    default: {
      const amount = parseTokens(form.amount.value) ?? fail("js.propose.bad_amount");
      return [{ kind, to: form.to.value.trim(), amount: amountText(amount), description }, t("js.change.spend_treasury", { amount: tokens(amount), to: form.to.value.trim() })];
    }
  }
}

function setUpProposeForm() {
  const form = $("#propose-form");
  if (!session) {
    form.hidden = true;
    $("#propose-signin").hidden = false;
    return;
  }
  fill(form.region, config.regions.map((region) => h("option", { value: region.id }, region.name)));
  const showFields = () => {
    for (const group of $$("[data-kinds]", form)) {
      const shown = group.dataset.kinds.split(" ").includes(form.kind.value);
      group.hidden = !shown;
      for (const input of $$("input, select", group)) input.required = shown;
    }
  };
  form.kind.addEventListener("change", showFields);
  showFields();
  onSubmit(form, async () => {
    const status = $(".form-status", form);
    status.replaceChildren();
    let change;
    let changeText;
    try {
      [change, changeText] = changeFromForm(form);
    } catch (error) {
      showError(status, error);
      return;
    }
    const steps = progress($(".form-progress", form), ["review", "sign", "chain"]);
    try {
      const draft = await api("/governance/proposals/typed-data", { method: "POST", body: change });
      const proposal = await signTyped({
        typedData: draft.typed_data, expect: "Proposal", steps, context: { draft, changeText },
        send: (signature) => api("/governance/proposals", { method: "POST", body: { change, deadline: draft.deadline, signature } }),
      });
      steps.add(alertBox("ok", t("js.propose.done"), h("p", {}, txProof(proposal.tx_hash, proposal.block_number))));
      form.description.value = "";
      await renderList(true);
    } catch (error) {
      showError(status, error);
    }
  });
}

setUpProposeForm();
renderList(true).catch((error) => showError($("#proposals-list"), error));
every(5, () => renderList());
setInterval(refreshCountdowns, 15_000);
