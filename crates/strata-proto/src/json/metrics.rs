//! `/api/metrics/query_range` and `/api/metrics/query` JSON, with the gogo-jsonpb rules of
//! [`crate::json`]: lowerCamelCase names, empty fields omitted, 64-bit integers as strings,
//! doubles by [`double_json`](super::double_json). Grafana decodes the instant answer
//! strictly, so only fields of Tempo's messages appear; `status`/`message` only when partial.

use serde_json::{Map, Value};

use super::{double_json, key_value_json, put_messages, put_str, search_metrics_json};
use crate::tempopb::{
    Exemplar, InstantSeries, PartialStatus, QueryInstantResponse, QueryRangeResponse, Sample,
    SearchMetrics, TimeSeries,
};

pub fn query_range_response_json(resp: &QueryRangeResponse) -> Value {
    let mut o = Map::new();
    put_messages(&mut o, "series", &resp.series, time_series_json);
    put_tail(&mut o, resp.metrics.as_ref(), resp.status, &resp.message);
    Value::Object(o)
}

pub fn query_instant_response_json(resp: &QueryInstantResponse) -> Value {
    let mut o = Map::new();
    put_messages(&mut o, "series", &resp.series, instant_series_json);
    put_tail(&mut o, resp.metrics.as_ref(), resp.status, &resp.message);
    Value::Object(o)
}

fn put_tail(o: &mut Map<String, Value>, m: Option<&SearchMetrics>, status: i32, message: &str) {
    o.insert(
        "metrics".into(),
        m.map_or_else(|| Value::Object(Map::new()), search_metrics_json),
    );
    if status == PartialStatus::Partial as i32 {
        o.insert("status".into(), Value::String("PARTIAL".into()));
    }
    put_str(o, "message", message);
}

pub fn time_series_json(s: &TimeSeries) -> Value {
    let mut o = Map::new();
    put_messages(&mut o, "labels", &s.labels, key_value_json);
    put_messages(&mut o, "samples", &s.samples, sample_json);
    put_messages(&mut o, "exemplars", &s.exemplars, exemplar_json);
    Value::Object(o)
}

fn put_f64(o: &mut Map<String, Value>, key: &str, v: f64) {
    if v != 0.0 || v.is_sign_negative() {
        o.insert(key.into(), double_json(v));
    }
}

fn put_i64(o: &mut Map<String, Value>, key: &str, v: i64) {
    if v != 0 {
        o.insert(key.into(), Value::String(v.to_string()));
    }
}

pub fn sample_json(s: &Sample) -> Value {
    let mut o = Map::new();
    put_i64(&mut o, "timestampMs", s.timestamp_ms);
    put_f64(&mut o, "value", s.value);
    Value::Object(o)
}

pub fn exemplar_json(e: &Exemplar) -> Value {
    let mut o = Map::new();
    put_messages(&mut o, "labels", &e.labels, key_value_json);
    put_f64(&mut o, "value", e.value);
    put_i64(&mut o, "timestampMs", e.timestamp_ms);
    Value::Object(o)
}

pub fn instant_series_json(s: &InstantSeries) -> Value {
    let mut o = Map::new();
    put_messages(&mut o, "labels", &s.labels, key_value_json);
    put_f64(&mut o, "value", s.value);
    Value::Object(o)
}
