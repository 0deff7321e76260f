// One renderer per EIP-712 primaryType: what the person is about to sign, in plain words
// (what, how much, until when). The signing dialog refuses any type that has no renderer here.
//
// A renderer is `(message, context) => ({title, summary, rows: [[label, value]], signers: [address...]})`;
// it may be async and may throw RefuseToSign when the message is not what the page asked for.
// Adding a flow = adding one entry.
import { config, contractName, regionName } from "./config.js";
import { haversine } from "./geo.js";
import { date, km, shortAddress, t, tokens } from "./i18n.js";

export class RefuseToSign extends Error {}

const ZERO = "0x0000000000000000000000000000000000000000";
const same = (a, b) => String(a).toLowerCase() === String(b).toLowerCase();

/** A signed E6 coordinate pair as "45.760000, 4.836000". */
function place(latE6, lonE6) {
  return `${(Number(latE6) / 1e6).toFixed(6)}, ${(Number(lonE6) / 1e6).toFixed(6)}`;
}

// How far a point in an authorisation may be from the one the rider asked for (the match may move it a little).
const PLACE_TOLERANCE_M = 1000;

function awayFrom(latE6, lonE6, lat, lon) {
  return haversine({ lat: Number(latE6) / 1e6, lon: Number(lonE6) / 1e6 }, { lat, lon });
}

function tripsOfLedger(m, context) {
  if (context.tripId !== undefined && context.tripId !== null && BigInt(m.tripId) !== BigInt(context.tripId)) {
    throw new RefuseToSign(t("js.sign.refuse.mismatch"));
  }
}

function supportWord(support) {
  return t(`js.vote.support.${Number(support)}`);
}

