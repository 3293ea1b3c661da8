//! The service-graphs processor: requests between services, from pairs of spans (Tempo's
//! `traces_service_graph_*`, contract §4.7).
//!
//! **Pairing.** A call is an edge keyed by (trace ID, the client span's ID): a CLIENT or
//! PRODUCER span fills the client side under its own span ID, a SERVER or CONSUMER span the
//! server side under its parent span ID (a server span without parent — a root — under a key of
//! its own). When both sides are known the edge is complete and counted under labels `client`,
//! `server` (the resources' `service.name`) and `connection_type`: `""`, `messaging_system`
//! (a PRODUCER or CONSUMER side, whichever came last) or `database`. Spans of resources without
//! `service.name`, and INTERNAL/unspecified spans, are ignored.
//!
//! * A client span with one of `database_name_attributes` is a database call, complete at
//!   once: `connection_type="database"`, server named by `peer.service`, `server.address`,
//!   `network.peer.address[:network.peer.port]`, else that attribute's value; its duration is
//!   both the client and the server latency.
//! * An edge waits `wait` for its other side (expiry on the injected clock, checked by
//!   [`EdgeStore::expire`]). On expiry it becomes a **virtual node** edge
//!   (`connection_type="virtual_node"`): a root server span is called by its `peer_attributes`
//!   value or `user`; a client span with a `peer_attributes` value calls that name. Anything
//!   else is counted as expired.
//! * At most `max_items` edges wait per tenant; a span that would open another is dropped and
//!   counted.
//!
//! Per complete edge: `traces_service_graph_request_total` += 1,
//! `traces_service_graph_request_failed_total` += 1 if either side has status ERROR (the
//! series exists, at 0, for edges that never failed), and the server's and client's durations
//! in `traces_service_graph_request_server_seconds` / `_client_seconds`, with the trace ID as
//! exemplar.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use strata_config::ServiceGraphsConfig;
use strata_proto::otlp::common::KeyValue;
use strata_proto::otlp::trace::{span::SpanKind, status::StatusCode, Span};
use strata_proto::roles::TraceSpans;
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use crate::labels::{find_attribute, write_any_value, KeyBuf};
use crate::registry::{Exemplar, GroupSpec, InstrumentSpec, Lookup, TenantRegistry};

pub const REQUEST_TOTAL: &str = "traces_service_graph_request_total";
pub const REQUEST_FAILED_TOTAL: &str = "traces_service_graph_request_failed_total";
pub const REQUEST_SERVER_SECONDS: &str = "traces_service_graph_request_server_seconds";
pub const REQUEST_CLIENT_SECONDS: &str = "traces_service_graph_request_client_seconds";

const TOTAL: usize = 0;
const FAILED: usize = 1;
const SERVER_SECONDS: usize = 2;
const CLIENT_SECONDS: usize = 3;

/// `connection_type` values.
pub const MESSAGING_SYSTEM: &str = "messaging_system";
pub const DATABASE: &str = "database";
pub const VIRTUAL_NODE: &str = "virtual_node";

/// (trace ID, span ID of the client side, root server span without a parent).
type EdgeKey = ([u8; 16], [u8; 8], bool);

/// One call, while one side is still missing.
#[derive(Debug, Default, Clone)]
struct Edge {
    trace_id: [u8; 16],
    client: String,
    server: String,
    connection_type: &'static str,
    client_secs: f64,
    server_secs: f64,
    failed: bool,
    peer: String,
    root: bool,
    expires_ms: u64,
}

/// What one call did, for the generator's counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EdgeCounts {
    /// Edges opened (waiting for their other side or complete at once).
    pub new_edges: u64,
    /// Spans dropped because `max_items` edges were waiting.
    pub dropped_spans: u64,
    /// Edges expired without a pair and without a virtual node.
    pub expired: u64,
    /// Series refused by the tenant's series limit.
    pub series_limited: u64,
}

/// A tenant's waiting edges.
#[derive(Debug, Default)]
pub struct EdgeStore {
    edges: HashMap<EdgeKey, Edge, Xxh3DefaultBuilder>,
    /// Keys in order of expiry (every edge gets the same wait); entries of edges completed in
    /// the meantime are skipped.
    pub(crate) order: VecDeque<(u64, EdgeKey)>,
}

impl EdgeStore {
    /// Edges waiting for their other side.
    pub fn len(&self) -> usize {
        self.edges.len()
    }

    pub fn is_empty(&self) -> bool {
        self.edges.is_empty()
    }

