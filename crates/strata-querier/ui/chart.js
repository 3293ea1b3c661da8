// TraceQL metrics: a query over a time range (/api/metrics/query_range) drawn as an SVG line
// chart, one line per series, with axes, a legend and the value under the pointer.

import { h, replace, notice, loading } from "./dom.js";
import { queryRange } from "./api.js";
import { anyValue, PALETTE } from "./format.js";

const colour = (i) => PALETTE[i % PALETTE.length];
import { RANGES, rangePicker, rangeSeconds } from "./search.js";

const DEFAULT_QUERY = "{ } | rate() by (resource.service.name)";

/** A step giving about 60 points over `seconds`, at least 1 s. */
export function stepFor(seconds) {
  const nice = [1, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400];
  return nice.find((s) => seconds / s <= 60) || 86400;
}

export function renderMetrics(view, params) {
  const q = params.get("q") || DEFAULT_QUERY;
  const key = RANGES.some((r) => r[0] === params.get("range") && r[2]) ? params.get("range") : "1h";
  const input = h("input", { id: "metrics-query", class: "query", value: q, spellcheck: "false", "aria-label": "TraceQL metrics query" });
  const range = rangePicker(key, "metrics-range");
  range.querySelector('option[value="all"]').remove();
  const out = h("section", { id: "chart" });
  const form = h("form", { class: "searchbar", autocomplete: "off" },
    h("div", { class: "query-wrap" }, input), range, h("button", { type: "submit", class: "primary" }, "Run"));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    location.hash = `#/metrics?${new URLSearchParams({ q: input.value, range: range.value })}`;
  });
  replace(view, h("div", { class: "page" }, h("div", { class: "page-title" }, h("h1", {}, "TraceQL metrics"),
    h("span", { class: "muted" }, "e.g. { status = error } | rate() by (resource.service.name), { } | quantile_over_time(duration, .99)")), form, out));
  const [start, end] = rangeSeconds(key);
  const step = stepFor(end - start);
  replace(out, loading("Running query…"));
  queryRange({ q, start, end, step: `${step}s` }).then((resp) => {
    const series = (resp.series || []).filter((s) => (s.samples || []).length);
    if (!series.length) return replace(out, notice("empty", "No data points for this query in this time range."));
    replace(out, resp.status === "PARTIAL" ? notice("info", resp.message) : null, chart(series, start * 1000, end * 1000));
  }).catch((e) => replace(out, notice("error", `Query failed: ${e.message}`)));
}

function seriesName(s) {
  const labels = (s.labels || []).map((l) => `${l.key}=${anyValue(l.value)}`);
  return labels.length ? labels.join(", ") : "{}";
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= v);
}

function chart(series, t0, t1) {
  const W = 1280, H = 360, L = 56, R = 16, T = 12, B = 28;
  const pts = series.map((s) => s.samples.map((p) => [Number(p.timestampMs), Number(p.value || 0)]).filter(([, v]) => Number.isFinite(v)));
  const max = niceMax(Math.max(...pts.flat().map(([, v]) => v)));
  // Steps are aligned, so the first and last may fall just outside the asked range.
  const times = pts.flat().map(([t]) => t);
  t0 = Math.min(t0, ...times);
  t1 = Math.max(t1, ...times);
  const x = (t) => L + ((t - t0) / Math.max(t1 - t0, 1)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const svg = h("svg:svg", { class: "chart-svg", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Metrics chart" });
  for (let i = 0; i <= 4; i++) {
    const v = (max * i) / 4;
    svg.append(h("svg:line", { x1: L, x2: W - R, y1: y(v), y2: y(v), class: "gridline" }),
      h("svg:text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", class: "axis" }, short(v)));
  }
  for (let i = 0; i <= 5; i++) {
    const t = t0 + ((t1 - t0) * i) / 5;
    const d = new Date(t);
    svg.append(h("svg:text", { x: x(t), y: H - 8, "text-anchor": "middle", class: "axis" },
      `${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`));
  }
  const names = series.map(seriesName);
  pts.forEach((p, i) => {
    const d = p.map(([t, v], j) => `${j ? "L" : "M"} ${x(t).toFixed(1)} ${y(v).toFixed(1)}`).join(" ");
    svg.append(h("svg:path", { d, class: "series", stroke: colour(i), "data-series": names[i] }));
    if (p.length === 1) svg.append(h("svg:circle", { cx: x(p[0][0]), cy: y(p[0][1]), r: 3, fill: colour(i) }));
  });
  const tip = h("div", { class: "chart-tip", hidden: true });
  const wrap = h("div", { class: "chart-wrap" }, svg, tip);
  svg.addEventListener("mousemove", (e) => {
    const box = svg.getBoundingClientRect();
    const t = t0 + (((e.clientX - box.left) * (W / box.width) - L) / (W - L - R)) * (t1 - t0);
    const rows = pts.map((p, i) => {
      let best = null;
      for (const q of p) if (!best || Math.abs(q[0] - t) < Math.abs(best[0] - t)) best = q;
      return best ? [i, best] : null;
    }).filter(Boolean);
    if (!rows.length) { tip.hidden = true; return; }
    replace(tip, h("div", { class: "muted" }, new Date(rows[0][1][0]).toLocaleTimeString()),
      rows.map(([i, [, v]]) => h("div", {}, h("span", { class: "svc-chip", style: { background: colour(i) } }), `${names[i]}: ${short(v)}`)));
    tip.hidden = false;
    tip.style.left = `${e.clientX - box.left + 12}px`;
    tip.style.top = `${e.clientY - box.top + 12}px`;
  });
  svg.addEventListener("mouseleave", () => { tip.hidden = true; });
  return h("div", {}, wrap, h("div", { class: "legend", id: "chart-legend" }, names.map((n, i) =>
    h("span", { class: "legend-item" }, h("span", { class: "svc-chip", style: { background: colour(i) } }), n))));
}

function short(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (a >= 10 || v === 0) return v.toFixed(0);
  return v.toPrecision(2);
}