export const renderers = {
  Application(m, context) {
    if (contractName(context.verifyingContract) !== "Membership") throw new RefuseToSign(t("js.sign.refuse.contract"));
    if (context.regionId !== undefined && Number(m.regionId) !== Number(context.regionId)) {
      throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    }
    const values = { region: regionName(m.regionId), amount: tokens(m.maxCapitalShare), until: date(m.deadline) };
    return {
      title: t("js.sign.application.title"),
      summary: t("js.sign.application.summary", values),
      rows: [
        [t("js.field.applicant"), m.applicant],
        [t("js.field.region"), values.region],
        [t("js.field.capital_share"), t("js.field.at_most", { amount: values.amount })],
        [t("js.field.until"), values.until],
      ],
      signers: [m.applicant],
    };
  },

  Permit(m, context) {
    if (contractName(m.spender) !== "RideLedger") {
      throw new RefuseToSign(t("js.sign.refuse.spender", { spender: m.spender }));
    }
    if (context.purpose === "capital") {
      if (context.amount !== undefined && BigInt(m.value) !== BigInt(context.amount)) throw new RefuseToSign(t("js.sign.refuse.mismatch"));
      return {
        title: t("js.sign.capital.title"),
        summary: t("js.sign.capital.summary", { amount: tokens(m.value), until: date(m.deadline) }),
        rows: [
          [t("js.field.capital_share"), t("js.field.at_most", { amount: tokens(m.value) })],
          [t("js.field.from"), m.owner],
          [t("js.field.to"), `RideLedger (${shortAddress(m.spender)})`],
          [t("js.field.until"), date(m.deadline)],
        ],
        signers: [m.owner],
      };
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

  FareAuthorisation(m, context) {
    if (contractName(context.verifyingContract) !== "RideLedger") throw new RefuseToSign(t("js.sign.refuse.contract"));
    tripsOfLedger(m, context);
    const request = context.request;
    if (request) {
      const far = awayFrom(m.pickupLatE6, m.pickupLonE6, request.origin_lat, request.origin_lon) > PLACE_TOLERANCE_M
        || awayFrom(m.dropoffLatE6, m.dropoffLonE6, request.destination_lat, request.destination_lon) > PLACE_TOLERANCE_M;
      if (far || !same(m.rider, request.rider)) throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    }
    const values = {
      driver: shortAddress(m.driver), fare: tokens(m.maxFare), cancel: date(m.cancelBy), expiry: date(m.expiry),
      region: regionName(m.regionId),
    };
    return {
      title: t("js.sign.fare.title"),
      summary: t(BigInt(m.maxFare) === 0n ? "js.sign.fare.summary.free" : "js.sign.fare.summary", values),
      rows: [
        [t("js.field.driver"), m.driver],
        [t("js.field.pickup"), place(m.pickupLatE6, m.pickupLonE6)],
        [t("js.field.dropoff"), place(m.dropoffLatE6, m.dropoffLonE6)],
        [t("js.field.region"), values.region],
        [t("js.field.max_fare"), t("js.field.at_most", { amount: values.fare })],
        [t("js.field.cancel_by"), values.cancel],
        [t("js.field.expiry"), values.expiry],
        [t("js.field.trip"), `#${m.tripId}`],
      ],
      signers: [m.rider],
    };
  },

  HoldRelease(m, context) {
    if (contractName(context.verifyingContract) !== "RideLedger") throw new RefuseToSign(t("js.sign.refuse.contract"));
    tripsOfLedger(m, context);
    return {
      title: t("js.sign.release.title"),
      summary: t("js.sign.release.summary", { driver: shortAddress(m.driver) }),
      rows: [
        [t("js.field.trip"), `#${m.tripId}`],
        [t("js.field.driver"), m.driver],
        [t("js.field.rider"), m.rider],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.signer],
    };
  },

  Dispute(m, context) {
    if (contractName(context.verifyingContract) !== "RideLedger") throw new RefuseToSign(t("js.sign.refuse.contract"));
    tripsOfLedger(m, context);
    if (context.reason !== undefined && m.reason !== context.reason) throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    const other = same(m.by, m.driver) ? m.rider : m.driver;
    return {
      title: t("js.sign.dispute.title", { id: m.tripId }),
      summary: t("js.sign.dispute.summary", { id: m.tripId, other: shortAddress(other) }),
      rows: [
        [t("js.field.trip"), `#${m.tripId}`],
        [t("js.field.reason"), m.reason],
        [t("js.field.driver"), m.driver],
        [t("js.field.rider"), m.rider],
        [t("js.field.by"), m.by],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.by],
    };
  },

  Resolution(m, context) {
    if (contractName(context.verifyingContract) !== "RideLedger") throw new RefuseToSign(t("js.sign.refuse.contract"));
    tripsOfLedger(m, context);
    if ((context.award !== undefined && BigInt(m.award) !== BigInt(context.award))
      || (context.reason !== undefined && m.reason !== context.reason)) {
      throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    }
    return {
      title: t("js.sign.resolution.title", { id: m.tripId }),
      summary: t("js.sign.resolution.summary", { id: m.tripId, award: tokens(m.award), driver: shortAddress(m.driver), rider: shortAddress(m.rider) }),
      rows: [
        [t("js.field.trip"), `#${m.tripId}`],
        [t("js.field.award"), tokens(m.award)],
        [t("js.field.reason"), m.reason],
        [t("js.field.driver"), m.driver],
        [t("js.field.rider"), m.rider],
        [t("js.field.mediator"), m.mediator],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.mediator],
    };
  },

  Withdrawal(m, context) {
    if (contractName(context.verifyingContract) !== "RideLedger") throw new RefuseToSign(t("js.sign.refuse.contract"));
    if (context.amount !== undefined && BigInt(m.amount) !== BigInt(context.amount)) throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    if (context.fromEarnings !== undefined && Boolean(m.fromEarnings) !== Boolean(context.fromEarnings)) {
      throw new RefuseToSign(t("js.sign.refuse.mismatch"));
    }
    const source = t(m.fromEarnings ? "js.withdraw.source.earnings" : "js.withdraw.source.escrow");
    return {
      title: t("js.sign.withdraw.title"),
      summary: t("js.sign.withdraw.summary", { amount: tokens(m.amount), source, account: shortAddress(m.account) }),
      rows: [
        [t("js.field.amount"), tokens(m.amount)],
        [t("js.field.source"), source],
        [t("js.field.to"), m.account],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.account],
    };
  },

  Leave(m, context) {
    if (contractName(context.verifyingContract) !== "Membership") throw new RefuseToSign(t("js.sign.refuse.contract"));
    const amount = tokens(context.capitalShare ?? 0);
    return {
      title: t("js.sign.leave.title"),
      summary: t("js.sign.leave.summary", { amount }),
      rows: [
        [t("js.field.member"), m.member],
        [t("js.field.capital_share"), amount],
        [t("js.field.until"), date(m.deadline)],
      ],
      signers: [m.member],
    };
  },

  TripReceipt(m, context) {
    tripsOfLedger(m, context);
    const shared = !same(m.rider, ZERO);
    const values = {
      id: m.tripId, distance: km(m.distanceMetres), fare: tokens(m.fare),
      start: date(m.startTime), end: date(m.endTime), region: regionName(m.regionId),
    };
    const confirming = shared && context.role === "rider";
    return {
      title: t(confirming ? "js.sign.confirm.title" : "js.sign.receipt.title", { id: m.tripId }),
      summary: t(confirming ? "js.sign.confirm.summary" : shared ? "js.sign.receipt.summary.shared" : "js.sign.receipt.summary.solo", values),
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
  const view = await renderer(typedData.message, { ...context, verifyingContract: typedData.domain.verifyingContract });
  if (!view.signers.some((signer) => same(signer, address))) throw new RefuseToSign(t("js.sign.refuse.signer"));
  view.rows.push([t("js.field.contract"), `${contract} (${shortAddress(typedData.domain.verifyingContract)})`]);
  return view;
}
