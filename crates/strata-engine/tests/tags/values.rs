//! Tag values.

use arrow_array::BooleanArray;
use strata_engine::tags::{TagTarget, TagValue, TagValuesCollector, DEFAULT_MAX_BYTES};
use strata_traceql::{AttributeScope, Intrinsic};

use crate::fixture::*;

#[test]
fn typed_attribute_values() {
    let b = fixture();
    let span = |n: &str| values(&attr(AttributeScope::Span, n), &b, None);
    assert_eq!(span("http.status_code"), typed(Int, &["200", "500"]));
    assert_eq!(span("ratio"), typed(Float, &["0.5", "2.0"]));
    assert_eq!(span("cached"), typed(Bool, &["true"]));
    assert_eq!(span("tags"), typed(Str, &["a", "b"]));
    assert_eq!(span("nums"), typed(Int, &["1", "2"]));
    assert_eq!(span("empty"), typed(Str, &[""]));
    assert_eq!(span("with space"), typed(Str, &["v 1"]));
    assert_eq!(span("a/b"), typed(Str, &["slash"]));
    for unsupported in ["mixed", "blob", "kv", "missing"] {
        assert!(span(unsupported).is_empty(), "{unsupported}");
    }
}

#[test]
fn unscoped_versus_scoped() {
    let b = fixture();
    let get = |scope| values(&attr(scope, "http.method"), &b, None);
    assert_eq!(
        get(AttributeScope::None),
        typed(Str, &["GET", "POST", "RES"])
    );
    assert_eq!(get(AttributeScope::Span), typed(Str, &["GET", "POST"]));
    assert_eq!(get(AttributeScope::Resource), typed(Str, &["RES"]));
    assert!(get(AttributeScope::Event).is_empty());
    let svc = values(&attr(AttributeScope::None, "service.name"), &b, None);
    assert_eq!(svc, typed(Str, &["frontend", "worker"]));
    let ev = values(&attr(AttributeScope::Event, "exception.type"), &b, None);
    assert_eq!(ev, typed(Str, &["IOError"]));
    let link = values(&attr(AttributeScope::Link, "link.kind"), &b, None);
    assert_eq!(link, typed(Str, &["follows"]));
    let lib = values(&attr(AttributeScope::Instrumentation, "lib.attr"), &b, None);
    assert_eq!(lib, typed(Str, &["la"]));
    // unscoped does not read instrumentation attributes
    assert!(values(&attr(AttributeScope::None, "lib.attr"), &b, None).is_empty());
}

#[test]
fn status_and_kind_keywords() {
    let b = fixture();
    for t in [Intrinsic::Status, Intrinsic::Kind] {
        assert!(TagValuesCollector::columns(&TagTarget::Intrinsic(t)).is_empty());
    }
    let status = values(&TagTarget::Intrinsic(Intrinsic::Status), &b, None);
    assert_eq!(status, typed(Keyword, &["error", "ok", "unset"]));
    let kind = values(&TagTarget::Intrinsic(Intrinsic::Kind), &b, None);
    let want = [
        "client",
        "consumer",
        "internal",
        "producer",
        "server",
        "unspecified",
    ];
    assert_eq!(kind, typed(Keyword, &want));
    // fixed values need no data at all
    let mut c = TagValuesCollector::new(&TagTarget::Intrinsic(Intrinsic::Kind), None, 0);
    assert_eq!(c.clone().finish().0.len(), 6);
    c.add_batch(&b, None).expect("add");
    assert_eq!(c.finish().0.len(), 6);
}

#[test]
fn intrinsic_string_values() {
    let b = fixture();
    let get = |i| values(&TagTarget::Intrinsic(i), &b, None);
    assert_eq!(
        get(Intrinsic::Name),
        typed(Str, &["GET /users", "SELECT", "consume"])
    );
    assert_eq!(get(Intrinsic::StatusMessage), typed(Str, &["boom"]));
    assert_eq!(
        get(Intrinsic::TraceRootName),
        typed(Str, &["GET /users", "consume"])
    );
    assert_eq!(
        get(Intrinsic::TraceRootService),
        typed(Str, &["frontend", "worker"])
    );
    assert_eq!(get(Intrinsic::EventName), typed(Str, &["exception"]));
    assert_eq!(get(Intrinsic::InstrumentationName), typed(Str, &["lib-a"]));
    assert_eq!(get(Intrinsic::InstrumentationVersion), typed(Str, &["1.0"]));
    for none in [
        Intrinsic::Duration,
        Intrinsic::TraceDuration,
        Intrinsic::EventTimeSinceStart,
        Intrinsic::SpanId,
        Intrinsic::TraceId,
        Intrinsic::LinkSpanId,
        Intrinsic::ChildCount,
    ] {
        assert!(get(none).is_empty(), "{none:?}");
        assert!(TagValuesCollector::columns(&TagTarget::Intrinsic(none)).is_empty());
    }
}

