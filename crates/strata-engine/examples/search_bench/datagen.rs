//! The benchmark's data set: deterministic synthetic traces of a small web shop, written as
//! ordinary blocks with [`BlockWriter`].
//!
//! Ten services ([`crate::shop`]: `frontend`, `checkout`, `cart`, …) each run in one of four pods; a trace is
//! one request entering through `frontend` (80 %) or another public service, and grows to
//! 5–30 spans by attaching, under a random server/internal/consumer span, either an HTTP call
//! to a downstream service (client span + the callee's server span), a database query
//! (PostgreSQL, Redis or MongoDB client span with `db.system` and `db.statement`), a Kafka
//! publish from `checkout` (producer span + a `notification` consumer span), or an internal
//! span. Durations are log-normal per kind (roots: median 40 ms), clamped to 50 µs – 5 s;
//! about 2 % of spans fail (HTTP 5xx or a database error, with an `exception` event); trace
//! starts are spread uniformly over one hour; each trace runs in `prod` (85 %) or `staging`.
//!
//! Everything is derived from a fixed seed: block `b` draws its traces (ID, span count and a
//! per-trace seed) from `StdRng::seed_from_u64(SEED ^ f(b))`, so the same span count always
//! gives the same spans, whatever the number of generator threads.

use std::path::Path;
use std::sync::Arc;

use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use strata_block::{BlockMeta, BlockWriter, WriterOptions};
use strata_common::{BlockId, SharedClock, SystemClock, TenantId, TraceId};
use strata_proto::otlp::common::KeyValue;
use strata_proto::otlp::trace::{span::Event, ResourceSpans, Span, Status};

use crate::shop::{i, resource_spans, s, CHECKOUT, FRONTEND, NOTIFICATION, POD_SUFFIXES, SERVICES};
use crate::BoxError;

/// Bump when the generated data changes, so `--reuse` regenerates.
pub const GEN_VERSION: u32 = 1;
/// Spans per block (the last blocks may hold one fewer).
pub const BLOCK_SPANS: u64 = 1_000_000;
const SEED: u64 = 0x5EA2_C4BE_2026_0001;
/// 2026-01-01T00:00:00Z; traces start within the following hour.
const BASE_NS: u64 = 1_767_225_600_000_000_000;
const WINDOW_NS: u64 = 3_600_000_000_000;
const MIN_DUR_NS: u64 = 50_000;
const MAX_DUR_NS: u64 = 5_000_000_000;
const MS: f64 = 1e6;

const SERVER: i32 = 2;
const CLIENT: i32 = 3;
const PRODUCER: i32 = 4;
const CONSUMER: i32 = 5;
const INTERNAL: i32 = 1;
const STATUS_ERROR: i32 = 2;

/// The block format written: `SEARCH_BENCH_FORMAT` if set, else `strata-parquet-v4` (what
/// ingesters and compactors write by default).
pub fn format() -> String {
    std::env::var("SEARCH_BENCH_FORMAT").unwrap_or_else(|_| strata_block::FORMAT_V4.to_string())
}

/// Writes `spans` spans as blocks of about [`BLOCK_SPANS`] under `dir` (as a local object
/// store), on `threads` threads; returns the blocks' metas in block order.
pub fn generate(dir: &Path, spans: u64, threads: usize) -> Result<Vec<BlockMeta>, BoxError> {
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(dir)?);
    let blocks = spans.div_ceil(BLOCK_SPANS).max(1);
    let threads = threads.clamp(1, blocks as usize);
    let results: Vec<Result<Vec<(u64, BlockMeta)>, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let store = store.clone();
                s.spawn(move || -> Result<Vec<(u64, BlockMeta)>, String> {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?;
                    let mut out = Vec::new();
                    for b in (t as u64..blocks).step_by(threads) {
                        let n = spans / blocks + u64::from(b < spans % blocks);
                        let meta = rt
                            .block_on(write_block(store.clone(), b, n))
                            .map_err(|e| format!("block {b}: {e}"))?;
                        eprintln!(
                            "  block {b}: {} spans, {} traces",
                            meta.total_spans, meta.total_traces
                        );
                        out.push((b, meta));
                    }
                    Ok(out)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("generator thread panicked".into()))
            })
            .collect()
    });
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    all.sort_by_key(|(b, _)| *b);
    Ok(all.into_iter().map(|(_, m)| m).collect())
}

