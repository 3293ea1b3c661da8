// The selected span's details: name, service, timing, status, then its attributes, resource
// attributes, events (with their time into the span) and links (a link into this trace selects
// the span, into another trace opens it).

import { h, replace } from "./dom.js";
import { attributes, b64hex, duration, kind, serviceColour, timestamp } from "./format.js";

export function renderDetails(panel, s, model, onClose) {
  if (!s) {
    panel.hidden = true;
    return replace(panel);
  }
  panel.hidden = false;
  const parent = s.parent;
  replace(panel,
    h("div", { class: "details-head" },
      h("div", {},
        h("div", { class: "details-service" }, h("span", { class: "svc-chip", style: { background: serviceColour(s.service) } }), s.service),
        h("h2", { id: "details-name" }, s.name)),
      h("button", { type: "button", class: "close", "aria-label": "Close details", onclick: onClose }, "×")),
    s.error ? h("div", { class: "status-error", id: "details-error", role: "note" },
      h("strong", {}, "Error"), s.statusMessage ? `: ${s.statusMessage}` : "") : null,
    table("Span", "span-fields", [
      ["Duration", duration(s.end - s.start)],
      ["Start", `${timestamp(s.startNs.toString())} (+${duration(s.start)})`],
      ["Kind", kind(s.kind)],
      ["Status", s.statusCode.replace("STATUS_CODE_", "").toLowerCase()],
      ["Span ID", s.id],
      ["Parent ID", s.parentId ? `${s.parentId}${parent ? "" : " (not in this trace)"}` : "none (root)"],
      ["Scope", [s.scope.name, s.scope.version].filter(Boolean).join(" ") || "–"],
    ]),
    table("Attributes", "span-attributes", attributes(s.attributes)),
    table("Resource", "resource-attributes", attributes(s.resource)),
    section("Events", s.events.length, s.events.map((e) => h("div", { class: "event" },
      h("div", { class: "event-head" }, h("span", { class: "event-name" }, e.name || "(unnamed)"),
        h("span", { class: "muted" }, ` +${duration(Number(BigInt(e.timeUnixNano || "0") - s.startNs))}`)),
      kvTable(attributes(e.attributes))))),
    section("Links", s.links.length, s.links.map((l) => {
      const tid = b64hex(l.traceId);
      const sid = b64hex(l.spanId);
      const local = model.byId.get(sid);
      return h("div", { class: "link" },
        h("a", { href: local ? `#/trace/${location.hash.split("/")[2].split("?")[0]}?span=${sid}` : `#/trace/${tid}?span=${sid}` },
          local ? `${local.service}: ${local.name}` : `trace ${tid.slice(0, 16)}… span ${sid}`),
        kvTable(attributes(l.attributes)));
    })));
}

function section(title, n, body) {
  return h("section", { class: "details-section" }, h("h3", {}, title, h("span", { class: "count" }, String(n))),
    n ? body : h("div", { class: "muted small" }, `No ${title.toLowerCase()}`));
}

function table(title, id, rows) {
  return h("section", { class: "details-section", id }, h("h3", {}, title, h("span", { class: "count" }, String(rows.length))),
    rows.length ? kvTable(rows) : h("div", { class: "muted small" }, "None"));
}

function kvTable(rows) {
  if (!rows.length) return null;
  return h("table", { class: "kv" }, h("tbody", {}, rows.map(([k, v]) =>
    h("tr", { dataset: { key: k } }, h("th", {}, k), h("td", {}, v)))));
}
