// The search view: TraceQL box with autocomplete, time range, limit; results newest first
// (root service, root name, start, duration, matched spans), each row opening its trace.

import { h, replace, notice, loading } from "./dom.js";
import { search } from "./api.js";
import { attachAutocomplete } from "./autocomplete.js";
import { duration, timestamp, ago, serviceColour } from "./format.js";

/** Preset ranges: label and length in seconds (0: everything stored). */
export const RANGES = [
  ["15m", "Last 15 minutes", 900],
  ["1h", "Last hour", 3600],
  ["6h", "Last 6 hours", 21600],
  ["24h", "Last 24 hours", 86400],
  ["7d", "Last 7 days", 604800],
  ["all", "All time", 0],
];

/** `[start, end]` unix seconds of a preset (both undefined for "all"). */
export function rangeSeconds(key, now = Date.now()) {
  const r = RANGES.find((x) => x[0] === key) || RANGES[1];
  if (!r[2]) return [undefined, undefined];
  const end = Math.ceil(now / 1000);
  return [end - r[2], end];
}

/** A <select> of the presets with `key` chosen. */
export function rangePicker(key, id) {
  return h("select", { id, class: "range", "aria-label": "Time range" },
    RANGES.map(([k, label]) => h("option", { value: k, selected: k === key }, label)));
}

export function renderSearch(view, params) {
  const q = params.get("q") ?? "{ }";
  const rangeKey = params.get("range") || "1h";
  const limit = params.get("limit") || "20";
  const input = h("input", { id: "query", class: "query", value: q, spellcheck: "false",
    autocomplete: "off", placeholder: '{ resource.service.name = "frontend" && status = error }',
    "aria-label": "TraceQL query" });
  const range = rangePicker(rangeKey, "range");
  const limitSel = h("select", { id: "limit", "aria-label": "Result limit" },
    ["20", "50", "100", "500"].map((v) => h("option", { value: v, selected: v === limit }, `${v} traces`)));
  const results = h("section", { id: "results", class: "results" });
  const form = h("form", { class: "searchbar", id: "search-form", autocomplete: "off" },
    h("div", { class: "query-wrap" }, input), range, limitSel,
    h("button", { type: "submit", class: "primary", id: "run-search" }, "Search"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const p = new URLSearchParams({ q: input.value, range: range.value, limit: limitSel.value });
    const next = `#/search?${p}`;
    if (location.hash === next) run();
    else location.hash = next;
  });
  replace(view, h("div", { class: "page" }, form, results));
  attachAutocomplete(input, () => rangeSeconds(range.value));

  sessionStorage.setItem("strata.lastSearch", location.hash || "#/search");

  async function run() {
    replace(results, loading("Searching…"));
    const [start, end] = rangeSeconds(rangeKey);
    let resp;
    try {
      resp = await search({ q, start, end, limit });
    } catch (e) {
      return replace(results, notice("error", `Search failed: ${e.message}`));
    }
    const traces = (resp.traces || []).slice()
      .sort((a, b) => (BigInt(b.startTimeUnixNano || 0) > BigInt(a.startTimeUnixNano || 0) ? 1 : -1));
    const partial = resp.partialMessage
      ? h("div", { class: "notice warn", id: "partial-banner", role: "status" }, `Partial results: ${resp.partialMessage}`)
      : null;
    if (!traces.length) return replace(results, partial, notice("empty", "No traces match this query in this time range."));
    replace(results, partial, summary(traces, resp.metrics), table(traces));
  }
  run();
}

function summary(traces, metrics) {
  const m = metrics || {};
  return h("div", { class: "result-summary" },
    h("strong", {}, `${traces.length} trace${traces.length === 1 ? "" : "s"}`),
    m.inspectedTraces ? ` · ${m.inspectedTraces} inspected` : null,
    m.inspectedBytes ? ` · ${(Number(m.inspectedBytes) / 1e6).toFixed(1)} MB read` : null);
}

function matched(t) {
  const sets = t.spanSets || (t.spanSet ? [t.spanSet] : []);
  return sets.reduce((n, s) => n + (s.matched || 0), 0);
}

function table(traces) {
  const longest = Math.max(1, ...traces.map((t) => t.durationMs || 0));
  const now = Date.now();
  return h("table", { class: "grid", id: "result-table" },
    h("thead", {}, h("tr", {},
      h("th", {}, "Trace"), h("th", {}, "Trace ID"), h("th", {}, "Start"),
      h("th", { class: "num" }, "Duration"), h("th", { class: "num" }, "Matched spans"))),
    h("tbody", {}, traces.map((t) => {
      const svc = t.rootServiceName || "<root span not yet received>";
      const href = `#/trace/${t.traceID}`;
      const ms = t.durationMs || 0;
      return h("tr", { class: "result-row", dataset: { traceId: t.traceID, start: t.startTimeUnixNano || "0" },
        onclick: () => { location.hash = href; } },
      h("td", {}, h("a", { href, class: "trace-link" },
        h("span", { class: "svc-chip", style: { background: serviceColour(svc) } }),
        h("span", { class: "root-service" }, svc), " ",
        h("span", { class: "root-name" }, t.rootTraceName || "")),
      statsLine(t)),
      h("td", { class: "mono" }, t.traceID.slice(0, 16)),
      h("td", { title: timestamp(t.startTimeUnixNano) }, timestamp(t.startTimeUnixNano),
        h("span", { class: "muted" }, ` · ${ago(t.startTimeUnixNano, now)}`)),
      h("td", { class: "num" }, h("div", { class: "dur" },
        h("span", { class: "dur-track" }, h("span", { class: "dur-bar", style: { width: `${Math.max(2, (ms / longest) * 100)}%` } })),
        h("span", {}, ms ? duration(ms * 1e6) : "<1ms"))),
      h("td", { class: "num matched" }, String(matched(t))));
    })));
}

/** Services of a result with their span counts, and its errors, from `serviceStats`. */
function statsLine(t) {
  const stats = Object.entries(t.serviceStats || {});
  if (!stats.length) return null;
  const errors = stats.reduce((n, [, s]) => n + (s.errorCount || 0), 0);
  return h("div", { class: "svc-stats" },
    errors ? h("span", { class: "pill error-pill" }, `${errors} error${errors === 1 ? "" : "s"}`) : null,
    stats.sort((a, b) => a[0].localeCompare(b[0])).map(([svc, s]) => h("span", { class: "pill" },
      h("span", { class: "svc-chip", style: { background: serviceColour(svc) } }), `${svc} (${s.spanCount || 0})`)));
}