async fn write_block(
    store: Arc<dyn ObjectStore>,
    b: u64,
    spans: u64,
) -> Result<BlockMeta, BoxError> {
    let mut rng = StdRng::seed_from_u64(SEED ^ (b + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut traces = Vec::new();
    let mut left = spans;
    while left > 0 {
        let n = rng.random_range(5..=30u64).min(left);
        let mut id = [0u8; 16];
        rng.fill(&mut id);
        traces.push((TraceId(id), n as usize, rng.random::<u64>()));
        left -= n;
    }
    traces.sort_by_key(|t| t.0);
    let opts = WriterOptions {
        expected_traces: traces.len(),
        ..WriterOptions::default()
    };
    let id: BlockId = format!("5ea2c4be-0000-4000-8000-{b:012x}").parse()?;
    let clock: SharedClock = Arc::new(SystemClock);
    let mut w =
        BlockWriter::new_with_format(store, TenantId::single(), id, opts, clock, &format())?;
    for (tid, n, seed) in &traces {
        w.add_trace(*tid, &build_trace(*tid, *n, *seed)).await?;
    }
    Ok(w.finish().await?)
}

/// One trace being grown: spans with the index of their service.
struct TraceGen {
    rng: StdRng,
    trace_id: [u8; 16],
    spans: Vec<(usize, Span)>,
    /// Spans that may get children (server, internal and consumer spans).
    open: Vec<usize>,
}

/// Builds one trace of `n` spans (at least the root), grouped by service.
pub fn build_trace(id: TraceId, n: usize, seed: u64) -> Vec<ResourceSpans> {
    let mut g = TraceGen {
        rng: StdRng::seed_from_u64(seed),
        trace_id: id.0,
        spans: Vec::with_capacity(n),
        open: Vec::new(),
    };
    let entry = if g.rng.random_bool(0.8) {
        FRONTEND
    } else {
        [1, 3, 6, 9][g.rng.random_range(0..4)]
    };
    let start = BASE_NS + g.rng.random_range(0..WINDOW_NS);
    let dur = g.lognormal(40.0 * MS, 1.3);
    g.server(None, entry, start, dur);
    while g.spans.len() < n {
        let two = n - g.spans.len() >= 2;
        let parent = g.open[g.rng.random_range(0..g.open.len())];
        let svc = &SERVICES[g.spans[parent].0];
        let roll = g.rng.random_range(0..100);
        if two && g.spans[parent].0 == CHECKOUT && roll < 20 {
            g.publish(parent);
        } else if two && !svc.calls.is_empty() && roll < 50 {
            g.call(parent);
        } else if svc.db.is_some() && roll < 85 {
            g.db(parent);
        } else {
            g.internal(parent);
        }
    }
    g.finish()
}

impl TraceGen {
    /// Log-normal duration with the given median, clamped to 50 µs – 5 s.
    fn lognormal(&mut self, median_ns: f64, sigma: f64) -> u64 {
        let u1: f64 = 1.0 - self.rng.random::<f64>();
        let u2: f64 = self.rng.random();
        let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        ((median_ns * (sigma * z).exp()) as u64).clamp(MIN_DUR_NS, MAX_DUR_NS)
    }

    /// A start and duration inside the parent's window (when it is long enough).
    fn within(&mut self, parent: usize, median_ns: f64) -> (u64, u64) {
        let p = &self.spans[parent].1;
        let (p_start, p_dur) = (
            p.start_time_unix_nano,
            p.end_time_unix_nano - p.start_time_unix_nano,
        );
        let offset = self.rng.random_range(0..=p_dur / 2);
        let dur = self
            .lognormal(median_ns, 1.0)
            .min(p_dur - offset)
            .max(MIN_DUR_NS);
        (p_start + offset, dur)
    }

    /// Adds `span` (from [`span`]) to service `svc` under `parent`; returns its index.
    fn push(&mut self, parent: Option<usize>, svc: usize, mut span: Span) -> usize {
        span.trace_id = self.trace_id.to_vec();
        span.span_id = self.rng.random_range(1..u64::MAX).to_be_bytes().to_vec();
        if let Some(p) = parent {
            span.parent_span_id = self.spans[p].1.span_id.clone();
        }
        self.spans.push((svc, span));
        self.spans.len() - 1
    }

    /// Marks a span failed: error status and an `exception` event.
    fn fail(&mut self, idx: usize, kind: &str, message: &str) {
        let span = &mut self.spans[idx].1;
        span.status = Some(Status {
            message: message.into(),
            code: STATUS_ERROR,
        });
        span.events.push(Event {
            time_unix_nano: span.end_time_unix_nano.saturating_sub(MIN_DUR_NS / 2),
            name: "exception".into(),
            attributes: vec![
                s("exception.type", kind),
                s("exception.message", message),
                s(
                    "exception.stacktrace",
                    format!("{kind}: {message}\n    at handle (handler.rs:42)"),
                ),
            ],
            dropped_attributes_count: 0,
        });
    }

    /// A server span of `svc` for a random route; returns (index, method, path, status).
    fn server(
        &mut self,
        parent: Option<usize>,
        svc: usize,
        start: u64,
        dur: u64,
    ) -> (usize, &'static str, String, i64) {
        let service = &SERVICES[svc];
        let (method, route) = service.routes[self.rng.random_range(0..service.routes.len())];
        let path = route.replace("{id}", &self.rng.random_range(0..100_000u32).to_string());
        let failed = self.rng.random_bool(0.02);
        let status = match (failed, method) {
            (true, _) => [500, 503][self.rng.random_range(0..2)],
            (false, "POST") => 201,
            (false, _) if self.rng.random_bool(0.03) => 404,
            _ => 200,
        };
        let host = if svc == FRONTEND {
            "shop.example.com".to_string()
        } else {
            format!("{}:8080", service.name)
        };
        let mut attrs = vec![
            s("http.request.method", method),
            s("http.route", route),
            i("http.response.status_code", status),
            s("url.full", format!("https://{host}{path}")),
            s("server.address", host),
            s("network.protocol.version", "1.1"),
        ];
        if parent.is_none() {
            let ip = self.rng.random::<u32>().to_be_bytes();
            attrs.push(s(
                "client.address",
                format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3]),
            ));
            attrs.push(s(
                "user_agent.original",
                "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
            ));
        }
        let idx = self.push(
            parent,
            svc,
            span(SERVER, format!("{method} {route}"), start, dur, attrs),
        );
        if failed {
            self.fail(idx, "InternalServerError", "upstream request failed");
        }
        self.open.push(idx);
        (idx, method, path, status)
    }

    /// An HTTP call from the parent's service to one of its downstream services.
    fn call(&mut self, parent: usize) {
        let caller = self.spans[parent].0;
        let calls = SERVICES[caller].calls;
        let callee = calls[self.rng.random_range(0..calls.len())];
        let (start, dur) = self.within(parent, 15.0 * MS);
        let client = self.push(
            Some(parent),
            caller,
            span(CLIENT, String::new(), start, dur, Vec::new()),
        );
        let lag = (dur / 20).max(1);
        let (server, method, path, status) = self.server(
            Some(client),
            callee,
            start + lag,
            dur.saturating_sub(2 * lag).max(MIN_DUR_NS),
        );
        let name = self.spans[server].1.name.clone();
        let host = format!("{}:8080", SERVICES[callee].name);
        let span = &mut self.spans[client].1;
        span.name = name;
        span.attributes = vec![
            s("http.request.method", method),
            s("url.full", format!("http://{host}{path}")),
            s("server.address", SERVICES[callee].name),
            i("server.port", 8080),
            i("http.response.status_code", status),
        ];
        if status >= 500 {
            span.status = Some(Status {
                message: format!("HTTP {status}"),
                code: STATUS_ERROR,
            });
        }
    }

    fn db(&mut self, parent: usize) {
        let svc = self.spans[parent].0;
        let Some(db) = SERVICES[svc].db.as_ref() else {
            return self.internal(parent);
        };
        let (name, statement) = db.queries[self.rng.random_range(0..db.queries.len())];
        let median = if db.system == "redis" {
            0.4 * MS
        } else {
            3.0 * MS
        };
        let (start, dur) = self.within(parent, median);
        let attrs = vec![
            s("db.system", db.system),
            s("db.namespace", db.namespace),
            s("db.operation.name", name.split(' ').next().unwrap_or(name)),
            s("db.statement", statement),
            s(
                "server.address",
                format!("{}-db.shop.svc", SERVICES[svc].name),
            ),
        ];
        let idx = self.push(
            Some(parent),
            svc,
            span(CLIENT, name.to_string(), start, dur, attrs),
        );
        if self.rng.random_bool(0.02) {
            self.fail(
                idx,
                "DatabaseError",
                "canceling statement due to statement timeout",
            );
        }
    }

    /// A Kafka publish and, in `notification`, its consumer.
    fn publish(&mut self, parent: usize) {
        let svc = self.spans[parent].0;
        let (start, dur) = self.within(parent, 1.0 * MS);
        let attrs = |op: &str| {
            vec![
                s("messaging.system", "kafka"),
                s("messaging.destination.name", "orders"),
                s("messaging.operation.type", op),
            ]
        };
        let producer = self.push(
            Some(parent),
            svc,
            span(
                PRODUCER,
                "orders publish".into(),
                start,
                dur,
                attrs("publish"),
            ),
        );
        let lag = self.lognormal(5.0 * MS, 1.0);
        let cdur = self.lognormal(10.0 * MS, 1.0);
        let consumer = self.push(
            Some(producer),
            NOTIFICATION,
            span(
                CONSUMER,
                "orders process".into(),
                start + dur + lag,
                cdur,
                attrs("process"),
            ),
        );
        self.open.push(consumer);
    }

    fn internal(&mut self, parent: usize) {
        let svc = self.spans[parent].0;
        let names = SERVICES[svc].internal;
        let name = names[self.rng.random_range(0..names.len())];
        let (start, dur) = self.within(parent, 1.0 * MS);
        let attrs = vec![s("code.function", name.replace(' ', "_"))];
        let idx = self.push(
            Some(parent),
            svc,
            span(INTERNAL, name.into(), start, dur, attrs),
        );
        if self.rng.random_bool(0.1) {
            self.spans[idx].1.events.push(Event {
                time_unix_nano: start + dur / 2,
                name: "cache miss".into(),
                attributes: vec![s(
                    "cache.key",
                    format!("{name}:{}", self.rng.random_range(0..1000u32)),
                )],
                dropped_attributes_count: 0,
            });
        }
        if self.rng.random_bool(0.01) {
            self.fail(idx, "RuntimeError", "unexpected nil value");
        }
        self.open.push(idx);
    }

    /// Groups the spans into one `ResourceSpans` per service (first-seen order), each service
    /// in a pod picked per trace.
    fn finish(mut self) -> Vec<ResourceSpans> {
        let env = if self.rng.random_bool(0.85) {
            "prod"
        } else {
            "staging"
        };
        let mut out: Vec<(usize, ResourceSpans)> = Vec::new();
        for (svc, span) in std::mem::take(&mut self.spans) {
            let pos = match out.iter().position(|(s, _)| *s == svc) {
                Some(p) => p,
                None => {
                    let pod = self.rng.random_range(0..POD_SUFFIXES.len());
                    out.push((svc, resource_spans(svc, pod, env)));
                    out.len() - 1
                }
            };
            out[pos].1.scope_spans[0].spans.push(span);
        }
        out.into_iter().map(|(_, rs)| rs).collect()
    }
}

/// A span without IDs ([`TraceGen::push`] sets them).
fn span(kind: i32, name: String, start: u64, dur: u64, attributes: Vec<KeyValue>) -> Span {
    Span {
        name,
        kind,
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur,
        attributes,
        ..Default::default()
    }
}
