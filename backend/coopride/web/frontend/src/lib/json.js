// JSON that keeps integers above 2^53 exact (proposal ids, trip ids, typed data): they come back as BigInt.
// Amounts travel as decimal strings of integer base units both ways (the API's rule; GET /chain: decimals).
const sourceAccess = (() => {
  try {
    return JSON.parse("1", (_key, _value, context) => context && context.source) === "1";
  } catch {
    return false;
  }
})();

export function parseJson(text) {
  if (sourceAccess) {
    return JSON.parse(text, (_key, value, context) => {
      if (typeof value === "number" && !Number.isSafeInteger(value) && context && /^-?\d+$/.test(context.source)) {
        return BigInt(context.source);
      }
      return value;
    });
  }
  // Older engines: quote long integers outside strings, so that they survive as decimal strings.
  return JSON.parse(text.replace(/("(?:[^"\\]|\\.)*")|(-?\d{16,})(?=\s*[,\]}])/g, (match, string, digits) => (string ? string : `"${digits}"`)));
}

/** An amount as the API takes it: integer base units (BigInt, number or digits) written as a decimal string. */
export function amountText(value) {
  return BigInt(value).toString();
}

export function stringify(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}
