//! `strata query metrics`: a TraceQL metrics query printed as a table of series, each with
//! a one-line chart of its samples (`▁▂▃▄▅▆▇█`, scaled to the largest value of all series,
//! a space where a step has no sample); `--samples` lists every sample instead, `--instant`
//! asks `/api/metrics/query` for one value per series.

use std::time::{Duration, UNIX_EPOCH};

use strata_proto::otlp::common::any_value::Value as AnyValue;
use strata_proto::otlp::common::KeyValue;
use strata_proto::tempopb::{QueryInstantResponse, QueryRangeResponse};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `{key="value", ...}` as Prometheus prints series.
pub fn series_name(labels: &[KeyValue]) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|l| {
            let v = match l.value.as_ref().and_then(|v| v.value.as_ref()) {
                Some(AnyValue::StringValue(s)) => format!("{s:?}"),
                Some(AnyValue::IntValue(i)) => i.to_string(),
                Some(AnyValue::DoubleValue(d)) => d.to_string(),
                Some(AnyValue::BoolValue(b)) => b.to_string(),
                other => format!("{other:?}"),
            };
            format!("{}={v}", l.key)
        })
        .collect();
    format!("{{{}}}", parts.join(", "))
}

fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// One chart character per step between the first and last timestamp of the answer.
fn chart(
    r: &QueryRangeResponse,
    s: usize,
    step_ms: i64,
    first: i64,
    steps: usize,
    max: f64,
) -> String {
    let mut cells = vec![' '; steps];
    for x in &r.series[s].samples {
        let i = usize::try_from((x.timestamp_ms - first) / step_ms.max(1)).unwrap_or(0);
        if let Some(c) = cells.get_mut(i) {
            let level = if max > 0.0 {
                ((x.value / max) * (BARS.len() - 1) as f64).round()
            } else {
                0.0
            };
            *c = BARS[(level.max(0.0) as usize).min(BARS.len() - 1)];
        }
    }
    cells.into_iter().collect()
}

/// The series as a table: name, samples, min, max, last value and a chart.
pub fn range_table(r: &QueryRangeResponse) -> String {
    let stamps: Vec<i64> = r
        .series
        .iter()
        .flat_map(|s| s.samples.iter().map(|x| x.timestamp_ms))
        .collect();
    let first = stamps.iter().copied().min().unwrap_or(0);
    let last = stamps.iter().copied().max().unwrap_or(0);
    let mut all: Vec<i64> = stamps.clone();
    all.sort_unstable();
    all.dedup();
    let step_ms = all
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .unwrap_or(1)
        .max(1);
    let steps = usize::try_from((last - first) / step_ms + 1)
        .unwrap_or(1)
        .min(120);
    let max = r
        .series
        .iter()
        .flat_map(|s| s.samples.iter().map(|x| x.value))
        .fold(0.0, f64::max);
    let mut t = crate::query::Table::new(&["SERIES", "SAMPLES", "MIN", "MAX", "LAST", "CHART"]);
    for (i, s) in r.series.iter().enumerate() {
        let vals: Vec<f64> = s.samples.iter().map(|x| x.value).collect();
        let min = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let mx = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        t.row(vec![
            series_name(&s.labels),
            vals.len().to_string(),
            num(min),
            num(mx),
            vals.last().copied().map(num).unwrap_or_default(),
            chart(r, i, step_ms, first, steps, max),
        ]);
    }
    let mut out = t.render();
    if !r.series.is_empty() {
        let at = |ms: i64| {
            humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(ms as u64))
        };
        out.push_str(&format!(
            "{} series, {} to {} every {}\n",
            r.series.len(),
            at(first),
            at(last),
            humantime::format_duration(Duration::from_millis(step_ms as u64))
        ));
    } else {
        out.push_str("0 series\n");
    }
    if !r.message.is_empty() {
        out.push_str(&format!("note: {}\n", r.message));
    }
    out
}

/// Every sample: time, series, value.
pub fn samples_table(r: &QueryRangeResponse) -> String {
    let mut t = crate::query::Table::new(&["TIME", "SERIES", "VALUE"]);
    for s in &r.series {
        let name = series_name(&s.labels);
        for x in &s.samples {
            let at = humantime::format_rfc3339_seconds(
                UNIX_EPOCH + Duration::from_millis(x.timestamp_ms.max(0) as u64),
            );
            t.row(vec![at.to_string(), name.clone(), num(x.value)]);
        }
    }
    t.render()
}

/// One value per series.
pub fn instant_table(r: &QueryInstantResponse) -> String {
    let mut t = crate::query::Table::new(&["SERIES", "VALUE"]);
    for s in &r.series {
        t.row(vec![series_name(&s.labels), num(s.value)]);
    }
    let mut out = t.render();
    if !r.message.is_empty() {
        out.push_str(&format!("note: {}\n", r.message));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_proto::otlp::common::AnyValue as Any;
    use strata_proto::tempopb::{Sample, TimeSeries};

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(Any {
                value: Some(AnyValue::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn tables_and_charts() {
        let sample = |t: i64, v: f64| Sample {
            value: v,
            timestamp_ms: t * 60_000,
        };
        let r = QueryRangeResponse {
            series: vec![
                TimeSeries {
                    labels: vec![kv("resource.service.name", "api")],
                    samples: vec![sample(1, 0.0), sample(2, 4.0), sample(4, 8.0)],
                    exemplars: vec![],
                },
                TimeSeries {
                    labels: vec![kv("resource.service.name", "db")],
                    samples: vec![sample(1, 8.0)],
                    exemplars: vec![],
                },
            ],
            ..Default::default()
        };
        let out = range_table(&r);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("SERIES"), "{out}");
        assert!(
            lines[1].starts_with("{resource.service.name=\"api\"}  3"),
            "{out}"
        );
        assert!(lines[1].ends_with("▁▅ █"), "{out}");
        assert!(lines[2].ends_with('█'), "{out}");
        assert!(lines[3].starts_with("2 series"), "{out}");
        assert_eq!(samples_table(&r).lines().count(), 5);
    }
}
