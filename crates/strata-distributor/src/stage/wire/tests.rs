//! The wire walk and the split against prost and the decoding path (validate, truncate, group,
//! encode): on generated requests, on hand-made edge cases, and on corrupted encodings
//! (`fuzz_otlp_wire`, `strata-fuzzkit`). Whatever [`scan`] accepts must be what prost decodes,
//! and must be stored exactly as the decoding path stores it.

use prost::Message;
use strata_fuzzkit::proptest::prelude::*;
use strata_fuzzkit::{fuzz, Mutations};
use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{any_value::Value, AnyValue, ArrayValue, KeyValue};
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};
use strata_proto::roles::{TracePush, TraceSpans};
use strata_proto::tempopb;
use strata_testkit::arb;

use super::*;
use crate::stage::{group, split, truncate, validate};

/// Protobuf keys and lengths inserted by the mutator.
const WIRE_TOKENS: &[&[u8]] = &[
    b"\x0a",
    b"\x12",
    b"\x1a",
    b"\x0a\x10",
    b"\x12\x08",
    b"\x39",
    b"\x41",
    b"\x85\x01",
    b"\x80\x80\x80\x80\x10",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x0b",
    b"\x0c",
    b"\xc0\x80",
];

/// What the decoding path stores for `req`, or `None` when it refuses it or would change it
/// (truncation).
fn slow(req: &ExportTraceServiceRequest, max: usize) -> Option<Vec<TracePush>> {
    let mut valid = validate::validate(req.clone()).ok()?;
    if truncate::apply(&mut valid, max) > 0 {
        return None;
    }
    Some(group::group(valid).iter().map(TraceSpans::encode).collect())
}

/// Shares compared by content: the payload decoded.
fn decoded(pushes: &[TracePush]) -> Vec<(TracePush, tempopb::Trace)> {
    pushes
        .iter()
        .map(|p| {
            let trace = tempopb::Trace::decode(p.payload.as_ref()).expect("a share decodes");
            let mut meta = p.clone();
            meta.payload = Default::default();
            (meta, trace)
        })
        .collect()
}

/// Checks the fast path on `buf`: when [`scan`] accepts, prost decodes and the shares equal
/// the decoding path's. Returns whether it accepted.
fn check(buf: &[u8], max: usize) -> bool {
    let Some(scanned) = scan(buf, max) else {
        // A count taken before (for admission) does not make the scan accept.
        assert_eq!(scan_counted(buf, max, count_spans(buf).unwrap_or(1)), None);
        return false;
    };
    // The count sizes the span list only: a wrong one scans the same.
    for n in [0, scanned.spans.len(), scanned.spans.len() + 7] {
        assert_eq!(scan_counted(buf, max, n).as_ref(), Some(&scanned));
    }
    let req = ExportTraceServiceRequest::decode(buf).expect("scan accepted what prost refuses");
    let slow = slow(&req, max).expect("scan accepted what validation or truncation changes");
    let fast = split::split(buf, &scanned);
    assert_eq!(decoded(&fast), decoded(&slow));
    assert_eq!(scanned.spans.len(), validate::span_count(&req));
    assert_eq!(count_spans(buf), Some(scanned.spans.len()));
    true
}

/// Checks [`count_spans`] on `buf`: wherever prost decodes it and the count is given, the count
/// is prost's.
fn check_count(buf: &[u8]) {
    if let (Some(n), Ok(req)) = (count_spans(buf), ExportTraceServiceRequest::decode(buf)) {
        assert_eq!(n, validate::span_count(&req));
    }
}

fn span(trace: u8, span: u8) -> Span {
    Span {
        trace_id: vec![trace; 16],
        span_id: vec![span; 8],
        name: format!("s{span}"),
        start_time_unix_nano: 10 * u64::from(span),
        end_time_unix_nano: 10 * u64::from(span) + 5,
        attributes: vec![KeyValue {
            key: "k".into(),
            value: Some(AnyValue {
                value: Some(Value::StringValue("v".into())),
            }),
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[test]
fn the_grouping_examples_take_the_fast_path_and_match() {
    let req = group::tests::request();
    assert!(check(&req.encode_to_vec(), 2048));
    assert!(check(&req.encode_to_vec(), 0));
    assert!(check(
        &ExportTraceServiceRequest::default().encode_to_vec(),
        0
    ));
}

#[test]
fn anything_the_decoding_path_would_refuse_or_change_is_left_to_it() {
    let base = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![span(1, 1), span(2, 2)],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    assert!(check(&base.encode_to_vec(), 1));
    let with = |f: &dyn Fn(&mut Span)| {
        let mut r = base.clone();
        f(&mut r.resource_spans[0].scope_spans[0].spans[1]);
        r.encode_to_vec()
    };
    assert!(scan(&with(&|s| s.trace_id = vec![1; 8]), 0).is_none());
    assert!(scan(&with(&|s| s.span_id = vec![0; 8]), 0).is_none());
    assert!(scan(&with(&|s| s.span_id.clear()), 0).is_none());
    let long_key = with(&|s| s.attributes[0].key = "kk".into());
    assert!(scan(&long_key, 1).is_none(), "would be truncated");
    assert!(check(&long_key, 2));
    let long_value = with(&|s| {
        s.attributes[0].value = Some(AnyValue {
            value: Some(Value::StringValue("vvv".into())),
        })
    });
    assert!(scan(&long_value, 2).is_none());
    // Nested values are not truncated: no reason to leave the fast path.
    let nested = with(&|s| {
        s.attributes[0].value = Some(AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: vec![AnyValue {
                    value: Some(Value::StringValue("long nested".into())),
                }],
            })),
        })
    });
    assert!(check(&nested, 1));

    let buf = base.encode_to_vec();
    // An unknown field (prost skips it, the walk does not guess).
    let mut unknown = buf.clone();
    unknown.extend_from_slice(&[0x10, 0x01]);
    assert!(scan(&unknown, 0).is_none());
    assert!(ExportTraceServiceRequest::decode(unknown.as_slice()).is_ok());
    // Truncated and invalid UTF-8.
    assert!(scan(&buf[..buf.len() - 1], 0).is_none());
    let name_at = buf.windows(2).position(|w| w == b"s2").expect("span name");
    let mut bad = buf.clone();
    bad[name_at] = 0xff;
    assert!(scan(&bad, 0).is_none());
    assert!(ExportTraceServiceRequest::decode(bad.as_slice()).is_err());
}

