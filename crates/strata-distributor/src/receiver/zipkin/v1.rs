//! Zipkin v1 spans (JSON or Thrift) converted to the v2 model, the way Zipkin's own server
//! reads them:
//!
//! * the core annotations `cs`/`cr` (client), `sr`/`ss` (server), `ms` (producer) and `mr`
//!   (consumer) give the kind, the local endpoint (their host) and, when the span has none,
//!   timestamp and duration (`cs`…`cr`, `sr`…`ss`); they do not become events;
//! * a v1 span holding both client and server annotations (both sides sharing one span ID) becomes
//!   a client span and a `shared` server span;
//! * binary annotations `sa` / `ca` / `ma` name the remote endpoint; `lc` (local component)
//!   becomes tag `component`, as the OpenTelemetry Collector names it; others become tags with
//!   their Thrift type (or JSON type) kept;
//! * other annotations become events.

use strata_proto::otlp::common::any_value::Value;

use super::model::{Annotation, Endpoint, Kind, ZipkinSpan};

#[derive(Debug, Clone, PartialEq)]
pub struct V1Annotation {
    pub timestamp: u64,
    pub value: String,
    pub host: Option<Endpoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct V1BinaryAnnotation {
    pub key: String,
    pub value: Value,
    pub host: Option<Endpoint>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct V1Span {
    pub trace_id: [u8; 16],
    pub id: [u8; 8],
    pub parent_id: Option<[u8; 8]>,
    pub name: String,
    pub timestamp: Option<u64>,
    pub duration: Option<u64>,
    pub annotations: Vec<V1Annotation>,
    pub binary_annotations: Vec<V1BinaryAnnotation>,
}

fn find<'a>(anns: &'a [V1Annotation], value: &str) -> Option<&'a V1Annotation> {
    anns.iter().find(|a| a.value == value)
}

fn span_of(
    span: &V1Span,
    kind: Option<Kind>,
    start: Option<&V1Annotation>,
    end: Option<&V1Annotation>,
) -> ZipkinSpan {
    let timestamp = start.map(|a| a.timestamp).filter(|t| *t > 0);
    let duration = match (start, end) {
        (Some(s), Some(e)) if e.timestamp > s.timestamp => e.timestamp - s.timestamp,
        _ => 0,
    };
    ZipkinSpan {
        trace_id: span.trace_id,
        id: span.id,
        parent_id: span.parent_id,
        name: span.name.clone(),
        kind,
        timestamp,
        duration,
        local_endpoint: start.or(end).and_then(|a| a.host.clone()),
        ..Default::default()
    }
}

fn is_core(value: &str) -> bool {
    matches!(value, "cs" | "cr" | "sr" | "ss" | "ms" | "mr")
}

fn is_true(v: &Value) -> bool {
    matches!(v, Value::BoolValue(true)) || matches!(v, Value::StringValue(s) if s == "true")
}

/// One v1 span as one v2 span, or two when client and server shared it.
pub fn convert(span: V1Span) -> Vec<ZipkinSpan> {
    let a = &span.annotations;
    let (cs, cr, sr, ss) = (find(a, "cs"), find(a, "cr"), find(a, "sr"), find(a, "ss"));
    let (ms, mr) = (find(a, "ms"), find(a, "mr"));
    let client = cs.is_some() || cr.is_some();
    let server = sr.is_some() || ss.is_some();
    let mut out = Vec::with_capacity(2);
    if client {
        out.push(span_of(&span, Some(Kind::Client), cs, cr));
    }
    if server {
        let mut s = span_of(&span, Some(Kind::Server), sr, ss);
        s.shared = client;
        out.push(s);
    }
    if !client && !server {
        let (kind, at) = match (ms, mr) {
            (Some(m), _) => (Some(Kind::Producer), Some(m)),
            (None, Some(m)) => (Some(Kind::Consumer), Some(m)),
            (None, None) => (None, None),
        };
        out.push(span_of(&span, kind, at, None));
    }
    // The first span (the client's, or the only one) takes the span's own times.
    if let Some(first) = out.first_mut() {
        if let Some(ts) = span.timestamp {
            first.timestamp = Some(ts);
        }
        if let Some(d) = span.duration {
            first.duration = d;
        }
    }
    // Events: non-core annotations, on the span whose host logged them (else the first).
    for ann in a.iter().filter(|x| !is_core(&x.value)) {
        let target = out
            .iter()
            .position(|s| s.local_endpoint.is_some() && s.local_endpoint == ann.host)
            .unwrap_or(0);
        out[target].annotations.push(Annotation {
            timestamp: ann.timestamp,
            value: ann.value.clone(),
        });
    }
    for b in &span.binary_annotations {
        match b.key.as_str() {
            "sa" | "ca" | "ma" if is_true(&b.value) || matches!(b.value, Value::BytesValue(_)) => {
                let wants = match b.key.as_str() {
                    "sa" => [Some(Kind::Client), None],
                    "ca" => [Some(Kind::Server), None],
                    _ => [Some(Kind::Producer), Some(Kind::Consumer)],
                };
                if let Some(s) = out.iter_mut().find(|s| wants.contains(&s.kind)) {
                    s.remote_endpoint = b.host.clone();
                    if s.kind.is_none() {
                        s.kind = if b.key == "sa" {
                            Some(Kind::Client)
                        } else {
                            Some(Kind::Server)
                        };
                    }
                }
            }
            key => {
                let key = if key == "lc" { "component" } else { key };
                let target = out
                    .iter()
                    .position(|s| s.local_endpoint.is_some() && s.local_endpoint == b.host)
                    .unwrap_or(0);
                out[target].tags.push((key.to_string(), b.value.clone()));
            }
        }
    }
    // A span without a core annotation takes its local endpoint from any annotation's host.
    for s in &mut out {
        if s.local_endpoint.is_none() {
            s.local_endpoint = a
                .iter()
                .filter_map(|x| x.host.clone())
                .chain(
                    span.binary_annotations
                        .iter()
                        .filter(|b| !matches!(b.key.as_str(), "sa" | "ca" | "ma"))
                        .filter_map(|b| b.host.clone()),
                )
                .find(|h| !h.service_name.is_empty());
        }
    }
    out
}

