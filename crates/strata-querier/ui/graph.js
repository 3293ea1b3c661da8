// The service graph: edges from the metrics-generator's service-graph series
// (traces_service_graph_request_total / _request_failed_total / _request_server_seconds_*),
// read from /api/metrics-generator/series (the requesting tenant's series only, behind the
// query API's tenant gate) in Prometheus text and kept for the chosen tenant (its `tenant`
// label). Counts are totals since the generator started (or the series last went stale).
// Where no generator runs in this process (a querier alone) the view says so.

import { h, replace, notice, loading } from "./dom.js";
import { generatorSeries, orgId } from "./api.js";
import { serviceColour } from "./format.js";

/** Samples of Prometheus text: `[{name, labels, value}]`; comments and bad lines skipped. */
export function parseProm(text) {
  const out = [];
  const line = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
  const label = /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g;
  for (const l of text.split("\n")) {
    if (!l || l.startsWith("#")) continue;
    const m = l.match(line);
    if (!m) continue;
    const labels = {};
    for (const [, k, v] of (m[2] || "").matchAll(label)) {
      labels[k] = v.replace(/\\n/g, "\n").replace(/\\(.)/g, "$1");
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** Edges of one tenant: `[{client, server, type, requests, failed, seconds}]`. */
export function edges(samples, tenant) {
  const byKey = new Map();
  const edge = (l) => {
    const key = `${l.client}\u0000${l.server}\u0000${l.connection_type || ""}`;
    if (!byKey.has(key)) byKey.set(key, { client: l.client, server: l.server, type: l.connection_type || "", requests: 0, failed: 0, sum: 0, count: 0 });
    return byKey.get(key);
  };
  for (const s of samples) {
    if (!s.name.startsWith("traces_service_graph_") || s.labels.tenant !== tenant) continue;
    if (s.name === "traces_service_graph_request_total") edge(s.labels).requests += s.value;
    else if (s.name === "traces_service_graph_request_failed_total") edge(s.labels).failed += s.value;
    else if (s.name === "traces_service_graph_request_server_seconds_sum") edge(s.labels).sum += s.value;
    else if (s.name === "traces_service_graph_request_server_seconds_count") edge(s.labels).count += s.value;
  }
  return [...byKey.values()].filter((e) => e.requests > 0 || e.failed > 0);
}

export function renderGraph(view) {
  const body = h("div", { id: "graph" }, loading("Reading the metrics-generator's series…"));
  replace(view, h("div", { class: "page" }, h("div", { class: "page-title" }, h("h1", {}, "Service graph"),
    h("span", { class: "muted" }, "from the metrics-generator's traces_service_graph_* series")), body));
  generatorSeries().then((text) => {
    const samples = parseProm(text);
    const tenant = orgId() || "single-tenant";
    let es = edges(samples, tenant);
    let note = null;
    const tenants = new Set(samples.filter((s) => s.labels.tenant).map((s) => s.labels.tenant));
    if (!es.length && orgId() && tenants.size === 1 && tenants.has("single-tenant")) {
      es = edges(samples, "single-tenant");
      note = notice("info", "Multitenancy is off: showing the single tenant's graph.");
    }
    if (!es.length) {
      return replace(body, notice("empty", `No service-graph edges for tenant "${tenant}" yet. Edges appear once client and server spans of a call have arrived and the tenant has the service-graphs processor (overrides.*.metrics_generator.processors).`));
    }
    replace(body, note, draw(es), edgeTable(es));
  }).catch((e) => {
    if (e.status === 404) {
      replace(body, notice("info", "The service graph needs the metrics-generator, which runs inside strata run. A querier running alone has none; query traces_service_graph_* in the Prometheus the generators remote-write to."));
    } else {
      replace(body, notice("error", `Reading the service-graph series failed: ${e.message}`));
    }
  });
}

/** Columns by longest path from a node nobody calls (cycles broken), rows in name order. */
function layout(es) {
  const names = [...new Set(es.flatMap((e) => [e.client, e.server]))].sort();
  const out = new Map(names.map((n) => [n, []]));
  for (const e of es) if (e.client !== e.server) out.get(e.client).push(e.server);
  const layer = new Map(names.map((n) => [n, 0]));
  for (let pass = 0; pass < names.length; pass++) {
    let changed = false;
    for (const n of names) {
      for (const m of out.get(n)) {
        if (layer.get(m) < layer.get(n) + 1 && layer.get(n) + 1 < names.length) { layer.set(m, layer.get(n) + 1); changed = true; }
      }
    }
    if (!changed) break;
  }
  const cols = [];
  for (const n of names) (cols[layer.get(n)] ||= []).push(n);
  return cols.filter(Boolean);
}

function draw(es) {
  const cols = layout(es);
  const W = 200, H = 52, GX = 120, GY = 36, PAD = 24;
  const pos = new Map();
  const tallest = Math.max(...cols.map((c) => c.length));
  cols.forEach((col, x) => col.forEach((n, y) => {
    const offset = ((tallest - col.length) * (H + GY)) / 2;
    pos.set(n, { x: PAD + x * (W + GX), y: PAD + offset + y * (H + GY) });
  }));
  const width = PAD * 2 + cols.length * W + (cols.length - 1) * GX;
  const height = PAD * 2 + tallest * H + (tallest - 1) * GY;
  const svg = h("svg:svg", { class: "graph-svg", viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": "Service graph" },
    h("svg:defs", {}, h("svg:marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" },
      h("svg:path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8a94a6" }))));
  for (const e of es) {
    const a = pos.get(e.client), b = pos.get(e.server);
    const bad = e.failed > 0;
    let d;
    if (e.client === e.server) d = `M ${a.x + W - 30} ${a.y} C ${a.x + W} ${a.y - 40}, ${a.x + W + 40} ${a.y + 10}, ${a.x + W} ${a.y + H / 2}`;
    else {
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      const back = x2 <= x1;
      d = back ? `M ${a.x + W / 2} ${a.y + H} C ${a.x + W / 2} ${a.y + H + 60}, ${b.x + W / 2} ${b.y + H + 60}, ${b.x + W / 2} ${b.y + H}`
        : `M ${x1} ${y1} C ${x1 + GX / 2} ${y1}, ${x2 - GX / 2} ${y2}, ${x2} ${y2}`;
    }
    const mid = e.client === e.server ? { x: a.x + W + 10, y: a.y - 14 } : { x: (a.x + W + b.x) / 2, y: (a.y + b.y + H) / 2 - 8 };
    svg.append(h("svg:g", { class: `edge${bad ? " bad" : ""}`, "data-client": e.client, "data-server": e.server },
      h("svg:path", { d, "marker-end": "url(#arrow)" }),
      h("svg:text", { x: mid.x, y: mid.y, "text-anchor": "middle" }, `${fmt(e.requests)} req${bad ? ` · ${fmt(e.failed)} err` : ""}`)));
  }
  for (const [n, p] of pos) {
    const virtual = !es.some((e) => e.client === n) && es.some((e) => e.server === n && e.type === "database");
    svg.append(h("svg:g", { class: "node", "data-service": n },
      h("svg:rect", { x: p.x, y: p.y, width: W, height: H, rx: 8 }),
      h("svg:rect", { x: p.x, y: p.y, width: 6, height: H, rx: 3, fill: serviceColour(n) }),
      h("svg:text", { x: p.x + 18, y: p.y + 22, class: "node-name" }, n.length > 24 ? `${n.slice(0, 23)}…` : n),
      h("svg:text", { x: p.x + 18, y: p.y + 40, class: "node-sub" }, virtual ? "database" : `${fmt(es.filter((e) => e.server === n).reduce((s, e) => s + e.requests, 0))} requests in`)));
  }
  return h("div", { class: "graph-wrap" }, svg);
}

function edgeTable(es) {
  return h("table", { class: "grid", id: "edge-table" },
    h("thead", {}, h("tr", {}, h("th", {}, "Client"), h("th", {}, "Server"), h("th", {}, "Type"),
      h("th", { class: "num" }, "Requests"), h("th", { class: "num" }, "Failed"), h("th", { class: "num" }, "Avg server time"))),
    h("tbody", {}, es.sort((a, b) => b.requests - a.requests).map((e) => h("tr", { class: "edge-row" },
      h("td", {}, e.client), h("td", {}, e.server), h("td", {}, e.type || "–"),
      h("td", { class: "num" }, fmt(e.requests)), h("td", { class: `num${e.failed ? " bad" : ""}` }, fmt(e.failed)),
      h("td", { class: "num" }, e.count ? `${((e.sum / e.count) * 1000).toFixed(1)} ms` : "–")))));
}

function fmt(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : String(Math.round(n));
}