#[test]
fn deep_values_are_left_to_prost() {
    let mut v = AnyValue {
        value: Some(Value::IntValue(1)),
    };
    for _ in 0..MAX_DEPTH + 2 {
        v = AnyValue {
            value: Some(Value::ArrayValue(ArrayValue { values: vec![v] })),
        };
    }
    let mut s = span(1, 1);
    s.attributes[0].value = Some(v);
    let req = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: vec![s],
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    assert!(scan(&req.encode_to_vec(), 0).is_none());
}

/// A length-delimited field: key byte, length, bytes.
fn ld(key: u8, bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![key];
    prost::encoding::encode_varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

#[test]
fn duplicated_fields_follow_prost() {
    // A span whose trace ID, times and name appear twice: the last one wins.
    let mut bytes = span(1, 1).encode_to_vec();
    bytes.extend_from_slice(&span(2, 2).encode_to_vec());
    let scope = ld(0x12, &bytes);
    let rs = ld(0x12, &scope);
    // The same scope twice under a resource given twice.
    let mut resource = vec![0x0a, 0x00, 0x1a, 0x01, b'a'];
    resource.extend_from_slice(&rs);
    resource.extend_from_slice(&rs);
    resource.extend_from_slice(&[0x0a, 0x00]);
    let req = ld(0x0a, &resource);
    assert!(check(&req, 0));
    let scanned = scan(&req, 0).unwrap();
    assert_eq!(scanned.spans.len(), 2);
    assert_eq!(scanned.spans[0].trace_id, strata_common::TraceId([2; 16]));
}

#[test]
fn spans_are_counted_from_the_framing_alone() {
    // Two resources; the first with two scopes of 2 and 1 spans, the second with one of 3.
    // Span bodies are not read: here they are not even valid spans.
    let scope = |n: usize| {
        let mut b = ld(0x0a, b"scope");
        for _ in 0..n {
            b.extend(ld(0x12, b"\xff\xff not a span"));
        }
        b.extend(ld(0x1a, b"schema"));
        // An unknown field, skipped as prost skips it.
        b.extend([0x20, 0x01]);
        b
    };
    let mut r1 = ld(0x0a, b"");
    r1.extend(ld(0x12, &scope(2)));
    r1.extend(ld(0x12, &scope(1)));
    let mut req = ld(0x0a, &r1);
    req.extend(ld(0x0a, &ld(0x12, &scope(3))));
    assert_eq!(count_spans(&req), Some(6));
    assert!(ExportTraceServiceRequest::decode(req.as_slice()).is_err());
    assert_eq!(count_spans(&[]), Some(0));
    // Framing prost refuses: a truncated length, or `scope_spans` as a varint.
    assert_eq!(count_spans(&req[..req.len() - 1]), None);
    assert_eq!(count_spans(&ld(0x0a, &[0x10, 0x01])), None);
    assert_eq!(count_spans(&[0x08, 0x01]), None);
}

#[test]
fn generated_requests_match_the_decoding_path() {
    fuzz(
        "generated_requests",
        (arb::request(), 0usize..64),
        |(req, max)| {
            let buf = req.encode_to_vec();
            let fast = check(&buf, max);
            // Everything the decoding path stores unchanged takes the fast path.
            prop_assert_eq!(fast, slow(&req, max).is_some());
            Ok(())
        },
    );
}

#[test]
fn fuzz_otlp_wire() {
    let inputs = (arb::request(), Mutations::strategy(6, WIRE_TOKENS));
    fuzz("fuzz_otlp_wire", inputs, |(req, edits)| {
        let buf = edits.apply(req.encode_to_vec());
        check_count(&buf);
        check(&buf, 16);
        check(&buf, 0);
        Ok(())
    });
}
