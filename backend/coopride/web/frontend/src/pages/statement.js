// Member: the statement with charts over time, how to check each figure on chain, claim surplus.
import { walletFacts } from "../lib/account.js";
import { api } from "../lib/api.js";
import { lineChart } from "../lib/charts.js";
import { config } from "../lib/config.js";
import { date, km, shares, t, tokens } from "../lib/i18n.js";
import { myStatement, requireSession } from "../lib/page.js";
import { disputeLines, statusBadge, tripBadge } from "../lib/trips.js";
import { signTyped } from "../lib/sign.js";
import { $, alertBox, fill, h, onClick, progress, showError, txProof } from "../lib/ui.js";

const session = requireSession();

function figure(label, value, howKey, id) {
  return h("div", { class: "item" },
    h("p", {}, h("span", { class: "muted" }, label), h("br"), h("strong", id ? { id } : {}, value)),
    h("details", {}, h("summary", {}, t("js.statement.check")),
      h("p", {}, t(howKey, { ledger: config.contracts.RideLedger, share: config.contracts.CoopShare, governor: config.contracts.CoopGovernor, address: session.address }))));
}

/** Running totals over time, from zero at the start of the first trip: added up in BigInt (amounts are base
 * units), `value` the exact total to write, `y` only where to draw it. */
function cumulative(trips, value) {
  if (!trips.length) return [];
  let total = 0n;
  return [{ x: trips[0].start_time, y: 0, value: 0n }, ...trips.map((trip) => {
    total += BigInt(value(trip) ?? 0);
    return { x: trip.end_time, y: Number(total), value: total };
  })];
}

function renderCharts(statement, trips) {
  const byId = new Map(trips.map((trip) => [trip.id, trip]));
  const mine = statement.trips
    .map((row) => ({ ...row, start_time: byId.get(row.trip_id)?.start_time ?? 0, end_time: byId.get(row.trip_id)?.end_time ?? 0 }))
    .sort((a, b) => a.end_time - b.end_time);
  const driven = mine.filter((row) => row.role === "driver" && row.status !== "void");
  const settledDriven = driven.filter((row) => row.status === "settled");
  const settledRidden = mine.filter((row) => row.role === "rider" && row.status === "settled");
  const when = (x) => date(x);
  if (!driven.length && !settledRidden.length) {
    fill($("#statement-charts"), h("p", { class: "muted" }, t("js.chart.empty")));
    return;
  }
  const charts = [
    [t("js.chart.km"), cumulative(driven, (r) => r.distance_metres), (metres) => km(metres)],
    [t("js.chart.shares"), cumulative(settledDriven, (r) => r.shares_minted), (units) => shares(units)],
    [t("js.chart.fares_received"), cumulative(settledDriven, (r) => BigInt(r.fare_paid ?? 0) - BigInt(r.fee_paid ?? 0)), (units) => tokens(units)],
    [t("js.chart.fees"), cumulative(settledDriven, (r) => r.fee_paid), (units) => tokens(units)],
    [t("js.chart.fares_paid"), cumulative(settledRidden, (r) => r.fare_paid), (units) => tokens(units)],
  ].filter(([, points]) => points.length);
  fill($("#statement-charts"), charts.map(([title, points, format]) => lineChart({ title, points, format, formatX: when })));
}

function renderClaim(statement) {
  const claimable = BigInt(statement.chain.claimable_surplus);
  const panel = $("#claim-panel");
  if (claimable === 0n) {
    fill(panel, h("p", { id: "claimable" }, t("js.claim.nothing")));
    return;
  }
  const steps = h("div", { hidden: true });
  const status = h("div");
  const button = h("button", { type: "button", id: "claim-button" }, t("js.claim.button", { amount: tokens(claimable) }));
  onClick(button, async () => {
    const progressSteps = progress(steps, ["chain"]);
    progressSteps.start("chain");
    try {
      const relayed = await api("/members/me/claim", { method: "POST" });
      progressSteps.done("chain");
      fill(status, alertBox("ok", t("js.claim.done", { amount: tokens(relayed.amount) }), h("p", {}, txProof(relayed.tx_hash, relayed.block_number))));
      await render();
    } catch (error) {
      progressSteps.fail("chain");
      showError(status, error);
    }
  });
  fill(panel, h("p", { id: "claimable" }, t("js.claim.available", { amount: tokens(claimable) })), button, steps, status);
}

/** Leaving: a signed `Leave` the API relays; the capital share paid at admission comes back to the wallet. */
async function renderLeave(statement) {
  const panel = $("#leave-panel");
  if (!statement.chain.is_member) {
    fill(panel, h("p", { id: "leave-state", class: "muted" }, t("js.leave.not_member")));
    return;
  }
  const facts = await walletFacts(session.address);
  const capitalShare = BigInt(facts.capital_share_paid);
  const steps = h("div", { hidden: true });
  const status = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "button", class: "secondary", id: "leave-button" }, t("js.leave.button"));
  onClick(button, async () => {
    status.replaceChildren();
    const progressSteps = progress(steps, ["review", "sign", "chain"]);
    try {
      const { typed_data: typedData } = await api("/members/me/leave/typed-data");
      const relayed = await signTyped({
        typedData, expect: "Leave", context: { capitalShare }, steps: progressSteps,
        send: (signature) => api("/members/me/leave", { method: "POST", body: { deadline: typedData.message.deadline, signature } }),
      });
      fill(status, alertBox("ok", t("js.leave.done", { amount: tokens(relayed.amount) }), h("p", {}, txProof(relayed.tx_hash, relayed.block_number))));
      button.remove();
    } catch (error) {
      showError(status, error);
    }
  });
  fill(panel, h("p", { id: "leave-state" }, t("js.leave.text", { amount: tokens(capitalShare) })), button, steps, status);
}

