// Maps with Leaflet. The tile server is a setting (COOPRIDE_TILE_URL); with none, the map draws region
// outlines, routes and traces on a plain background, which works with no network at all.
import * as L from "leaflet/dist/leaflet-src.esm.js";
import { config } from "./config.js";
import { t } from "./i18n.js";

const LYON = [45.7597, 4.8422];

export function createMap(element, { center, zoom = 13, label } = {}) {
  element.setAttribute("role", "region");
  element.setAttribute("aria-label", label || t("js.map.label"));
  const map = L.map(element, { attributionControl: Boolean(config.tileUrl), zoomSnap: 0.5 });
  if (config.tileUrl) {
    L.tileLayer(config.tileUrl, { attribution: config.tileAttribution || "", maxZoom: 19 }).addTo(map);
  } else {
    element.classList.add("plain");
  }
  const first = config.regions[0];
  map.setView(center || (first ? [first.center.lat, first.center.lon] : LYON), zoom);
  return map;
}

export function drawRegions(map, { only } = {}) {
  const layers = [];
  for (const region of config.regions) {
    if (only !== undefined && region.id !== Number(only)) continue;
    const circle = L.circle([region.center.lat, region.center.lon], {
      radius: region.radius_m, color: "#0a5c43", weight: 2, fillColor: "#0a5c43", fillOpacity: 0.06, interactive: false,
    }).addTo(map);
    L.tooltip({ permanent: true, direction: "center", className: "map-label" })
      .setLatLng([region.center.lat, region.center.lon]).setContent(region.name).addTo(map);
    layers.push(circle);
  }
  return layers;
}

export function fitRegions(map, only) {
  const circles = drawRegions(map, { only });
  if (circles.length) map.fitBounds(L.featureGroup(circles).getBounds(), { padding: [10, 10] });
}

export function point(map, latlon, { label, color = "#0a5c43" } = {}) {
  const marker = L.circleMarker([latlon.lat, latlon.lon], { radius: 9, color: "#ffffff", weight: 3, fillColor: color, fillOpacity: 1 });
  if (label) marker.bindTooltip(label, { permanent: true, direction: "top", offset: [0, -8] });
  return marker.addTo(map);
}

export function line(map, points, { color = "#0a5c43", dashed = false } = {}) {
  return L.polyline(points.map((p) => [p.lat, p.lon]), { color, weight: 5, opacity: 0.85, dashArray: dashed ? "8 8" : null }).addTo(map);
}

export function fit(map, points) {
  if (points.length) map.fitBounds(L.latLngBounds(points.map((p) => [p.lat, p.lon])), { padding: [30, 30], maxZoom: 16 });
}

/**
 * Two points picked on the map (tap) or typed in the coordinate fields, kept in sync:
 * `fields` = {from: {lat, lon}, to: {lat, lon}} inputs; `modeButtons` = {from, to} toggle buttons.
 */
export function pointPicker(map, { fields, modeButtons, labels }) {
  const markers = { from: null, to: null };
  let route = null;
  let mode = "from";
  const setMode = (next) => {
    mode = next;
    for (const [name, button] of Object.entries(modeButtons)) button.setAttribute("aria-pressed", String(name === mode));
  };
  const read = (name) => {
    const lat = parseFloat(fields[name].lat.value);
    const lon = parseFloat(fields[name].lon.value);
    return Number.isFinite(lat) && Number.isFinite(lon) ? { lat, lon } : null;
  };
  const redraw = () => {
    for (const name of ["from", "to"]) {
      if (markers[name]) markers[name].remove();
      const value = read(name);
      markers[name] = value ? point(map, value, { label: labels[name], color: name === "from" ? "#0a5c43" : "#7a3e00" }) : null;
    }
    if (route) route.remove();
    const from = read("from");
    const to = read("to");
    route = from && to ? line(map, [from, to], { dashed: true }) : null;
  };
  const set = (name, latlon) => {
    fields[name].lat.value = latlon.lat.toFixed(6);
    fields[name].lon.value = latlon.lon.toFixed(6);
    redraw();
  };
  map.on("click", (event) => {
    set(mode, { lat: event.latlng.lat, lon: event.latlng.lng });
    if (mode === "from") setMode("to");
  });
  for (const [name, button] of Object.entries(modeButtons)) button.addEventListener("click", () => setMode(name));
  for (const group of Object.values(fields)) for (const input of Object.values(group)) input.addEventListener("change", redraw);
  setMode("from");
  return { set, read, redraw, setMode };
}