    /// Drops the expiry entries of edges completed since, once they outnumber the bound: the
    /// queue then stays within twice `max_items` however many edges complete within a wait.
    fn compact(&mut self, max_items: usize) {
        if self.order.len() > 2 * max_items.max(self.edges.len()) {
            let edges = &self.edges;
            self.order
                .retain(|(at, k)| edges.get(k).is_some_and(|e| e.expires_ms == *at));
        }
    }
}

/// The processor, built once from the configuration.
#[derive(Debug, Clone)]
pub struct ServiceGraphs {
    cfg: ServiceGraphsConfig,
    buckets: Arc<[f64]>,
    spec: Arc<GroupSpec>,
}

fn is_client(kind: i32) -> bool {
    kind == SpanKind::Client as i32 || kind == SpanKind::Producer as i32
}

fn is_server(kind: i32) -> bool {
    kind == SpanKind::Server as i32 || kind == SpanKind::Consumer as i32
}

fn secs(span: &Span) -> f64 {
    if span.end_time_unix_nano > span.start_time_unix_nano {
        (span.end_time_unix_nano - span.start_time_unix_nano) as f64 / 1e9
    } else {
        0.0
    }
}

fn failed(span: &Span) -> bool {
    span.status
        .as_ref()
        .is_some_and(|s| s.code == StatusCode::Error as i32)
}

fn stringify(out: &mut String, key: &str, lists: &[&[KeyValue]]) -> bool {
    match find_attribute(key, lists) {
        Some(v) => {
            out.clear();
            write_any_value(out, v);
            true
        }
        None => false,
    }
}

impl ServiceGraphs {
    pub fn new(cfg: &ServiceGraphsConfig) -> Self {
        let buckets: Arc<[f64]> = Arc::from(cfg.histogram_buckets.clone());
        let spec = Arc::new(GroupSpec {
            label_names: vec!["client".into(), "server".into(), "connection_type".into()],
            instruments: vec![
                InstrumentSpec::Counter {
                    name: REQUEST_TOTAL.into(),
                    help: "Requests between two nodes".into(),
                },
                InstrumentSpec::Counter {
                    name: REQUEST_FAILED_TOTAL.into(),
                    help: "Failed requests between two nodes".into(),
                },
                InstrumentSpec::Histogram {
                    name: REQUEST_SERVER_SECONDS.into(),
                    help: "Request durations as seen by the server, seconds".into(),
                    buckets: buckets.clone(),
                },
                InstrumentSpec::Histogram {
                    name: REQUEST_CLIENT_SECONDS.into(),
                    help: "Request durations as seen by the client, seconds".into(),
                    buckets: buckets.clone(),
                },
            ],
        });
        Self {
            cfg: cfg.clone(),
            buckets,
            spec,
        }
    }

    pub fn spec(&self) -> &Arc<GroupSpec> {
        &self.spec
    }

    /// Pairs the client and server spans of `traces` with the waiting edges of `store`,
    /// counting complete edges into group `g` of `reg`.
    #[allow(clippy::too_many_arguments)]
    pub fn process(
        &self,
        store: &mut EdgeStore,
        reg: &mut TenantRegistry,
        g: usize,
        traces: &[TraceSpans],
        now_ms: u64,
        max_active: u64,
        key: &mut KeyBuf,
    ) -> EdgeCounts {
        let mut out = EdgeCounts::default();
        let mut service = String::new();
        let mut scratch = String::new();
        for t in traces {
            for rs in &t.trace.resource_spans {
                let res: &[KeyValue] = rs.resource.as_ref().map_or(&[], |r| &r.attributes);
                if !stringify(&mut service, "service.name", &[res]) {
                    continue;
                }
                for span in rs.scope_spans.iter().flat_map(|ss| &ss.spans) {
                    let client = is_client(span.kind);
                    if !client && !is_server(span.kind) {
                        continue;
                    }
                    let Ok(trace_id) = <[u8; 16]>::try_from(span.trace_id.as_slice()) else {
                        continue;
                    };
                    let side_id = if client {
                        &span.span_id
                    } else {
                        &span.parent_span_id
                    };
                    let root = !client && side_id.is_empty();
                    let span_id = <[u8; 8]>::try_from(side_id.as_slice()).unwrap_or([0; 8]);
                    let k: EdgeKey = (trace_id, span_id, root);
                    let messaging = span.kind == SpanKind::Producer as i32
                        || span.kind == SpanKind::Consumer as i32;
                    let existing = store.edges.remove(&k);
                    let is_new = existing.is_none();
                    let mut e = existing.unwrap_or_else(|| Edge {
                        trace_id,
                        root,
                        expires_ms: now_ms + self.cfg.wait.as_millis() as u64,
                        ..Edge::default()
                    });
                    e.connection_type = if messaging { MESSAGING_SYSTEM } else { "" };
                    e.failed |= failed(span);
                    let span_attrs: &[KeyValue] = &span.attributes;
                    for p in &self.cfg.peer_attributes {
                        if stringify(&mut scratch, p, &[span_attrs]) {
                            e.peer.clone_from(&scratch);
                            break;
                        }
                    }
                    if client {
                        e.client.clone_from(&service);
                        e.client_secs = secs(span);
                        self.database(&mut e, res, span, &mut scratch);
                    } else {
                        e.server.clone_from(&service);
                        e.server_secs = secs(span);
                    }
                    if is_new {
                        out.new_edges += 1;
                    }
                    if !e.client.is_empty() && !e.server.is_empty() {
                        out.series_limited += self.complete(reg, g, &e, now_ms, max_active, key);
                    } else if is_new && store.edges.len() >= self.cfg.max_items {
                        out.new_edges -= 1;
                        out.dropped_spans += 1;
                    } else {
                        if is_new {
                            store.order.push_back((e.expires_ms, k));
                        }
                        store.edges.insert(k, e);
                        store.compact(self.cfg.max_items);
                    }
                }
            }
        }
        out
    }

