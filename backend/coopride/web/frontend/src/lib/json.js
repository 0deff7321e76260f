// JSON that keeps integers above 2^53 exact (proposal ids, share amounts): they come back as BigInt.
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

export function stringify(value) {
  return JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v));
}
