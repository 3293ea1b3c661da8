// Formatting of durations, times, IDs, attribute values and service colours.

/** Nanoseconds (number or BigInt-safe string) as a short duration: 1.2s, 35.4ms, 800µs. */
export function duration(ns) {
  const n = Number(ns);
  if (!Number.isFinite(n)) return "–";
  if (n >= 3.6e12) return `${(n / 3.6e12).toFixed(1)}h`;
  if (n >= 6e10) return `${(n / 6e10).toFixed(1)}m`;
  if (n >= 1e9) return `${trim(n / 1e9)}s`;
  if (n >= 1e6) return `${trim(n / 1e6)}ms`;
  if (n >= 1e3) return `${trim(n / 1e3)}µs`;
  return `${n}ns`;
}

function trim(v) {
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** Unix nanoseconds (string) as a local date-time with milliseconds. */
export function timestamp(unixNano) {
  const ms = Number(BigInt(unixNano || "0") / 1000000n);
  const d = new Date(ms);
  const pad = (v, n = 2) => String(v).padStart(n, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** How long ago a unix-nanosecond time was, e.g. "3 min ago". */
export function ago(unixNano, nowMs = Date.now()) {
  const s = Math.round((nowMs - Number(BigInt(unixNano || "0") / 1000000n)) / 1000);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** A base64 ID (the trace JSON's encoding) as lowercase hex; "" for none. */
export function b64hex(b64) {
  if (!b64) return "";
  const bin = atob(b64);
  let out = "";
  for (let i = 0; i < bin.length; i++) out += bin.charCodeAt(i).toString(16).padStart(2, "0");
  return out;
}

/** An OTLP JSON AnyValue as display text. */
export function anyValue(v) {
  if (!v) return "";
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return String(v.intValue);
  if ("doubleValue" in v) return String(v.doubleValue);
  if ("boolValue" in v) return String(v.boolValue);
  if ("bytesValue" in v) return `0x${b64hex(v.bytesValue)}`;
  if ("arrayValue" in v) return `[${(v.arrayValue.values || []).map(anyValue).join(", ")}]`;
  if ("kvlistValue" in v) {
    return `{${(v.kvlistValue.values || []).map((kv) => `${kv.key}: ${anyValue(kv.value)}`).join(", ")}}`;
  }
  return "";
}

/** Attributes `[{key, value}]` as `[key, text]`, sorted by key. */
export function attributes(list) {
  return (list || []).map((kv) => [kv.key, anyValue(kv.value)]).sort((a, b) => a[0].localeCompare(b[0]));
}

// Service colours: a name's hash picks a palette entry, so a service keeps its colour on every
// page and across reloads.
export const PALETTE = [
  "#4e79a7", "#59a14f", "#f28e2b", "#b07aa1", "#76b7b2", "#edc948",
  "#7d6bd6", "#3f8fd2", "#86bcb6", "#d37295", "#499894", "#8cd17d",
];

/** The colour of a service name. */
export function serviceColour(name) {
  let hash = 0;
  for (let i = 0; i < name.length; i++) hash = (hash * 31 + name.charCodeAt(i)) | 0;
  return PALETTE[Math.abs(hash) % PALETTE.length];
}

/** A span kind enum name ("SPAN_KIND_SERVER") as a short word ("server"). */
export function kind(k) {
  return (k || "SPAN_KIND_UNSPECIFIED").replace("SPAN_KIND_", "").toLowerCase();
}