    /// A client span carrying a database attribute: the server is the database, now.
    fn database(&self, e: &mut Edge, res: &[KeyValue], span: &Span, scratch: &mut String) {
        let lists: [&[KeyValue]; 2] = [res, &span.attributes];
        let mut db_name = String::new();
        if !self
            .cfg
            .database_name_attributes
            .iter()
            .any(|a| stringify(&mut db_name, a, &lists))
        {
            return;
        }
        e.connection_type = DATABASE;
        e.server_secs = secs(span);
        if stringify(scratch, "peer.service", &lists)
            || stringify(scratch, "server.address", &lists)
        {
            e.server.clone_from(scratch);
        } else if stringify(scratch, "network.peer.address", &lists) {
            let host = std::mem::take(scratch);
            e.server = if stringify(scratch, "network.peer.port", &lists) {
                format!("{host}:{scratch}")
            } else {
                host
            };
        } else if !db_name.is_empty() {
            e.server = db_name;
        }
    }

    /// Counts a complete edge; returns series refused by the limit.
    fn complete(
        &self,
        reg: &mut TenantRegistry,
        g: usize,
        e: &Edge,
        now_ms: u64,
        max_active: u64,
        key: &mut KeyBuf,
    ) -> u64 {
        key.clear();
        key.push(&e.client);
        key.push(&e.server);
        key.push(e.connection_type);
        match reg.series(g, key.as_bytes(), now_ms, max_active) {
            Lookup::Series(s) => {
                s.inc(TOTAL, 1.0);
                s.inc(FAILED, if e.failed { 1.0 } else { 0.0 });
                let ex = |value| {
                    Some(Exemplar {
                        trace_id: e.trace_id,
                        span_id: [0; 8],
                        value,
                        unix_ms: now_ms,
                    })
                };
                s.observe(
                    SERVER_SECONDS,
                    &self.buckets,
                    e.server_secs,
                    ex(e.server_secs),
                );
                s.observe(
                    CLIENT_SECONDS,
                    &self.buckets,
                    e.client_secs,
                    ex(e.client_secs),
                );
                0
            }
            Lookup::Refused(n) => n,
        }
    }

    /// Expires edges whose wait is over at `now_ms`: virtual-node edges where the waiting side
    /// names its peer (or is a root server span), counted as expired otherwise.
    pub fn expire(
        &self,
        store: &mut EdgeStore,
        reg: &mut TenantRegistry,
        g: usize,
        now_ms: u64,
        max_active: u64,
    ) -> EdgeCounts {
        let mut out = EdgeCounts::default();
        let mut key = KeyBuf::default();
        while let Some(&(at, k)) = store.order.front() {
            if at > now_ms {
                break;
            }
            store.order.pop_front();
            let Some(mut e) = store.edges.remove(&k) else {
                continue;
            };
            if e.expires_ms > now_ms {
                // A newer edge under a key completed earlier; its own entry comes later.
                store.edges.insert(k, e);
                continue;
            }
            e.connection_type = VIRTUAL_NODE;
            let counted = if e.client.is_empty() {
                if e.root {
                    e.client = if e.peer.is_empty() {
                        "user".into()
                    } else {
                        std::mem::take(&mut e.peer)
                    };
                    true
                } else {
                    false
                }
            } else if e.server.is_empty() && !e.peer.is_empty() {
                e.server = std::mem::take(&mut e.peer);
                true
            } else {
                false
            };
            if counted {
                out.series_limited += self.complete(reg, g, &e, now_ms, max_active, &mut key);
            } else {
                out.expired += 1;
            }
        }
        out
    }
}
