//! One collection: a tenant's registry as remote-write series, all stamped with the collection
//! time.
//!
//! * A counter is one series; a classic histogram is one `_bucket` series per bound (`le`, the
//!   bound as the scrape page writes it, and `+Inf`, cumulative counts), plus `_sum` and
//!   `_count` — the same series a scrape of [`crate::SCRAPE_PATH`] gives.
//! * Labels: `__name__`, the group's labels with a value (an empty value is no label, as on the
//!   scrape page), `tenant`, then the external labels unless a series already has that name;
//!   sorted by name.
//! * Info series (`traces_target_info`): value 1, their own labels plus `tenant` and the
//!   external labels.
//! * Exemplars: a histogram's latest exemplar rides on the `_bucket` series it fell in, only
//!   when it is newer than `exemplars_after_ms` (the previous collection), so each is sent once.

use std::collections::BTreeMap;

use crate::labels::{decode_key, write_float};
use crate::registry::{Cell, InstrumentSpec, TenantRegistry};
use crate::remote_write::wire::{Exemplar, Label, Sample, TimeSeries};

/// What a collection adds to every series and which exemplars it sends.
#[derive(Debug, Clone, Default)]
pub struct CollectOptions<'a> {
    pub external_labels: Option<&'a BTreeMap<String, String>>,
    /// Exemplars observed at or before this time were sent before (`None`: send none).
    pub exemplars_after_ms: Option<u64>,
}

fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// Appends every series of `reg` (tenant `tenant`) at `ts_ms` to `out`.
pub fn collect_tenant(
    out: &mut Vec<TimeSeries>,
    tenant: &str,
    reg: &TenantRegistry,
    ts_ms: u64,
    opts: &CollectOptions<'_>,
) {
    let ts = ts_ms as i64;
    for labels in reg.info.keys() {
        let mut base: Vec<Label> = labels.iter().map(|(n, v)| label(n, v)).collect();
        base.push(label("tenant", tenant));
        if let Some(ext) = opts.external_labels {
            for (n, v) in ext {
                if !base.iter().any(|l| &l.name == n) {
                    base.push(label(n, v));
                }
            }
        }
        out.push(series_of(
            crate::spanmetrics::TARGET_INFO,
            &base,
            None,
            1.0,
            ts,
        ));
    }
    for group in &reg.groups {
        let names = &group.spec.label_names;
        for (key, series) in &group.series {
            // Labels shared by the series of this label set, without `__name__`.
            let mut base: Vec<Label> = names
                .iter()
                .zip(decode_key(key))
                .filter(|(_, v)| !v.is_empty())
                .map(|(n, v)| label(n, v))
                .collect();
            base.push(label("tenant", tenant));
            if let Some(ext) = opts.external_labels {
                for (n, v) in ext {
                    if !base.iter().any(|l| &l.name == n) {
                        base.push(label(n, v));
                    }
                }
            }
            for (inst, cell) in group.spec.instruments.iter().zip(series.cells.iter()) {
                match (inst, cell) {
                    (InstrumentSpec::Counter { name, .. }, Cell::Counter(v)) => {
                        out.push(series_of(name, &base, None, *v, ts));
                    }
                    (InstrumentSpec::Histogram { name, buckets, .. }, Cell::Histogram(h)) => {
                        let exemplar = h
                            .exemplar
                            .filter(|e| opts.exemplars_after_ms.is_some_and(|a| e.unix_ms > a));
                        let ex_bucket =
                            exemplar.map(|e| buckets.partition_point(|le| *le < e.value));
                        let bucket_name = format!("{name}_bucket");
                        let mut cumulative = 0u64;
                        for (b, n) in h.counts.iter().enumerate() {
                            cumulative += n;
                            let mut le = String::new();
                            match buckets.get(b) {
                                Some(x) => write_float(&mut le, *x),
                                None => le.push_str("+Inf"),
                            }
                            let mut s =
                                series_of(&bucket_name, &base, Some(&le), cumulative as f64, ts);
                            if let (Some(e), Some(eb)) = (exemplar, ex_bucket) {
                                if eb == b {
                                    s.exemplars.push(exemplar_of(&e));
                                }
                            }
                            out.push(s);
                        }
                        out.push(series_of(&format!("{name}_sum"), &base, None, h.sum, ts));
                        out.push(series_of(
                            &format!("{name}_count"),
                            &base,
                            None,
                            h.count as f64,
                            ts,
                        ));
                    }
                    _ => {}
                }
            }
        }
    }
}

