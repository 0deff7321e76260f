// One renderer per EIP-712 primaryType: what the person is about to sign, in plain words
// (what, how much, until when). The signing dialog refuses any type that has no renderer here.
//
// A renderer is `(message, context) => ({title, summary, rows: [[label, value]], signers: [address...]})`;
// it may be async and may throw RefuseToSign when the message is not what the page asked for.
// Adding a flow = adding one entry (v2: Application, FareAuthorisation, Dispute, Withdrawal, HoldRelease, Leave).
import { config, contractName, regionName } from "./config.js";
import { date, km, shortAddress, t, tokens } from "./i18n.js";

export class RefuseToSign extends Error {}

const ZERO = "0x0000000000000000000000000000000000000000";
const same = (a, b) => String(a).toLowerCase() === String(b).toLowerCase();

function supportWord(support) {
  return t(`js.vote.support.${Number(support)}`);
}

export const renderers = {
  Join(m) {
    return {
      title: t("js.sign.join.title"),
      summary: t("js.sign.join.summary", { region: regionName(m.regionId) }),
      rows: [
        [t("js.field.member"), m.member],
        [t("js.field.region"), regionName(m.regionId)],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.member],
    };
  },

  Permit(m) {
    if (contractName(m.spender) !== "RideLedger") {
      throw new RefuseToSign(t("js.sign.refuse.spender", { spender: m.spender }));
    }
    return {
      title: t("js.sign.permit.title"),
      summary: t("js.sign.permit.summary", { amount: tokens(m.value) }),
      rows: [
        [t("js.field.amount"), tokens(m.value)],
        [t("js.field.from"), m.owner],
        [t("js.field.to"), `RideLedger (${shortAddress(m.spender)})`],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.owner],
    };
  },

  Ballot(m, context) {
    if (context.proposalId !== undefined && BigInt(m.proposalId) !== BigInt(context.proposalId)) {
      throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    }
    return {
      title: t("js.sign.ballot.title"),
      summary: t("js.sign.ballot.summary", { support: supportWord(m.support), proposal: context.description || `#${String(m.proposalId).slice(0, 10)}…` }),
      rows: [
        [t("js.field.proposal"), context.description || String(m.proposalId)],
        [t("js.field.vote"), supportWord(m.support)],
        [t("js.field.voter"), m.voter],
      ],
      signers: [m.voter],
    };
  },

  async Proposal(m, context) {
    const draft = context.draft;
    const { hashProposal } = await import("./proposal-hash.js");
    if (!draft || hashProposal(draft) !== BigInt(m.proposalHash)) {
      throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    }
    return {
      title: t("js.sign.proposal.title"),
      summary: t("js.sign.proposal.summary", { change: context.changeText }),
      rows: [
        [t("js.field.change"), context.changeText],
        [t("js.field.description"), draft.description.split("\n\n#proposer=")[0]],
        [t("js.field.proposer"), m.proposer],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.proposer],
    };
  },

  TripReceipt(m) {
    const shared = !same(m.rider, ZERO);
    const values = {
      id: m.tripId, distance: km(m.distanceMetres), fare: tokens(m.fare),
      start: date(m.startTime), end: date(m.endTime), region: regionName(m.regionId),
    };
    return {
      title: t("js.sign.receipt.title", { id: m.tripId }),
      summary: t(shared ? "js.sign.receipt.summary.shared" : "js.sign.receipt.summary.solo", values),
      rows: [
        [t("js.field.trip"), `#${m.tripId}`],
        [t("js.field.driver"), m.driver],
        [t("js.field.rider"), shared ? m.rider : t("js.field.rider.none")],
        [t("js.field.region"), values.region],
        [t("js.field.distance"), values.distance],
        [t("js.field.fare"), values.fare],
        [t("js.field.start"), values.start],
        [t("js.field.end"), values.end],
        [t("js.field.trace"), `${String(m.traceHash).slice(0, 18)}…`],
      ],
      signers: shared ? [m.driver, m.rider] : [m.driver],
    };
  },
};

/** The plain-words view of typed data, after checking chain, contract, type and signer. */
export async function describe(typedData, { expect, context = {}, address }) {
  const renderer = renderers[typedData.primaryType];
  if (!renderer) throw new RefuseToSign(t("js.sign.refuse.unknown", { type: typedData.primaryType }));
  if (expect && typedData.primaryType !== expect) throw new RefuseToSign(t("js.sign.refuse.unexpected", { type: typedData.primaryType }));
  if (Number(typedData.domain.chainId) !== config.chainId) throw new RefuseToSign(t("js.sign.refuse.chain"));
  const contract = contractName(typedData.domain.verifyingContract);
  if (!contract) throw new RefuseToSign(t("js.sign.refuse.contract"));
  const view = await renderer(typedData.message, context);
  if (!view.signers.some((signer) => same(signer, address))) throw new RefuseToSign(t("js.sign.refuse.signer"));
  view.rows.push([t("js.field.contract"), `${contract} (${shortAddress(typedData.domain.verifyingContract)})`]);
  return view;
}
