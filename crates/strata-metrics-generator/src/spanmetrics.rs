//! The span-metrics processor: request rate, errors and latency per service, span name, kind
//! and status, from every span (Tempo's `traces_spanmetrics_*`, contract §4.7).
//!
//! Per span, into one label set of the group:
//! * `traces_spanmetrics_calls_total` += 1;
//! * `traces_spanmetrics_latency` observes `(end - start)` in seconds (0 when end is not after
//!   start), keeping the span's trace and span IDs as the exemplar;
//! * `traces_spanmetrics_size_total` += the span's protobuf-encoded size in bytes.
//!
//! Labels, in order: the enabled intrinsic ones — `service` (the resource's `service.name`),
//! `span_name`, `span_kind` (`SPAN_KIND_*`), `status_code` (`STATUS_CODE_*`), `status_message`
//! (off by default) — then each configured dimension: the attribute looked up on the resource
//! first, then on the span, under its sanitized name ([`crate::labels::sanitize_label_name`]).
//! Empty values (e.g. a span without the attribute) leave the label out.
//!
//! With `enable_target_info`, two more labels follow: `job` (`service.namespace/service.name`,
//! or `service.name` alone; none without a service name) and `instance`
//! (`service.instance.id`, unless `enable_instance_label` is off); and each resource sets an
//! info series `traces_target_info` (value 1) labelled `job`, `instance` and every other
//! resource attribute (sanitized; `service.name`, `service.namespace`,
//! `service.instance.id`, excluded ones, empty names and names starting with a digit left out)
//! — only when it has `job` or `instance` and at least one other label.

use std::sync::Arc;

use prost::Message;
use strata_config::SpanMetricsConfig;
use strata_proto::otlp::common::KeyValue;
use strata_proto::otlp::trace::{span::SpanKind, status::StatusCode, Span};
use strata_proto::roles::TraceSpans;

use crate::labels::{find_attribute, sanitize_label_name, write_any_value, KeyBuf};
use crate::registry::{Exemplar, GroupSpec, InstrumentSpec, Lookup, TenantRegistry};

pub const CALLS_TOTAL: &str = "traces_spanmetrics_calls_total";
pub const LATENCY: &str = "traces_spanmetrics_latency";
pub const SIZE_TOTAL: &str = "traces_spanmetrics_size_total";
pub const TARGET_INFO: &str = "traces_target_info";

const CALLS: usize = 0;
const LATENCY_CELL: usize = 1;
const SIZE: usize = 2;

/// The processor, built once from the configuration.
#[derive(Debug, Clone)]
pub struct SpanMetrics {
    cfg: SpanMetricsConfig,
    buckets: Arc<[f64]>,
    spec: Arc<GroupSpec>,
}

/// What one call processed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Processed {
    pub spans: u64,
    /// Series refused by the tenant's limit (one span can refuse a whole label set's weight).
    pub series_limited: u64,
}

/// A resource's `job` and `instance` (empty when absent), as Tempo derives them.
fn job_and_instance(res_attrs: &[KeyValue]) -> (String, String) {
    let get = |k: &str| {
        let mut s = String::new();
        if let Some(v) = find_attribute(k, &[res_attrs]) {
            write_any_value(&mut s, v);
        }
        s
    };
    let (service, namespace) = (get("service.name"), get("service.namespace"));
    let job = match (service.is_empty(), namespace.is_empty()) {
        (true, _) => String::new(),
        (false, true) => service,
        (false, false) => format!("{namespace}/{service}"),
    };
    (job, get("service.instance.id"))
}