/** A statement row's dispute: the row's own (when the statement carries it) or the trip's. */
function disputeOf(row, trips) {
  if (row.dispute) return row.dispute;
  const trip = trips.find((candidate) => candidate.id === row.trip_id);
  return trip ? trip.dispute : null;
}

function disputeCell(dispute) {
  if (!dispute) return "—";
  const decided = dispute.award !== null && dispute.award !== undefined;
  return decided ? t("js.statement.dispute.decided", { award: tokens(dispute.award) }) : t("js.statement.dispute.open");
}

function renderDisputes(statement, trips) {
  const disputed = trips.filter((trip) => trip.dispute);
  fill($("#statement-disputes"), disputed.length
    ? h("ul", { class: "items" }, [...disputed].reverse().map((trip) => h("li", { class: "item", "data-trip-id": trip.id },
      h("h3", {}, t("js.trip.title", { id: trip.id }), " ", tripBadge(trip)),
      h("p", {}, t("js.statement.dispute.role", { role: t(`js.role.${trip.driver === statement.address ? "driver" : "rider"}`), fare: tokens(trip.fare) })),
      disputeLines(trip))))
    : h("p", { class: "muted" }, t("js.statement.no_disputes")));
}

async function render() {
  const [statement, trips] = await Promise.all([myStatement(session), api("/trips")]);
  const d = statement.driving;
  const chain = statement.chain;
  fill($("#statement-figures"), h("div", { class: "grid two" },
    figure(t("js.statement.escrow"), tokens(chain.escrow), "js.how.escrow", "figure-escrow"),
    figure(t("js.statement.earnings"), tokens(chain.earnings), "js.how.earnings", "figure-earnings"),
    figure(t("js.statement.shares"), shares(chain.shares), "js.how.shares", "figure-shares"),
    figure(t("js.statement.claimable"), tokens(chain.claimable_surplus), "js.how.claimable", "figure-claimable"),
    figure(t("js.statement.km_driven"), `${km(d.metres_driven)} (${t("js.statement.of_which_shared", { shared: km(d.metres_shared) })})`, "js.how.km", "figure-km"),
    figure(t("js.statement.km_settled"), km(d.metres_settled), "js.how.km_settled", "figure-km-settled"),
    figure(t("js.statement.shares_earned"), shares(d.shares_earned), "js.how.shares_earned", "figure-shares-earned"),
    figure(t("js.statement.fares_received"), tokens(d.fares_received), "js.how.fares_received", "figure-fares-received"),
    figure(t("js.statement.fees"), tokens(d.fees_paid_to_treasury), "js.how.fees", "figure-fees"),
    figure(t("js.statement.fares_paid"), tokens(statement.riding.fares_paid), "js.how.fares_paid", "figure-fares-paid")));
  renderCharts(statement, trips);
  renderClaim(statement);
  renderDisputes(statement, trips);
  await renderLeave(statement);
  fill($("#statement-trips"), statement.trips.length
    ? h("div", { class: "table-wrap", tabindex: 0, role: "region", "aria-label": t("js.statement.trips_caption") }, h("table", { class: "data" },
      h("caption", { class: "visually-hidden" }, t("js.statement.trips_caption")),
      h("thead", {}, h("tr", {}, ["trip", "role", "distance", "fare", "status", "dispute", "proof"].map((c) => h("th", { scope: "col" }, t(`js.statement.col.${c}`))))),
      h("tbody", {}, [...statement.trips].reverse().map((row) => h("tr", { "data-trip-id": row.trip_id },
        h("td", {}, `#${row.trip_id}`), h("td", {}, t(`js.role.${row.role}`)), h("td", {}, km(row.distance_metres)),
        h("td", {}, row.status === "settled" ? tokens(row.fare_paid ?? 0) : tokens(row.fare_signed)),
        h("td", {}, statusBadge(row.status)), h("td", {}, disputeCell(disputeOf(row, trips))),
        h("td", {}, txProof(row.tx_hash, row.block_number)))))))
    : h("p", { class: "muted" }, t("js.trip.none")));
  fill($("#statement-votes"), statement.votes.length
    ? h("ul", {}, statement.votes.map((vote) => h("li", {}, t("js.statement.vote", { support: t(`js.vote.support.${vote.support}`), proposal: `${vote.proposal_id.slice(0, 10)}…` }), " ", txProof(vote.tx_hash, vote.block_number))))
    : h("p", { class: "muted" }, t("js.statement.no_votes")));
}

if (session) render().catch((error) => showError($("#statement-figures"), error));
