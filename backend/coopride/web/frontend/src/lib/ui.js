// Small DOM helpers: build elements without innerHTML, guard buttons and forms against double taps,
// announce changes to screen readers, show errors and a chain transaction's progress.
import { t } from "./i18n.js";

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** h("p", {class: "x"}, "text", child) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") element.addEventListener(name.slice(2), value);
    else if (name === "text") element.textContent = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function fill(container, ...children) {
  container.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return container;
}

export function announce(text) {
  const node = document.getElementById("announcer");
  if (!node) return;
  node.textContent = "";
  // A fresh text node a moment later makes screen readers read it even when it repeats.
  setTimeout(() => { node.textContent = text; }, 50);
}

export function alertBox(kind, text, ...extra) {
  return h("div", { class: `alert ${kind}`, role: kind === "error" ? "alert" : "status" }, h("p", {}, text), ...extra);
}

export function showError(container, error) {
  const message = error && error.message ? error.message : String(error);
  fill(container, alertBox("error", message));
  container.hidden = false;
  return message;
}

export function clear(container) {
  container.replaceChildren();
}

// After an action finishes, its control stays disabled this long: a double tap on a fast answer is one tap.
const SETTLE_MS = 1000;

/** Runs `action` once per tap: the control is disabled and marked busy until it finishes, and a moment after. */
export function guard(control, action) {
  return async (event) => {
    if (event) event.preventDefault();
    if (control.dataset.busy === "1") return undefined;
    control.dataset.busy = "1";
    const buttons = control.tagName === "FORM" ? $$("button", control) : [control];
    for (const button of buttons) {
      button.disabled = true;
      button.setAttribute("aria-busy", "true");
    }
    try {
      return await action(event);
    } finally {
      for (const button of buttons) button.removeAttribute("aria-busy");
      setTimeout(() => {
        delete control.dataset.busy;
        for (const button of buttons) button.disabled = false;
      }, SETTLE_MS);
    }
  };
}

export function onSubmit(form, action) {
  form.addEventListener("submit", guard(form, action));
}

export function onClick(button, action) {
  button.addEventListener("click", guard(button, action));
}

/** A transaction's hash and block: the way to find it on chain. */
export function txProof(txHash, blockNumber) {
  if (!txHash) return h("span", { class: "muted" }, t("js.tx.none"));
  return h("span", {}, t("js.tx.label"), " ", h("code", { title: txHash }, `${txHash.slice(0, 10)}…${txHash.slice(-6)}`),
    blockNumber ? ` · ${t("js.tx.block", { block: blockNumber })}` : "");
}

/**
 * The progress of a signed, relayed chain transaction, as a list of steps read out as they change:
 *   const steps = progress(container, ["review", "sign", "chain"]); steps.start("sign"); steps.done("sign"); ...
 */
export function progress(container, names) {
  const items = Object.fromEntries(names.map((name) => [name, h("li", { "data-state": "todo" }, t(`js.step.${name}`))]));
  const list = h("ol", { class: "steps", "aria-label": t("js.step.title") }, Object.values(items));
  fill(container, list);
  container.hidden = false;
  const set = (name, state, text) => {
    const item = items[name];
    item.dataset.state = state;
    if (text) item.textContent = text;
  };
  return {
    start(name, text) { set(name, "active", text); announce(items[name].textContent); },
    done(name, text) { set(name, "done", text); },
    fail(name, text) { set(name, "failed", text); },
    add(node) { container.append(node); },
  };
}

export function badge(text, kind = "") {
  return h("span", { class: `badge ${kind}` }, text);
}

export function stat(label, value, id, { wide = false } = {}) {
  return h("div", { class: wide ? "stat wide" : "stat" }, h("dt", {}, label), h("dd", id ? { id } : {}, value));
}