impl SpanMetrics {
    pub fn new(cfg: &SpanMetricsConfig) -> Self {
        let buckets: Arc<[f64]> = Arc::from(cfg.histogram_buckets.clone());
        let d = &cfg.intrinsic_dimensions;
        let mut label_names: Vec<String> = [
            (d.service, "service"),
            (d.span_name, "span_name"),
            (d.span_kind, "span_kind"),
            (d.status_code, "status_code"),
            (d.status_message, "status_message"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n.to_string())
        .collect();
        label_names.extend(cfg.dimensions.iter().map(|d| sanitize_label_name(d)));
        if cfg.enable_target_info {
            label_names.push("job".into());
            if cfg.enable_instance_label {
                label_names.push("instance".into());
            }
        }
        let spec = Arc::new(GroupSpec {
            label_names,
            instruments: vec![
                InstrumentSpec::Counter {
                    name: CALLS_TOTAL.into(),
                    help: "Spans counted per service, span name, kind and status".into(),
                },
                InstrumentSpec::Histogram {
                    name: LATENCY.into(),
                    help: "Span durations in seconds".into(),
                    buckets: buckets.clone(),
                },
                InstrumentSpec::Counter {
                    name: SIZE_TOTAL.into(),
                    help: "Protobuf-encoded size of the spans, bytes".into(),
                },
            ],
        });
        Self {
            cfg: cfg.clone(),
            buckets,
            spec,
        }
    }

    /// The attribute names of the configured dimensions.
    pub fn dimensions(&self) -> &[String] {
        &self.cfg.dimensions
    }

    /// This processor with `dimensions` instead of the configured ones.
    pub fn with_dimensions(&self, dimensions: &[String]) -> Self {
        let mut cfg = self.cfg.clone();
        cfg.dimensions = dimensions.to_vec();
        Self::new(&cfg)
    }

    /// The group this processor writes.
    pub fn spec(&self) -> &Arc<GroupSpec> {
        &self.spec
    }

    /// Counts every span of `traces` into group `g` of `reg`.
    pub fn process(
        &self,
        reg: &mut TenantRegistry,
        g: usize,
        traces: &[TraceSpans],
        now_ms: u64,
        max_active: u64,
        key: &mut KeyBuf,
    ) -> Processed {
        let mut out = Processed::default();
        let mut service = String::new();
        let mut target = (String::new(), String::new());
        for t in traces {
            for rs in &t.trace.resource_spans {
                let res_attrs: &[KeyValue] = rs
                    .resource
                    .as_ref()
                    .map_or(&[], |r| r.attributes.as_slice());
                service.clear();
                if let Some(v) = find_attribute("service.name", &[res_attrs]) {
                    write_any_value(&mut service, v);
                }
                if self.cfg.enable_target_info {
                    target = job_and_instance(res_attrs);
                    if !self.set_target_info(reg, res_attrs, &target, now_ms, max_active) {
                        out.series_limited += 1;
                    }
                }
                for ss in &rs.scope_spans {
                    for span in &ss.spans {
                        out.spans += 1;
                        self.key(key, &service, res_attrs, span);
                        if self.cfg.enable_target_info {
                            key.push(&target.0);
                            if self.cfg.enable_instance_label {
                                key.push(&target.1);
                            }
                        }
                        match reg.series(g, key.as_bytes(), now_ms, max_active) {
                            Lookup::Series(s) => {
                                s.inc(CALLS, 1.0);
                                let secs = if span.end_time_unix_nano > span.start_time_unix_nano {
                                    (span.end_time_unix_nano - span.start_time_unix_nano) as f64
                                        / 1e9
                                } else {
                                    0.0
                                };
                                s.observe(
                                    LATENCY_CELL,
                                    &self.buckets,
                                    secs,
                                    exemplar(span, secs, now_ms),
                                );
                                s.inc(SIZE, span.encoded_len() as f64);
                            }
                            Lookup::Refused(n) => out.series_limited += n,
                        }
                    }
                }
            }
        }
        out
    }

    /// Sets the resource's `traces_target_info` series (see the module docs); false when the
    /// tenant's series limit refused it.
    fn set_target_info(
        &self,
        reg: &mut TenantRegistry,
        res_attrs: &[KeyValue],
        (job, instance): &(String, String),
        now_ms: u64,
        max_active: u64,
    ) -> bool {
        const SERVICE_KEYS: [&str; 3] =
            ["service.name", "service.namespace", "service.instance.id"];
        let mut labels: Vec<(String, String)> = Vec::new();
        for kv in res_attrs {
            let k = kv.key.as_str();
            if k.is_empty()
                || k.as_bytes()[0].is_ascii_digit()
                || SERVICE_KEYS.contains(&k)
                || self
                    .cfg
                    .target_info_excluded_dimensions
                    .iter()
                    .any(|e| e == k)
            {
                continue;
            }
            let mut v = String::new();
            if let Some(val) = kv.value.as_ref() {
                write_any_value(&mut v, val);
            }
            let name = match sanitize_label_name(k).as_str() {
                "job" | "instance" => format!("__{}", sanitize_label_name(k)),
                n => n.to_string(),
            };
            if !v.is_empty() && !labels.iter().any(|(n, _)| *n == name) {
                labels.push((name, v));
            }
        }
        let mut identifying = 0;
        if !job.is_empty() {
            labels.push(("job".into(), job.clone()));
            identifying += 1;
        }
        if !instance.is_empty() && self.cfg.enable_instance_label {
            labels.push(("instance".into(), instance.clone()));
            identifying += 1;
        }
        if identifying == 0 || labels.len() <= identifying {
            return true;
        }
        labels.sort();
        reg.set_info(&labels, now_ms, max_active)
    }

    #[inline]
    fn key(&self, key: &mut KeyBuf, service: &str, res_attrs: &[KeyValue], span: &Span) {
        let d = &self.cfg.intrinsic_dimensions;
        key.clear();
        if d.service {
            key.push(service);
        }
        if d.span_name {
            key.push(&span.name);
        }
        if d.span_kind {
            push_kind(key, span.kind);
        }
        let status = span.status.as_ref();
        if d.status_code {
            push_status(key, status.map_or(0, |s| s.code));
        }
        if d.status_message {
            key.push(status.map_or("", |s| s.message.as_str()));
        }
        for name in &self.cfg.dimensions {
            key.push_any(find_attribute(name, &[res_attrs, &span.attributes]));
        }
    }
}

fn push_kind(key: &mut KeyBuf, kind: i32) {
    match SpanKind::try_from(kind) {
        Ok(k) => key.push(k.as_str_name()),
        Err(_) => key.push(&kind.to_string()),
    }
}

fn push_status(key: &mut KeyBuf, code: i32) {
    match StatusCode::try_from(code) {
        Ok(c) => key.push(c.as_str_name()),
        Err(_) => key.push(&code.to_string()),
    }
}

fn exemplar(span: &Span, value: f64, now_ms: u64) -> Option<Exemplar> {
    Some(Exemplar {
        trace_id: span.trace_id.as_slice().try_into().ok()?,
        span_id: span.span_id.as_slice().try_into().ok()?,
        value,
        unix_ms: now_ms,
    })
}
