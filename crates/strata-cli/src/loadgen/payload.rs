//! Synthetic OTLP payloads.
//!
//! A [`Template`] is one `ExportTraceServiceRequest`, generated once and kept encoded, together
//! with the byte offsets of every trace ID, span ID and timestamp inside the encoding. Before each
//! send, [`Template::instantiate`] copies the bytes and rewrites those fields in place (fresh trace
//! IDs, span IDs XOR-ed with a per-request key so parent links survive, timestamps shifted to
//! "now"), so the expensive part — building and encoding the messages — stays outside the measured
//! path while every request still carries new traces.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, ensure, Context};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, SpanKind};
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use prost::Message;
use rand::rngs::SmallRng;
use rand::seq::IndexedRandom;
use rand::Rng;

/// The shape of generated requests.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub spans_per_trace: usize,
    pub traces_per_request: usize,
    pub attributes: usize,
    /// Attributes on each resource: the first of the 13 that [`resource`] describes a service
    /// with (`service.name` first), or all of them padded with pod labels.
    pub resource_attributes: usize,
}

impl Shape {
    pub fn spans_per_request(&self) -> usize {
        self.spans_per_trace * self.traces_per_request
    }
}

/// Share of traces that contain a failing span.
const ERROR_TRACE_RATIO: f64 = 0.05;

pub fn now_unix_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// One pre-encoded request plus where its IDs and timestamps live.
pub struct Template {
    /// The encoded `ExportTraceServiceRequest`.
    pub bytes: Vec<u8>,
    /// Spans in the request.
    pub spans: usize,
    /// For each trace, the offsets of the 16 bytes of every copy of its trace ID.
    trace_id_offsets: Vec<Vec<usize>>,
    /// Offsets of the 8 bytes of every span ID and parent span ID.
    span_id_offsets: Vec<usize>,
    /// Offsets of every fixed64 timestamp (span start/end, event time).
    time_offsets: Vec<usize>,
    /// The wall clock the timestamps were generated against.
    base_unix_nanos: u64,
}

impl Template {
    /// Generates and encodes one request.
    pub fn generate(shape: Shape, rng: &mut SmallRng) -> anyhow::Result<Self> {
        let base = now_unix_nanos();
        let req = generate_request(shape, rng, base);
        let spans = count_spans(&req);
        let bytes = req.encode_to_vec();
        Self::from_encoded(bytes, spans, base)
    }

    fn from_encoded(bytes: Vec<u8>, spans: usize, base_unix_nanos: u64) -> anyhow::Result<Self> {
        let mut offsets = Offsets::default();
        offsets
            .request(&bytes)
            .context("indexing generated payload")?;
        ensure!(
            offsets.spans == spans,
            "indexed {} spans, expected {spans}",
            offsets.spans
        );
        Ok(Self {
            bytes,
            spans,
            trace_id_offsets: offsets.trace_ids.into_values().collect(),
            span_id_offsets: offsets.span_ids,
            time_offsets: offsets.times,
            base_unix_nanos,
        })
    }

    /// A copy of the request with new trace IDs, new span IDs and timestamps moved to `now`;
    /// the new trace IDs are appended to `ids` when given.
    pub fn instantiate_with_ids(
        &self,
        rng: &mut SmallRng,
        now_unix_nanos: u64,
        mut ids: Option<&mut Vec<[u8; 16]>>,
    ) -> Vec<u8> {
        let mut buf = self.bytes.clone();
        for offsets in &self.trace_id_offsets {
            let id = nonzero_u128(rng).to_be_bytes();
            if let Some(ids) = ids.as_deref_mut() {
                ids.push(id);
            }
            for &o in offsets {
                buf[o..o + 16].copy_from_slice(&id);
            }
        }
        let key = rng.random::<u64>().to_le_bytes();
        for &o in &self.span_id_offsets {
            for (b, k) in buf[o..o + 8].iter_mut().zip(key) {
                *b ^= k;
            }
        }
        let delta = now_unix_nanos.saturating_sub(self.base_unix_nanos);
        if delta > 0 {
            for &o in &self.time_offsets {
                let mut t = [0u8; 8];
                t.copy_from_slice(&buf[o..o + 8]);
                let shifted = u64::from_le_bytes(t).wrapping_add(delta);
                buf[o..o + 8].copy_from_slice(&shifted.to_le_bytes());
            }
        }
        buf
    }
}

