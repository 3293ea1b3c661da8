// The trace view: fetches one trace, builds its span tree and shows a summary, a search box
// over its spans, the waterfall (waterfall.js) and the selected span's details (details.js).
//
// Model (built once per trace, shared with the other modules): spans as
//   { id, parentId, name, service, kind, start, end (ns since the trace's first span),
//     error, statusMessage, attributes, resource, scope, events, links, depth, children }
// in depth-first order, children by start time, `parent` the span it hangs under (null for a
// root); a span whose parent is not in the trace is a root. `byId` maps an ID to its first span.

import { h, replace, notice, loading } from "./dom.js";
import { trace as fetchTrace } from "./api.js";
import { b64hex, duration, timestamp, serviceColour } from "./format.js";
import { Waterfall } from "./waterfall.js";
import { renderDetails } from "./details.js";

/** Spans of a `{resourceSpans}` trace as the model above, in tree order. */
export function buildModel(t) {
  const all = [];
  let min = null;
  for (const rs of t.resourceSpans || t.batches || []) {
    const resource = rs.resource?.attributes || [];
    const service = resource.find((a) => a.key === "service.name")?.value?.stringValue || "unknown service";
    for (const ss of rs.scopeSpans || rs.instrumentationLibrarySpans || []) {
      for (const s of ss.spans || []) {
        const start = BigInt(s.startTimeUnixNano || "0");
        const end = BigInt(s.endTimeUnixNano || s.startTimeUnixNano || "0");
        if (min === null || start < min) min = start;
        all.push({
          id: b64hex(s.spanId), parentId: b64hex(s.parentSpanId), name: s.name || "",
          service, kind: s.kind, startNs: start, endNs: end < start ? start : end,
          error: s.status?.code === "STATUS_CODE_ERROR", statusMessage: s.status?.message || "",
          statusCode: s.status?.code || "STATUS_CODE_UNSET",
          attributes: s.attributes || [], resource, scope: ss.scope || {},
          events: s.events || [], links: s.links || [], children: [], depth: 0,
        });
      }
    }
  }
  // Span IDs may repeat within a trace (a client and a server span sharing one, as Zipkin
  // does; the API keeps spans distinct by ID and kind), so a parent ID can name several spans:
  // the one whose time range holds the child's start wins, then the earliest.
  const byId = new Map();
  for (const s of all) {
    if (!byId.has(s.id)) byId.set(s.id, []);
    byId.get(s.id).push(s);
  }
  const roots = [];
  for (const s of all) {
    s.start = Number(s.startNs - (min || 0n));
    s.end = Number(s.endNs - (min || 0n));
  }
  for (const s of all) {
    const candidates = (s.parentId && byId.get(s.parentId) || []).filter((p) => p !== s);
    const p = candidates.find((c) => c.start <= s.start && s.start <= c.end) || candidates[0];
    if (p) p.children.push(s); else roots.push(s);
  }
  // Depth-first from the roots; spans caught in a parent cycle (malformed input) are never
  // reached from a root, so each unvisited one starts a tree of its own.
  const order = [];
  const seen = new Set();
  const byStart = (a, b) => a.start - b.start;
  roots.sort(byStart);
  const walk = (root) => {
    root.depth = 0;
    root.parent = null;
    const stack = [root];
    while (stack.length) {
      const s = stack.pop();
      if (seen.has(s)) continue;
      seen.add(s);
      order.push(s);
      s.children.sort(byStart);
      for (let i = s.children.length - 1; i >= 0; i--) {
        if (seen.has(s.children[i])) continue;
        s.children[i].depth = s.depth + 1;
        s.children[i].parent = s;
        stack.push(s.children[i]);
      }
    }
  };
  roots.forEach(walk);
  for (const s of all) {
    if (!seen.has(s)) { roots.push(s); walk(s); }
  }
  // Children a cycle's walk did not reach stay listed under a span only if that is their tree
  // parent, so collapsing and counting follow the tree.
  for (const s of order) s.children = s.children.filter((c) => c.parent === s);
  const end = order.reduce((m, s) => Math.max(m, s.end), 0);
  const first = new Map();
  for (const s of order) if (!first.has(s.id)) first.set(s.id, s);
  return { spans: order, roots, byId: first, startNs: min || 0n, duration: end };
}

