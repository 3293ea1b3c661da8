//! Small builders shared by the receivers that translate a foreign protocol into OTLP: typed
//! attributes, and spans grouped under one `ResourceSpans` per resource and one `ScopeSpans`
//! per instrumentation scope, in order of first appearance.

use strata_proto::otlp::collector::ExportTraceServiceRequest;
use strata_proto::otlp::common::{any_value::Value, AnyValue, InstrumentationScope, KeyValue};
use strata_proto::otlp::resource::Resource;
use strata_proto::otlp::trace::{ResourceSpans, ScopeSpans, Span};

/// An attribute with a value.
pub fn kv(key: impl Into<String>, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub fn str_value(s: impl Into<String>) -> Value {
    Value::StringValue(s.into())
}

/// Sets `key` to `value`, replacing an earlier attribute of the same key (OTLP keys are
/// unique within a map).
pub fn upsert(attrs: &mut Vec<KeyValue>, key: &str, value: Value) {
    match attrs.iter_mut().find(|a| a.key == key) {
        Some(a) => a.value = Some(AnyValue { value: Some(value) }),
        None => attrs.push(kv(key, value)),
    }
}

/// Builds a request from spans, each with its resource attributes and scope; spans with equal
/// resources share a `ResourceSpans`, and within it spans with equal scopes a `ScopeSpans`.
#[derive(Default)]
pub struct RequestBuilder {
    resources: Vec<ResourceSpans>,
}

impl RequestBuilder {
    pub fn push(&mut self, resource: Vec<KeyValue>, scope: InstrumentationScope, span: Span) {
        let rs = match self
            .resources
            .iter()
            .position(|r| r.resource.as_ref().map(|r| &r.attributes) == Some(&resource))
        {
            Some(i) => &mut self.resources[i],
            None => {
                self.resources.push(ResourceSpans {
                    resource: Some(Resource {
                        attributes: resource,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
                self.resources.last_mut().expect("just pushed")
            }
        };
        let ss = match rs
            .scope_spans
            .iter()
            .position(|s| s.scope.as_ref() == Some(&scope))
        {
            Some(i) => &mut rs.scope_spans[i],
            None => {
                rs.scope_spans.push(ScopeSpans {
                    scope: Some(scope),
                    ..Default::default()
                });
                rs.scope_spans.last_mut().expect("just pushed")
            }
        };
        ss.spans.push(span);
    }

    pub fn build(self) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: self.resources,
        }
    }
}

/// An ID of up to `N` bytes from its big-endian bytes, left-padded with zeros (64-bit trace IDs
/// become 128-bit ones with a zero high half). `None` when longer than `N`.
pub fn pad_id<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
    if bytes.len() > N {
        return None;
    }
    let mut id = [0u8; N];
    id[N - bytes.len()..].copy_from_slice(bytes);
    Some(id)
}

/// An ID from 1 to `2N` hex digits, left-padded.
pub fn hex_id<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.is_empty() || s.len() > 2 * N || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let padded = format!("{s:0>width$}", width = 2 * N);
    let mut id = [0u8; N];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_left_padded() {
        assert_eq!(pad_id::<16>(&[1, 2]).unwrap()[14..], [1, 2]);
        assert_eq!(pad_id::<16>(&[0; 8]).unwrap(), [0; 16]);
        assert!(pad_id::<8>(&[0; 9]).is_none());
        let id = hex_id::<16>("00000000000000ab").unwrap();
        assert_eq!(id[..15], [0; 15]);
        assert_eq!(id[15], 0xab);
        assert_eq!(hex_id::<8>("1").unwrap(), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(hex_id::<8>("").is_none());
        assert!(hex_id::<8>("zz").is_none());
        assert!(hex_id::<8>("00000000000000001").is_none());
    }

    #[test]
    fn spans_group_by_resource_then_scope() {
        let mut b = RequestBuilder::default();
        let svc = |s: &str| vec![kv("service.name", str_value(s))];
        let scope = |n: &str| InstrumentationScope {
            name: n.into(),
            ..Default::default()
        };
        b.push(svc("a"), scope("x"), Span::default());
        b.push(svc("b"), scope("x"), Span::default());
        b.push(svc("a"), scope("y"), Span::default());
        b.push(svc("a"), scope("x"), Span::default());
        let req = b.build();
        assert_eq!(req.resource_spans.len(), 2);
        assert_eq!(req.resource_spans[0].scope_spans.len(), 2);
        assert_eq!(req.resource_spans[0].scope_spans[0].spans.len(), 2);
    }

    #[test]
    fn upsert_replaces() {
        let mut a = vec![kv("k", str_value("1"))];
        upsert(&mut a, "k", Value::IntValue(2));
        upsert(&mut a, "j", Value::IntValue(3));
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].value.as_ref().unwrap().value, Some(Value::IntValue(2)));
    }
}