pub fn convert_all(spans: Vec<V1Span>) -> Vec<ZipkinSpan> {
    spans.into_iter().flat_map(convert).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str) -> Option<Endpoint> {
        Some(Endpoint {
            service_name: name.into(),
            ..Default::default()
        })
    }

    fn ann(ts: u64, v: &str, host: &str) -> V1Annotation {
        V1Annotation {
            timestamp: ts,
            value: v.into(),
            host: ep(host),
        }
    }

    fn span(annotations: Vec<V1Annotation>, bins: Vec<V1BinaryAnnotation>) -> V1Span {
        V1Span {
            trace_id: [1; 16],
            id: [2; 8],
            parent_id: None,
            name: "get".into(),
            timestamp: None,
            duration: None,
            annotations,
            binary_annotations: bins,
        }
    }

    #[test]
    fn server_annotations_give_kind_times_and_local_endpoint() {
        let s = span(
            vec![
                ann(100, "sr", "api"),
                ann(150, "cache miss", "api"),
                ann(400, "ss", "api"),
            ],
            vec![
                V1BinaryAnnotation {
                    key: "http.path".into(),
                    value: Value::StringValue("/x".into()),
                    host: ep("api"),
                },
                V1BinaryAnnotation {
                    key: "ca".into(),
                    value: Value::BoolValue(true),
                    host: ep("browser"),
                },
                V1BinaryAnnotation {
                    key: "lc".into(),
                    value: Value::StringValue("flask".into()),
                    host: ep("api"),
                },
            ],
        );
        let out = convert(s);
        assert_eq!(out.len(), 1);
        let z = &out[0];
        assert_eq!(z.kind, Some(Kind::Server));
        assert_eq!((z.timestamp, z.duration), (Some(100), 300));
        assert_eq!(z.local_endpoint, ep("api"));
        assert_eq!(z.remote_endpoint, ep("browser"));
        assert_eq!(z.annotations.len(), 1);
        assert_eq!(z.annotations[0].value, "cache miss");
        assert!(z.tags.iter().any(|(k, _)| k == "component"));
        assert!(z.tags.iter().any(|(k, _)| k == "http.path"));
    }

    #[test]
    fn client_and_server_in_one_span_become_a_shared_pair() {
        let mut s = span(
            vec![
                ann(10, "cs", "web"),
                ann(20, "sr", "api"),
                ann(30, "ss", "api"),
                ann(40, "cr", "web"),
            ],
            vec![],
        );
        s.timestamp = Some(10);
        s.duration = Some(30);
        let out = convert(s);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].kind, Some(Kind::Client));
        assert_eq!((out[0].timestamp, out[0].duration), (Some(10), 30));
        assert!(!out[0].shared);
        assert_eq!(out[1].kind, Some(Kind::Server));
        assert_eq!((out[1].timestamp, out[1].duration), (Some(20), 10));
        assert!(out[1].shared);
        assert_eq!(out[1].local_endpoint, ep("api"));
    }

    #[test]
    fn local_span_takes_its_host_from_binary_annotations() {
        let mut s = span(
            vec![],
            vec![V1BinaryAnnotation {
                key: "lc".into(),
                value: Value::StringValue("worker".into()),
                host: ep("batch"),
            }],
        );
        s.timestamp = Some(5);
        s.duration = Some(7);
        let out = convert(s);
        assert_eq!(out[0].kind, None);
        assert_eq!(out[0].local_endpoint, ep("batch"));
        assert_eq!((out[0].timestamp, out[0].duration), (Some(5), 7));
    }
}
