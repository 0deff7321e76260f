// What every page does first: show who is signed in, and ask for a sign-in where the page needs one.
import { api } from "./api.js";
import { t, shortAddress } from "./i18n.js";
import { currentSession } from "./session.js";
import { $ } from "./ui.js";

export function showWho() {
  const chip = $("#wallet-chip");
  const session = currentSession();
  if (chip) chip.textContent = session ? t("js.chip.signed_in", { address: shortAddress(session.address) }) : t("js.chip.signed_out");
  return session;
}

/** The session, or null after revealing the page's "sign in first" panel and hiding what needs it. */
export function requireSession() {
  const session = showWho();
  if (!session) {
    const needed = $("#signin-needed");
    if (needed) needed.hidden = false;
    for (const node of document.querySelectorAll("[data-needs-session]")) node.hidden = true;
    return null;
  }
  for (const node of document.querySelectorAll("[data-needs-session]")) node.hidden = false;
  return session;
}

/** Your statement (chain balances, trips, votes): most pages start from it. */
export function myStatement(session) {
  return api(`/members/${session.address}/statement`);
}

/** Calls `refresh` every `seconds` while the page is visible; returns a stop function. */
export function every(seconds, refresh) {
  let timer = null;
  const tick = async () => {
    if (document.visibilityState === "visible") {
      try {
        await refresh();
      } catch {
        // the next tick tries again; errors are shown by the actions themselves
      }
    }
    timer = setTimeout(tick, seconds * 1000);
  };
  timer = setTimeout(tick, seconds * 1000);
  return () => clearTimeout(timer);
}

const lastSeen = new Map();

/** True when `value` differs from what was last seen under `key`: polling re-renders only on change,
 * so that focus and half-finished actions are not swept away every few seconds. */
export function changed(key, value) {
  const text = JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  if (lastSeen.get(key) === text) return false;
  lastSeen.set(key, text);
  return true;
}

// A list that polling redraws must not be replaced under a finger: a tap whose press and release land on two
// different buttons (the old one, then its redrawn copy) is no click at all, and the tap is lost.
const pressed = new Set();
let releaseWatched = false;

/** True while a pointer is pressed inside `element`: the caller skips this redraw (the next poll does it). */
export function pressedIn(element) {
  if (!element.dataset.pressWatched) {
    element.dataset.pressWatched = "1";
    element.addEventListener("pointerdown", () => pressed.add(element));
  }
  if (!releaseWatched) {
    releaseWatched = true;
    for (const type of ["pointerup", "pointercancel"]) {
      document.addEventListener(type, () => setTimeout(() => pressed.clear(), 0));
    }
  }
  return pressed.has(element);
}