fn series_of(name: &str, base: &[Label], le: Option<&str>, value: f64, ts: i64) -> TimeSeries {
    let mut labels = Vec::with_capacity(base.len() + 2);
    labels.push(label("__name__", name));
    labels.extend_from_slice(base);
    if let Some(le) = le {
        labels.push(label("le", le));
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    TimeSeries {
        labels,
        samples: vec![Sample {
            value,
            timestamp: ts,
        }],
        exemplars: Vec::new(),
    }
}

fn exemplar_of(e: &crate::registry::Exemplar) -> Exemplar {
    let mut labels = vec![label("trace_id", &hex::encode(e.trace_id))];
    // Service-graph exemplars name a trace, not one span.
    if e.span_id != [0; 8] {
        labels.push(label("span_id", &hex::encode(e.span_id)));
    }
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    Exemplar {
        labels,
        value: e.value,
        timestamp: e.unix_ms as i64,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::labels::KeyBuf;
    use crate::registry::{GroupSpec, Lookup};

    fn registry() -> TenantRegistry {
        let spec = Arc::new(GroupSpec {
            label_names: vec!["service".into(), "status_message".into()],
            instruments: vec![
                InstrumentSpec::Counter {
                    name: "calls_total".into(),
                    help: String::new(),
                },
                InstrumentSpec::Histogram {
                    name: "latency".into(),
                    help: String::new(),
                    buckets: Arc::from(vec![0.5, 1.0]),
                },
            ],
        });
        let mut reg = TenantRegistry::new(&[spec]);
        let mut k = KeyBuf::default();
        k.push("api");
        k.push("");
        let Lookup::Series(s) = reg.series(0, k.as_bytes(), 1_000, 0) else {
            panic!("refused")
        };
        s.inc(0, 2.0);
        let ex = crate::registry::Exemplar {
            trace_id: [1; 16],
            span_id: [2; 8],
            value: 0.7,
            unix_ms: 1_500,
        };
        s.observe(1, &[0.5, 1.0], 0.2, None);
        s.observe(1, &[0.5, 1.0], 0.7, Some(ex));
        reg
    }

    fn names(s: &TimeSeries) -> Vec<(&str, &str)> {
        s.labels
            .iter()
            .map(|l| (l.name.as_str(), l.value.as_str()))
            .collect()
    }

    #[test]
    fn counters_and_histograms_become_sorted_series_with_tenant_and_external_labels() {
        let ext = BTreeMap::from([("cluster".to_string(), "eu".to_string())]);
        let mut out = Vec::new();
        let opts = CollectOptions {
            external_labels: Some(&ext),
            exemplars_after_ms: Some(1_000),
        };
        collect_tenant(&mut out, "t1", &registry(), 2_000, &opts);
        // 1 counter + 3 buckets + sum + count.
        assert_eq!(out.len(), 6);
        assert_eq!(
            names(&out[0]),
            vec![
                ("__name__", "calls_total"),
                ("cluster", "eu"),
                ("service", "api"),
                ("tenant", "t1")
            ]
        );
        assert_eq!(out[0].samples[0].value, 2.0);
        assert_eq!(out[0].samples[0].timestamp, 2_000);
        let le: Vec<(&str, f64, usize)> = out[1..4]
            .iter()
            .map(|s| {
                let le = s.labels.iter().find(|l| l.name == "le").unwrap();
                (le.value.as_str(), s.samples[0].value, s.exemplars.len())
            })
            .collect();
        // Cumulative counts; the exemplar (0.7) rides on the le="1" bucket.
        assert_eq!(le, vec![("0.5", 1.0, 0), ("1", 2.0, 1), ("+Inf", 2.0, 0)]);
        let ex = &out[2].exemplars[0];
        assert_eq!(ex.value, 0.7);
        assert_eq!(ex.labels[0].name, "span_id");
        assert_eq!(ex.labels[1].value, hex::encode([1u8; 16]));
        assert_eq!(names(&out[4])[0], ("__name__", "latency_sum"));
        assert_eq!(out[4].samples[0].value, 0.2 + 0.7);
        assert_eq!(out[5].samples[0].value, 2.0);
    }

    #[test]
    fn an_exemplar_is_sent_once() {
        let mut out = Vec::new();
        let opts = CollectOptions {
            external_labels: None,
            exemplars_after_ms: Some(1_500),
        };
        collect_tenant(&mut out, "t1", &registry(), 2_000, &opts);
        assert!(out.iter().all(|s| s.exemplars.is_empty()));
    }
}