export function renderTrace(view, id, params) {
  replace(view, h("div", { class: "page" }, loading("Loading trace…")));
  let waterfall = null;
  let disposed = false;
  fetchTrace(id).then((resp) => {
    if (disposed) return;
    const t = resp.trace || {};
    if (!(t.resourceSpans || []).length) {
      return replace(view, h("div", { class: "page" }, back(), notice("empty", `Trace ${id} was not found.`)));
    }
    const model = buildModel(t);
    const details = h("aside", { class: "details", id: "span-details", hidden: true });
    const select = (span) => {
      renderDetails(details, span, model, () => { waterfall.select(null); });
      const p = new URLSearchParams(location.hash.split("?")[1] || "");
      if (span) p.set("span", span.id); else p.delete("span");
      history.replaceState(null, "", `#/trace/${id}${p.toString() ? `?${p}` : ""}`);
    };
    const body = h("div", { class: "trace-body" });
    const find = findBox((text) => waterfall.find(text));
    replace(view, h("div", { class: "page trace-page" },
      back(), header(id, model, resp), find.el,
      h("div", { class: "split" }, body, details)));
    waterfall = new Waterfall(body, model, { onSelect: select, onMatches: find.update });
    const want = params.get("span");
    if (want && model.byId.has(want)) waterfall.select(model.byId.get(want), true);
  }).catch((e) => {
    if (!disposed) replace(view, h("div", { class: "page" }, back(), notice("error", `Loading trace failed: ${e.message}`)));
  });
  return { dispose() { disposed = true; if (waterfall) waterfall.dispose(); } };
}

function back() {
  return h("a", { class: "back", href: sessionStorage.getItem("strata.lastSearch") || "#/search" }, "← Back to search");
}

function header(id, model, resp) {
  const root = model.roots[0];
  const services = [...new Set(model.spans.map((s) => s.service))];
  const errors = model.spans.filter((s) => s.error).length;
  const depth = model.spans.reduce((m, s) => Math.max(m, s.depth + 1), 0);
  const stat = (label, value, extra = {}) => h("div", { class: "stat" }, h("span", { class: "stat-label" }, label), h("span", { class: "stat-value", ...extra }, value));
  return h("div", { class: "trace-header" },
    h("h1", {}, h("span", { class: "svc-chip", style: { background: serviceColour(root.service) } }),
      h("span", { id: "trace-title" }, `${root.service}: ${root.name}`),
      h("span", { class: "mono trace-id" }, id)),
    resp.status === "PARTIAL" ? notice("info", resp.message || "Partial trace") : null,
    h("div", { class: "stats" },
      stat("Start", timestamp(model.startNs.toString())),
      stat("Duration", duration(model.duration)),
      stat("Services", String(services.length)),
      stat("Depth", String(depth)),
      stat("Spans", String(model.spans.length), { id: "span-count" }),
      stat("Errors", String(errors), { id: "error-count", class: errors ? "stat-value bad" : "stat-value" })),
    h("div", { class: "legend" }, services.map((s) => h("span", { class: "legend-item" },
      h("span", { class: "svc-chip", style: { background: serviceColour(s) } }), s))));
}

/** The search-within-trace box: calls `onFind(text)`; `update(n, i)` shows "i of n". */
function findBox(onFind) {
  const count = h("span", { class: "find-count", id: "find-count" });
  const input = h("input", { id: "find", type: "search", placeholder: "Find spans by name, service, attribute or ID",
    "aria-label": "Find in trace", spellcheck: "false" });
  let nav = () => {};
  input.addEventListener("input", () => onFind(input.value));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); nav(e.shiftKey ? -1 : 1); }
  });
  const prev = h("button", { type: "button", title: "Previous match", onclick: () => nav(-1) }, "↑");
  const next = h("button", { type: "button", title: "Next match", onclick: () => nav(1) }, "↓");
  return {
    el: h("div", { class: "findbar" }, input, count, prev, next),
    update(n, i, go) {
      nav = go;
      count.textContent = input.value ? (n ? `${i + 1} of ${n}` : "no match") : "";
    },
  };
}
