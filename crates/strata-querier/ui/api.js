// The query API, as the explorer calls it. Every call carries the chosen org ID as
// X-Scope-OrgID (none when empty); failures throw an ApiError with the server's message.
// An answer the server cut short (X-Strata-Status: PARTIAL, e.g. by the tenant's scan budget)
// comes back with a non-enumerable `partialMessage` holding X-Strata-Message.

const ORG_KEY = "strata.orgId";

export function orgId() {
  return localStorage.getItem(ORG_KEY) || "";
}

export function setOrgId(v) {
  if (v) localStorage.setItem(ORG_KEY, v);
  else localStorage.removeItem(ORG_KEY);
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message || `HTTP ${status}`);
    this.status = status;
  }
}

async function call(path, params = {}, accept = "application/json") {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") qs.set(k, v);
  }
  const url = qs.toString() ? `${path}?${qs}` : path;
  const headers = { Accept: accept };
  const org = orgId();
  if (org) headers["X-Scope-OrgID"] = org;
  let resp;
  try {
    resp = await fetch(url, { headers });
  } catch (e) {
    throw new ApiError(0, `cannot reach the server: ${e.message}`);
  }
  if (!resp.ok) {
    const text = (await resp.text()).trim();
    throw new ApiError(resp.status, text || `${resp.status} ${resp.statusText}`);
  }
  if (accept !== "application/json") return resp.text();
  const body = await resp.json();
  if ((resp.headers.get("X-Strata-Status") || "").toUpperCase() === "PARTIAL" && body && typeof body === "object") {
    Object.defineProperty(body, "partialMessage", {
      value: resp.headers.get("X-Strata-Message") || "The answer is partial.",
      enumerable: false,
    });
  }
  return body;
}

/** TraceQL search; `start`/`end` unix seconds or undefined. */
export function search({ q, start, end, limit, spss }) {
  return call("/api/search", { q, start, end, limit, spss });
}

/** Tag names per scope: `{scopes: [{name, tags}]}`. */
export function tagNames(start, end) {
  return call("/api/v2/search/tags", { start, end });
}

/** Typed values of one tag: `{tagValues: [{type, value}]}`. */
export function tagValues(tag, q, start, end) {
  return call(`/api/v2/search/tag/${encodeURIComponent(tag)}/values`, { q, start, end });
}

/** A trace by ID: `{trace: {resourceSpans}, status?, message?}`. */
export function trace(id) {
  return call(`/api/v2/traces/${encodeURIComponent(id)}`);
}

/** TraceQL metrics over time: `{series: [{labels, samples}]}`. */
export function queryRange({ q, start, end, step }) {
  return call("/api/metrics/query_range", { q, start, end, step });
}

/** The chosen tenant's metrics-generator series in Prometheus text (served by `strata run`
 * only, behind the same tenant gate as the query API). */
export function generatorSeries() {
  return call("/api/metrics-generator/series", {}, "text/plain");
}
