// Entry point: the org-ID picker and the hash router.
//
// Routes (location.hash):
//   #/search?q=…&range=…&limit=…   search form and results (the default)
//   #/trace/<hex id>?span=<hex>      one trace as a waterfall, optionally a span selected
//   #/graph                          service graph from the metrics-generator's series
//   #/metrics?q=…&range=…            TraceQL metrics chart
// Every view is rendered into <main id="view"> by its module's `render(view, params)`.

import { orgId, setOrgId } from "./api.js";
import { renderSearch } from "./search.js";
import { renderTrace } from "./trace.js";
import { renderGraph } from "./graph.js";
import { renderMetrics } from "./chart.js";

const view = document.getElementById("view");

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  return { parts: path.split("/").filter(Boolean), params: new URLSearchParams(query) };
}

let current = null;

function route() {
  const { parts, params } = parseHash();
  const tab = parts[0] || "search";
  for (const a of document.querySelectorAll("#tabs a")) {
    a.classList.toggle("active", a.dataset.tab === tab || (tab === "trace" && a.dataset.tab === "search"));
  }
  if (current && current.dispose) current.dispose();
  current = null;
  if (tab === "trace" && parts[1]) current = renderTrace(view, parts[1], params);
  else if (tab === "graph") current = renderGraph(view);
  else if (tab === "metrics") current = renderMetrics(view, params);
  else current = renderSearch(view, params);
}

const form = document.getElementById("tenant-form");
const input = document.getElementById("org-id");
input.value = orgId();
form.addEventListener("submit", (e) => {
  e.preventDefault();
  setOrgId(input.value.trim());
  input.value = orgId();
  document.body.dataset.org = orgId();
  route();
});
document.body.dataset.org = orgId();

window.addEventListener("hashchange", route);
route();
