// Regions: phase, progress to critical mass, kilometres, treasury; outlines on the map.
import { api } from "../lib/api.js";
import { km, shares, t, tokens } from "../lib/i18n.js";
import { createMap, fitRegions } from "../lib/map.js";
import { showWho } from "../lib/page.js";
import { $, badge, fill, h, showError, stat } from "../lib/ui.js";

showWho();
const content = $("#regions-content");
const only = content.dataset.regionId ? Number(content.dataset.regionId) : undefined;

function regionCard(region, detailed) {
  const heading = detailed ? h("h2", {}, region.name) : h("h2", {}, h("a", { href: `/region/${region.region_id}` }, region.name));
  const operating = region.phase === "operating";
  return h("section", { class: "card", "data-region": region.region_id },
    heading,
    h("p", {}, badge(t(`js.region.phase.${region.phase}`), operating ? "ok" : "warn"), " ", t(operating ? "js.region.operating_text" : "js.region.bootstrap_text")),
    h("label", { for: `mass-${region.region_id}` }, t("js.region.progress", { members: region.members, needed: region.critical_mass })),
    h("progress", { id: `mass-${region.region_id}`, max: region.critical_mass, value: Math.min(region.members, region.critical_mass) },
      `${region.members} / ${region.critical_mass}`),
    h("dl", { class: "stats" },
      stat(t("js.region.km_verified"), km(region.metres_verified)),
      stat(t("js.region.km_shared"), km(region.metres_shared)),
      stat(t("js.region.km_settled"), km(region.metres_settled)),
      stat(t("js.region.trips"), `${region.trips_settled} / ${region.trips_logged}`),
      detailed ? stat(t("js.region.fare"), tokens(region.fare_per_km)) : null,
      detailed ? stat(t("js.region.shares"), shares(region.shares_minted)) : null,
      detailed ? stat(t("js.region.fees"), tokens(region.fees_to_treasury)) : null,
      stat(t("js.region.treasury"), tokens(region.treasury_balance))));
}

async function render() {
  const map = createMap($("#regions-map"), { label: t("js.map.regions") });
  fitRegions(map, only);
  if (only !== undefined) {
    fill(content, regionCard(await api(`/regions/${only}`, { auth: false }), true),
      h("p", {}, h("a", { href: "/region" }, t("js.region.all"))));
  } else {
    const regions = await api("/regions", { auth: false });
    fill(content, h("div", { class: "grid" }, regions.map((region) => regionCard(region, false))));
  }
}

render().catch((error) => showError(content, error));