fn nonzero_u128(rng: &mut SmallRng) -> u128 {
    loop {
        let v = rng.random::<u128>();
        if v != 0 {
            return v;
        }
    }
}

fn nonzero_u64(rng: &mut SmallRng) -> u64 {
    loop {
        let v = rng.random::<u64>();
        if v != 0 {
            return v;
        }
    }
}

pub fn count_spans(req: &ExportTraceServiceRequest) -> usize {
    req.resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

// ---------------------------------------------------------------------------------------------
// Locating fields in the encoding.

const WIRE_VARINT: u64 = 0;
const WIRE_I64: u64 = 1;
const WIRE_LEN: u64 = 2;
const WIRE_I32: u64 = 5;

fn read_varint(buf: &[u8], pos: &mut usize) -> anyhow::Result<u64> {
    strata_common::varint(buf, pos).ok_or_else(|| anyhow::anyhow!("malformed varint"))
}

/// Calls `f(field, wire_type, value_range)` for each field of the message in `buf[start..end]`.
fn for_each_field(
    buf: &[u8],
    start: usize,
    end: usize,
    mut f: impl FnMut(u64, u64, usize, usize) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut pos = start;
    while pos < end {
        let key = read_varint(buf, &mut pos)?;
        let (field, wire) = (key >> 3, key & 7);
        let (vs, ve) = match wire {
            WIRE_VARINT => {
                let s = pos;
                read_varint(buf, &mut pos)?;
                (s, pos)
            }
            WIRE_I64 => (pos, pos + 8),
            WIRE_LEN => {
                let len = read_varint(buf, &mut pos)? as usize;
                (pos, pos + len)
            }
            WIRE_I32 => (pos, pos + 4),
            other => bail!("unexpected wire type {other}"),
        };
        ensure!(ve <= end, "field {field} overruns its message");
        f(field, wire, vs, ve)?;
        pos = ve;
    }
    Ok(())
}

#[derive(Default)]
struct Offsets {
    trace_ids: HashMap<[u8; 16], Vec<usize>>,
    span_ids: Vec<usize>,
    times: Vec<usize>,
    spans: usize,
}

impl Offsets {
    fn request(&mut self, buf: &[u8]) -> anyhow::Result<()> {
        // ExportTraceServiceRequest.resource_spans = 1
        for_each_field(buf, 0, buf.len(), |field, wire, s, e| {
            if field == 1 && wire == WIRE_LEN {
                // ResourceSpans.scope_spans = 2
                for_each_field(buf, s, e, |field, wire, s, e| {
                    if field == 2 && wire == WIRE_LEN {
                        // ScopeSpans.spans = 2
                        for_each_field(buf, s, e, |field, wire, s, e| {
                            if field == 2 && wire == WIRE_LEN {
                                self.span(buf, s, e)?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            }
            Ok(())
        })
    }

    fn span(&mut self, buf: &[u8], start: usize, end: usize) -> anyhow::Result<()> {
        self.spans += 1;
        for_each_field(buf, start, end, |field, wire, s, e| {
            match (field, wire) {
                // trace_id
                (1, WIRE_LEN) => {
                    ensure!(e - s == 16, "trace ID of {} bytes", e - s);
                    let mut id = [0u8; 16];
                    id.copy_from_slice(&buf[s..e]);
                    self.trace_ids.entry(id).or_default().push(s);
                }
                // span_id, parent_span_id
                (2, WIRE_LEN) | (4, WIRE_LEN) => {
                    ensure!(e - s == 8, "span ID of {} bytes", e - s);
                    self.span_ids.push(s);
                }
                // start_time_unix_nano, end_time_unix_nano
                (7, WIRE_I64) | (8, WIRE_I64) => self.times.push(s),
                // events: Event.time_unix_nano = 1
                (11, WIRE_LEN) => for_each_field(buf, s, e, |field, wire, s, _| {
                    if field == 1 && wire == WIRE_I64 {
                        self.times.push(s);
                    }
                    Ok(())
                })?,
                _ => {}
            }
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Generating traces.

struct Service {
    name: &'static str,
    language: &'static str,
    routes: &'static [(&'static str, &'static str)],
    internal: &'static [&'static str],
}

const SERVICES: &[Service] = &[
    Service {
        name: "frontend",
        language: "nodejs",
        routes: &[
            ("GET", "/"),
            ("GET", "/product/{id}"),
            ("POST", "/cart"),
            ("POST", "/cart/checkout"),
        ],
        internal: &["render page", "load session", "build view model"],
    },
    Service {
        name: "checkout",
        language: "go",
        routes: &[("POST", "/api/checkout"), ("GET", "/api/orders/{id}")],
        internal: &["validate order", "compute totals", "reserve inventory"],
    },
    Service {
        name: "cart",
        language: "dotnet",
        routes: &[("GET", "/api/cart/{user}"), ("PUT", "/api/cart/{user}")],
        internal: &["merge cart", "apply promotions"],
    },
    Service {
        name: "product-catalog",
        language: "go",
        routes: &[
            ("GET", "/api/products"),
            ("GET", "/api/products/{id}"),
            ("GET", "/api/search"),
        ],
        internal: &["rank results", "decode product", "filter by stock"],
    },
    Service {
        name: "payment",
        language: "java",
        routes: &[("POST", "/api/charge"), ("POST", "/api/refund")],
        internal: &["tokenize card", "fraud check", "sign request"],
    },
    Service {
        name: "shipping",
        language: "rust",
        routes: &[("POST", "/api/quote"), ("POST", "/api/ship")],
        internal: &["compute route", "pack parcel"],
    },
];

const DB_QUERIES: &[(&str, &str, &str)] = &[
    (
        "postgresql",
        "SELECT",
        "SELECT id, name, price FROM products WHERE id = $1",
    ),
    (
        "postgresql",
        "UPDATE",
        "UPDATE orders SET state = $1 WHERE id = $2",
    ),
    (
        "postgresql",
        "INSERT",
        "INSERT INTO payments (order_id, amount) VALUES ($1, $2)",
    ),
    ("redis", "GET", "GET cart:{user}"),
    ("redis", "HSET", "HSET session:{id} last_seen {ts}"),
];

const ERRORS: &[(&str, &str)] = &[
    ("java.net.SocketTimeoutException", "read timed out"),
    ("ConnectionResetError", "connection reset by peer"),
    ("PaymentDeclined", "card declined: insufficient funds"),
    ("context.DeadlineExceeded", "context deadline exceeded"),
];

const FILLER_KEYS: &[&str] = &[
    "app.user.id",
    "app.tenant",
    "app.region",
    "app.feature_flag",
    "app.cache_hit",
    "app.items",
    "app.retry",
    "app.request_size",
    "app.build",
    "app.shard",
];

fn kv(key: impl Into<String>, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(key: &str, v: impl Into<String>) -> KeyValue {
    kv(key, any_value::Value::StringValue(v.into()))
}

fn i(key: &str, v: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(v))
}

fn b(key: &str, v: bool) -> KeyValue {
    kv(key, any_value::Value::BoolValue(v))
}

fn filler(rng: &mut SmallRng, n: usize) -> KeyValue {
    let base = FILLER_KEYS[n % FILLER_KEYS.len()];
    let key = if n < FILLER_KEYS.len() {
        base.to_string()
    } else {
        format!("{base}.{}", n / FILLER_KEYS.len())
    };
    match n % 3 {
        0 => kv(
            key,
            any_value::Value::StringValue(format!("v-{:08x}", rng.random::<u32>())),
        ),
        1 => kv(key, any_value::Value::IntValue(rng.random_range(0..10_000))),
        _ => kv(key, any_value::Value::BoolValue(rng.random_bool(0.5))),
    }
}

/// A resource of `svc` with `n` attributes (see [`Shape::resource_attributes`]).
fn resource(svc: &Service, n: usize, rng: &mut SmallRng) -> Resource {
    let instance = format!("{:016x}", rng.random::<u64>());
    let mut attributes = vec![
        s("service.name", svc.name),
        s("service.namespace", "shop"),
        s("service.version", "1.4.2"),
        s("service.instance.id", instance.clone()),
        s("deployment.environment.name", "bench"),
        s("host.name", format!("node-{}", rng.random_range(1..=12))),
        s("host.arch", "amd64"),
        s("os.type", "linux"),
        s("k8s.namespace.name", "shop"),
        s("k8s.pod.name", format!("{}-{}", svc.name, &instance[..8])),
        s("telemetry.sdk.name", "opentelemetry"),
        s("telemetry.sdk.language", svc.language),
        s("telemetry.sdk.version", "1.30.0"),
    ];
    attributes.truncate(n.max(1));
    for i in attributes.len()..n {
        attributes.push(s(&format!("k8s.pod.label.l{i}"), format!("v{i}")));
    }
    Resource {
        attributes,
        ..Default::default()
    }
}

/// What a generated span is, so children can follow it sensibly.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Server,
    HttpClient { target: usize, served: bool },
    Db,
    Internal,
    Producer,
}

struct Draft {
    span: Span,
    service: usize,
    role: Role,
}

fn generate_request(shape: Shape, rng: &mut SmallRng, now: u64) -> ExportTraceServiceRequest {
    let mut by_service: Vec<Vec<Span>> = (0..SERVICES.len()).map(|_| Vec::new()).collect();
    for _ in 0..shape.traces_per_request {
        for d in generate_trace(shape, rng, now) {
            by_service[d.service].push(d.span);
        }
    }
    let resource_spans = by_service
        .into_iter()
        .enumerate()
        .filter(|(_, spans)| !spans.is_empty())
        .map(|(idx, spans)| ResourceSpans {
            resource: Some(resource(&SERVICES[idx], shape.resource_attributes, rng)),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "strata-loadgen".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
            }],
            schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
        })
        .collect();
    ExportTraceServiceRequest { resource_spans }
}

fn http_server_attrs(svc: &Service, method: &str, route: &str, status: i64) -> Vec<KeyValue> {
    vec![
        s("http.request.method", method),
        s("http.route", route),
        s(
            "url.path",
            route.replace("{id}", "42").replace("{user}", "u-7"),
        ),
        s("url.scheme", "http"),
        i("http.response.status_code", status),
        s("server.address", format!("{}.shop.svc", svc.name)),
        i("server.port", 8080),
        s("network.protocol.version", "1.1"),
        s("client.address", "10.0.3.17"),
        s("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)"),
    ]
}

fn generate_trace(shape: Shape, rng: &mut SmallRng, now: u64) -> Vec<Draft> {
    let trace_id = nonzero_u128(rng).to_be_bytes().to_vec();
    let n = shape.spans_per_trace.max(1);
    let trace_start = now - rng.random_range(0..2_000_000_000u64);
    let trace_len = rng.random_range(5_000_000..800_000_000u64);
    let mut drafts: Vec<Draft> = Vec::with_capacity(n);

    // Root: an incoming HTTP request at the edge.
    let svc = &SERVICES[0];
    let &(method, route) = svc.routes.choose(rng).expect("routes");
    drafts.push(Draft {
        span: Span {
            trace_id: trace_id.clone(),
            span_id: nonzero_u64(rng).to_be_bytes().to_vec(),
            flags: 0x101,
            name: format!("{method} {route}"),
            kind: SpanKind::Server as i32,
            start_time_unix_nano: trace_start,
            end_time_unix_nano: trace_start + trace_len,
            attributes: http_server_attrs(svc, method, route, 200),
            ..Default::default()
        },
        service: 0,
        role: Role::Server,
    });

    for _ in 1..n {
        // Parents are server, internal or not-yet-answered HTTP client spans (database calls and
        // publishes are leaves); preferring recent ones gives deeper trees than a flat fan-out.
        let eligible: Vec<usize> = (0..drafts.len())
            .rev()
            .filter(|&j| match drafts[j].role {
                Role::Server | Role::Internal => true,
                Role::HttpClient { served, .. } => !served,
                Role::Db | Role::Producer => false,
            })
            .take(4)
            .collect();
        let p = *eligible.choose(rng).expect("the root is always eligible");
        let (p_start, p_end) = (
            drafts[p].span.start_time_unix_nano,
            drafts[p].span.end_time_unix_nano,
        );
        let p_len = (p_end - p_start).max(2);
        let start = p_start + rng.random_range(0..p_len / 2);
        let end = start + rng.random_range(1..=(p_end - start).max(1));
        let parent_id = drafts[p].span.span_id.clone();
        let parent_service = drafts[p].service;

        let (service, role, name, kind, attributes) = match drafts[p].role {
            Role::HttpClient {
                target,
                served: false,
            } => {
                drafts[p].role = Role::HttpClient {
                    target,
                    served: true,
                };
                let svc = &SERVICES[target];
                let &(method, route) = svc.routes.choose(rng).expect("routes");
                (
                    target,
                    Role::Server,
                    format!("{method} {route}"),
                    SpanKind::Server,
                    http_server_attrs(svc, method, route, 200),
                )
            }
            _ => match rng.random_range(0..10) {
                0..=2 => {
                    let target = rng.random_range(1..SERVICES.len());
                    let svc = &SERVICES[target];
                    let &(method, route) = svc.routes.choose(rng).expect("routes");
                    (
                        parent_service,
                        Role::HttpClient {
                            target,
                            served: false,
                        },
                        method.to_string(),
                        SpanKind::Client,
                        vec![
                            s("http.request.method", method),
                            s(
                                "url.full",
                                format!("http://{}.shop.svc:8080{route}", svc.name),
                            ),
                            s("server.address", format!("{}.shop.svc", svc.name)),
                            i("server.port", 8080),
                            i("http.response.status_code", 200),
                            s("network.peer.address", "10.0.7.21"),
                        ],
                    )
                }
                3..=5 => {
                    let &(system, op, text) = DB_QUERIES.choose(rng).expect("queries");
                    (
                        parent_service,
                        Role::Db,
                        format!("{op} {system}"),
                        SpanKind::Client,
                        vec![
                            s("db.system.name", system),
                            s("db.operation.name", op),
                            s("db.query.text", text),
                            s("db.namespace", "shop"),
                            s("server.address", format!("{system}.shop.svc")),
                            i("server.port", if system == "redis" { 6379 } else { 5432 }),
                        ],
                    )
                }
                6 => (
                    parent_service,
                    Role::Producer,
                    "orders publish".to_string(),
                    SpanKind::Producer,
                    vec![
                        s("messaging.system", "kafka"),
                        s("messaging.destination.name", "orders"),
                        s("messaging.operation.type", "publish"),
                        i("messaging.kafka.partition", rng.random_range(0..12)),
                        s("messaging.message.id", format!("{:x}", rng.random::<u64>())),
                    ],
                ),
                _ => {
                    let svc = &SERVICES[parent_service];
                    let name = *svc.internal.choose(rng).expect("internal");
                    (
                        parent_service,
                        Role::Internal,
                        name.to_string(),
                        SpanKind::Internal,
                        vec![
                            s("code.function.name", name.replace(' ', "_")),
                            s("code.namespace", format!("shop.{}", svc.name)),
                            b("app.cached", rng.random_bool(0.3)),
                        ],
                    )
                }
            },
        };
        drafts.push(Draft {
            span: Span {
                trace_id: trace_id.clone(),
                span_id: nonzero_u64(rng).to_be_bytes().to_vec(),
                parent_span_id: parent_id,
                flags: 0x301,
                name,
                kind: kind as i32,
                start_time_unix_nano: start,
                end_time_unix_nano: end,
                attributes,
                ..Default::default()
            },
            service,
            role,
        });
    }

    // Some traces fail: a span errors and the root answers 500.
    if n > 1 && rng.random_bool(ERROR_TRACE_RATIO) {
        let idx = rng.random_range(1..n);
        let &(ty, msg) = ERRORS.choose(rng).expect("errors");
        let span = &mut drafts[idx].span;
        span.status = Some(Status {
            message: msg.into(),
            code: StatusCode::Error as i32,
        });
        span.events.push(Event {
            time_unix_nano: span.end_time_unix_nano,
            name: "exception".into(),
            attributes: vec![s("exception.type", ty), s("exception.message", msg)],
            dropped_attributes_count: 0,
        });
        for a in &mut drafts[0].span.attributes {
            if a.key == "http.response.status_code" {
                a.value = Some(AnyValue {
                    value: Some(any_value::Value::IntValue(500)),
                });
            }
        }
        drafts[0].span.status = Some(Status {
            message: String::new(),
            code: StatusCode::Error as i32,
        });
    }

    // Exactly `attributes` per span: cut the natural ones or pad with application attributes.
    for d in &mut drafts {
        let attrs = &mut d.span.attributes;
        attrs.truncate(shape.attributes);
        let mut n = 0;
        while attrs.len() < shape.attributes {
            attrs.push(filler(rng, n));
            n += 1;
        }
    }
    drafts
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use rand::SeedableRng;

    use super::*;

    fn shape() -> Shape {
        Shape {
            spans_per_trace: 10,
            traces_per_request: 20,
            attributes: 8,
            resource_attributes: 13,
        }
    }

    #[test]
    fn generated_request_has_the_requested_shape() {
        let mut rng = SmallRng::seed_from_u64(1);
        let t = Template::generate(shape(), &mut rng).unwrap();
        let req = ExportTraceServiceRequest::decode(&t.bytes[..]).unwrap();
        assert_eq!(count_spans(&req), 200);
        assert_eq!(t.spans, 200);
        let spans: Vec<&Span> = req
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .collect();
        let traces: HashSet<&[u8]> = spans.iter().map(|s| &s.trace_id[..]).collect();
        assert_eq!(traces.len(), 20);
        assert!(spans.iter().all(|s| s.attributes.len() == 8));
        assert_eq!(
            spans.iter().filter(|s| s.parent_span_id.is_empty()).count(),
            20
        );
        let resource_attrs = |req: &ExportTraceServiceRequest| -> Vec<Vec<String>> {
            let keys = |r: &Resource| r.attributes.iter().map(|kv| kv.key.clone()).collect();
            req.resource_spans
                .iter()
                .map(|rs| rs.resource.as_ref().map_or_else(Vec::new, keys))
                .collect()
        };
        let all = resource_attrs(&req);
        assert!(all
            .iter()
            .all(|keys| keys.len() == 13 && keys[0] == "service.name"));
        // Fewer keep `service.name` first; more are padded, all distinct.
        for n in [1, 3, 20] {
            let shape = Shape {
                resource_attributes: n,
                ..shape()
            };
            let t = Template::generate(shape, &mut SmallRng::seed_from_u64(1)).unwrap();
            let req = ExportTraceServiceRequest::decode(&t.bytes[..]).unwrap();
            for keys in resource_attrs(&req) {
                assert_eq!(keys.len(), n);
                assert_eq!(keys[..n.min(13)], all[0][..n.min(13)]);
                assert_eq!(keys.iter().collect::<HashSet<_>>().len(), n);
            }
        }
    }

    #[test]
    fn instantiate_renews_ids_and_keeps_parent_links() {
        let mut rng = SmallRng::seed_from_u64(2);
        let t = Template::generate(shape(), &mut rng).unwrap();
        let before = ExportTraceServiceRequest::decode(&t.bytes[..]).unwrap();
        let later = t.base_unix_nanos + 5_000_000_000;
        let a =
            ExportTraceServiceRequest::decode(&t.instantiate_with_ids(&mut rng, later, None)[..])
                .unwrap();
        let b =
            ExportTraceServiceRequest::decode(&t.instantiate_with_ids(&mut rng, later, None)[..])
                .unwrap();

        let flat = |r: &ExportTraceServiceRequest| -> Vec<Span> {
            r.resource_spans
                .iter()
                .flat_map(|rs| &rs.scope_spans)
                .flat_map(|ss| ss.spans.clone())
                .collect()
        };
        let (s0, sa, sb) = (flat(&before), flat(&a), flat(&b));
        let ids =
            |v: &[Span]| -> HashSet<Vec<u8>> { v.iter().map(|s| s.trace_id.clone()).collect() };
        assert!(ids(&s0).is_disjoint(&ids(&sa)));
        assert!(ids(&sa).is_disjoint(&ids(&sb)));
        assert_eq!(ids(&sa).len(), 20);

        // Every parent exists in the same trace.
        let by_id: HashMap<&[u8], &Span> = sa.iter().map(|s| (&s.span_id[..], s)).collect();
        for s in &sa {
            if !s.parent_span_id.is_empty() {
                let p = by_id[&s.parent_span_id[..]];
                assert_eq!(p.trace_id, s.trace_id);
            }
        }
        for (x, y) in s0.iter().zip(&sa) {
            assert_eq!(
                y.start_time_unix_nano,
                x.start_time_unix_nano + 5_000_000_000
            );
            assert_eq!(y.end_time_unix_nano, x.end_time_unix_nano + 5_000_000_000);
            assert_eq!(x.name, y.name);
        }
    }
}
