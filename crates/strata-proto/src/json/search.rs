//! `/api/search` JSON, with the same gogo-jsonpb rules as the rest of [`crate::json`]. Grafana
//! decodes this strictly: only fields of its `tempopb.SearchResponse` may appear.

use serde_json::{Map, Value};

use super::{key_value_json, put_messages, put_str, put_u32, put_u64};
use crate::tempopb::{SearchMetrics, SearchResponse, SearchSpan, SpanSet, TraceSearchMetadata};

pub fn search_response_json(resp: &SearchResponse) -> Value {
    let mut o = Map::new();
    put_messages(&mut o, "traces", &resp.traces, trace_search_metadata_json);
    if let Some(m) = &resp.metrics {
        o.insert("metrics".into(), search_metrics_json(m));
    }
    Value::Object(o)
}

pub fn trace_search_metadata_json(t: &TraceSearchMetadata) -> Value {
    let mut o = Map::new();
    put_str(&mut o, "traceID", &t.trace_id);
    put_str(&mut o, "rootServiceName", &t.root_service_name);
    put_str(&mut o, "rootTraceName", &t.root_trace_name);
    put_u64(&mut o, "startTimeUnixNano", t.start_time_unix_nano);
    put_u32(&mut o, "durationMs", t.duration_ms);
    if let Some(s) = &t.span_set {
        o.insert("spanSet".into(), span_set_json(s));
    }
    put_messages(&mut o, "spanSets", &t.span_sets, span_set_json);
    if !t.service_stats.is_empty() {
        let mut stats = Map::new();
        for (svc, s) in &t.service_stats {
            let mut v = Map::new();
            put_u32(&mut v, "spanCount", s.span_count);
            put_u32(&mut v, "errorCount", s.error_count);
            stats.insert(svc.clone(), Value::Object(v));
        }
        o.insert("serviceStats".into(), Value::Object(stats));
    }
    Value::Object(o)
}

pub fn span_set_json(s: &SpanSet) -> Value {
    let mut o = Map::new();
    put_messages(&mut o, "spans", &s.spans, search_span_json);
    put_u32(&mut o, "matched", s.matched);
    put_messages(&mut o, "attributes", &s.attributes, key_value_json);
    Value::Object(o)
}

pub fn search_span_json(s: &SearchSpan) -> Value {
    let mut o = Map::new();
    put_str(&mut o, "spanID", &s.span_id);
    put_str(&mut o, "name", &s.name);
    put_u64(&mut o, "startTimeUnixNano", s.start_time_unix_nano);
    put_u64(&mut o, "durationNanos", s.duration_nanos);
    put_messages(&mut o, "attributes", &s.attributes, key_value_json);
    Value::Object(o)
}

pub fn search_metrics_json(m: &SearchMetrics) -> Value {
    let mut o = Map::new();
    put_u32(&mut o, "inspectedTraces", m.inspected_traces);
    put_u64(&mut o, "inspectedBytes", m.inspected_bytes);
    put_u32(&mut o, "totalBlocks", m.total_blocks);
    put_u32(&mut o, "completedJobs", m.completed_jobs);
    put_u32(&mut o, "totalJobs", m.total_jobs);
    put_u64(&mut o, "totalBlockBytes", m.total_block_bytes);
    put_u64(&mut o, "inspectedSpans", m.inspected_spans);
    Value::Object(o)
}
