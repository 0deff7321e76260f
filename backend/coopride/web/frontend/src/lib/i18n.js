// Messages in the page's language, and numbers, amounts and dates written for people.
import { config } from "./config.js";

export const lang = config.lang;

export function t(key, vars = {}) {
  const text = config.messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

const locale = lang === "fr" ? "fr-FR" : "en-GB";
const numbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 2 });
const wholeNumbers = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const decimalMark = numbers.formatToParts(1.5).find((part) => part.type === "decimal").value;
const dates = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
const times = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit" });

/**
 * Base units (an API amount: a decimal string, or a BigInt) as a number of whole tokens with `places` decimals,
 * rounded half up, in BigInt all the way (no float ever holds the amount); `trim` drops trailing zeros.
 */
export function formatUnits(value, decimals, places, trim = false) {
  const big = BigInt(value ?? 0);
  const negative = big < 0n;
  const abs = negative ? -big : big;
  const shift = BigInt(decimals) - BigInt(places);
  const scaled = shift >= 0n ? (abs * 2n + 10n ** shift) / (2n * 10n ** shift) : abs * 10n ** -shift;
  const unit = 10n ** BigInt(places);
  let fraction = (scaled % unit).toString().padStart(places, "0");
  if (trim) fraction = fraction.replace(/0+$/, "");
  const text = wholeNumbers.format(scaled / unit) + (fraction ? decimalMark + fraction : "");
  return negative && scaled !== 0n ? `-${text}` : text;
}

export function tokenSymbol() {
  return config.token ? config.token.symbol : "";
}

/** Fare-token units as "12,50 tEUR". */
export function tokens(value) {
  if (!config.token) return String(value);
  return `${formatUnits(value, config.token.decimals, 2)} ${config.token.symbol}`;
}

/** A typed decimal ("12.5" or "12,5") in units of `decimals` decimals (BigInt), or null. */
export function parseUnits(text, decimals) {
  const cleaned = String(text).trim().replace(",", ".");
  if (!/^\d+(\.\d+)?$/.test(cleaned)) return null;
  const [whole, fraction = ""] = cleaned.split(".");
  if (fraction.length > decimals) return null;
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
}

/** A typed amount of fare tokens as units (BigInt), or null. */
export function parseTokens(text) {
  return config.token ? parseUnits(text, config.token.decimals) : null;
}

/** Share-token units (18 decimals, GET /chain) as a number of shares, up to 2 decimals. */
export function shares(value) {
  return formatUnits(value, 18, 2, true);
}

export function km(metres) {
  return `${numbers.format(Number(metres ?? 0) / 1000)} km`;
}

export function number(value) {
  return numbers.format(Number(value));
}

export function date(unixSeconds) {
  return dates.format(new Date(Number(unixSeconds) * 1000));
}

export function time(unixSeconds) {
  return times.format(new Date(Number(unixSeconds) * 1000));
}

export function shortAddress(address) {
  return address ? `${address.slice(0, 6)}…${address.slice(-4)}` : "";
}

/** "in 3 min", "2 h ago": for countdowns. */
export function relative(unixSeconds, now = Date.now() / 1000) {
  const seconds = Math.round(Number(unixSeconds) - now);
  const format = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, "second");
  if (abs < 3600) return format.format(Math.round(seconds / 60), "minute");
  if (abs < 86400) return format.format(Math.round(seconds / 3600), "hour");
  return format.format(Math.round(seconds / 86400), "day");
}
