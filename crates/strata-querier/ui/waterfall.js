// The span waterfall: one row per span in tree order, a bar per span placed on the trace's
// time axis, coloured by service, errors marked. Rows are virtualised: only those inside the
// scrolled viewport (plus a few either side) exist in the DOM, so a trace of 10,000+ spans
// scrolls as smoothly as one of ten. Subtrees collapse and expand from their row's toggle.

import { h, replace } from "./dom.js";
import { anyValue, duration, serviceColour } from "./format.js";

const ROW = 28; // px per row; CSS .span-row has the same height
const OVERSCAN = 10; // rows rendered beyond each edge of the viewport

export class Waterfall {
  constructor(host, model, { onSelect, onMatches }) {
    this.model = model;
    this.onSelect = onSelect;
    this.onMatches = onMatches;
    this.collapsed = new Set();
    this.selected = null;
    this.matches = [];
    this.matchSet = new Set();
    this.matchAt = 0;
    this.scroller = h("div", { class: "wf-scroll", id: "waterfall", tabindex: "0" });
    this.canvas = h("div", { class: "wf-canvas" });
    this.scroller.append(this.canvas);
    replace(host, this.axis(), this.scroller);
    this.frame = 0;
    this.onScroll = () => {
      if (!this.frame) this.frame = requestAnimationFrame(() => { this.frame = 0; this.paint(); });
    };
    this.scroller.addEventListener("scroll", this.onScroll, { passive: true });
    this.onResize = () => this.paint();
    window.addEventListener("resize", this.onResize);
    this.layout();
  }

  dispose() {
    window.removeEventListener("resize", this.onResize);
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  /** The time axis above the rows: the name column's title and five ticks. */
  axis() {
    const d = this.model.duration;
    return h("div", { class: "wf-axis" },
      h("div", { class: "wf-name-col" }, "Service & operation"),
      h("div", { class: "wf-time-col" }, [0, 0.25, 0.5, 0.75, 1].map((f) => h("span", {
        class: "tick", style: { left: `${f * 100}%` } }, duration(d * f)))));
  }

  /** Recomputes the visible rows (collapsed subtrees skipped) and repaints. */
  layout() {
    const rows = [];
    const spans = this.model.spans;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      rows.push(s);
      if (this.collapsed.has(s)) {
        const d = s.depth;
        while (i + 1 < spans.length && spans[i + 1].depth > d) i++;
      }
    }
    this.rows = rows;
    this.canvas.style.height = `${rows.length * ROW}px`;
    this.paint();
  }

  /** Renders the rows inside the viewport only. */
  paint() {
    const top = this.scroller.scrollTop;
    // Never more than a window's worth, even if the scroller were stretched to its content.
    const height = Math.min(this.scroller.clientHeight || 600, window.innerHeight);
    const first = Math.max(0, Math.floor(top / ROW) - OVERSCAN);
    const last = Math.min(this.rows.length, Math.ceil((top + height) / ROW) + OVERSCAN);
    const out = [];
    for (let i = first; i < last; i++) out.push(this.row(this.rows[i], i));
    replace(this.canvas, out);
  }

  row(s, i) {
    const total = Math.max(this.model.duration, 1);
    const left = (s.start / total) * 100;
    const width = Math.max(((s.end - s.start) / total) * 100, 0.2);
    const colour = serviceColour(s.service);
    const hasKids = s.children.length > 0;
    const cls = ["span-row"];
    if (s.error) cls.push("error");
    if (s === this.selected) cls.push("selected");
    if (this.matchSet.has(s)) cls.push("match");
    const label = `${duration(s.end - s.start)}`;
    const labelLeft = left + width < 85;
    return h("div", {
      class: cls.join(" "), role: "row", style: { top: `${i * ROW}px` },
      dataset: { spanId: s.id, name: s.name, service: s.service },
      onclick: () => this.select(s === this.selected ? null : s),
    },
    h("div", { class: "wf-name-col", style: { paddingLeft: `${8 + s.depth * 14}px` } },
      hasKids
        ? h("button", { class: "toggle", type: "button", "aria-label": this.collapsed.has(s) ? "Expand" : "Collapse",
          onclick: (e) => { e.stopPropagation(); this.toggle(s); } }, this.collapsed.has(s) ? "▸" : "▾")
        : h("span", { class: "toggle-space" }),
      h("span", { class: "svc-chip", style: { background: colour } }),
      h("span", { class: "svc-name" }, s.service),
      h("span", { class: "span-name" }, s.name),
      s.error ? h("span", { class: "err-badge", title: s.statusMessage || "error" }, "!") : null,
      hasKids && this.collapsed.has(s) ? h("span", { class: "muted" }, ` (${this.countBelow(s)})`) : null),
    h("div", { class: "wf-time-col" },
      h("div", { class: "bar", style: { left: `${left}%`, width: `${width}%`, background: s.error ? "var(--error)" : colour } }),
      h("span", { class: "bar-label", style: labelLeft ? { left: `calc(${left + width}% + 6px)` } : { right: `calc(${100 - left}% + 6px)` } }, label)));
  }

  /** Spans under `s` (those after it in tree order, deeper than it). */
  countBelow(s) {
    const spans = this.model.spans;
    let i = spans.indexOf(s) + 1;
    const start = i;
    while (i < spans.length && spans[i].depth > s.depth) i++;
    return i - start;
  }

  toggle(s) {
    if (this.collapsed.has(s)) this.collapsed.delete(s); else this.collapsed.add(s);
    this.layout();
  }

  /** Selects a span (null: none), expanding its ancestors and scrolling it into view. */
  select(s, scroll = false) {
    this.selected = s;
    if (s) {
      for (let p = s.parent; p; p = p.parent) this.collapsed.delete(p);
      this.layout();
      if (scroll) this.reveal(s);
    } else {
      this.paint();
    }
    this.onSelect(s);
  }

  reveal(s) {
    const i = this.rows.indexOf(s);
    if (i < 0) return;
    const top = i * ROW;
    const height = this.scroller.clientHeight;
    if (top < this.scroller.scrollTop || top + ROW > this.scroller.scrollTop + height) {
      this.scroller.scrollTop = Math.max(0, top - height / 3);
    }
    this.paint();
  }

  /** Marks spans whose name, service, ID or attributes contain `text` (case-insensitive). */
  find(text) {
    const q = text.trim().toLowerCase();
    this.matches = q ? this.model.spans.filter((s) => searchText(s).includes(q)) : [];
    this.matchSet = new Set(this.matches);
    this.matchAt = 0;
    if (this.matches.length) this.select(this.matches[0], true); else this.paint();
    this.reportMatches();
  }

  reportMatches() {
    this.onMatches(this.matches.length, this.matchAt, (step) => {
      if (!this.matches.length) return;
      this.matchAt = (this.matchAt + step + this.matches.length) % this.matches.length;
      this.select(this.matches[this.matchAt], true);
      this.reportMatches();
    });
  }
}

function searchText(s) {
  if (s.text === undefined) {
    const parts = [s.name, s.service, s.id, s.statusMessage];
    for (const a of s.attributes) parts.push(a.key, anyValue(a.value));
    s.text = parts.join("\u0000").toLowerCase();
  }
  return s.text;
}
