//! Attribute truncation (`max_attribute_bytes`): keys and string values longer than the limit
//! are cut to at most that many bytes, at a UTF-8 character boundary, on resource, scope, span,
//! event and link attributes. Values nested in arrays or key-value lists are left alone. Runs
//! after validation and before grouping, so every copy of a resource is already truncated and
//! each attribute is counted once.

use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::any_value::Value;
use strata_proto::otlp::common::KeyValue;

use super::validate::Validated;

/// The truncation stage: applies `max_attribute_bytes` (0 disables) to a validated request;
/// returns how many attributes changed.
pub fn apply(valid: &mut Validated, max: usize) -> u64 {
    truncate_attributes(valid.request_mut(), max)
}

/// Cuts `s` to at most `max` bytes without splitting a character; returns whether it changed.
pub fn truncate_utf8(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

fn truncate_attrs(attrs: &mut [KeyValue], max: usize) -> u64 {
    let mut n = 0;
    for kv in attrs {
        let mut changed = truncate_utf8(&mut kv.key, max);
        if let Some(Value::StringValue(v)) = kv.value.as_mut().and_then(|v| v.value.as_mut()) {
            changed |= truncate_utf8(v, max);
        }
        n += u64::from(changed);
    }
    n
}

/// Truncates every over-long attribute key and string value; returns how many attributes
/// (key/value pairs) were changed. `max == 0` disables.
pub fn truncate_attributes(req: &mut ExportTraceServiceRequest, max: usize) -> u64 {
    if max == 0 {
        return 0;
    }
    let mut n = 0;
    for rs in &mut req.resource_spans {
        if let Some(r) = rs.resource.as_mut() {
            n += truncate_attrs(&mut r.attributes, max);
        }
        for ss in &mut rs.scope_spans {
            if let Some(s) = ss.scope.as_mut() {
                n += truncate_attrs(&mut s.attributes, max);
            }
            for span in &mut ss.spans {
                n += truncate_attrs(&mut span.attributes, max);
                for e in &mut span.events {
                    n += truncate_attrs(&mut e.attributes, max);
                }
                for l in &mut span.links {
                    n += truncate_attrs(&mut l.attributes, max);
                }
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use strata_proto::otlp::common::{AnyValue, InstrumentationScope};
    use strata_proto::otlp::resource::Resource;
    use strata_proto::otlp::trace::span::{Event, Link};
    use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};

    use super::*;

    fn kv(k: &str, v: Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    fn s(v: &str) -> Value {
        Value::StringValue(v.into())
    }

    #[test]
    fn cuts_at_character_boundaries() {
        let mut a = "héllo".to_string(); // h, é (2 bytes), l, l, o
        assert!(truncate_utf8(&mut a, 2));
        assert_eq!(a, "h", "never splits é");
        let mut b = "héllo".to_string();
        assert!(truncate_utf8(&mut b, 3));
        assert_eq!(b, "hé");
        let mut c = "abc".to_string();
        assert!(!truncate_utf8(&mut c, 3));
        assert_eq!(c, "abc");
        let mut d = "€".to_string();
        assert!(truncate_utf8(&mut d, 1));
        assert_eq!(d, "");
    }

    #[test]
    fn truncates_every_attribute_location_and_counts_attributes() {
        let long = "x".repeat(10);
        let attrs = || {
            vec![
                kv(&long, s(&long)),
                kv("ok", s("fine")),
                kv("n", Value::IntValue(7)),
            ]
        };
        let span = Span {
            attributes: attrs(),
            events: vec![Event {
                attributes: attrs(),
                ..Default::default()
            }],
            links: vec![Link {
                attributes: attrs(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource {
                    attributes: attrs(),
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        attributes: attrs(),
                        ..Default::default()
                    }),
                    spans: vec![span],
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        assert_eq!(truncate_attributes(&mut req.clone(), 0), 0, "0 disables");
        // Five locations, one over-long attribute (key and value) each.
        assert_eq!(truncate_attributes(&mut req, 4), 5);
        let rs = &req.resource_spans[0];
        let span = &rs.scope_spans[0].spans[0];
        for a in [
            &rs.resource.as_ref().unwrap().attributes,
            &rs.scope_spans[0].scope.as_ref().unwrap().attributes,
            &span.attributes,
            &span.events[0].attributes,
            &span.links[0].attributes,
        ] {
            assert_eq!(a[0], kv("xxxx", s("xxxx")));
            assert_eq!(a[1], kv("ok", s("fine")));
            assert_eq!(a[2], kv("n", Value::IntValue(7)));
        }
        assert_eq!(truncate_attributes(&mut req, 4), 0, "idempotent");
    }
}
