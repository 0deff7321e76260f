// Small inline SVG charts (no chart library): a cumulative line over time, with a text alternative.
import { h } from "./ui.js";

const NS = "http://www.w3.org/2000/svg";
const svg = (tag, attributes = {}, ...children) => {
  const element = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
};

/**
 * `points`: [{x: unix seconds, y: number, value?}] in time order (cumulative values); `format(value)` writes a
 * point's exact value (its `y` when it has none), `formatX(x)` a time. Returns a <figure> with the chart and, for
 * screen readers, its summary.
 */
export function lineChart({ title, points, format, formatX }) {
  const width = 320;
  const height = 160;
  const pad = { left: 8, right: 8, top: 18, bottom: 22 };
  const exact = (p) => (p.value === undefined ? p.y : p.value);
  const summary = points.length
    ? `${title}: ${format(exact(points[0]))} (${formatX(points[0].x)}) → ${format(exact(points[points.length - 1]))} (${formatX(points[points.length - 1].x)})`
    : `${title}: —`;
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary });
  chart.append(svg("title", {}, summary));
  const minX = points.length ? points[0].x : 0;
  const maxX = points.length ? points[points.length - 1].x : 1;
  const top = points.reduce((best, p) => (p.y > best.y ? p : best), { y: 0, value: undefined });
  const maxY = top.y || 1;
  const x = (value) => pad.left + ((value - minX) / Math.max(maxX - minX, 1)) * (width - pad.left - pad.right);
  const y = (value) => height - pad.bottom - (value / maxY) * (height - pad.top - pad.bottom);
  chart.append(
    svg("line", { class: "axis", x1: pad.left, y1: height - pad.bottom, x2: width - pad.right, y2: height - pad.bottom }),
    svg("text", { x: pad.left, y: 12 }, top.y ? format(exact(top)) : format(maxY)),
  );
  if (points.length) {
    const path = points.map((p, i) => `${i ? "L" : "M"}${x(p.x).toFixed(1)},${y(p.y).toFixed(1)}`).join(" ");
    chart.append(svg("path", { class: "line", d: points.length > 1 ? path : `${path} L${x(maxX) + 1},${y(points[0].y)}` }));
    for (const p of points) chart.append(svg("circle", { class: "dot", cx: x(p.x).toFixed(1), cy: y(p.y).toFixed(1), r: 3 }));
    chart.append(
      svg("text", { x: pad.left, y: height - 6 }, formatX(minX)),
      svg("text", { x: width - pad.right, y: height - 6, "text-anchor": "end" }, formatX(maxX)),
    );
  }
  return h("figure", { class: "chart-figure" }, chart, h("figcaption", {}, title));
}
