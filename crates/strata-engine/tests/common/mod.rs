//! Test fixtures: spans built with a small builder, turned into block-schema batches with
//! `SpanBatchBuilder`, and helpers that run queries.
#![allow(dead_code)]

use arrow_array::RecordBatch;
use strata_block::{ResourceCtx, ScopeCtx, SpanBatchBuilder};
use strata_common::TraceId;
use strata_engine::{SearchPlan, TraceMatch};
use strata_proto::otlp::common::{any_value::Value, InstrumentationScope, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{span, Span, Status};

/// Trace `n`: `ab`, zeros, `n` in the last byte.
pub fn tid(n: u8) -> TraceId {
    strata_testkit::trace_id_with(0xab, u64::from(n))
}

/// Span IDs are `0x10nn`.
const SID_BASE: u64 = 0x1000;

pub fn sid(n: u8) -> Vec<u8> {
    strata_testkit::span_id(SID_BASE | u64::from(n))
}

pub use strata_testkit::{array as arr, boolean as b, double as f, int as i, kv, s};

/// One span with its resource and scope.
#[derive(Clone)]
pub struct Sp {
    pub trace: u8,
    pub span: Span,
    pub resource: Option<Resource>,
    pub scope: Option<InstrumentationScope>,
}

/// A span of trace `trace` with ID `sid(id)`, parent `sid(parent)` (0 = root), named
/// `name`, from `start` to `end` (nanoseconds), in service `svc`.
pub fn sp(trace: u8, id: u8, parent: u8, name: &str, start: u64, end: u64) -> Sp {
    Sp {
        trace,
        span: Span {
            parent_span_id: if parent == 0 { vec![] } else { sid(parent) },
            kind: span::SpanKind::Internal as i32,
            ..strata_testkit::span(&tid(trace), SID_BASE | u64::from(id), name, start, end)
        },
        resource: Some(strata_testkit::resource("svc")),
        scope: None,
    }
}

impl Sp {
    pub fn attr(mut self, k: &str, v: Value) -> Self {
        self.span.attributes.push(kv(k, v));
        self
    }
    pub fn res(mut self, k: &str, v: Value) -> Self {
        self.resource
            .get_or_insert_with(Default::default)
            .attributes
            .push(kv(k, v));
        self
    }
    pub fn svc(mut self, name: &str) -> Self {
        let r = self.resource.get_or_insert_with(Default::default);
        r.attributes.retain(|a| a.key != "service.name");
        r.attributes.push(kv("service.name", s(name)));
        self
    }
    pub fn no_resource(mut self) -> Self {
        self.resource = None;
        self
    }
    pub fn kind(mut self, k: span::SpanKind) -> Self {
        self.span.kind = k as i32;
        self
    }
    pub fn status(mut self, code: i32, msg: &str) -> Self {
        self.span.status = Some(Status {
            code,
            message: msg.into(),
        });
        self
    }
    pub fn scope(mut self, name: &str, version: &str, attrs: Vec<KeyValue>) -> Self {
        self.scope = Some(InstrumentationScope {
            name: name.into(),
            version: version.into(),
            attributes: attrs,
            ..Default::default()
        });
        self
    }
    pub fn event(mut self, name: &str, time: u64, attrs: Vec<KeyValue>) -> Self {
        self.span.events.push(span::Event {
            time_unix_nano: time,
            name: name.into(),
            attributes: attrs,
            ..Default::default()
        });
        self
    }
    pub fn link(mut self, trace: u8, id: u8, attrs: Vec<KeyValue>) -> Self {
        self.span.links.push(span::Link {
            trace_id: tid(trace).0.to_vec(),
            span_id: sid(id),
            attributes: attrs,
            ..Default::default()
        });
        self
    }
}

/// A batch of the spans, sorted as blocks store them (trace ID, then start time).
pub fn batch(spans: &[Sp]) -> RecordBatch {
    let mut spans = spans.to_vec();
    spans.sort_by_key(|s| (tid(s.trace), s.span.start_time_unix_nano));
    let mut builder = SpanBatchBuilder::default();
    for s in &spans {
        let res = ResourceCtx::new(s.resource.as_ref(), "");
        let scope = ScopeCtx {
            scope: s.scope.as_ref(),
            schema_url: "",
        };
        builder
            .append(&tid(s.trace), &res, &scope, &s.span)
            .expect("append");
    }
    builder.finish().expect("finish")
}

pub fn plan(q: &str) -> SearchPlan {
    let query = strata_traceql::parse_and_validate(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    SearchPlan::new(&query).unwrap_or_else(|e| panic!("{q}: {e}"))
}

pub fn run(batch: &RecordBatch, q: &str) -> Vec<TraceMatch> {
    plan(q)
        .evaluate(batch, 1000)
        .unwrap_or_else(|e| panic!("{q}: {e}"))
}

/// Per matching trace: its number and the span names of each spanset.
pub fn sets(batch: &RecordBatch, q: &str) -> Vec<(u8, Vec<Vec<String>>)> {
    run(batch, q)
        .into_iter()
        .map(|m| {
            (
                m.trace_id.0[15],
                m.span_sets
                    .iter()
                    .map(|s| s.spans.iter().map(|sp| sp.name.clone()).collect())
                    .collect(),
            )
        })
        .collect()
}

/// Sorted names of all spans in all spansets of all matching traces.
pub fn names(batch: &RecordBatch, q: &str) -> Vec<String> {
    let mut out: Vec<String> = sets(batch, q)
        .into_iter()
        .flat_map(|(_, ss)| ss.into_iter().flatten())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Numbers of the matching traces.
pub fn traces(batch: &RecordBatch, q: &str) -> Vec<u8> {
    run(batch, q).iter().map(|m| m.trace_id.0[15]).collect()
}

pub fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A varied batch of several traces (structure, services, attributes of every scope, events,
/// links, arrays, statuses and kinds) for property tests.
pub fn rich() -> RecordBatch {
    use span::SpanKind::*;
    batch(&[
        sp(1, 1, 0, "root", 0, 1000)
            .svc("front")
            .kind(Server)
            .attr("http.method", s("GET"))
            .attr("code", i(200))
            .event("exception", 150, vec![kv("msg", s("bad"))]),
        sp(1, 2, 1, "db", 100, 400)
            .svc("back")
            .kind(Client)
            .status(2, "timeout")
            .attr("code", i(500))
            .attr("tags", arr(vec![s("x"), s("y")]))
            .scope("sql", "2", vec![kv("lib", s("pg"))]),
        sp(1, 3, 2, "query", 150, 350)
            .svc("back")
            .attr("rows", i(7)),
        sp(1, 4, 1, "cache", 500, 520)
            .svc("front")
            .attr("hit", b(true))
            .link(2, 1, vec![kv("ref", s("follows"))]),
        sp(2, 1, 0, "root", 2000, 2100)
            .svc("front")
            .attr("http.method", s("POST")),
        sp(2, 2, 1, "db", 2010, 2050).svc("back").status(1, ""),
        sp(3, 5, 4, "orphan", 3000, 3500)
            .svc("back")
            .attr("code", f(500.0))
            .res("region", s("eu")),
        sp(4, 1, 0, "solo", 10, 20).no_resource().kind(Producer),
    ])
}

/// Queries of every kind, for property tests over [`rich`].
pub const QUERIES: &[&str] = &[
    "{ }",
    "{ true }",
    "{ false }",
    r#"{ .http.method = "GET" }"#,
    r#"{ span.http.method != "GET" }"#,
    r#"{ resource.service.name = "back" }"#,
    r#"{ .region = "eu" }"#,
    "{ .code >= 500 }",
    "{ .code = 500.0 }",
    "{ .code != nil }",
    "{ .code = nil }",
    r#"{ .tags = "y" }"#,
    r#"{ .tags !~ "q" }"#,
    "{ .hit }",
    "{ !.hit }",
    "{ !(.code = 200) }",
    r#"{ name =~ "ro.*" }"#,
    "{ duration > 100ns }",
    "{ status = error }",
    "{ status != error }",
    "{ kind = server || kind = producer }",
    r#"{ event:name = "exception" }"#,
    r#"{ event.msg = "bad" }"#,
    "{ event.msg = nil }",
    r#"{ link.ref = "follows" }"#,
    r#"{ link:spanID = "1001" }"#,
    r#"{ instrumentation.lib = "pg" }"#,
    r#"{ instrumentation:name = "sql" }"#,
    "{ trace:duration > 500ns }",
    r#"{ trace:rootName = "root" && .code = 500 }"#,
    r#"{ trace:rootService = "front" || .rows = 7 }"#,
    "{ span:childCount > 0 }",
    "{ nestedSetLeft = 0 }",
    r#"{ trace:id = "ab000000000000000000000000000003" }"#,
    r#"{ span:parentID = "0" }"#,
    "{ .code + 1 > 500 }",
    r#"{ .code = 200 } && { name = "db" }"#,
    r#"{ .code = 200 } || { name = "solo" }"#,
    r#"{ name = "root" } > { }"#,
    r#"{ name = "db" } < { .code = 200 }"#,
    r#"{ name = "root" } >> { .rows = 7 }"#,
    r#"{ .rows = 7 } << { }"#,
    r#"{ name = "db" } ~ { }"#,
    r#"{ name = "root" } !> { name = "query" }"#,
    r#"{ name = "db" } !< { }"#,
    r#"{ name = "root" } !>> { }"#,
    r#"{ .rows = 7 } !<< { name = "root" }"#,
    r#"{ name = "db" } !~ { }"#,
    r#"{ name = "root" } &> { }"#,
    r#"{ name = "query" } &< { }"#,
    r#"{ name = "root" } &>> { .rows = 7 }"#,
    r#"{ .rows = 7 } &<< { }"#,
    r#"{ name = "db" } &~ { .hit = true }"#,
    "count() > 2",
    "{ } | count() = 1",
    "{ } | avg(duration) > 200ns",
    "{ .code != nil } | sum(.code) > 600",
    "{ } | min(duration) < 30ns",
    "{ } | max(.code) = 500",
    "{ } | by(resource.service.name)",
    "{ } | by(resource.service.name) | count() > 1",
    "{ status = error } | by(name) | coalesce()",
    r#"{ } | select(.code, resource.region, event.msg)"#,
    r#"{ } | by(kind) | { duration > 50ns }"#,
    r#"({ .code = 500 } | count() > 0) >> { }"#,
    r#"{ name = "root" } > ({ } | coalesce())"#,
];
