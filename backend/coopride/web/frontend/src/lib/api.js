// Calls to the CoopRide API. Every refusal becomes an ApiError whose message is the API's `detail` in plain words.
import { t } from "./i18n.js";
import { parseJson, stringify } from "./json.js";
import { clearSession, currentSession } from "./session.js";

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

/** FastAPI's `detail`: a sentence, or a list of {loc, msg} for invalid input. */
export function plainDetail(body, status) {
  const detail = body && body.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((error) => {
        const where = (error.loc || []).filter((part) => !["body", "query", "path"].includes(part)).join(" › ");
        const message = String(error.msg || "").replace(/^Value error, /, "");
        return where ? `${where}: ${message}` : message;
      })
      .join("; ");
  }
  if (status === 0) return t("js.error.network");
  return t("js.error.http", { status });
}

export async function api(path, { method = "GET", body, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const session = currentSession();
  if (auth && session) headers.Authorization = `Bearer ${session.token}`;
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : stringify(body) });
  } catch {
    throw new ApiError(0, t("js.error.network"));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? parseJson(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401 && auth && session) clearSession();
    throw new ApiError(response.status, plainDetail(data, response.status), data);
  }
  return data;
}