#[test]
fn values_mask() {
    let b = fixture();
    let child = mask(&[false, true, false]);
    let get = |t: TagTarget| values(&t, &b, Some(&child));
    assert_eq!(
        get(attr(AttributeScope::None, "http.method")),
        typed(Str, &["POST"])
    );
    assert_eq!(
        get(TagTarget::Intrinsic(Intrinsic::Name)),
        typed(Str, &["SELECT"])
    );
    assert!(get(TagTarget::Intrinsic(Intrinsic::EventName)).is_empty());
    // trace-level values come from the root of each trace with a selected span
    assert_eq!(
        get(TagTarget::Intrinsic(Intrinsic::TraceRootName)),
        typed(Str, &["GET /users"])
    );
    assert_eq!(
        get(TagTarget::Intrinsic(Intrinsic::TraceRootService)),
        typed(Str, &["frontend"])
    );
    let with_null = BooleanArray::from(vec![None, Some(false), Some(true)]);
    let got = values(&attr(AttributeScope::Span, "ratio"), &b, Some(&with_null));
    assert_eq!(got, typed(Float, &["2.0"]));
}

#[test]
fn legacy_v1_values() {
    let b = fixture();
    let get = |n: &str| -> Vec<String> {
        values(&TagTarget::Legacy(n.into()), &b, None)
            .into_iter()
            .map(|(k, v)| {
                assert_eq!(k, Str);
                v
            })
            .collect()
    };
    assert_eq!(get("http.status_code"), strings(&["200", "500"]));
    assert_eq!(get("ratio"), strings(&["0.5", "2.0"]));
    assert_eq!(get("cached"), strings(&["true"]));
    assert_eq!(get("tags"), strings(&["a", "b"]));
    assert_eq!(get("service.name"), strings(&["frontend", "worker"]));
    // http.method is a span-only label in v1
    assert_eq!(get("http.method"), strings(&["GET", "POST"]));
    assert_eq!(get("host.name"), strings(&["h1"]));
    assert_eq!(get("status.code"), strings(&["error", "ok", "unset"]));
    assert_eq!(get("error"), strings(&["true"]));
    assert_eq!(get("name"), strings(&["GET /users", "SELECT", "consume"]));
    assert_eq!(get("rootServiceName"), strings(&["frontend", "worker"]));
    assert_eq!(get("root.name"), strings(&["GET /users", "consume"]));
    assert!(get("span:id").is_empty());
    assert!(get("status").is_empty(), "v1 status is a plain attribute");
}

#[test]
fn value_limit_and_byte_cap() {
    let b = fixture();
    let t = attr(AttributeScope::None, "http.method");
    let mut c = TagValuesCollector::new(&t, Some(2), DEFAULT_MAX_BYTES);
    c.add_batch(&b, None).expect("add");
    assert!(c.is_full());
    let (vals, truncated) = c.finish();
    assert!(truncated);
    assert_eq!(vals.len(), 2);

    // exactly at the limit is not truncation
    let mut c = TagValuesCollector::new(&t, Some(3), DEFAULT_MAX_BYTES);
    c.add_batch(&b, None).expect("add");
    assert!(c.is_full());
    assert!(!c.truncated());

    // "string"+"GET" = 9, +"string"+"POST" = 19; a cap of 19 admits only GET
    let mut c = TagValuesCollector::new(&t, None, 19);
    c.add_batch(&b, None).expect("add");
    let (vals, truncated) = c.finish();
    assert!(truncated);
    assert_eq!(
        vals,
        vec![TagValue {
            kind: Str,
            value: "GET".into()
        }]
    );
    let mut c = TagValuesCollector::new(&t, None, 20);
    c.add_batch(&b, None).expect("add");
    assert_eq!(c.finish().0.len(), 2);

    // v1 counts only the text: "GET" (3) + "POST" (4) reaches a cap of 7
    let mut c = TagValuesCollector::new(&TagTarget::Legacy("http.method".into()), None, 7);
    c.add_batch(&b, None).expect("add");
    assert_eq!(
        c.finish(),
        (
            vec![TagValue {
                kind: Str,
                value: "GET".into()
            }],
            true
        )
    );
}

#[test]
fn values_merge() {
    let (b1, b2) = (build(&rows_trace1()), build(&rows_trace2()));
    let t = attr(AttributeScope::None, "ratio");
    let mut c1 = TagValuesCollector::new(&t, None, 0);
    c1.add_batch(&b1, None).expect("add");
    let mut c2 = TagValuesCollector::new(&t, None, 0);
    c2.add_batch(&b2, None).expect("add");
    c1.merge(c2);
    assert_eq!(
        c1.finish(),
        (
            vec![
                TagValue {
                    kind: Float,
                    value: "0.5".into()
                },
                TagValue {
                    kind: Float,
                    value: "2.0".into()
                },
            ],
            false
        )
    );
    // truncation survives a merge
    let mut small = TagValuesCollector::new(&t, Some(1), 0);
    small.add_batch(&b1, None).expect("add");
    small.add_batch(&b2, None).expect("add");
    let mut big = TagValuesCollector::new(&t, None, 0);
    big.merge(small);
    assert!(big.truncated());
}
