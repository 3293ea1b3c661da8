// TraceQL autocomplete for one <input>: tag names inside `{ }` (from /api/v2/search/tags) and
// a tag's values after a comparison (from /api/v2/search/tag/{tag}/values), as a listbox under
// the input. Keys: ↑/↓ move, Enter/Tab accept, Escape closes.

import { h, replace } from "./dom.js";
import { tagNames, tagValues } from "./api.js";

const OPERATORS = /(!=|=~|!~|>=|<=|=|>|<)\s*"?$/;
const WORD = /[\w.:"\-/]*$/;

/**
 * What to complete at `caret` of `text`: `{kind: "tag", prefix, from}`,
 * `{kind: "value", tag, prefix, from}` or null. Exported for reuse and reasoning; pure.
 */
export function context(text, caret) {
  const before = text.slice(0, caret);
  const open = (before.match(/{/g) || []).length - (before.match(/}/g) || []).length;
  if (open <= 0) return null;
  const word = before.match(WORD)[0];
  const from = caret - word.length;
  const head = before.slice(0, from);
  const op = head.match(/([\w.:\-/]+)\s*(!=|=~|!~|>=|<=|=|>|<)\s*$/);
  if (op) return { kind: "value", tag: op[1], prefix: word.replace(/^"/, ""), from };
  if (OPERATORS.test(head)) return null;
  return { kind: "tag", prefix: word, from };
}

/** Tag names as TraceQL wants them: intrinsics bare, others with their scope. */
function scopedNames(resp) {
  const out = new Set();
  for (const s of resp.scopes || []) {
    for (const t of s.tags || []) out.add(s.name === "intrinsic" ? t : `${s.name}.${t}`);
  }
  return [...out].sort();
}

export function attachAutocomplete(input, getRange) {
  const list = h("ul", { class: "suggestions", role: "listbox", id: "suggestions", hidden: true });
  input.setAttribute("aria-controls", "suggestions");
  input.setAttribute("aria-autocomplete", "list");
  input.after(list);
  let items = [];
  let active = 0;
  let ctx = null;
  let names = null;
  const values = new Map();
  let seq = 0;

  const close = () => { list.hidden = true; items = []; };

  async function suggestions(c) {
    const [start, end] = getRange();
    if (c.kind === "tag") {
      names = names || scopedNames(await tagNames(start, end));
      return names.map((n) => ({ label: n, insert: `${n} ` }));
    }
    const key = c.tag;
    if (!values.has(key)) values.set(key, tagValues(key, undefined, start, end).catch(() => ({})));
    const resp = await values.get(key);
    return (resp.tagValues || []).map((v) => ({
      label: v.value,
      detail: v.type,
      insert: v.type === "string" ? `"${v.value}" ` : `${v.value} `,
    }));
  }

  function show() {
    replace(list, items.map((it, i) => h("li", {
      role: "option",
      class: i === active ? "active" : null,
      "aria-selected": i === active ? "true" : "false",
      onmousedown: (e) => { e.preventDefault(); accept(i); },
    }, h("span", { class: "label" }, it.label), it.detail ? h("span", { class: "detail" }, it.detail) : null)));
    list.hidden = items.length === 0;
    const el = list.children[active];
    if (el) el.scrollIntoView({ block: "nearest" });
  }

  function accept(i) {
    const it = items[i];
    if (!it || !ctx) return;
    const text = input.value;
    const caret = input.selectionStart;
    const rest = text.slice(caret).replace(/^[\w.:"\-/]*/, "");
    input.value = text.slice(0, ctx.from) + it.insert + rest.replace(/^ /, "");
    const pos = ctx.from + it.insert.length;
    input.setSelectionRange(pos, pos);
    close();
    input.dispatchEvent(new Event("input"));
  }

  async function update() {
    const my = ++seq;
    ctx = context(input.value, input.selectionStart);
    if (!ctx) return close();
    let all;
    try {
      all = await suggestions(ctx);
    } catch {
      return close();
    }
    if (my !== seq) return;
    const p = ctx.prefix.toLowerCase();
    items = all.filter((it) => it.label.toLowerCase().includes(p) && it.label !== ctx.prefix)
      .sort((a, b) => a.label.toLowerCase().startsWith(p) === b.label.toLowerCase().startsWith(p) ? 0 : a.label.toLowerCase().startsWith(p) ? -1 : 1)
      .slice(0, 50);
    active = 0;
    show();
  }

  input.addEventListener("input", update);
  input.addEventListener("focus", update);
  input.addEventListener("click", update);
  input.addEventListener("blur", () => setTimeout(close, 100));
  input.addEventListener("keydown", (e) => {
    if (list.hidden) return;
    if (e.key === "ArrowDown") { active = (active + 1) % items.length; show(); e.preventDefault(); }
    else if (e.key === "ArrowUp") { active = (active + items.length - 1) % items.length; show(); e.preventDefault(); }
    else if (e.key === "Enter" || e.key === "Tab") { accept(active); e.preventDefault(); e.stopPropagation(); }
    else if (e.key === "Escape") { close(); }
  });
  return { reset() { names = null; values.clear(); close(); } };
}
